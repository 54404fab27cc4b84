#!/usr/bin/env bats
# process.apparmorProfile and exec --apparmor: the container's process runs
# confined by the profile, as under runc.  Where the kernel has AppArmor
# disabled (this development host) a profile fails create, naming the
# field; the confinement itself is tested in the VM pass (Debian's kernel
# enables AppArmor), with a profile the test loads and removes.
#
# process.selinuxLabel, exec --process-label and linux.mountLabel: the
# process's label and the mounts' context=, compared with runc's on the same
# bundle.  Debian's kernel runs SELinux only when booted for it: the tests
# tagged "selinux" run in the VM pass's second boot (tests/vm/run.sh),
# under Debian's policy in permissive mode, which still gives a process the
# label its exec asked for and a mount its context.  Without SELinux (this
# host, the VM's AppArmor boot) a label fails create, naming the field.

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

# ---------------------------------------------------------------- SELinux

selinux_enabled() {
	[ -e /sys/fs/selinux/enforce ]
}

requires_selinux() {
	selinux_enabled || skip "SELinux is not enabled in this kernel (runs in the VM pass's SELinux boot)"
	[ -x "$REF_RUNTIME" ] || skip "reference runtime not installed"
}

# valid_context CANDIDATE...: the first context the loaded policy accepts
# (the kernel's own check, as libselinux's security_check_context); the
# policies differ in their types (Fedora's has container_t, Debian's
# refpolicy has no container module).
valid_context() {
	python3 -c '
import os, sys
for c in sys.argv[1:]:
    fd = os.open("/sys/fs/selinux/context", os.O_RDWR)
    try:
        os.write(fd, c.encode())
        print(c)
        break
    except OSError:
        pass
    finally:
        os.close(fd)' "$@"
}

# Sets PLABEL, PLABEL2 (process labels) and MLABEL (a file context) to
# labels of this policy that no process or mount here has by default.
pick_labels() {
	PLABEL=$(valid_context system_u:system_r:container_t:s0:c1,c2 system_u:system_r:unconfined_t:s0:c1,c2 \
		system_u:system_r:initrc_t:s0:c1,c2)
	PLABEL2=$(valid_context system_u:system_r:container_t:s0:c3,c4 system_u:system_r:unconfined_t:s0:c3,c4 \
		system_u:system_r:initrc_t:s0:c3,c4)
	MLABEL=$(valid_context system_u:object_r:container_file_t:s0:c1,c2 system_u:object_r:tmpfs_t:s0:c1,c2)
	[ -n "$PLABEL" ] && [ -n "$PLABEL2" ] && [ -n "$MLABEL" ] ||
		fail "the loaded policy has none of the candidate labels"
}

# keyring_label NAME: the SELinux label of the keyring NAME (in /proc/keys),
# through keyctl(KEYCTL_GET_SECURITY).
keyring_label() {
	python3 -c '
import ctypes, sys
name = sys.argv[1]
for line in open("/proc/keys"):
    f = line.split()
    if f[7] == "keyring" and f[8].rstrip(":") == name:
        buf = ctypes.create_string_buffer(512)
        libc = ctypes.CDLL(None, use_errno=True)
        n = libc.syscall(250, 17, int(f[0], 16), buf, 512)
        if n < 0:
            sys.exit("keyctl: errno %d" % ctypes.get_errno())
        print(buf.value.decode())
        break
else:
    sys.exit("no keyring " + name)' "$1"
}

# label_out: the runtime's output with the NUL that ends a label in
# /proc/PID/attr/current dropped.
label_out() {
	tr -d '\0' <"$OUT_FILE"
}

# ref_pid ID: the pid of the reference runtime's container ID.
ref_pid() {
	ref state "$1"
	json_field pid <<<"$output"
}

# Each test looks at a container of each runtime from the host, through
# /proc: under emulation every container started costs seconds.

