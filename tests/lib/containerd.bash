#!/bin/bash
# A containerd daemon of the caller's own (root, state, socket and
# namespace) whose runc v2 shim runs the runtime under test, for
# tests/e2e/containerd*.bats and the runtime suites that drive ctr.  Load
# after helpers.bash (and e2e.bash for containerd_start_file's image).

# containerd_start_file [SIGNAL...]: once per file, in setup_file(): the
# daemon (containerd_start) and a busybox image.  Sets CTRD_IMAGE.
containerd_start_file() {
	requires_cmd umoci
	containerd_start "$@" || return 1
	e2e_busybox_layout "$CTRD_DIR/layout"
	tar -C "$CTRD_DIR/layout" -cf "$CTRD_DIR/image.tar" .
	ctrd image import --base-name localhost/ocirt-e2e-busybox "$CTRD_DIR/image.tar" >/dev/null
	CTRD_IMAGE=localhost/ocirt-e2e-busybox:busybox
	export CTRD_IMAGE
}

# containerd_start [SIGNAL...]: start containerd with SIGNALs ignored (as
# under nohup).  Sets CTRD_DIR, CTRD_PID.  ctr runs a task with
# `--runc-binary "$OCIRT"`, or `run --rootfs DIR` without an image.
containerd_start() {
	requires_cmd containerd ctr containerd-shim-runc-v2
	# A short path: the socket's must fit in sun_path.
	CTRD_DIR=/tmp/ocirt-ctrd-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
	mkdir -p "$CTRD_DIR"
	cat >"$CTRD_DIR/config.toml" <<CONF
version = 2
root = "$CTRD_DIR/root"
state = "$CTRD_DIR/state"
[grpc]
  address = "$CTRD_DIR/sock"
[ttrpc]
  address = "$CTRD_DIR/sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
CONF
	# Started like a service: no descriptor of bats' own stays open in it.
	CTRD_CONFIG=$CTRD_DIR/config.toml "$PYTHON" - "$@" >"$CTRD_DIR/log" 2>&1 3>&- <<'PY' &
import os, signal, sys
for name in sys.argv[1:]:
    signal.signal(getattr(signal, name), signal.SIG_IGN)
config = os.environ["CTRD_CONFIG"]
os.execvp("containerd", ["containerd", "--config", config])
PY
	CTRD_PID=$!
	export CTRD_DIR CTRD_PID
	# Seconds under emulation (make check-vm's guest).
	local i
	for ((i = 0; i < 300; i++)); do
		[ -S "$CTRD_DIR/sock" ] && ctrd version >/dev/null 2>&1 && break
		sleep 0.1
	done
	ctrd version >/dev/null || {
		cat "$CTRD_DIR/log" >&2
		return 1
	}
}

# ctrd ARGS...: ctr against this file's daemon, in its own namespace.
ctrd() {
	timeout -k 5 120 ctr --address "$CTRD_DIR/sock" --namespace ocirt-e2e "$@"
}

# cctr ARGS...: like `run`: $status and $output of `ctr ARGS`.
cctr() {
	status=0
	output=$(ctrd "$@" 2>&1 </dev/null) || status=$?
	echo "ctr $* (status=$status):" >&2
	echo "$output" >&2
}

# ctrd_task_pid ID: the host pid of task ID's init, as `ctr task ls` shows it.
ctrd_task_pid() {
	ctrd task ls | awk -v c="$1" '$1 == c { print $2 }'
}

# ctrd_wait_stopped ID: true once task ID is STOPPED (30 s at most: under
# emulation a shim takes seconds to notice).
ctrd_wait_stopped() {
	local i
	for ((i = 0; i < 300; i++)); do
		[ "$(ctrd task ls | awk -v c="$1" '$1 == c { print $3 }')" = STOPPED ] && return 0
		sleep 0.1
	done
	return 1
}

# containerd_cleanup: remove this file's tasks and containers.
containerd_cleanup() {
	local c
	for c in $(ctrd containers list -q 2>/dev/null); do
		ctrd task kill --all --signal SIGKILL "$c" >/dev/null 2>&1
		ctrd task delete --force "$c" >/dev/null 2>&1
		ctrd containers delete "$c" >/dev/null 2>&1
	done
	local d
	for d in /sys/fs/cgroup/*/ocirt-e2e /sys/fs/cgroup/ocirt-e2e; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	return 0
}

# containerd_stop: its tasks, containers and daemon gone (teardown_file()
# or teardown()); nothing to do when none was started.
containerd_stop() {
	[ -n "${CTRD_DIR:-}" ] || return 0
	containerd_cleanup
	if [ -n "${CTRD_PID:-}" ]; then
		kill "$CTRD_PID" 2>/dev/null
		local i
		for ((i = 0; i < 100; i++)); do
			kill -0 "$CTRD_PID" 2>/dev/null || break
			sleep 0.1
		done
	fi
	# Snapshots are unmounted with their tasks; never recurse into a mount.
	if ! awk -v p="$CTRD_DIR" 'index($5, p) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
		rm -rf --one-file-system "$CTRD_DIR"
	fi
	CTRD_DIR=
}
