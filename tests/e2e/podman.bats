#!/usr/bin/env bats
# podman (through conmon) with ocirt as its runtime, each scenario also run
# with Debian's runc as the control.  podman gets a store and configuration
# of its own (tests/lib/podman.bash).

load ../lib/helpers
load ../lib/e2e
load ../lib/podman

setup_file() {
	podman_setup_file
}

teardown_file() {
	podman_teardown_file
}

setup() {
	setup_test
	requires_cmd podman conmon
}

teardown() {
	podman_teardown
	teardown_test
}

@test "podman: run prints, passes the exit status through, and rm leaves nothing (runc, ocirt)" {
	local rt
	for rt in runc ocirt; do
		pod "$rt" run --rm $(pod_run_opts) "$PODMAN_IMAGE" sh -c 'echo "hello from $(hostname)"; exit 3'
		assert_status 3
		assert_output_contains "hello from"
		pod "$rt" ps --all --quiet
		assert_success
		assert_output ""
	done
}

@test "podman: run -d, exec, stop and rm (runc, ocirt)" {
	local rt
	for rt in runc ocirt; do
		pod "$rt" run -d --name "c-$ID-$rt" $(pod_run_opts) "$PODMAN_IMAGE" sleep 1000
		assert_success
		pod "$rt" exec "c-$ID-$rt" sh -c 'echo in $(cat /proc/1/comm)'
		assert_success
		assert_output "in sleep"
		pod "$rt" exec "c-$ID-$rt" sh -c 'exit 7'
		assert_status 7
		pod "$rt" stop --time 1 "c-$ID-$rt"
		assert_success
		pod "$rt" rm "c-$ID-$rt"
		assert_success
	done
}

@test "podman: a bind mount from the host, read and written (runc, ocirt)" {
	mkdir -p "$TEST_TMP/shared"
	echo from-host >"$TEST_TMP/shared/f"
	local rt
	for rt in runc ocirt; do
		pod "$rt" run --rm $(pod_run_opts) -v "$TEST_TMP/shared:/shared" "$PODMAN_IMAGE" \
			sh -c 'cat /shared/f; echo "$0" > /shared/out' "$rt"
		assert_success
		assert_output "from-host"
		[ "$(cat "$TEST_TMP/shared/out")" = "$rt" ] || fail "$rt: the write did not reach the host"
	done
}

# conmon runs the runtime with SIGPIPE ignored: the container must not
# inherit that, or `yes | head` never ends (yes loops on EPIPE).  Signals
# 1-31 only: runc does not reset the two that glibc reserves (32, 33), which
# some callers (make check here) leave ignored.
@test "podman: no signal is ignored and a pipeline into head ends, in run and exec (runc, ocirt)" {
	local rt probe='v=$(sed -n "s/^SigIgn:[[:space:]]*//p" /proc/self/status)
echo "ignored of 1-31: $((0x$v & 0x7fffffff))"; yes | head -c 10485760 | wc -c'
	for rt in runc ocirt; do
		pod "$rt" run --rm $(pod_run_opts) "$PODMAN_IMAGE" timeout 20 sh -c "$probe"
		assert_success
		assert_output $'ignored of 1-31: 0\n10485760'
		pod "$rt" run -d --name "p-$ID-$rt" $(pod_run_opts) "$PODMAN_IMAGE" sleep 1000
		assert_success
		pod "$rt" exec "p-$ID-$rt" timeout 20 sh -c "$probe"
		assert_success
		assert_output $'ignored of 1-31: 0\n10485760'
		pod "$rt" rm --force --time 0 "p-$ID-$rt"
	done
}
