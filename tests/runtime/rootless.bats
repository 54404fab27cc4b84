#!/usr/bin/env bats
# Rootless on a delegated cgroup v2 subtree (make check-vm's guest): an
# unprivileged user with /etc/subuid and /etc/subgid ranges and a lingering
# systemd user instance, whose user@UID.service delegates a subtree, runs
# `spec --rootless` and `run` in a transient unit of its own, and rootless
# podman (the systemd cgroup manager of the user's instance) with a memory
# limit.  runc does the same as the control.  The file makes the user and
# removes it with its session and cgroups (the last test checks that).
# Skipped where there is no systemd or no cgroup v2.

# The VM pass (tests/vm) runs every test here: see README.md.
# bats file_tags=vm

load ../lib/helpers

# One user for the file: its systemd instance takes seconds to start under
# emulation.  Everything it owns goes with it in remove_user.
setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	[ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] || return 0
	[ -d /run/systemd/system ] || return 0
	command -v useradd loginctl systemd-run >/dev/null || return 0
	export ROOTLESS_USER="ocirt$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
	# useradd picks subordinate ranges no other user has (/etc/login.defs).
	useradd -m -s /bin/sh -K SUB_UID_COUNT=65536 -K SUB_GID_COUNT=65536 "$ROOTLESS_USER"
	loginctl enable-linger "$ROOTLESS_USER"
	local uid i
	uid=$(id -u "$ROOTLESS_USER")
	for ((i = 0; i < 120; i++)); do
		[ "$(systemctl is-active "user@$uid.service")" = active ] && break
		sleep 0.5
	done
}

teardown_file() {
	remove_user
}

# remove_user: the test user, its lingering session (user@UID.service,
# which takes its processes and cgroups along), its files.  Idempotent.
remove_user() {
	[ -n "${ROOTLESS_USER:-}" ] || return 0
	local uid
	uid=$(id -u "$ROOTLESS_USER" 2>/dev/null) || return 0
	loginctl disable-linger "$ROOTLESS_USER" || true
	loginctl terminate-user "$ROOTLESS_USER" 2>/dev/null || true
	systemctl stop "user@$uid.service" "user-runtime-dir@$uid.service" "user-$uid.slice" 2>/dev/null || true
	# userdel refuses while a process of the user lives.
	local i
	for ((i = 0; i < 100; i++)); do
		[ -z "$(pgrep -u "$uid")" ] && break
		sleep 0.1
	done
	userdel -r "$ROOTLESS_USER" 2>/dev/null || true
	# podman's lock for the user's namespaces, named after the uid, which
	# the next user to be made may get.
	local lock=/dev/shm/libpod_rootless_lock_$uid
	if [ -f "$lock" ] && [ "$(stat -c %u "$lock")" = "$uid" ]; then
		rm -f "$lock"
	fi
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
	# systemd expands $NAME, ${NAME} and $$ (its escape for $) in a unit's
	# command line: each $ goes through as $$.
	local a args=()
	for a in "$script" "$@"; do
		args+=("${a//\$/\$\$}")
	done
	output=$(timeout -k 5 120 systemd-run --machine="$ROOTLESS_USER@.host" --user --wait --pipe --quiet \
		-p Delegate=yes -E "$MARK" /bin/bash -c "${args[@]:0:1}" bash "${args[@]:1}" 2>&1 </dev/null) || status=$?
	lines=()
	[ -z "$output" ] || mapfile -t lines <<<"$output"
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

# The user's side of rootless podman: the user's systemd is podman's cgroup
# manager (its default with a user bus), which makes libpod-ID.scope in the
# delegated subtree with MemoryMax; the runtime, uid 0 of podman's user
# namespace, joins the scope and writes the rest.  podman's messages go to a
# log shown only when something fails.  Prints the scope's MemoryMax, what
# the container sees, its exit status after `stop` and what is left.
podman_script='
set -e
rt=$1 name=$2 rootfs=$3
log=$(mktemp)
trap "[ \$? -eq 0 ] || cat \"$log\"; rm -f \"$log\"" EXIT
printf "[engine]\nruntime_supports_json = [\"ocirt\", \"runc\"]\nevents_logger = \"file\"\n[engine.runtimes]\nocirt = [\"%s\"]\nrunc = [\"%s\"]\n" \
	"$4" "$5" >"$HOME/containers.conf"
export CONTAINERS_CONF=$HOME/containers.conf
pod() { podman --storage-driver vfs --runtime "$rt" "$@" 2>>"$log"; }
cid=$(pod run -d --name "$name" --network none --memory 64m --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
	--rootfs "$rootfs" sh -c "trap \"exit 3\" TERM; sleep 1000 & wait" | tail -1)
echo "scope $(systemctl --user show -p MemoryMax --value "libpod-$cid.scope")"
echo "inside $(pod exec "$name" sh -c "id -u; cat /proc/self/cgroup /sys/fs/cgroup/memory.max" | tr "\n" " ")"
pod stop --time 60 "$name" >/dev/null
echo "exit $(pod inspect --format "{{.State.ExitCode}}" "$name")"
pod rm "$name" >/dev/null
echo "units left: $(systemctl --user list-units --all --plain --no-legend "*$cid*" | wc -l)"
echo "cgroups left: $(find /sys/fs/cgroup -name "*$cid*" | wc -l)"
# podman keeps a pause process holding its user namespace for the next
# call (in a scope of its own); there is none: end it.
kill "$(cat "$XDG_RUNTIME_DIR/libpod/tmp/pause.pid")"
'

@test "rootless podman (the user's systemd as cgroup manager) with --memory 64m: the limit on the scope and inside, stop, rm, nothing left" {
	requires_cmd podman conmon
	local bundle
	bundle=$(user_bundle)
	as_user "$podman_script" "$OCIRT_NAME" "c-$ID" "$bundle/rootfs" "$OCIRT" "$REF_RUNTIME"
	assert_success
	# uid 0 inside, in its own cgroup namespace; TERM ended it (status 3).
	assert_output "scope 67108864
inside 0 0::/ 67108864 
exit 3
units left: 0
cgroups left: 0"
}

@test "rootless: the test user goes with its session, cgroups, processes and files" {
	local uid user=$ROOTLESS_USER
	uid=$(id -u "$user")
	remove_user
	! getent passwd "$user" >/dev/null || fail "user $user is left"
	! grep -q "^$user:" /etc/subuid /etc/subgid || fail "subordinate ranges left: $(grep "^$user:" /etc/subuid /etc/subgid)"
	[ ! -e "/var/lib/systemd/linger/$user" ] || fail "linger is left"
	local i
	for ((i = 0; i < 100; i++)); do
		[ ! -e "/sys/fs/cgroup/user.slice/user-$uid.slice" ] && break
		sleep 0.1
	done
	[ ! -e "/sys/fs/cgroup/user.slice/user-$uid.slice" ] ||
		fail "cgroups left: $(find "/sys/fs/cgroup/user.slice/user-$uid.slice" -type d)"
	[ -z "$(systemctl list-units --all --plain --no-legend "user@$uid.service" "user-$uid.slice" | grep -v not-found)" ] ||
		fail "units left: $(systemctl list-units --all --plain --no-legend "user@$uid.service" "user-$uid.slice")"
	[ -z "$(pgrep -u "$uid")" ] || fail "processes left: $(pgrep -a -u "$uid")"
	[ ! -e "/run/user/$uid" ] || fail "/run/user/$uid is left"
	[ ! -e "/home/$user" ] || fail "/home/$user is left"
	[ ! -e "/dev/shm/libpod_rootless_lock_$uid" ] || fail "podman's lock is left"
}
