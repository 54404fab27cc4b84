#!/bin/bash
# Build out of tree and run the whole test suite, as CI does.
#
#   contrib/test.sh              install missing packages (root, apt), build,
#                                `make check` (unit tests + bats suites), then
#                                `make check-vm` (the cgroup suites in a cgroup
#                                v2 + systemd guest under qemu) and
#                                `make check-vm-selinux` (the SELinux tests in
#                                that guest booted under SELinux)
#   contrib/test.sh --bats-only  run only the tests/runtime bats suites against
#                                $OCIRT (e.g. OCIRT=runc), no build needed
#
# Environment: BUILD_DIR (default: $TMPDIR/ocirt-build; the sanitized build
# goes next to it), NO_DEPS=1 to skip the package step, NO_SANITIZERS=1 to
# skip the sanitized run, NO_VM=1 to skip the VM pass, OCIRT for --bats-only, BATS_FILES to pick suites
# there.
#
# The last line is always "N passed, N failed, N skipped"; the exit status is
# non-zero when anything failed or nothing ran.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-${TMPDIR:-/tmp}/ocirt-build}
mode=full
case "${1:-}" in
--bats-only) mode=bats ;;
"") ;;
*)
	echo "usage: $0 [--bats-only]" >&2
	exit 2
	;;
esac

say() { echo "== $*" >&2; }

summary() { # PASSED FAILED SKIPPED
	echo "$1 passed, $2 failed, $3 skipped"
	if [ "$2" -ne 0 ] || [ $(($1 + $2 + $3)) -eq 0 ]; then
		exit 1
	fi
	exit 0
}

# print_tap_failures LOG...: each "not ok" with its diagnostics.
print_tap_failures() {
	awk '
		FNR == 1 { name = FILENAME }
		/^not ok / { print "--- " name ": " $0; show = 1; n = 0; next }
		/^(ok|not ok) / { show = 0 }
		show && /^#/ && n < 60 { print "    " $0; n++ }
	' "$@"
}

install_deps() {
	[ "${NO_DEPS:-}" = 1 ] && return 0
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		say "not root or no apt-get: skipping package installation"
		return 0
	fi
	say "checking packages"
	"$top/contrib/install-deps.sh"
}