# bats test_tags=selinux
@test "selinux: process.selinuxLabel is the label of the container's process and of its session keyring, as under runc" {
	requires_selinux
	pick_labels
	update_config 'c["process"]["selinuxLabel"] = sys.argv[3]' "$PLABEL"
	set_args sleep 1000
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	ref run -d --bundle "$BUNDLE" "$ID-ref"
	assert_success
	assert_equal "$(tr -d '\0' </proc/"$(container_pid "$ID")"/attr/current)" "$PLABEL"
	assert_equal "$(tr -d '\0' </proc/"$(ref_pid "$ID-ref")"/attr/current)" "$PLABEL"
	# runc sets the keycreate attribute before it joins the new keyring.
	assert_equal "$(keyring_label "_ses.$ID")" "$PLABEL"
	assert_equal "$(keyring_label "_ses.$ID-ref")" "$PLABEL"
}

# bats test_tags=selinux
@test "selinux: exec runs with the container's label, the one --process-label or process.json names, as under runc" {
	requires_selinux
	pick_labels
	update_config 'c["process"]["selinuxLabel"] = sys.argv[3]' "$PLABEL"
	set_args sleep 1000
	printf '{"args": ["cat", "/proc/self/attr/current"], "cwd": "/", "env": ["PATH=/bin"], "selinuxLabel": "%s"}\n' \
		"$PLABEL2" >"$TEST_TMP/process.json"
	local rt id
	for rt in ocirt ref; do
		id=$ID-$rt
		$rt run -d --bundle "$BUNDLE" "$id"
		assert_success
		$rt exec "$id" cat /proc/self/attr/current
		assert_success
		assert_equal "$(label_out)" "$PLABEL"
		$rt exec --process-label "$PLABEL2" "$id" cat /proc/self/attr/current
		assert_success
		assert_equal "$(label_out)" "$PLABEL2"
		$rt exec --process "$TEST_TMP/process.json" "$id"
		assert_success
		assert_equal "$(label_out)" "$PLABEL2"
		$rt delete --force "$id"
		assert_success
	done
}

# context_mounts PID: "MOUNTPOINT FSTYPE context=..." for each mount of the
# container's mountinfo that has a context, sorted; the other mounts as
# "MOUNTPOINT FSTYPE -".
context_mounts() {
	awk '{
		for (i = 7; $i != "-"; i++) {}
		ctx = "-"
		if (match($(i + 3), /context="[^"]*"/)) ctx = substr($(i + 3), RSTART, RLENGTH)
		print $5, $(i + 1), ctx
	}' "/proc/$1/mountinfo" | sort
}

# file_labels PID PATH...: "PATH LABEL" for each, read from the host
# through the container's root.
file_labels() {
	python3 -c '
import os, sys
for p in sys.argv[2:]:
    label = os.getxattr("/proc/%s/root%s" % (sys.argv[1], p), "security.selinux")
    print(p, label.rstrip(b"\0").decode())' "$@"
}

# bats test_tags=selinux
@test "selinux: linux.mountLabel is the context of the mounts runc gives it to, and of /dev/mqueue" {
	requires_selinux
	pick_labels
	mkdir -p "$TEST_TMP/src" "$BUNDLE/rootfs/masked"
	update_config '
c["linux"]["mountLabel"] = sys.argv[3]
c["mounts"].append({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]})
c["mounts"].append({"destination": "/bound", "type": "bind", "source": sys.argv[4], "options": ["rbind", "ro"]})
c["linux"]["maskedPaths"].append("/masked")' "$MLABEL" "$TEST_TMP/src"
	set_args sleep 1000
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	ref run -d --bundle "$BUNDLE" "$ID-ref"
	assert_success
	local ours theirs pid paths=(/dev/mqueue /dev/shm /dev/null /dev /scratch)
	pid=$(container_pid "$ID")
	ours=$(context_mounts "$pid")$'\n'$(file_labels "$pid" "${paths[@]}")
	pid=$(ref_pid "$ID-ref")
	theirs=$(context_mounts "$pid")$'\n'$(file_labels "$pid" "${paths[@]}")
	assert_equal "$ours" "$theirs"
	# What that is: the context on the tmpfs mounts (/dev, /dev/shm, a
	# config mount, a masked directory) and devpts, not on proc, sysfs,
	# mqueue or a bind; the mqueue's root has the label all the same.
	local want="context=\"$MLABEL\"" line
	for line in "/scratch tmpfs $want" "/dev tmpfs $want" "/dev/pts devpts $want" "/masked tmpfs $want" \
		"/proc proc -" "/dev/mqueue mqueue -" "/dev/mqueue $MLABEL" "/dev/null $MLABEL"; do
		grep -qxF "$line" <<<"$ours" || fail "not \"$line\" in: $ours"
	done
	grep -qE "^/bound [^ ]+ -$" <<<"$ours" || fail "a context on /bound: $ours"
}

