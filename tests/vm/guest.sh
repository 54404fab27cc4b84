#!/bin/bash
# Runs inside the VM (tests/vm/run.sh puts it in /opt/ocirt-vm), as the
# systemd unit ocirt-vm-test.service: the chosen bats suites against each
# runtime, one suite at a time, every log sent to the host as soon as it is
# complete.  The unit powers the VM off when this script ends.
#
# The results go to the second serial port (/dev/ttyS1), which kernel
# messages never share, as blocks the host decodes:
#   begin NAME / base64 lines / end NAME      one file (RUNTIME/SUITE.log, env.txt)
#   done                                      every suite ran or was skipped
set -uo pipefail

vm=/opt/ocirt-vm
# shellcheck source=/dev/null
. "$vm/config" # SUITES TAGS RUNTIMES CONTROL BUDGET DEADLINE BATS_TEST_TIMEOUT
results=/dev/ttyS1
# The host's deadline (DEADLINE, seconds since the epoch: the guest's clock
# starts from the host's) also counts the boot, which takes minutes on a
# busy machine; BUDGET alone is the fallback.
deadline=${DEADLINE:-$(($(date +%s) + BUDGET))}

# No \n -> \r\n translation on the way out.
stty -F "$results" raw -echo 2>/dev/null || true

# send NAME FILE: one file to the host.
send() {
	# One file at a time: the lanes share the port.
	(
		flock 9
		{
			echo "begin $1"
			base64 "$2"
			echo "end $1"
		} >"$results"
	) 9>/run/ocirt-vm-send.lock
}

# What the tests ran on, for the report: is this really a pure v2 host
# with systemd as PID 1?
describe_host() {
	echo "kernel: $(uname -r)"
	echo "pid 1: $(cat /proc/1/comm)"
	echo "/sys/fs/cgroup: $(stat -fc %T /sys/fs/cgroup)"
	echo "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
	echo "subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
	echo "this unit's cgroup: $(cat /proc/self/cgroup)"
	echo "systemd: $(systemctl --version | head -1)"
	echo "system state: $(systemctl is-system-running 2>&1)"
	echo "security modules: $(cat /sys/kernel/security/lsm 2>/dev/null)"
	echo "selinux: $(getenforce 2>/dev/null || echo not installed), this unit: $(cat /proc/self/attr/current 2>/dev/null | tr -d '\0')"
	echo "runc: $(runc --version | head -1)"
	echo "bats: $(bats --version)"
	echo "block devices: $(ls /sys/block | tr '\n' ' ')"
	echo "cpus: $(nproc), memory: $(free -m | awk '/^Mem:/ { print $2 " MB" }')"
	# Where the boot's time went: the kernel (with the initramfs) until
	# systemd, then the units before this one (boot.txt, at the end).
	echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
	echo "up: $(cut -d' ' -f1 /proc/uptime) s; systemd started at $(systemctl show -P UserspaceTimestampMonotonic) us"
}

# runtime_binary NAME: the runtime under test: the fresh ocirt, or Debian's.
runtime_binary() {
	case "$1" in
	ocirt) echo "$vm/bin/ocirt" ;;
	*) command -v "$1" ;;
	esac
}

# run_suite RUNTIME SUITE: one bats file, bounded by what is left of the
# budget, its TAP output sent as RUNTIME/SUITE.log.
run_suite() {
	local runtime=$1 suite=$2 log left
	log=$(mktemp /tmp/ocirt-vm-log.XXXXXX)
	left=$((deadline - $(date +%s)))
	if [ "$left" -le 10 ]; then
		echo "# not run: the VM's time budget ($BUDGET s) ran out" >"$log"
	else
		echo "=== $(date +%T) $runtime: $suite" >&2
		local start=$SECONDS
		local rc=0
		# Each line on the console as it comes: when the host stops a VM
		# that ran out of time, the console shows where it was.
		(
			cd "$vm/src" &&
				OCIRT=$(runtime_binary "$runtime") TOP_SRCDIR="$vm/src" \
					timeout -k 10 "$left" tests/lib/run-bats "tests/runtime/$suite" "${TAGS:-}"
		) 2>&1 | tee "$log" >&2
		rc=${PIPESTATUS[0]}
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "# vm: stopped after ${left}s: the VM's time budget ($BUDGET s) ran out" >>"$log"
		fi
		echo "# vm: $runtime $suite took $((SECONDS - start)) s" | tee -a "$log" >&2
	fi
	# Passed when every planned test reported "ok".
	LAST_OK=false
	local plan
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log" | head -1)
	if [ -n "$plan" ] && [ "$(grep -c '^ok ' "$log")" -eq "$plan" ]; then
		LAST_OK=true
	fi
	send "$runtime/${suite%.bats}.log" "$log"
	rm -f "$log"
}

