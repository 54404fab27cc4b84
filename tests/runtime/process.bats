#!/usr/bin/env bats
# The container process and `run` in the foreground: linux.personality,
# SIGPIPE while relaying output.

load ../lib/helpers

setup() {
	setup_test
	make_bundle hello
}

teardown() {
	teardown_test
}

requires_x86_64() {
	[ "$(uname -m)" = x86_64 ] || skip "needs an x86_64 host"
}

@test "personality: LINUX32 makes uname -m print i686" {
	requires_x86_64
	update_config 'c["linux"]["personality"] = {"domain": "LINUX32"}'
	set_args uname -m
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output "i686"
}

@test "personality: without it (or with LINUX) uname -m prints the host's machine" {
	requires_x86_64
	set_args uname -m
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output "x86_64"
	update_config 'c["linux"]["personality"] = {"domain": "LINUX"}'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output "x86_64"
}

# runc 1.1 ignores linux.personality (uname -m stays x86_64 under it), so
# the reference here is crun.  On a hybrid host crun 1.8 refuses to start
# unless the cgroup2 controllers file looks empty: hide it in a private
# mount namespace, which changes nothing else.
@test "personality: LINUX32 gives what crun gives" {
	requires_x86_64
	is_runc && skip "runc 1.1 does not implement linux.personality"
	requires_cmd crun
	update_config 'c["linux"]["personality"] = {"domain": "LINUX32"}'
	set_args uname -m
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	local ours=$output
	: >"$TEST_TMP/empty"
	run unshare -m sh -c '
		f=/sys/fs/cgroup/unified/cgroup.controllers
		[ ! -e "$f" ] || mount --bind "$1" "$f" || exit 1
		exec timeout 60 crun --root "$2" run --bundle "$3" "$4"' \
		sh "$TEST_TMP/empty" "$TEST_TMP/crun-state" "$BUNDLE" "$ID-crun"
	assert_success
	assert_equal "$ours" "$output"
}

@test "personality: an unknown domain fails create and leaves nothing" {
	update_config 'c["linux"]["personality"] = {"domain": "LINUX99"}'
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_failure
	is_runc || assert_output_contains "linux.personality.domain"
	assert_no_leaks "$ID"
}