# failed_naming FIELD: the runtime failed, on one line naming FIELD
# (runc's wording is its own: with runc under test only the failure counts).
failed_naming() {
	assert_failure
	is_runc && return 0
	assert_one_line
	assert_output_contains "$1"
}

# bats test_tags=selinux
@test "selinux: a label the policy does not know fails create on one line and leaves nothing" {
	requires_selinux
	local bad=system_u:system_r:no_such_type_t:s0
	update_config 'c["process"]["selinuxLabel"] = sys.argv[3]' "$bad"
	ref run --bundle "$BUNDLE" "$ID-ref"
	assert_failure
	ocirt run --bundle "$BUNDLE" "$ID"
	failed_naming "process.selinuxLabel: \`$bad\`"
	assert_no_leaks
	update_config 'del c["process"]["selinuxLabel"]; c["linux"]["mountLabel"] = sys.argv[3]' "$bad"
	ref run --bundle "$BUNDLE" "$ID-ref2"
	assert_failure
	ocirt run --bundle "$BUNDLE" "$ID"
	failed_naming "linux.mountLabel: \`$bad\`"
	assert_no_leaks
	update_config 'del c["linux"]["mountLabel"]'
	set_args sleep 1000
	ocirt run -d --bundle "$BUNDLE" "$ID-2"
	assert_success
	ocirt exec --process-label "$bad" "$ID-2" true
	failed_naming "selinuxLabel: \`$bad\`"
	ocirt delete --force "$ID-2"
	assert_no_leaks
}

@test "selinux: a label or mount label on a kernel without SELinux fails create on one line, naming the field" {
	selinux_enabled && skip "SELinux is enabled here"
	# runc refuses the process label too ("selinux label is specified in
	# config, but selinux is disabled or not supported"), and fails the
	# mount label's first tmpfs with EINVAL.
	update_config 'c["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0"'
	ref run --bundle "$BUNDLE" "$ID-ref"
	assert_failure
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_one_line
	ocirt_only "runc's wording"
	assert_output_contains "config.json: process.selinuxLabel: SELinux is not enabled on this host"
	assert_no_leaks
	update_config 'del c["process"]["selinuxLabel"]; c["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0"'
	ref run --bundle "$BUNDLE" "$ID-ref2"
	assert_failure
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_one_line
	assert_output_contains "config.json: linux.mountLabel: SELinux is not enabled on this host"
	assert_no_leaks
	update_config 'del c["linux"]["mountLabel"]'
	set_args sleep 1000
	ocirt run -d --bundle "$BUNDLE" "$ID-2"
	assert_success
	ocirt exec --process-label system_u:system_r:container_t:s0 "$ID-2" true
	assert_status 255
	assert_one_line
	assert_output_contains "exec: selinuxLabel: SELinux is not enabled on this host"
	printf '{"args": ["true"], "cwd": "/", "selinuxLabel": "system_u:system_r:container_t:s0"}\n' >"$TEST_TMP/process.json"
	ocirt exec --process "$TEST_TMP/process.json" "$ID-2"
	assert_status 255
	assert_output_contains "process.selinuxLabel: SELinux is not enabled on this host"
	ocirt delete --force "$ID-2"
	assert_no_leaks
}