run_bats_only() {
	local logs="$build/bats-logs"
	rm -rf "$logs"
	mkdir -p "$logs"
	local files=${BATS_FILES:-$(ls "$top"/tests/runtime/*.bats)}
	local f pass=0 fail=0 skip=0
	export TOP_SRCDIR="$top"
	[ -n "${OCIRT:-}" ] || {
		echo "--bats-only needs OCIRT (a runtime binary, e.g. OCIRT=runc)" >&2
		exit 2
	}
	export OCIRT
	for f in $files; do
		local log="$logs/$(basename "$f" .bats).log"
		say "bats $(basename "$f") (OCIRT=$OCIRT)"
		"$top/tests/lib/run-bats" "$f" >"$log" 2>&1
		local p s n
		p=$(grep -E '^ok ' "$log" | grep -vc '# skip' || true)
		s=$(grep -E '^ok .* # skip' "$log" | wc -l)
		n=$(grep -cE '^not ok ' "$log" || true)
		# A suite that died before its plan was met counts as one failure.
		local plan
		plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log" | head -1)
		if [ -z "$plan" ] || [ $((p + s + n)) -ne "$plan" ]; then
			echo "--- $(basename "$f"): incomplete TAP stream (plan ${plan:-none}, got $((p + s + n)))"
			tail -20 "$log"
			n=$((n + 1))
		fi
		pass=$((pass + p))
		skip=$((skip + s))
		fail=$((fail + n))
	done
	print_tap_failures "$logs"/*.log
	summary "$pass" "$fail" "$skip"
}

# check_tree DIR [CHECK_ARGS...]: configure (with $CHECK_CFLAGS) and build
# in DIR, run `make check CHECK_ARGS`, print the failures and set PASS,
# FAIL and SKIP.  A tree that does not build counts as one failure.
check_tree() {
	local dir=$1
	shift
	PASS=0 FAIL=1 SKIP=0
	rm -rf "$dir"
	mkdir -p "$dir"
	cd "$dir" || return
	say "configure (in $dir${CHECK_CFLAGS:+, CFLAGS=$CHECK_CFLAGS})"
	if [ -n "${CHECK_CFLAGS:-}" ]; then
		"$top/configure" -q CFLAGS="$CHECK_CFLAGS" LDFLAGS="$CHECK_CFLAGS" || return
	else
		"$top/configure" -q || return
	fi
	say "make"
	if ! make -j2 >make.log 2>&1; then
		tail -60 make.log
		echo "build failed" >&2
		return
	fi
	say "make check $*"
	local rc=0
	make -j2 check "$@" >check.log 2>&1 || rc=$?
	grep -E '^(PASS|FAIL|SKIP|XFAIL|XPASS|ERROR):' check.log | grep -v '^PASS' | head -200
	local suite
	suite=$(find "$dir" -name test-suite.log -print -quit)
	if [ -z "$suite" ]; then
		tail -60 check.log
		echo "make check produced no test-suite.log (exit $rc)" >&2
		return
	fi
	# The per-test failures, with their diagnostics.
	local trs bad=()
	while IFS= read -r trs; do
		if grep -qE '^:test-result: (FAIL|ERROR|XPASS)' "$trs"; then
			bad+=("${trs%.trs}.log")
		fi
	done < <(find "$dir" -name '*.trs' | sort)
	if [ "${#bad[@]}" -gt 0 ]; then
		echo "== failures"
		print_tap_failures "${bad[@]}"
		grep -h '^ERROR' "${bad[@]}" 2>/dev/null | head -20
	fi
	count() { sed -n "s/^# $1: *\([0-9]*\)$/\1/p" "$suite" | head -1; }
	local xfail xpass error
	PASS=$(count PASS) FAIL=$(count FAIL) SKIP=$(count SKIP)
	xfail=$(count XFAIL) xpass=$(count XPASS) error=$(count ERROR)
	PASS=$((${PASS:-0} + ${xfail:-0}))
	FAIL=$((${FAIL:-0} + ${error:-0} + ${xpass:-0}))
	SKIP=${SKIP:-0}
	if [ "$rc" -ne 0 ] && [ "$FAIL" -eq 0 ]; then
		tail -30 check.log
		FAIL=1
	fi
}

# check_vm DIR TARGET WHAT: the runtime suites again in a pure cgroup v2
# guest with systemd as PID 1 (`make check-vm`, tests/vm/run.sh; TARGET
# check-vm-selinux: the SELinux tests in a boot under SELinux), counted like
# the host's.  Where no VM can be had (exit 77: no qemu, no mirror), one skip
# with the reason, never a silent pass.
check_vm() {
	local dir=$1 target=$2 what=$3 rc=0 last log=$1/$2.log
	PASS=0 FAIL=0 SKIP=0
	say "make $target ($what)"
	make -C "$dir" "$target" >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] && grep -q '^SKIP: vm' "$log"; then
		grep '^SKIP: vm' "$log"
		SKIP=1
		return
	fi
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -1)
	if [ -z "$last" ]; then
		tail -40 "$log"
		FAIL=1
		return
	fi
	read -r PASS _ FAIL _ SKIP _ <<<"$last"
	# The report: failures with either runtime, and the comparison.
	sed -n '/^== failures with/,$p' "$log" | head -150
	[ "$rc" -eq 0 ] || [ "$FAIL" -gt 0 ] || FAIL=1
}

# The whole suite; then the C unit tests and imgtool's suites again with
# AddressSanitizer and UndefinedBehaviorSanitizer (leaks count as failures).
# ocirt's own suites are not run sanitized: its container processes run in
# namespaces and under seccomp, where the sanitizers' runtime does not belong.
run_make_check() {
	say "autogen"
	(cd "$top" && ./autogen.sh) >"$build.autogen.log" 2>&1 || {
		cat "$build.autogen.log"
		summary 0 1 0
	}
	check_tree "$build"
	local pass=$PASS fail=$FAIL skip=$SKIP built=$PASS
	if [ "${NO_SANITIZERS:-}" != 1 ]; then
		export ASAN_OPTIONS=halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
		CHECK_CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined" \
			check_tree "$build-sanitized" TESTS='$(check_PROGRAMS) $(IMGTOOL_BATS)'
		pass=$((pass + PASS)) fail=$((fail + FAIL)) skip=$((skip + SKIP))
	fi
	if [ "${NO_VM:-}" = 1 ]; then
		echo "SKIP: vm: NO_VM=1 leaves the VM pass out"
		skip=$((skip + 1))
	elif [ "$built" -gt 0 ]; then
		check_vm "$build" check-vm "cgroup v2 + systemd guest under qemu"
		pass=$((pass + PASS)) fail=$((fail + FAIL)) skip=$((skip + SKIP))
		check_vm "$build" check-vm-selinux "the same guest booted under SELinux"
		pass=$((pass + PASS)) fail=$((fail + FAIL)) skip=$((skip + SKIP))
	fi
	summary "$pass" "$fail" "$skip"
}

install_deps || summary 0 1 0
if [ "$mode" = bats ]; then
	mkdir -p "$build"
	run_bats_only
else
	run_make_check
fi
