#!/usr/bin/env bats
# process.apparmorProfile and exec --apparmor: the container's process runs
# confined by the profile, as under runc.  Where the kernel has AppArmor
# disabled (this development host) a profile fails create, naming the
# field; the confinement itself is tested in the VM pass (Debian's kernel
# enables AppArmor), with a profile the test loads and removes.

# The VM pass (tests/vm) runs every test here: see README.md.
# bats file_tags=vm

load ../lib/helpers

apparmor_enabled() {
	[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ]
}

setup() {
	setup_test
	make_bundle default
	PROFILE=""
}

teardown() {
	teardown_test
	if [ -n "$PROFILE" ]; then
		apparmor_parser -R "$TEST_TMP/profile" 2>/dev/null || true
	fi
}

# load_profile: a permissive profile named ocirt-test-$UNIQ, loaded into
# the kernel (removed by teardown).
load_profile() {
	apparmor_enabled || skip "AppArmor is not enabled in this kernel (runs in the VM pass)"
	requires_cmd apparmor_parser
	[ -d /sys/kernel/security/apparmor ] || skip "securityfs is not mounted"
	PROFILE=ocirt-test-$UNIQ
	cat >"$TEST_TMP/profile" <<PROF
profile $PROFILE flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  unix,
  signal,
  ptrace,
  mount,
  umount,
  pivot_root,
  deny /etc/hostname r,
}
PROF
	apparmor_parser -r -W "$TEST_TMP/profile" || fail "apparmor_parser could not load the profile"
}

@test "apparmor: the container's process runs confined by process.apparmorProfile" {
	load_profile
	update_config 'c["process"]["apparmorProfile"] = sys.argv[3]' "$PROFILE"
	set_cmd 'cat /proc/self/attr/current; cat /etc/hostname >/dev/null 2>&1 || echo denied'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output "$PROFILE (enforce)"$'\n'"denied"
}

@test "apparmor: exec runs in the container's profile, and in the one --apparmor names" {
	load_profile
	update_config 'c["process"]["apparmorProfile"] = sys.argv[3]' "$PROFILE"
	set_cmd 'exec sleep 1000'
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	ocirt exec "$ID" cat /proc/self/attr/current
	assert_success
	assert_output "$PROFILE (enforce)"
	ocirt exec --apparmor unconfined "$ID" cat /proc/self/attr/current
	assert_success
	assert_output "unconfined"
	ocirt delete --force "$ID"
}

@test "apparmor: a profile on a kernel without AppArmor fails create on one line, naming the field" {
	apparmor_enabled && skip "AppArmor is enabled here"
	ocirt_only "runc fails later, in its init, writing /proc/self/attr/exec"
	update_config 'c["process"]["apparmorProfile"] = "docker-default"'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_one_line
	assert_output_contains "config.json: process.apparmorProfile: AppArmor is not enabled on this host"
	update_config 'del c["process"]["apparmorProfile"]'
	set_cmd 'exec sleep 1000'
	ocirt run -d --bundle "$BUNDLE" "$ID-2"
	assert_success
	ocirt exec --apparmor docker-default "$ID-2" true
	assert_status 255
	assert_output_contains "exec: apparmorProfile: AppArmor is not enabled on this host"
	ocirt delete --force "$ID-2"
	assert_no_leaks
}
