#!/bin/bash
# Run ocirt's runtime bats suites on a real pure cgroup v2 host with systemd
# as PID 1: a Debian 12 guest under qemu (this machine is a hybrid cgroup
# host without systemd).  The same suites run against Debian's runc in the
# same guest as a control, so a failure can be told apart from a test that
# does not hold on cgroup v2 at all.
#
#   tests/vm/run.sh BUILD_DIR           (`make check-vm` does this)
#   tests/vm/run.sh --report BUILD_DIR  the summary of the last run again
#   tests/vm/run.sh --times BUILD_DIR   what each suite took in the last run
#                                       (for tests/vm/suite-times)
#
# BUILD_DIR holds the freshly built ocirt.  The kernel and base image come
# from tests/vm/build-image.sh (built once, cached in /var/cache/ocirt-vm);
# each run adds a small archive with ocirt, tests/lib, tests/runtime and
# bundles/ from this checkout, boots, runs the suites as a systemd unit and
# powers off.  The TAP logs land in BUILD_DIR/vm-logs/RUNTIME/SUITE.log.
#
# Environment:
#   OCIRT_VM_SUITES    bats files of tests/runtime (default: those with tests tagged vm)
#   OCIRT_VM_TAGS      run only the tests with these bats tags (default
#                      "vm,!selinux": tagged vm, not selinux; empty: every
#                      test of the suites)
#   OCIRT_VM_RUNTIMES  default "ocirt runc"; the first one is the runtime under test,
#                      the others are controls
#   OCIRT_VM_CONTROL   "failed" (default): a control runs only the suites that
#                      failed under test; "always": every suite
#   OCIRT_VM_TIMEOUT   hard limit for the whole VM, seconds (default 1800)
#   OCIRT_VM_MEMORY    guest memory, MB (default 2048)
#   OCIRT_VM_CACHE     see build-image.sh
#   OCIRT_VM_SELINUX   "no" (default): no SELinux boot; "yes": a second, short
#                      boot under SELinux for the tests tagged "selinux" of
#                      the chosen suites (see below); "only": that boot alone
#                      (`make check-vm-selinux`)
#   OCIRT_VM_SELINUX_TIMEOUT  hard limit for that boot, seconds (default 900)
#   OCIRT_VM_BOOT_TIMEOUT  seconds for the kernel to reach the guest's /init
#                      (default 240; ~10 s idle): past it the boot is stopped
#                      and tried once more
#
# Debian's kernel runs one of AppArmor and SELinux per boot, AppArmor by
# default.  The tests tagged "selinux" (`# bats test_tags=selinux`) run again
# in a second boot of the same image with `security=selinux selinux=1`, where
# systemd loads Debian's selinux-policy-default (permissive: build-image.sh);
# only those tests run there, so the boot stays short.  Its logs land in
# BUILD_DIR/vm-logs/selinux/RUNTIME/SUITE.log and its counts are added to the
# last line.
#
# The last line is "N passed, N failed, N skipped" for the runtime under test,
# counted as contrib/test.sh counts.  Exit status: 0 when nothing failed, 1
# otherwise (or when nothing ran), 77 when no VM can be had here (the reason
# is printed).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${OCIRT_VM_CACHE:-/var/cache/ocirt-vm}
# What only this guest can test: the tests tagged "vm" (`# bats
# test_tags=vm`, or file_tags for a whole suite), in every suite that has
# some.  The host's pass runs them too, with everything else.
# Not those tagged "selinux" too: they need SELinux, which this boot's
# kernel does not run (each would cost seconds to skip); they run in the
# SELinux boot (below).
tags=${OCIRT_VM_TAGS-vm,!selinux}
suites=${OCIRT_VM_SUITES:-$(cd "$top/tests/runtime" && {
	grep -l -E '^# bats file_tags=(.*,)?vm(,|$)' -- *.bats
	grep -l -E '^# bats test_tags=(.*,)?vm(,|$)' -- *.bats
} | tr '\n' ' ')}

