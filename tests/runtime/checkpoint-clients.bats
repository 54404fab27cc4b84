#!/usr/bin/env bats
# checkpoint and restore through criu, driven by the clients: containerd's
# runc shim (`ctr task checkpoint`) and podman (`podman container
# checkpoint/restore`, --export/--import), with the runtime under test and
# with runc.
#
# criu 3.17 cannot run on every kernel (this development machine's stops at
# "vdso: Unexpected rt vDSO area bounds"): the tests that need a working
# criu skip with criu's own reason; tests/vm runs them on Debian's kernel.
# The helpers are tests/lib/checkpoint.bash.

# The VM pass (tests/vm) runs every test here: see README.md.
# bats file_tags=vm

load ../lib/helpers
load ../lib/containerd
load ../lib/podman
load ../lib/checkpoint

setup() {
	checkpoint_setup
}

teardown() {
	containerd_stop
	[ -z "${PODMAN_DIR:-}" ] || podman_teardown_file
	teardown_test
}

@test "ctr task checkpoint: containerd's runc shim checkpoints through the runtime" {
	requires_criu
	containerd_start
	local rootfs=$BUNDLE/rootfs
	ctrd run -d --runc-binary "$OCIRT" --rootfs "$rootfs" "$ID" \
		sh -c 'i=0; while :; do i=$((i+1)); echo $i > /count; sleep 0.2; done' >&2 ||
		fail "ctr run failed: $(tail -5 "$CTRD_DIR/log")"
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(cat "$rootfs/count" 2>/dev/null || echo 0)" -ge 3 ] && break
		sleep 0.1
	done
	status=0
	output=$(ctrd task checkpoint --exit --image-path "$TEST_TMP/ctr-img" --work-path "$TEST_TMP/ctr-work" "$ID" 2>&1) ||
		status=$?
	echo "ctr task checkpoint: $status: $output" >&2
	criu_ok "$TEST_TMP/ctr-work/dump.log"
	[ -s "$TEST_TMP/ctr-img/descriptors.json" ] || fail "no descriptors.json: $(ls "$TEST_TMP/ctr-img" 2>&1)"
	ls "$TEST_TMP/ctr-img"/inventory.img >/dev/null || fail "no criu inventory in the image path"
	# --exit: the task is gone, its counter stopped.
	local n
	n=$(cat "$rootfs/count")
	sleep 1
	assert_equal "$(cat "$rootfs/count")" "$n"
	ctrd task ls >&2
	ctrd task ls | grep -q "$ID.*RUNNING" && fail "the task still runs after checkpoint --exit"
	ctrd task delete "$ID" >/dev/null 2>&1 || true
	ctrd containers delete "$ID"
}

# ---- podman, with the runtime as its OCI runtime (podman --runtime).

# podman_counting RT: a counting container of podman's, on an image of the
# test's rootfs in podman's store (an export carries no --rootfs
# container), with its counter in $DATA; its name in $PC.
podman_counting() {
	local r=$1
	DATA=$TEST_TMP/pod-$r-data
	PC=c-$r-$ID
	mkdir -p "$DATA"
	tar -C "$BUNDLE/rootfs" -cf "$TEST_TMP/rootfs.tar" .
	pod "$r" import --quiet "$TEST_TMP/rootfs.tar" localhost/ocirt-ckpt:latest
	assert_success
	pod "$r" run -d --name "$PC" --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		-e "$MARK" -v "$DATA:/data" localhost/ocirt-ckpt:latest \
		sh -c 'i=0; while :; do i=$((i+1)); echo $i >> /data/log; echo $i > /tmp/last; sleep 0.2; done'
	assert_success
	wait_count 3
}

# The restored container as podman lists and inspects it.
assert_podman_shows_running() {
	local r=$1
	# podman 4.3 shows the state as "Up N seconds ago".
	pod "$r" ps --format '{{.Names}} {{.State}}'
	[[ "$output" == "$PC Up "* ]] || fail "podman ps shows: $output"
	pod "$r" inspect --format '{{.State.Status}}' "$PC"
	assert_output running
}

# One container's life through podman's two ways of checkpointing (each
# podman call costs seconds under emulation): checkpoint and restore in
# place, then checkpoint --export to a tar, the container removed, and
# restore --import of the tar.  The counter goes on across both.
podman_checkpoint_restore() {
	local r=$1 before
	podman_counting "$r"
	pod "$r" container checkpoint "$PC"
	assert_success
	pod "$r" inspect --format '{{.State.Status}} {{.State.Checkpointed}}' "$PC"
	assert_output "exited true"
	before=$(last_count)
	sleep 1
	assert_equal "$(last_count)" "$before"
	pod "$r" container restore "$PC"
	assert_success
	assert_podman_shows_running "$r"
	wait_count $((before + 3))
	assert_log_continuous
	# The restored container takes podman's exec, and its rootfs is the
	# one the counter wrote to.
	pod "$r" exec "$PC" cat /tmp/last
	assert_success
	[ "$output" -gt "$before" ] || fail "/tmp/last is $output, not past $before"

	pod "$r" container checkpoint --export "$TEST_TMP/$r.tar" "$PC"
	assert_success
	[ -s "$TEST_TMP/$r.tar" ] || fail "no $TEST_TMP/$r.tar"
	before=$(last_count)
	pod "$r" rm --force --time 0 "$PC"
	assert_success
	pod "$r" container restore --import "$TEST_TMP/$r.tar"
	assert_success
	assert_podman_shows_running "$r"
	wait_count $((before + 3))
	assert_log_continuous
	pod "$r" rm --force --time 0 "$PC"
	assert_success
}

@test "podman container checkpoint, restore, then --export and restore --import: the container counts on" {
	requires_criu
	requires_cmd podman conmon
	podman_dirs "$TEST_TMP/podman" systemd
	podman_checkpoint_restore "$OCIRT_NAME"
}

@test "podman container checkpoint, restore, then --export and restore --import: the same with runc" {
	requires_criu
	requires_cmd podman conmon
	podman_dirs "$TEST_TMP/podman" systemd
	podman_checkpoint_restore runc
}
