#!/usr/bin/env bats
# Rootless on a delegated cgroup v2 subtree (make check-vm's guest): an
# unprivileged user with /etc/subuid and /etc/subgid ranges and a lingering
# systemd user instance, whose user@UID.service delegates a subtree, runs
# `spec --rootless` and `run` in a transient unit of its own.  runc does the
# same as the control.  Skipped where there is no systemd or no cgroup v2.

load ../lib/helpers

# One user for the file: its systemd instance takes seconds to start under
# emulation.  Everything it owns goes with it in teardown_file.
setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	[ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] || return 0
	[ -d /run/systemd/system ] || return 0
	command -v useradd loginctl systemd-run >/dev/null || return 0
	export ROOTLESS_USER="ocirt$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
	useradd -m -s /bin/sh "$ROOTLESS_USER"
	loginctl enable-linger "$ROOTLESS_USER"
	local uid i
	uid=$(id -u "$ROOTLESS_USER")
	for ((i = 0; i < 120; i++)); do
		[ "$(systemctl is-active "user@$uid.service")" = active ] && break
		sleep 0.5
	done
}

teardown_file() {
	[ -n "${ROOTLESS_USER:-}" ] || return 0
	local uid
	uid=$(id -u "$ROOTLESS_USER")
	loginctl disable-linger "$ROOTLESS_USER" || true
	systemctl stop "user@$uid.service" || true
	loginctl terminate-user "$ROOTLESS_USER" 2>/dev/null || true
	userdel -r "$ROOTLESS_USER" 2>/dev/null || true
}

setup() {
	setup_test
	requires_cgroup_v2
	[ -n "${ROOTLESS_USER:-}" ] || skip "needs root, systemd as PID 1, useradd and loginctl"
	ROOTLESS_UID=$(id -u "$ROOTLESS_USER")
	[ "$(systemctl is-active "user@$ROOTLESS_UID.service")" = active ] ||
		skip "user@$ROOTLESS_UID.service did not start"
}

teardown() {
	teardown_test
}

# as_user SCRIPT ARGS...: SCRIPT run by the test user's systemd in a unit of
# its own with Delegate=yes, the way a user's login shell or podman gets a
# cgroup it may manage; stdout and stderr come back, and the exit status.
# bash: its errors name the errno (dash says "I/O error" for any).
as_user() {
	local script=$1
	shift
	status=0
	output=$(timeout -k 5 120 systemd-run --machine="$ROOTLESS_USER@.host" --user --wait --pipe --quiet \
		-p Delegate=yes -E "$MARK" /bin/bash -c "$script" bash "$@" 2>&1 </dev/null) || status=$?
	echo "as $ROOTLESS_USER (status=$status):" >&2
	echo "$output" >&2
}

# The user's side: its unit's cgroup keeps only this shell, moved to a leaf
# (cgroup v2 enables controllers only for cgroups without processes); the
# container gets a sibling of it with a memory limit.  Prints what the host
# sees, then what the container sees, then what is left after delete.
user_script='
set -e
rt=$1 id=$2 bundle=$3
unit=/sys/fs/cgroup$(sed -n "s/^0:://p" /proc/self/cgroup)
mkdir "$unit/shell"
echo $$ >"$unit/shell/cgroup.procs"
cd "$bundle"
rm -f config.json
"$rt" spec --rootless
python3 - "$unit/$id" <<"PY"
import json, sys
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c", "id -u; sed -n \"s/^0:://p\" /proc/self/cgroup; exec sleep 1000"]
c["linux"]["cgroupsPath"] = sys.argv[1][len("/sys/fs/cgroup"):]
c["linux"].setdefault("resources", {})["memory"] = {"limit": 64 << 20}
json.dump(c, open("config.json", "w"))
PY
state=$XDG_RUNTIME_DIR/state-$id
if ! "$rt" --root "$state" run -d "$id" >"$bundle/out-$id" 2>&1; then
	echo "run failed: $(cat "$bundle/out-$id")"
	echo "left: $(cd "$unit" && find . -mindepth 1 -type d | tr "\n" " ")"
	exit 1
fi
echo "memory.max $(cat "$unit/$id/memory.max")"
echo "controllers $(cat "$unit/cgroup.subtree_control")"
i=0
while [ "$(wc -l <"$bundle/out-$id")" -lt 2 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
echo "inside: $(tr "\n" " " <"$bundle/out-$id" | sed "s|$unit|UNIT|")"
"$rt" --root "$state" delete --force "$id"
echo "left: $(cd "$unit" && find . -mindepth 1 -type d | tr "\n" " ")"
'

# user_bundle: a bundle the test user owns, with the busybox rootfs.
user_bundle() {
	local dir=$TEST_TMP/user-bundle
	mkdir -p "$dir"
	cp -a "$(rootfs_cache)" "$dir/rootfs"
	rm -f "$dir/rootfs/.done"
	chown -R "$ROOTLESS_USER:" "$dir"
	echo "$dir"
}

@test "rootless: spec --rootless and run as an unprivileged user on a delegated v2 subtree; the memory limit applies (runc alike)" {
	local bundle rt ours
	bundle=$(user_bundle)
	as_user "$user_script" "$OCIRT" "$ID" "$bundle"
	assert_success
	ours=$output
	assert_equal "${lines[0]}" "memory.max 67108864"
	[[ "${lines[1]}" == controllers*" memory"* ]] || fail "memory not enabled: ${lines[1]}"
	# uid 0 inside, in the cgroup made for it.
	[[ "${lines[2]}" == "inside: 0 "* ]] || fail "${lines[2]}"
	assert_equal "${lines[3]}" "left: ./shell "
	requires_cmd "$REF_RUNTIME"
	as_user "$user_script" "$REF_RUNTIME" "$ID-ref" "$bundle"
	assert_success
	assert_equal "${output//$ID-ref/$ID}" "$ours"
}

@test "rootless: a controller the user's subtree does not delegate is named in the error, nothing left" {
	local bundle
	bundle=$(user_bundle)
	# user@.service delegates cpu, memory and pids: not io.
	as_user "${user_script/'["memory"] = {"limit": 64 << 20}'/'["blockIO"] = {"weight": 500}'}" "$OCIRT" "$ID" "$bundle"
	assert_failure
	assert_output_contains "left: ./shell "
	ocirt_only "error wording"
	assert_output_contains "the \`io\` controller"
}