# order_suites SUITES: the longest first, by the seconds each took in a
# measured pass (tests/vm/suite-times; `run.sh --times` prints them from the
# last run's logs), so that the guest's lanes (one per vCPU, guest.sh, each
# taking the next suite as it is free) end close together.  A suite not
# listed there comes first: it may be long.
order_suites() {
	local s t
	for s in $1; do
		t=$(awk -v s="$s" '$1 == s { print $2 }' "$here/suite-times" 2>/dev/null)
		echo "${t:-100000} $s"
	done | sort -s -k1,1nr | awk '!seen[$2]++ { print $2 }' | tr '\n' ' '
}
suites=$(order_suites "$suites")
runtimes=${OCIRT_VM_RUNTIMES:-ocirt runc}
control=${OCIRT_VM_CONTROL:-failed}
vm_timeout=${OCIRT_VM_TIMEOUT:-1800}
memory=${OCIRT_VM_MEMORY:-2048}
selinux_timeout=${OCIRT_VM_SELINUX_TIMEOUT:-900}
boot_timeout=${OCIRT_VM_BOOT_TIMEOUT:-240}
# The chosen suites that have tests tagged "selinux".
selinux_suites=
if [ "${OCIRT_VM_SELINUX:-no}" != no ]; then
	selinux_suites=$(for s in $suites; do
		if grep -q -E '^# bats (test|file)_tags=(.*,)?selinux(,|$)' "$top/tests/runtime/$s" 2>/dev/null; then
			echo "$s"
		fi
	done | tr '\n' ' ')
fi

say() { echo "== vm: $*" >&2; }
skip() {
	echo "SKIP: vm: $*" >&2
	exit 77
}
die() {
	echo "vm: $*" >&2
	exit 1
}

# ---------------------------------------------------------------- cleanup

