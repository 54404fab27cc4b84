#!/bin/bash
# Rootless podman driving the runtime under test, as a user the file
# creates (with subordinate uid and gid ranges) and removes afterwards with
# everything it owned, for tests/e2e/podman-rootless.bats.  Load after
# helpers.bash and e2e.bash.
#
# podman runs as that user with a clean environment, its own
# XDG_RUNTIME_DIR, store and configuration under RL_DIR: nothing of the
# machine's podman, or of any other user, is touched.

# rootless_setup_file: once per file, in setup_file(): the user, its
# directories, the runtimes it may execute and a busybox image in its store.
# Sets RL_USER, RL_UID, RL_DIR, RL_XDG, RL_IMAGE and the subordinate ranges.
rootless_setup_file() {
	requires_root
	requires_cmd podman conmon umoci useradd userdel runuser newuidmap newgidmap
	local tag
	tag=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
	# Lowercase: podman names an oci: image after its path.
	RL_DIR=/tmp/ocirt-rl-$tag
	RL_USER=ocirt-rl-$tag
	RL_XDG=$RL_DIR/xdg
	export RL_DIR RL_USER RL_XDG
	mkdir -p "$RL_DIR/bin" "$RL_DIR/home" "$RL_XDG"
	chmod 755 "$RL_DIR"
	# useradd picks ranges no other user has (under its lock): what an
	# administrator setting up rootless podman gets.
	useradd -M -d "$RL_DIR/home" -s /usr/sbin/nologin -K SUB_UID_COUNT=65536 -K SUB_GID_COUNT=65536 "$RL_USER" || return 1
	RL_UID=$(id -u "$RL_USER")
	RL_SUBUID=$(awk -F: -v u="$RL_USER" '$1 == u { print $2 ":" $3; exit }' /etc/subuid)
	RL_SUBGID=$(awk -F: -v u="$RL_USER" '$1 == u { print $2 ":" $3; exit }' /etc/subgid)
	export RL_UID RL_SUBUID RL_SUBGID
	if [ -z "$RL_SUBUID" ] || [ -z "$RL_SUBGID" ]; then
		echo "useradd gave $RL_USER no range in /etc/subuid or /etc/subgid" >&2
		return 1
	fi
	chown "$RL_USER:" "$RL_DIR/home" "$RL_XDG"
	chmod 700 "$RL_XDG"
	# Copies, under their own names, that the user can execute whatever the
	# modes of the build tree's parents.
	cp "$OCIRT" "$RL_DIR/bin/ocirt"
	cp "$REF_RUNTIME" "$RL_DIR/bin/runc"
	chmod 755 "$RL_DIR/bin" "$RL_DIR/bin/ocirt" "$RL_DIR/bin/runc"
	cat >"$RL_DIR/containers.conf" <<CONF
[engine]
runtime_supports_json = ["ocirt", "runc"]
# No systemd here, and no cgroup v1 hierarchy is the user's: podman then
# gives the runtime no cgroupsPath and no resources.
cgroup_manager = "cgroupfs"
events_logger = "file"
[engine.runtimes]
ocirt = ["$RL_DIR/bin/ocirt"]
runc = ["$RL_DIR/bin/runc"]
CONF
	chmod 644 "$RL_DIR/containers.conf"
	local layout=$RL_DIR/image
	BATS_FILE_TMPDIR=$RL_DIR e2e_busybox_layout "$layout"
	chmod -R a+rX "$layout"
	rpod ocirt pull --quiet "oci:$layout:busybox"
	[ "$status" -eq 0 ] || return 1
	rpod ocirt tag "$output" localhost/ocirt-e2e-busybox:latest
	[ "$status" -eq 0 ] || return 1
	RL_IMAGE=localhost/ocirt-e2e-busybox:latest
	export RL_IMAGE
}

# rpod RUNTIME ARGS...: podman as the test user with RUNTIME (ocirt or runc);
# sets $status and $output like `run`.
rpod() {
	local rt=$1
	shift
	status=0
	output=$(cd "$RL_DIR" && timeout -k 5 120 runuser -u "$RL_USER" -- env -i \
		PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME="$RL_DIR/home" \
		XDG_RUNTIME_DIR="$RL_XDG" CONTAINERS_CONF="$RL_DIR/containers.conf" \
		podman --root "$RL_DIR/home/storage" --runroot "$RL_XDG/containers" \
		--storage-driver vfs --runtime "$rt" "$@" 2>&1 </dev/null) || status=$?
	# podman 4.3 warns about "/" on every call: this host's / is private.
	output=$(grep -v 'is not a shared mount, this could cause issues' <<<"$output")
	echo "rootless podman --runtime $rt $* (status=$status):" >&2
	echo "$output" >&2
}

# The options every container gets: no slirp4netns network, and rlimits the
# host's bounding set allows (no CAP_SYS_RESOURCE).
rpod_run_opts() {
	echo --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024
}

