#!/usr/bin/env bats
# Many lifecycles in a row leave nothing behind: no mount, no state dir, no
# process, no fd in the calling shell, no cgroup.

load ../lib/helpers

setup() {
	setup_test
	make_bundle hello
	set_args true
}

teardown() {
	teardown_test
}

# snapshot: what the host looks like from this test's point of view.
snapshot() {
	FDS=$(ls /proc/$BASHPID/fd | wc -l)
}

# assert_same_as_snapshot: nothing added since `snapshot`.
assert_same_as_snapshot() {
	assert_equal "$(ls /proc/$BASHPID/fd | wc -l)" "$FDS"
	# Other users of the machine may mount or unmount meanwhile: only
	# mounts under this test's directory count as ours.
	assert_equal "$(leaked_mounts)" ""
	assert_equal "$(ls -A "$STATE_ROOT")" ""
	assert_equal "$(marked_pids)" ""
	assert_equal "$(leaked_cgroups)" ""
}

# wait_stopped ID: poll `state` without a JSON parser (this loop is hot).
wait_stopped() {
	local i
	for ((i = 0; i < 500; i++)); do
		[[ "$(__ocirt state "$1" 2>/dev/null </dev/null)" == *'"status": "stopped"'* ]] && return 0
		sleep 0.01
	done
	fail "$1 did not stop"
}

@test "200 create/start/delete cycles leave nothing behind" {
	snapshot
	local i
	for ((i = 0; i < 200; i++)); do
		__ocirt create --bundle "$BUNDLE" "$ID" </dev/null >>"$TEST_TMP/log" 2>&1 || fail "create #$i failed: $(tail -5 "$TEST_TMP/log")"
		__ocirt start "$ID" </dev/null >>"$TEST_TMP/log" 2>&1 || fail "start #$i failed: $(tail -5 "$TEST_TMP/log")"
		wait_stopped "$ID"
		__ocirt delete "$ID" </dev/null >>"$TEST_TMP/log" 2>&1 || fail "delete #$i failed: $(tail -5 "$TEST_TMP/log")"
	done
	[ ! -s "$TEST_TMP/log" ] || fail "unexpected output: $(head -20 "$TEST_TMP/log")"
	assert_same_as_snapshot
}

@test "50 foreground runs leave nothing behind" {
	snapshot
	local i
	for ((i = 0; i < 50; i++)); do
		__ocirt run --bundle "$BUNDLE" "$ID" </dev/null >>"$TEST_TMP/log" 2>&1 || fail "run #$i failed: $(tail -5 "$TEST_TMP/log")"
	done
	assert_same_as_snapshot
}

@test "50 failed creates leave nothing behind" {
	set_args no-such-command
	snapshot
	local i
	for ((i = 0; i < 50; i++)); do
		if __ocirt create --bundle "$BUNDLE" "$ID" </dev/null >>"$TEST_TMP/log" 2>&1; then
			fail "create #$i succeeded"
		fi
	done
	grep -q "executable file not found" "$TEST_TMP/log" || fail "unexpected errors: $(head -5 "$TEST_TMP/log")"
	assert_same_as_snapshot
}

@test "50 created-then-force-deleted containers leave nothing behind" {
	set_args sleep 100
	snapshot
	local i
	for ((i = 0; i < 50; i++)); do
		__ocirt create --bundle "$BUNDLE" "$ID-$i" </dev/null >>"$TEST_TMP/log" 2>&1 || fail "create #$i failed"
	done
	for ((i = 0; i < 50; i++)); do
		__ocirt delete --force "$ID-$i" </dev/null >>"$TEST_TMP/log" 2>&1 || fail "delete #$i failed"
	done
	assert_same_as_snapshot
}

@test "a user-namespace container cycle leaves nothing behind" {
	rm -rf "$BUNDLE"
	make_bundle userns
	set_args true
	snapshot
	local i
	for ((i = 0; i < 20; i++)); do
		__ocirt run --bundle "$BUNDLE" "$ID" </dev/null >>"$TEST_TMP/log" 2>&1 || fail "run #$i failed: $(tail -5 "$TEST_TMP/log")"
	done
	assert_same_as_snapshot
}