tmp=
qemu_pid=
# Whatever happens (a timeout, Ctrl-C, an error), no qemu and no temp dir
# outlive this script.
cleanup() {
	stop_vm
	[ -z "$tmp" ] || rm -rf --one-file-system "$tmp"
}
# stop_vm: the running qemu, if any, asked to stop and then killed.
stop_vm() {
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null || true
		local i
		for ((i = 0; i < 50; i++)); do
			kill -0 "$qemu_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
	fi
	qemu_pid=
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- image

unused_units="containerd.service podman.service podman.socket podman-auto-update.service
podman-auto-update.timer podman-restart.service e2scrub_reap.service e2scrub_all.timer fstrim.timer
dpkg-db-backup.timer"

# The per-run archive: the build under test, the suites, the unit that runs
# them.  Unpacked after the base image, so it may add to /etc too.
# make_run_archive BUILD OUT SUITES TAGS TIMEOUT
make_run_archive() {
	local build=$1 out=$2 suites=$3 tags=$4 vm_timeout=$5 stage=$tmp/stage
	local vm=$stage/opt/ocirt-vm
	rm -rf "$stage"
	mkdir -p "$vm/bin" "$vm/src/tests" "$stage/etc/systemd/system/multi-user.target.wants"
	cp "$build/ocirt" "$vm/bin/ocirt"
	# The systemd driver's helper, found beside ocirt.
	if [ -x "$build/ocirt-systemd" ]; then cp "$build/ocirt-systemd" "$vm/bin/"; fi
	cp -r "$top/tests/lib" "$top/tests/runtime" "$vm/src/tests/"
	cp -r "$top/bundles" "$vm/src/"
	cp "$here/guest.sh" "$vm/guest.sh"
	# The guest stops itself a minute before the host would pull the plug,
	# so the last suite's log still makes it out.
	cat >"$vm/config" <<-EOF
		SUITES="$suites"
		TAGS="$tags"
		RUNTIMES="$runtimes"
		CONTROL="$control"
		BUDGET=$((vm_timeout - 90))
		DEADLINE=$(($(date +%s) + vm_timeout - 90))
		BATS_TEST_TIMEOUT=180
	EOF
	write_unit >"$stage/etc/systemd/system/ocirt-vm-test.service"
	ln -s ../ocirt-vm-test.service "$stage/etc/systemd/system/multi-user.target.wants/"
	# The services Debian's packages enable that no test uses (the suites
	# start their own containerd and call podman with their own store), each
	# seconds of the boot under emulation and CPU beside the tests; masked
	# here rather than in build-image.sh, whose image is shared and slow to
	# rebuild.
	local unit
	for unit in $unused_units; do
		ln -s /dev/null "$stage/etc/systemd/system/$unit"
	done
	# A unit whose processes ignore SIGTERM (a container's init does, as pid
	# 1 of its namespace) is killed after this, failed, as after systemd's
	# default 90 s: the tests that stop a scope behind a runtime's back wait
	# this long for it.
	mkdir -p "$stage/etc/systemd/system.conf.d"
	printf '[Manager]\nDefaultTimeoutStopSec=15s\n' >"$stage/etc/systemd/system.conf.d/ocirt-vm.conf"
	# Directory entries overwrite the modes of the base image's /etc and
	# /opt: they must be what Debian has there.
	find "$stage" -type d -exec chmod 755 {} +
	(cd "$stage" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 >"$out"
}

# The tests run as a service of the booted system, after everything else
# has started, the way a test run from a login would see the host.
write_unit() {
	cat <<-EOF
		[Unit]
		Description=ocirt VM test pass
		After=multi-user.target
		SuccessAction=poweroff
		FailureAction=poweroff

		[Service]
		Type=oneshot
		ExecStart=/opt/ocirt-vm/guest.sh
		StandardOutput=journal+console
		StandardError=inherit
		TimeoutStartSec=infinity
		# systemd ignores SIGPIPE in services by default; a login shell does
		# not, and a runtime passes an ignored signal on to the container.
		IgnoreSIGPIPE=no
		Environment=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

		[Install]
		WantedBy=multi-user.target
	EOF
}

# ---------------------------------------------------------------- qemu

# boot INITRD [KERNEL_ARGS]: run the VM in the background; its pid in
# $qemu_pid.  TCG only: with -enable-kvm Debian's kernel hangs in early boot
# here.  tsc=reliable: under emulation the kernel otherwise finds the TSC
# unstable and reads the time from the emulated HPET, without the vDSO:
# every clock_gettime (Go's scheduler makes many) becomes a system call.
boot() {
	local initrd=$1 extra=${2:-}
	: >"$tmp/results.txt"
	: >"$tmp/console.log"
	qemu-system-x86_64 -accel tcg -smp 2 -m "$memory" \
		-nographic -monitor none -no-reboot -nic none \
		-serial "file:$tmp/console.log" -serial "file:$tmp/results.txt" \
		-kernel "$cache/vmlinuz" -initrd "$initrd" \
		-append "console=ttyS0 rdinit=/init panic=-1 mitigations=off tsc=reliable systemd.unified_cgroup_hierarchy=1${extra:+ $extra}" \
		</dev/null >"$tmp/qemu.log" 2>&1 &
	qemu_pid=$!
}

# wait_init TIMEOUT: until the guest's /init has said so on the console
# (build-image.sh's make_init); returns 1 when qemu exits or TIMEOUT passes
# first.
wait_init() {
	local limit=$1 start=$SECONDS
	while ! grep -q 'ocirt-vm: /init at' "$tmp/console.log" 2>/dev/null; do
		kill -0 "$qemu_pid" 2>/dev/null && ((SECONDS - start < limit)) || return 1
		sleep 1
	done
}

# wait_vm TIMEOUT: until qemu exits or the hard timeout; prints each suite
# as its log arrives.  Returns 1 on timeout.
wait_vm() {
	local vm_timeout=$1 start=$SECONDS seen=0 n
	while kill -0 "$qemu_pid" 2>/dev/null; do
		if ((SECONDS - start >= vm_timeout)); then
			say "timeout: the VM ran for ${vm_timeout}s; stopping it"
			stop_vm
			return 1
		fi
		sleep 2
		n=$(grep -c '^end ' "$tmp/results.txt" 2>/dev/null || true)
		if ((n > seen)); then
			grep '^end ' "$tmp/results.txt" | tail -n +$((seen + 1)) |
				sed "s/^end /== vm: $((SECONDS - start))s: got /" >&2
			seen=$n
		fi
	done
	wait "$qemu_pid" || say "qemu exited with status $?: $(tail -3 "$tmp/qemu.log")"
	qemu_pid=
	say "the VM ran for $((SECONDS - start))s"
}

# ---------------------------------------------------------------- results

# unpack_results DIR: the files the guest sent, decoded into DIR.  A block
# cut short (the VM died mid-file) is dropped.
unpack_results() {
	local dir=$1 name=
	local b64=$tmp/block.b64
	while IFS= read -r line; do
		line=${line%$'\r'}
		case "$line" in
		"begin "*)
			name=${line#begin }
			: >"$b64"
			;;
		"end "*)
			if [ -n "$name" ] && [ "${line#end }" = "$name" ]; then
				mkdir -p "$(dirname "$dir/$name")"
				base64 -d <"$b64" >"$dir/$name"
			fi
			name=
			;;
		*) [ -z "$name" ] || echo "$line" >>"$b64" ;;
		esac
	done <"$tmp/results.txt"
}

# plan_met LOG: the TAP stream reached the end its plan announced.
plan_met() {
	local plan
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$1" | head -1)
	[ -n "$plan" ] && [ "$(grep -cE '^(ok|not ok) ' "$1")" -eq "$plan" ]
}