# load_modules: what run.sh added of the kernel's modules; a RAM disk (brd)
# is the block device of the io controller's tests.
# insmod: it has no dependencies, and depmod would take seconds.
load_modules() {
	local brd=/lib/modules/$(uname -r)/kernel/drivers/block/brd.ko
	[ -f "$brd" ] || return 0
	insmod "$brd" rd_nr=1 rd_size=8192 || echo "vm: loading brd failed" >&2
}

# The suites still to run, and those that failed, shared by the lanes.
queue= failed=
# One lane per vCPU: the suites are made to run side by side (the host's
# `make -j2 check` does too), and under emulation one lane leaves a CPU idle
# while a test waits on the runtime.
LANES=$(nproc)

# next_suite: the first suite of the queue, taken off it; none when empty.
next_suite() {
	flock "$queue" sh -c 'head -1 "$1"; sed -i 1d "$1"' sh "$queue"
}

# run_lane RUNTIME: suites from the queue until it is empty; each that
# failed (each with CONTROL=always) is added to $failed.
run_lane() {
	local suite
	while suite=$(next_suite) && [ -n "$suite" ]; do
		run_suite "$1" "$suite"
		if [ "$CONTROL" = always ] || [ "$LAST_OK" != true ]; then
			flock "$failed" sh -c 'echo "$1" >>"$2"' sh "$suite" "$failed"
		fi
	done
}

main() {
	local host_file boot_file runtime suite
	load_modules
	host_file=$(mktemp /tmp/ocirt-vm-env.XXXXXX)
	describe_host >"$host_file" 2>&1
	cat "$host_file" >&2
	send env.txt "$host_file"
	rm -f "$host_file"
	# Each test's time in the logs (tests/lib/run-bats): what the suites
	# are split and ordered by.
	export BATS_TEST_TIMEOUT HOME=/root OCIRT_BATS_TIMING=1
	# Every suite against the runtime under test first, so that its counts
	# are complete even when time runs out.  The controls then run the
	# suites that failed (every suite with CONTROL=always): they are there
	# to tell ocirt's failures from tests that do not hold on this host, and
	# under emulation every suite costs minutes.
	local under controls lanes=() i
	read -r under controls <<<"$RUNTIMES"
	queue=$(mktemp /tmp/ocirt-vm-queue.XXXXXX)
	failed=$(mktemp /tmp/ocirt-vm-failed.XXXXXX)
	printf '%s\n' $SUITES >"$queue"
	for ((i = 0; i < LANES; i++)); do
		run_lane "$under" &
		lanes+=($!)
	done
	wait "${lanes[@]}"
	for suite in $(cat "$failed"); do
		for runtime in $controls; do
			run_suite "$runtime" "$suite"
		done
	done
	rm -f "$queue" "$failed"
	# Where the boot's time went: systemd's steps until this unit, from the
	# journal (systemd-analyze waits for the boot to finish, which
	# includes this unit).
	boot_file=$(mktemp /tmp/ocirt-vm-boot.XXXXXX)
	journalctl -b -o short-monotonic --no-pager 2>&1 |
		sed -n '1,/ocirt VM test pass/p' | grep -E 'Start|Finished|Reached|Mounted|Failed' >"$boot_file"
	send boot.txt "$boot_file"
	rm -f "$boot_file"
	echo "done" >"$results"
}

main
