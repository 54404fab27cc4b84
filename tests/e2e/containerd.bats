#!/usr/bin/env bats
# containerd's runc v2 shim (what Kubernetes' CRI drives) running ocirt as
# its runc binary, each scenario also with Debian's runc.  The daemon is the
# file's own (tests/lib/containerd.bash).

load ../lib/helpers
load ../lib/e2e
load ../lib/containerd

setup_file() {
	containerd_start_file
}

teardown_file() {
	containerd_stop
}

setup() {
	setup_test
}

teardown() {
	containerd_cleanup
	teardown_test
}

@test "containerd: ctr run: output and exit status through the shim (runc, ocirt)" {
	local rt
	for rt in "$REF_RUNTIME" "$OCIRT"; do
		cctr run --rm --runc-binary "$rt" "$CTRD_IMAGE" "c-$ID" sh -c 'echo "pid $$"; exit 4'
		assert_status 4
		assert_output "pid 1"
	done
}

# ctrd_leftovers ID...: processes of the containers' cgroups, their cgroups
# and their mounts (the rootfs snapshots are mounted under the state dir).
ctrd_leftovers() {
	local c d
	for c in "$@"; do
		for d in /sys/fs/cgroup/*/ocirt-e2e/"$c" /sys/fs/cgroup/ocirt-e2e/"$c"; do
			[ -e "$d" ] && echo "cgroup: $d ($(tr '\n' ' ' <"$d/cgroup.procs" 2>/dev/null))"
		done
		awk -v c="/$c/" 'index($5, c) { print "mount: " $5 }' /proc/self/mountinfo
	done
	return 0
}

# shared_pid_ns_pod RUNTIME: A owns a pid namespace; B joins it (ctr
# --with-ns), starts a background child, and its main process exits.  The
# shim then runs `kill --all B 9` before it reports B stopped (the kernel
# kills nothing: B's init was not its namespace's), and delete removes B's
# cgroup.  The child, reparented to A's init (which does not reap), stays a
# zombie of A's namespace until A ends: dead, and out of B's v1 cgroups.
shared_pid_ns_pod() {
	local rt=$1 a="a-$ID" b="b-$ID" apid bpid ns d child=""
	cctr run -d --runc-binary "$rt" "$CTRD_IMAGE" "$a" sleep 1000
	assert_success
	apid=$(ctrd_task_pid "$a")
	[ -n "$apid" ] || fail "$rt: no pid for $a"
	cctr run -d --runc-binary "$rt" --with-ns "pid:/proc/$apid/ns/pid" "$CTRD_IMAGE" "$b" \
		sh -c 'trap "exit 0" TERM; sleep 1001 & wait'
	assert_success
	bpid=$(ctrd_task_pid "$b")
	[ "$(readlink "/proc/$bpid/ns/pid")" = "$(readlink "/proc/$apid/ns/pid")" ] || fail "$rt: B is not in A's pid namespace"
	local i
	for ((i = 0; i < 100; i++)); do
		for d in $(ns_members "$apid"); do
			[ "$(tr '\0' ' ' <"/proc/$d/cmdline" 2>/dev/null)" = "sleep 1001 " ] && child=$d
		done
		[ -n "$child" ] && break
		sleep 0.05
	done
	[ -n "$child" ] || fail "$rt: B's background child is not running"
	# B's main process ends; its child does not.
	cctr task kill --signal SIGTERM "$b"
	assert_success
	ctrd_wait_stopped "$b" || fail "$rt: B did not stop"
	wait_gone "$child" || fail "$rt: B stopped, its child $child lives on: $(tr '\n' ' ' <"/proc/$child/cgroup")"
	cctr task delete "$b"
	assert_success
	cctr containers delete "$b"
	assert_success
	cctr task kill --signal SIGKILL "$a"
	assert_success
	ctrd_wait_stopped "$a" || fail "$rt: A did not stop"
	cctr task delete "$a"
	assert_success
	cctr containers delete "$a"
	assert_success
	wait_gone "$apid" "$bpid" "$child" || fail "$rt: processes left: $apid $bpid $child"
	local left
	left=$(ctrd_leftovers "$a" "$b")
	[ -z "$left" ] || fail "$rt: left behind: $left"
}

@test "containerd: two containers in one pid namespace: when the joiner's main process exits, kill --all and delete leave no process, cgroup or mount (runc, ocirt)" {
	shared_pid_ns_pod "$REF_RUNTIME"
	shared_pid_ns_pod "$OCIRT"
}