# count_log LOG: "PASS FAIL SKIP" of one TAP log, as contrib/test.sh counts:
# a stream that does not meet its plan counts as one more failure.
count_log() {
	local log=$1 p s n
	p=$(grep -E '^ok ' "$log" | grep -vc '# skip' || true)
	s=$(grep -cE '^ok .* # skip' "$log" || true)
	n=$(grep -cE '^not ok ' "$log" || true)
	plan_met "$log" || n=$((n + 1))
	echo "$p $n $s"
}

# failed_tests LOG: the names of the tests that failed, one a line.
failed_tests() {
	# Without bats' timing (" in N ms", guest.sh asks for it), which differs
	# between runtimes.
	sed -n 's/^not ok [0-9]* \(.*\)$/\1/p' "$1" 2>/dev/null | sed 's/ # .*$//; s/ in [0-9]*ms$//' || true
}

# print_failures RUNTIME: each "not ok" with its diagnostics (as contrib/test.sh).
print_failures() {
	local runtime=$1 suite log
	for suite in $suites; do
		log=$out/$runtime/${suite%.bats}.log
		if [ ! -f "$log" ]; then
			[ "$runtime" != "$under" ] || echo "--- $runtime $suite: no log (the VM did not get this far)"
			continue
		fi
		awk -v name="$runtime/$suite" '
			/^not ok / { print "--- " name ": " $0; show = 1; k = 0; next }
			/^(ok|not ok) / { show = 0 }
			show && /^#/ && k < 60 { print "    " $0; k++ }
		' "$log"
		if ! plan_met "$log"; then
			echo "--- $runtime/$suite: incomplete TAP stream"
			tail -5 "$log" | sed 's/^/    /'
		fi
	done
}

# tally RUNTIME: sets PASS FAIL SKIP over all suites; a missing log is one
# failure.
tally() {
	local runtime=$1 suite log p n s
	PASS=0 FAIL=0 SKIP=0
	for suite in $suites; do
		log=$out/$runtime/${suite%.bats}.log
		if [ -f "$log" ]; then
			read -r p n s < <(count_log "$log")
		elif [ "$runtime" = "$under" ]; then
			p=0 n=1 s=0
		else
			continue # a control runs only where the runtime under test failed
		fi
		PASS=$((PASS + p)) FAIL=$((FAIL + n)) SKIP=$((SKIP + s))
	done
}

# compare UNDER CONTROL: which failures are the runtime's own and which
# the control shares (tests that do not hold on this host at all).
compare() {
	local under=$1 control=$2 suite
	local a b
	for suite in $suites; do
		a=$(failed_tests "$out/$under/${suite%.bats}.log" | sort)
		b=$(failed_tests "$out/$control/${suite%.bats}.log" | sort)
		comm -23 <(echo "$a") <(echo "$b") | sed "/^$/d; s|^|only $under: $suite: |"
		comm -12 <(echo "$a") <(echo "$b") | sed "/^$/d; s|^|both:       $suite: |"
		comm -13 <(echo "$a") <(echo "$b") | sed "/^$/d; s|^|only $control: $suite: |"
	done
}

# report_pass DIR SUITES FINISHED: failures, the comparison with the
# control and the counts of one boot; adds its counts for the runtime under
# test to TOTAL_PASS TOTAL_FAIL TOTAL_SKIP.
report_pass() {
	local out=$1 suites=$2 finished=$3
	# The first control runtime; $control is the mode (failed, always).
	local ref_rt rt
	read -r under ref_rt _ <<<"$runtimes"
	[ -f "$out/env.txt" ] && sed 's/^/    /' "$out/env.txt"
	for rt in $runtimes; do
		echo "== failures with $rt"
		print_failures "$rt"
	done
	if [ -n "${ref_rt:-}" ]; then
		echo "== $under against the control $ref_rt (failed tests)"
		compare "$under" "$ref_rt"
	fi
	for rt in $runtimes; do
		tally "$rt"
		echo "$rt: $PASS passed, $FAIL failed, $SKIP skipped"
	done
	[ "$control" = always ] || echo "(controls ran only the suites that failed with $under)"
	if [ "$finished" != true ]; then
		echo "== the VM did not finish; its console ended with:"
		# Without the terminal's colour and cursor escapes.
		tail -30 "$out/console.log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\r$//; s/^/    /'
	fi
	tally "$under"
	TOTAL_PASS=$((TOTAL_PASS + PASS)) TOTAL_FAIL=$((TOTAL_FAIL + FAIL)) TOTAL_SKIP=$((TOTAL_SKIP + SKIP))
}

# finished DIR: the boot whose logs are in DIR ran to its end.
finished() {
	[ -f "$1/finished" ] && echo true || echo false
}