# rl_in_range ID START:COUNT
rl_in_range() {
	local start=${2%%:*} count=${2##*:}
	[ "$1" -ge "$start" ] && [ "$1" -lt $((start + count)) ]
}

# rl_pids: the processes whose real or effective uid is the user's, or one
# of its subordinate uids (a container's non-root users).
rl_pids() {
	local f pid ruid euid rest u
	for f in /proc/[0-9]*/status; do
		read -r _ ruid euid rest < <(grep '^Uid:' "$f" 2>/dev/null) || continue
		pid=${f#/proc/}
		pid=${pid%/status}
		for u in "$ruid" "$euid"; do
			if [ "$u" = "$RL_UID" ] || rl_in_range "$u" "$RL_SUBUID"; then
				pid_alive "$pid" && echo "$pid"
				break
			fi
		done
	done
	return 0
}

# rl_pause_pid: podman's pause process, which holds the user's namespaces
# from one podman call to the next.
rl_pause_pid() {
	cat "$RL_XDG/libpod/tmp/pause.pid" 2>/dev/null
}

# rootless_leaks: what the user's containers left: processes other than
# podman's pause process, runtime state dirs, mounts in the host's
# namespace or in the user's.
rootless_leaks() {
	local pause p rt d
	pause=$(rl_pause_pid)
	for p in $(rl_pids); do
		[ "$p" = "$pause" ] || echo "process: $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
	done
	for rt in ocirt runc; do
		for d in "$RL_XDG/$rt"/*; do
			[ -e "$d" ] && echo "state: $d"
		done
	done
	awk -v p="$RL_DIR" 'index($5, p) == 1 { print "mount: " $5 }' /proc/self/mountinfo
	if [ -n "$pause" ] && [ -r "/proc/$pause/mountinfo" ]; then
		awk -v p="$RL_DIR/home/storage/vfs/dir" 'index($5, p) == 1 { print "mount (user namespace): " $5 }' \
			"/proc/$pause/mountinfo"
	fi
	return 0
}

# rootless_teardown: in teardown(): remove the test's containers with
# both runtimes, then fail on anything they left.
rootless_teardown() {
	[ -n "${RL_DIR:-}" ] || return 0
	local rt leaks
	for rt in ocirt runc; do
		rpod "$rt" rm --all --force --time 0 >/dev/null 2>&1
	done
	leaks=$(rootless_leaks)
	if [ -n "$leaks" ]; then
		echo "rootless teardown found leftovers:" >&2
		echo "$leaks" >&2
		return 1
	fi
}

# rl_kill_all: end every process of the user, by pid, politely then not.
rl_kill_all() {
	local p i
	for p in $(rl_pids); do
		kill "$p" 2>/dev/null
	done
	for ((i = 0; i < 50; i++)); do
		[ -z "$(rl_pids)" ] && return 0
		sleep 0.1
	done
	for p in $(rl_pids); do
		kill -9 "$p" 2>/dev/null
	done
	for ((i = 0; i < 50; i++)); do
		[ -z "$(rl_pids)" ] && return 0
		sleep 0.1
	done
	return 1
}

# rootless_teardown_file: in teardown_file(): the user's containers, its
# processes, its store and runtime dir, the user and its subordinate ranges;
# fails if any of it remains.
rootless_teardown_file() {
	[ -n "${RL_DIR:-}" ] || return 0
	local rt left=""
	if [ -n "${RL_UID:-}" ]; then
		for rt in ocirt runc; do
			rpod "$rt" rm --all --force --time 0 >/dev/null 2>&1
		done
		rl_kill_all || left+="processes: $(rl_pids | tr '\n' ' ')"$'\n'
	fi
	if getent passwd "$RL_USER" >/dev/null; then
		userdel "$RL_USER" || left+="user $RL_USER"$'\n'
	fi
	# userdel drops the user's ranges; make sure, and remove any it left.
	local f
	for f in /etc/subuid /etc/subgid; do
		if grep -q "^$RL_USER:" "$f"; then
			left+="$f: $(grep "^$RL_USER:" "$f")"$'\n'
			sed -i "/^$RL_USER:/d" "$f"
		fi
	done
	# podman's lock for the user's namespaces; named after the uid, which
	# the next user to be created may get.
	local lock=/dev/shm/libpod_rootless_lock_${RL_UID:-none}
	if [ -n "${RL_UID:-}" ] && [ -f "$lock" ] && [ "$(stat -c %u "$lock")" = "$RL_UID" ]; then
		rm -f "$lock"
	fi
	# Never recurse into a mount.
	if awk -v p="$RL_DIR" 'index($5, p) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
		left+="mounts under $RL_DIR (left in place)"$'\n'
	else
		rm -rf --one-file-system "$RL_DIR"
	fi
	if [ -n "${RL_UID:-}" ]; then
		local owned
		owned=$(find /tmp /var/tmp /dev/shm /run -xdev -maxdepth 3 -uid "$RL_UID" 2>/dev/null)
		[ -z "$owned" ] || left+="files of uid $RL_UID: $owned"$'\n'
	fi
	if [ -n "$left" ]; then
		echo "rootless teardown_file left:" >&2
		echo "$left" >&2
		return 1
	fi
}
