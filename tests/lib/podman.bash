#!/bin/bash
# podman driving the runtime under test, with a store, run root and
# configuration of its own (nothing of the machine's podman is touched),
# for tests/e2e/podman*.bats and tests/runtime/systemd.bats.  Load after
# helpers.bash (and e2e.bash for podman_setup_file).

# podman_setup_file: once per file, in setup_file(): a busybox image built
# with umoci as an OCI layout, and podman's directories.
podman_setup_file() {
	requires_cmd podman conmon umoci
	# podman names an oci: image after its path, which must then be
	# lowercase: bats' own directories are not.
	podman_dirs "/tmp/ocirt-e2e-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')" cgroupfs
	e2e_busybox_layout "$PODMAN_DIR/image"
	PODMAN_IMAGE=oci:$PODMAN_DIR/image:busybox
	# Into the store once, under a plain name: an oci: reference would be
	# copied again (with progress on stderr) by every run.
	pod ocirt pull --quiet "$PODMAN_IMAGE"
	[ "$status" -eq 0 ] || return 1
	pod ocirt tag "$output" localhost/ocirt-e2e-busybox:latest
	[ "$status" -eq 0 ] || return 1
	PODMAN_IMAGE=localhost/ocirt-e2e-busybox:latest
	export PODMAN_DIR PODMAN_IMAGE
}

# podman_dirs DIR MANAGER: podman's store, run root and configuration in
# DIR (set as PODMAN_DIR), with the cgroup manager MANAGER (cgroupfs or
# systemd); podman_teardown_file removes them.  `pod ocirt` runs $OCIRT,
# `pod runc` the reference runtime.
podman_dirs() {
	PODMAN_DIR=$1
	export PODMAN_DIR
	mkdir -p "$PODMAN_DIR/tmp"
	cat >"$PODMAN_DIR/containers.conf" <<CONF
[engine]
# Error reports as JSON lines: what podman parses from runc and crun.
runtime_supports_json = ["ocirt", "runc"]
cgroup_manager = "$2"
events_logger = "file"
[engine.runtimes]
ocirt = ["$OCIRT"]
runc = ["$REF_RUNTIME"]
CONF
}

# pod RUNTIME ARGS...: podman with RUNTIME (ocirt or runc) and this file's
# store; sets $status and $output like `run`.  The cgroup parent carries
# the test's tag, so teardown finds what podman left; the rlimits are
# lowered because this host lacks CAP_SYS_RESOURCE, which podman's default
# of 1048576 open files would need (runc fails the same way).
pod() {
	local rt=$1
	shift
	status=0
	output=$(timeout -k 5 120 env CONTAINERS_CONF="$PODMAN_DIR/containers.conf" \
		podman --root "$PODMAN_DIR/storage" --runroot "$PODMAN_DIR/run" --tmpdir "$PODMAN_DIR/tmp" \
		--storage-driver vfs --runtime "$rt" "$@" 2>&1 </dev/null) || status=$?
	echo "podman --runtime $rt $* (status=$status):" >&2
	echo "$output" >&2
}

# The options every container of a test gets.
pod_run_opts() {
	echo --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --cgroup-parent "/ocirt-e2e-$UNIQ"
}

# podman_teardown_file: once per file, in teardown_file().
podman_teardown_file() {
	[ -n "${PODMAN_DIR:-}" ] || return 0
	# Each container is removed through its own runtime, whichever --runtime
	# says (the flag names the runtime of new containers): one call for
	# all, each costing seconds under emulation (tests/vm).
	pod ocirt rm --all --force --time 0 >/dev/null 2>&1
	pod ocirt system reset --force >/dev/null 2>&1
	rm -rf --one-file-system "$PODMAN_DIR"
}

# podman_teardown: remove this test's containers, then the cgroups podman
# made under its parent (conmon's among them).
podman_teardown() {
	local rt d
	for rt in ocirt runc; do
		pod "$rt" rm --all --force --time 0 >/dev/null 2>&1
	done
	for d in /sys/fs/cgroup/*/ocirt-e2e-"$UNIQ" /sys/fs/cgroup/ocirt-e2e-"$UNIQ"; do
		[ -d "$d" ] || continue
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
}