report() {
	TOTAL_PASS=0 TOTAL_FAIL=0 TOTAL_SKIP=0
	[ ! -f "$out/booted" ] || report_pass "$out" "$suites" "$(finished "$out")"
	if [ -f "$out/selinux/booted" ]; then
		echo "== the SELinux boot (security=selinux, permissive; tests tagged selinux of: $selinux_suites)"
		report_pass "$out/selinux" "$selinux_suites" "$(finished "$out/selinux")"
	fi
	echo "$TOTAL_PASS passed, $TOTAL_FAIL failed, $TOTAL_SKIP skipped"
	[ "$TOTAL_FAIL" -eq 0 ] && [ $((TOTAL_PASS + TOTAL_SKIP)) -gt 0 ]
}

# run_boot DIR SUITES TAGS TIMEOUT [KERNEL_ARGS]: one boot of the image with
# a fresh run archive; its results unpacked into DIR (DIR/finished when the
# guest got through every suite).
run_boot() {
	local dir=$1 suites=$2 tags=$3 timeout=$4 extra=${5:-} ok=true
	mkdir -p "$dir"
	: >"$dir/booted"
	# The base uncompressed where build-image.sh could cache it so.
	local base=$cache/base.cpio attempt
	[ "$base" -nt "$cache/base.cpio.gz" ] || base=$cache/base.cpio.gz
	# Under emulation the kernel has been seen (once in many boots) to hang
	# before userspace, silent: that boot, which ran none of our code, is
	# stopped and made again.  The archive is remade per boot for the
	# guest's own deadline.
	for attempt in 1 2; do
		make_run_archive "$build" "$tmp/run.cpio.gz" "$suites" "$tags" "$timeout"
		# One -initrd: the kernel unpacks concatenated archives in order,
		# each compressed or not.
		cat "$base" "$cache/modules.cpio.gz" "$tmp/run.cpio.gz" >"$tmp/initrd"
		say "booting${extra:+ with $extra} (suites: $suites; tags: ${tags:-none}; runtimes: $runtimes; hard limit ${timeout}s)"
		boot "$tmp/initrd" "$extra"
		wait_init "$boot_timeout" && break
		cp "$tmp/console.log" "$dir/console-boot$attempt.log" 2>/dev/null || true
		say "boot $attempt: the kernel did not reach /init in ${boot_timeout}s; its console ended with: $(tail -c 300 "$tmp/console.log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | tr -d '\r' | tail -2 | tr '\n' ' ')"
		stop_vm
	done
	if [ -n "$qemu_pid" ]; then
		wait_vm "$timeout" || ok=false
	else
		ok=false
	fi
	cp "$tmp/console.log" "$dir/console.log" 2>/dev/null || true
	unpack_results "$dir"
	grep -qx 'done' <(tr -d '\r' <"$tmp/results.txt") || ok=false
	! $ok || : >"$dir/finished"
}

# ---------------------------------------------------------------- main

report_only=false
times_only=false
case "${1:-}" in
--report)
	report_only=true
	shift
	;;
--times)
	times_only=true
	shift
	;;
esac
build=${1:-}
[ -n "$build" ] || {
	echo "usage: $0 [--report | --times] BUILD_DIR" >&2
	exit 2
}
build=$(cd "$build" && pwd)
for s in $suites; do
	[ -f "$top/tests/runtime/$s" ] || die "OCIRT_VM_SUITES: no tests/runtime/$s"
done
out=$build/vm-logs
if $times_only; then
	# tests/vm/suite-times from the last run: what each suite took under
	# test, longest first.
	sed -n 's/^# vm: [^ ]* \([^ ]*\) took \([0-9]*\) s$/\1 \2/p' "$out/${runtimes%% *}"/*.log | sort -k2,2nr
	exit
fi
if $report_only; then
	# The summary of the last run again, from its logs.
	report
	exit
fi
[ -x "$build/ocirt" ] || die "$build/ocirt: not built (make first)"

# Exits 77 itself when no image can be had; a no-op when it is cached.
"$here/build-image.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
command -v cpio >/dev/null || skip "cpio is not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ocirt-vm.XXXXXX")
rm -rf "$out"
mkdir -p "$out"
[ "${OCIRT_VM_SELINUX:-no}" = only ] || run_boot "$out" "$suites" "$tags" "$vm_timeout"
if [ -n "$selinux_suites" ]; then
	start=$SECONDS
	run_boot "$out/selinux" "$selinux_suites" selinux "$selinux_timeout" "security=selinux selinux=1"
	say "the SELinux boot took $((SECONDS - start))s in all"
fi
report
