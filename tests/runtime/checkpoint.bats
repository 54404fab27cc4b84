#!/usr/bin/env bats
# checkpoint and restore through criu, with runc's command lines.  The same
# tests run against runc (the VM pass runs this suite with both), so each
# behaviour here is runc's too unless marked ocirt_only.
#
# criu 3.17 cannot run on every kernel (this development machine's stops at
# "vdso: Unexpected rt vDSO area bounds"): the tests that need a working
# criu skip with criu's own reason; tests/vm runs them on Debian's kernel.

# The VM pass (tests/vm) runs every test here: see README.md.
# bats file_tags=vm

load ../lib/helpers
load ../lib/containerd
load ../lib/podman

setup() {
	setup_test
	make_bundle default
	update_config 'c["root"]["readonly"] = False'
	mkdir -p "$TEST_TMP/data"
}

teardown() {
	containerd_stop
	if [ -n "${RECEIVER_PIDS:-}" ]; then
		kill $RECEIVER_PIDS 2>/dev/null || true
		wait $RECEIVER_PIDS 2>/dev/null || true
	fi
	[ -z "${PODMAN_DIR:-}" ] || podman_teardown_file
	teardown_test
}

# criu's verdict on this kernel; the netfilter modules its check probes are
# loaded first where the kernel has them (the VM's).
requires_criu() {
	requires_cmd criu
	local m out
	for m in nfnetlink nf_tables libcrc32c crc32c_generic inet_diag tcp_diag udp_diag raw_diag unix_diag \
		netlink_diag af_packet af_packet_diag; do
		modprobe -q "$m" 2>/dev/null || true
	done
	out=$(criu check 2>&1) ||
		skip "criu cannot run on this kernel: $(grep -m1 'Error' <<<"$out" | sed 's/^Error ([^)]*): //')"
}

# The counting container: each second tenth a number, appended to
# /data/log (a bind mount of $TEST_TMP/data), the count itself only in the
# shell's memory; stdio is /dev/null, as for a container started by hand.
counting_bundle() {
	update_config '
c["mounts"].append({"destination": "/data", "type": "bind", "source": sys.argv[3], "options": ["rbind", "rw"]})
c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]})
' "$TEST_TMP/data"
	set_cmd 'i=0; while :; do i=$((i+1)); echo $i >> /data/log; echo $i > /tmp/last; sleep 0.2; done'
}

# last_count: the last number the container wrote (0 before the first), in
# $DATA/log ($TEST_TMP/data unless a test counts elsewhere).
last_count() {
	tail -n1 "${DATA:-$TEST_TMP/data}/log" 2>/dev/null | grep -E '^[0-9]+$' || echo 0
}

# wait_count N [SECONDS]: until the container has counted to N at least.
wait_count() {
	local n=$1 secs=${2:-60} i
	for ((i = 0; i < secs * 10; i++)); do
		[ "$(last_count)" -ge "$n" ] && return 0
		sleep 0.1
	done
	fail "the counter stayed at $(last_count), expected $n after ${secs}s"
}

# The log holds 1, 2, 3 ... without a gap or a restart.
assert_log_continuous() {
	local log n
	log=$(cat "${DATA:-$TEST_TMP/data}/log")
	n=$(tail -n1 <<<"$log")
	[ -n "$n" ] || fail "the counter wrote nothing"
	assert_equal "$log" "$(seq 1 "$n")"
}

# criu_log FILE: what criu said went wrong, for the test's diagnostics.
criu_log() {
	echo "--- $1:" >&2
	grep -E 'Error|Warn|rror' "$1" 2>/dev/null | head -40 >&2 || true
	tail -n 15 "$1" >&2 2>/dev/null || true
}

# criu_ok LOG: the last runtime call succeeded; criu's log when it did not.
criu_ok() {
	[ "$status" -eq 0 ] && return 0
	criu_log "$1"
	fail "exit status $status: $output"
}

start_counting() {
	counting_bundle
	__ocirt run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1 || fail "run -d failed"
	wait_for_status "$ID" running
	wait_count 3
}

@test "checkpoint, restore: criu missing from PATH is one clear line" {
	ocirt_only "message wording"
	run timeout 20 env PATH=/nonexistent "$OCIRT" --root "$STATE_ROOT" checkpoint "$ID"
	assert_failure
	assert_output "ocirt: checkpoint: criu not found"
	run timeout 20 env PATH=/nonexistent "$OCIRT" --root "$STATE_ROOT" restore -b "$BUNDLE" "$ID"
	assert_failure
	assert_output "ocirt: restore: criu not found"
	assert_no_leaks
}

@test "checkpoint: a created container cannot be checkpointed, and stays created" {
	requires_cmd criu
	set_args sleep 1000
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_success
	ocirt checkpoint --image-path "$TEST_TMP/img" "$ID"
	assert_failure
	assert_output_contains_ci "cannot be checkpointed in created state"
	assert_equal "$(container_status "$ID")" created
	ocirt delete --force "$ID"
	assert_no_leaks
}

@test "checkpoint: options criu cannot honour are refused by name" {
	ocirt_only "runc accepts these and fails later"
	ocirt checkpoint --lazy-pages "$ID"
	assert_failure
	assert_output "ocirt: not supported: checkpoint --lazy-pages"
	ocirt checkpoint --empty-ns pid "$ID"
	assert_failure
	assert_output_contains "not supported: --empty-ns pid"
	ocirt checkpoint --manage-cgroups-mode sometimes "$ID"
	assert_failure
	assert_output_contains "invalid --manage-cgroups-mode \`sometimes\`"
}

@test "checkpoint: when criu fails the container runs on and the error names the log" {
	requires_cmd criu
	counting_bundle
	# stdout to a file outside the container's mounts: criu 3.17 refuses to
	# dump that (and fails anyway where criu cannot run).
	__ocirt run -d --bundle "$BUNDLE" "$ID" </dev/null >"$TEST_TMP/outside" 2>&1
	wait_for_status "$ID" running
	wait_count 2
	ocirt checkpoint --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" "$ID"
	assert_failure
	assert_output_contains "$TEST_TMP/work/dump.log"
	if ! is_runc; then
		assert_one_line
		assert_output_contains "ocirt: checkpoint: criu dump failed: Error ("
	fi
	assert_equal "$(container_status "$ID")" running
	local n
	n=$(last_count)
	wait_count $((n + 2))
	assert_log_continuous
	ocirt delete --force "$ID"
	assert_no_leaks
}

@test "restore: when criu fails nothing is left behind" {
	requires_cmd criu
	counting_bundle
	mkdir -p "$TEST_TMP/img"
	echo '["/dev/null","/dev/null","/dev/null"]' >"$TEST_TMP/img/descriptors.json"
	ocirt restore -d -b "$BUNDLE" --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" "$ID"
	assert_failure
	assert_output_contains "$TEST_TMP/work/restore.log"
	if ! is_runc; then
		assert_one_line
		assert_output_contains "ocirt: restore: criu restore failed"
	fi
	assert_no_leaks
	ocirt state "$ID"
	assert_failure
	assert_output_contains "does not exist"
}

@test "restore of a terminal container (criu's RPC): when criu fails nothing is left behind" {
	requires_cmd criu
	counting_bundle
	update_config 'c["process"]["terminal"] = True'
	mkdir -p "$TEST_TMP/img"
	echo '["/dev/pts/0","/dev/pts/0","/dev/pts/0"]' >"$TEST_TMP/img/descriptors.json"
	start_console_receiver console
	ocirt restore -d --console-socket "$SOCK" -b "$BUNDLE" --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" "$ID"
	assert_failure
	assert_output_contains "$TEST_TMP/work/restore.log"
	if ! is_runc; then
		assert_one_line
		assert_output_contains "ocirt: restore: criu restore failed: Error ("
	fi
	assert_no_leaks
	[ ! -e "$TEST_TMP/console.meta" ] || fail "a pty master was sent: $(cat "$TEST_TMP/console.meta")"
	ocirt state "$ID"
	assert_failure
	assert_output_contains "does not exist"
}

@test "checkpoint, restore: runc does the same on the same bundle" {
	requires_criu
	counting_bundle
	# The reference runtime's copy: its own bundle and counter.
	local mine=$BUNDLE
	mkdir -p "$TEST_TMP/ref-data"
	make_bundle default "$TEST_TMP/ref-bundle"
	update_config 'c["root"]["readonly"] = False'
	update_config '
c["mounts"].append({"destination": "/data", "type": "bind", "source": sys.argv[3], "options": ["rbind", "rw"]})
c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]})
' "$TEST_TMP/ref-data"
	set_cmd 'i=0; while :; do i=$((i+1)); echo $i >> /data/log; sleep 0.2; done'
	local refbundle=$BUNDLE
	BUNDLE=$mine
	mkdir -p "$TEST_TMP/ref-state"
	timeout 60 env "$MARK" "$REF_RUNTIME" --root "$TEST_TMP/ref-state" run -d --bundle "$refbundle" "$ID-ref" \
		</dev/null >/dev/null 2>&1 || fail "ref run -d failed"
	__ocirt run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1 || fail "run -d failed"
	wait_count 3
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(wc -l <"$TEST_TMP/ref-data/log")" -ge 3 ] && break
		sleep 0.1
	done
	local ref_dump ref_restore
	ref checkpoint --image-path "$TEST_TMP/ref-img" --work-path "$TEST_TMP/ref-work" "$ID-ref"
	ref_dump=$status
	[ "$ref_dump" -eq 0 ] || criu_log "$TEST_TMP/ref-work/dump.log"
	ocirt checkpoint --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" "$ID"
	[ "$status" -eq 0 ] || criu_log "$TEST_TMP/work/dump.log"
	assert_equal "$status" "$ref_dump"
	ref restore -d --bundle "$refbundle" --image-path "$TEST_TMP/ref-img" --work-path "$TEST_TMP/ref-work" "$ID-ref"
	ref_restore=$status
	[ "$ref_restore" -eq 0 ] || criu_log "$TEST_TMP/ref-work/restore.log"
	ocirt restore -d --bundle "$BUNDLE" --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" "$ID"
	[ "$status" -eq 0 ] || criu_log "$TEST_TMP/work/restore.log"
	assert_equal "$status" "$ref_restore"
	assert_equal "$ref_dump$ref_restore" 00
	ref state "$ID-ref"
	assert_equal "$(json_field status <<<"$output")" running
	assert_equal "$(container_status "$ID")" running
	ref delete --force "$ID-ref"
	ocirt delete --force "$ID"
	assert_no_leaks
}

@test "checkpoint, restore: the container counts on from where it was" {
	requires_criu
	start_counting
	local pid1 before
	pid1=$(container_pid "$ID")
	ocirt checkpoint --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" "$ID"
	criu_ok "$TEST_TMP/work/dump.log"
	[ -s "$TEST_TMP/img/descriptors.json" ] || fail "no descriptors.json in the image path"
	# runc deletes a checkpointed container, so that its id can be restored.
	ocirt state "$ID"
	assert_failure
	assert_output_contains "does not exist"
	wait_gone "$pid1" || fail "the checkpointed init $pid1 still runs"
	before=$(last_count)
	sleep 1
	assert_equal "$(last_count)" "$before"

	ocirt restore -d -b "$BUNDLE" --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" \
		--pid-file "$TEST_TMP/pid" "$ID"
	criu_ok "$TEST_TMP/work/restore.log"
	ocirt state "$ID"
	assert_success
	assert_equal "$(json_field status <<<"$output")" running
	local pid
	pid=$(json_field pid <<<"$output")
	assert_equal "$(cat "$TEST_TMP/pid")" "$pid"
	pid_alive "$pid" || fail "restored init $pid is not alive"
	wait_count $((before + 3))
	assert_log_continuous
	# The tmpfs came back with its content, and the restored container takes
	# an exec into its namespaces.
	ocirt exec "$ID" cat /tmp/last
	assert_success
	[ "$output" -gt "$before" ] || fail "/tmp/last is $output, not past $before"
	ocirt delete --force "$ID"
	assert_success
	assert_no_leaks
}

@test "checkpoint --leave-running: the container goes on, and the images restore elsewhere" {
	requires_criu
	start_counting
	local pid1 n
	pid1=$(container_pid "$ID")
	ocirt checkpoint --leave-running --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" "$ID"
	criu_ok "$TEST_TMP/work/dump.log"
	assert_equal "$(container_status "$ID")" running
	assert_equal "$(container_pid "$ID")" "$pid1"
	n=$(last_count)
	wait_count $((n + 2))
	assert_log_continuous
	ocirt delete --force "$ID"
	assert_success
	# The images still restore (the counter restarts from the dump's count,
	# so the log is no longer one sequence: only the status is checked).
	ocirt restore -d -b "$BUNDLE" --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" "$ID"
	criu_ok "$TEST_TMP/work/restore.log"
	wait_for_status "$ID" running
	ocirt delete --force "$ID"
	assert_no_leaks
}

@test "restore in the foreground: the caller's pipes replace the old ones, and its status is the container's" {
	requires_criu
	set_cmd 'i=0; while [ $i -lt 30 ]; do i=$((i+1)); echo $i; sleep 0.2; done; exit 7'
	# containerd's and conmon's stdio: pipes.
	__ocirt run -d --bundle "$BUNDLE" "$ID" </dev/null 2>/dev/null | cat >"$TEST_TMP/out1" &
	local reader=$! i
	for ((i = 0; i < 600; i++)); do
		[ "$(wc -l <"$TEST_TMP/out1")" -ge 3 ] && break
		sleep 0.1
	done
	ocirt checkpoint --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" "$ID"
	criu_ok "$TEST_TMP/work/dump.log"
	local pipe
	pipe=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[1])' "$TEST_TMP/img/descriptors.json")
	[[ "$pipe" == pipe:* ]] || fail "stdout was not recorded as a pipe: $(cat "$TEST_TMP/img/descriptors.json")"
	# The dumped tree is gone, and with it the old pipe's writer.
	for ((i = 0; i < 100; i++)); do
		kill -0 "$reader" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$reader" 2>/dev/null; then
		echo "still holding $pipe:" >&2
		find /proc/[0-9]*/fd -lname "$pipe" 2>/dev/null | while read -r f; do
			p=${f#/proc/}
			echo "  ${p%%/*}: $(tr '\0' ' ' <"/proc/${p%%/*}/cmdline")" >&2
		done
		kill "$reader" 2>/dev/null || true
		fail "the old pipe still has a writer after the checkpoint"
	fi
	# (errexit holds in the group: the status is caught, not fallen over.)
	{
		local rc=0
		__ocirt restore -b "$BUNDLE" --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" "$ID" \
			</dev/null 2>"$TEST_TMP/err" || rc=$?
		echo "$rc" >"$TEST_TMP/rc"
	} | cat >"$TEST_TMP/out2"
	cat "$TEST_TMP/err" >&2
	[ "$(cat "$TEST_TMP/rc")" = 7 ] || criu_log "$TEST_TMP/work/restore.log"
	assert_equal "$(cat "$TEST_TMP/rc")" 7
	assert_equal "$(cat "$TEST_TMP/out1" "$TEST_TMP/out2")" "$(seq 1 30)"
	[ -s "$TEST_TMP/out2" ] || fail "nothing came through the new pipe"
	# In the foreground the container is deleted once it exits, as with run.
	ocirt state "$ID"
	assert_failure
	assert_no_leaks
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

# ---- the same scenario with both runtimes: RT is "ocirt" (the runtime
# under test) or "ref" (runc), each with its own bundle, id and counter.

# rt RT ARGS: the runtime's call as `run` (sets $status, $output).
rt() {
	local r=$1
	shift
	"$r" "$@"
}

# rt_detached RT ARGS: the call with the container's stdio on /dev/null
# (a file outside the container's mounts would stop criu's dump).
rt_detached() {
	local r=$1
	shift
	if [ "$r" = ocirt ]; then
		__ocirt "$@" </dev/null >/dev/null 2>&1
	else
		mkdir -p "$TEST_TMP/ref-state"
		timeout -k 5 "$OCIRT_CMD_TIMEOUT" env "$MARK" "$REF_RUNTIME" --root "$TEST_TMP/ref-state" "$@" \
			</dev/null >/dev/null 2>&1
	fi
}

# rt_status RT ID: "running", ... or "missing".
rt_status() {
	rt "$1" state "$2" >/dev/null 2>&1
	if [ "$status" -ne 0 ]; then
		echo missing
	else
		json_field status <<<"$output"
	fi
}

# counting_bundle_for RT: $BUNDLE, $CID and $DATA of the runtime's copy of
# the counting container (its own bundle directory and data).
counting_bundle_for() {
	DATA=$TEST_TMP/$1-data
	CID=$ID-$1
	mkdir -p "$DATA"
	make_bundle default "$TEST_TMP/$1-bundle"
	update_config 'c["root"]["readonly"] = False'
	counting_bundle
	update_config 'c["mounts"][-2]["source"] = sys.argv[3]' "$DATA"
}

# Pre-copy migration: a pre-dump saves the memory while the container runs
# on, the final dump on top of it (--parent-path, relative to the image
# path) saves only what changed since, and the restore reads both.
predump_chain() {
	local r=$1 n before
	counting_bundle_for "$r"
	rt_detached "$r" run -d --bundle "$BUNDLE" "$CID" || fail "$r run -d failed"
	wait_count 3
	rt "$r" checkpoint --pre-dump --image-path "$TEST_TMP/$r-img/p1" --work-path "$TEST_TMP/$r-work" "$CID"
	criu_ok "$TEST_TMP/$r-work/dump.log"
	assert_equal "$(rt_status "$r" "$CID")" running
	n=$(last_count)
	wait_count $((n + 3))
	rt "$r" checkpoint --parent-path ../p1 --image-path "$TEST_TMP/$r-img/final" --work-path "$TEST_TMP/$r-work" "$CID"
	criu_ok "$TEST_TMP/$r-work/dump.log"
	# criu links the dump to its parent.
	assert_equal "$(readlink "$TEST_TMP/$r-img/final/parent")" ../p1
	assert_equal "$(rt_status "$r" "$CID")" missing
	before=$(last_count)
	rt "$r" restore -d --bundle "$BUNDLE" --image-path "$TEST_TMP/$r-img/final" --work-path "$TEST_TMP/$r-work" "$CID"
	criu_ok "$TEST_TMP/$r-work/restore.log"
	assert_equal "$(rt_status "$r" "$CID")" running
	wait_count $((before + 3))
	assert_log_continuous
	rt "$r" delete --force "$CID"
	assert_success
}

# Each scenario is a test for each runtime: under emulation (tests/vm) the
# two together can outlast a test's time limit.
@test "checkpoint --pre-dump, then --parent-path: the restore counts on" {
	requires_criu
	predump_chain ocirt
	assert_no_leaks
}

@test "checkpoint --pre-dump, then --parent-path: runc does the same" {
	requires_criu
	predump_chain ref
	assert_no_leaks
}

# start_console_receiver NAME: a console-socket receiver at
# $TEST_TMP/NAME.sock (set as $SOCK) that keeps every pty master it is sent,
# logs each connection to NAME.meta ("conn N fds F tty T"), types "hello"
# into every master after the first, and drains them all.
start_console_receiver() {
	SOCK=$TEST_TMP/$1.sock
	cat >"$TEST_TMP/$1.py" <<'PY'
import array, os, select, socket, sys
path, out = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(4)
open(out + ".ready", "w").close()
masters, n = [], 0
while True:
    ready, _, _ = select.select([srv] + masters, [], [])
    for r in ready:
        if r is srv:
            conn, _ = srv.accept()
            fds = array.array("i")
            _, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(16 * fds.itemsize))
            for lvl, typ, d in anc:
                if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                    fds.frombytes(d[: len(d) - (len(d) % fds.itemsize)])
            conn.close()
            n += 1
            with open(out + ".meta", "a") as f:
                f.write("conn %d fds %d tty %s\n" % (n, len(fds), all(os.isatty(x) for x in fds)))
            masters += list(fds)
            if n > 1:
                for x in fds:
                    os.write(x, b"hello\n")
        else:
            try:
                data = os.read(r, 4096)
            except OSError:
                data = b""
            if not data:
                masters.remove(r)
                continue
            with open(out + ".data", "ab") as f:
                f.write(data)
PY
	# The interpreter itself (helpers' python3 is a function: $! would be a
	# subshell), not holding bats' fd 3, which bats waits for.
	"$PYTHON" "$TEST_TMP/$1.py" "$SOCK" "$TEST_TMP/$1" 3>&- &
	RECEIVER_PIDS="${RECEIVER_PIDS:-} $!"
	local i
	for ((i = 0; i < 200; i++)); do
		[ -e "$TEST_TMP/$1.ready" ] && return 0
		sleep 0.05
	done
	fail "console receiver did not start"
}

# A terminal container: restore takes --console-socket, as create does,
# and sends the master of the restored pty there; the restored processes
# still read and write their terminal.
terminal_restore() {
	local r=$1 before i
	counting_bundle_for "$r"
	set_cmd '(i=0; while :; do i=$((i+1)); echo $i >> /data/log; sleep 0.2; done) &
while read -r l; do echo "got $l on $(tty)" >> /data/reply; done'
	update_config 'c["process"]["terminal"] = True'
	start_console_receiver "$r-console"
	rt_detached "$r" run -d --console-socket "$SOCK" --bundle "$BUNDLE" "$CID" || fail "$r run -d failed"
	wait_count 3
	rt "$r" checkpoint --image-path "$TEST_TMP/$r-img" --work-path "$TEST_TMP/$r-work" "$CID"
	criu_ok "$TEST_TMP/$r-work/dump.log"
	before=$(last_count)
	rt "$r" restore -d --console-socket "$SOCK" --bundle "$BUNDLE" --image-path "$TEST_TMP/$r-img" \
		--work-path "$TEST_TMP/$r-work" "$CID"
	criu_ok "$TEST_TMP/$r-work/restore.log"
	assert_equal "$(rt_status "$r" "$CID")" running
	wait_count $((before + 3))
	assert_log_continuous
	for ((i = 0; i < 100; i++)); do
		[ -s "$DATA/reply" ] && break
		sleep 0.1
	done
	cat "$TEST_TMP/$r-console.meta" >&2
	cat -v "$TEST_TMP/$r-console.data" >&2 || true
	assert_equal "$(cat "$TEST_TMP/$r-console.meta")" $'conn 1 fds 1 tty True\nconn 2 fds 1 tty True'
	assert_equal "$(cat "$DATA/reply")" "got hello on /dev/pts/0"
	rt "$r" delete --force "$CID"
	assert_success
}

@test "restore --console-socket: a terminal container gets a new pty master, its processes keep the pty" {
	requires_criu
	terminal_restore ocirt
	assert_no_leaks
}

@test "restore --console-socket: runc does the same with a terminal container" {
	requires_criu
	terminal_restore ref
	assert_no_leaks
}

# ---- podman, with the runtime as its OCI runtime (podman --runtime).

# podman_counting RT [image]: a counting container of podman's, on a copy of
# the test's rootfs (--rootfs), or on an image of it in podman's store (an
# export carries no --rootfs container), with its counter in $DATA; its
# name in $PC.
podman_counting() {
	local r=$1 root=(--rootfs "$TEST_TMP/pod-$r-rootfs")
	DATA=$TEST_TMP/pod-$r-data
	PC=c-$r-$ID
	mkdir -p "$DATA"
	if [ "${2:-}" = image ]; then
		tar -C "$BUNDLE/rootfs" -cf "$TEST_TMP/rootfs.tar" .
		pod "$r" import --quiet "$TEST_TMP/rootfs.tar" localhost/ocirt-ckpt:latest
		assert_success
		root=(localhost/ocirt-ckpt:latest)
	else
		cp -a "$BUNDLE/rootfs" "$TEST_TMP/pod-$r-rootfs"
	fi
	pod "$r" run -d --name "$PC" --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		-e "$MARK" -v "$DATA:/data" "${root[@]}" \
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
	pod "$r" rm --force --time 0 "$PC"
	assert_success
}

@test "podman container checkpoint, restore: the container counts on and podman shows it running" {
	requires_criu
	requires_cmd podman conmon
	podman_dirs "$TEST_TMP/podman" systemd
	podman_checkpoint_restore "$OCIRT_NAME"
}

@test "podman container checkpoint, restore: the same with runc" {
	requires_criu
	requires_cmd podman conmon
	podman_dirs "$TEST_TMP/podman" systemd
	podman_checkpoint_restore runc
}

podman_export_import() {
	local r=$1 before
	podman_counting "$r" image
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

@test "podman container checkpoint --export, restore --import: the imported container counts on" {
	requires_criu
	requires_cmd podman conmon
	podman_dirs "$TEST_TMP/podman" systemd
	podman_export_import "$OCIRT_NAME"
}

@test "podman container checkpoint --export, restore --import: the same with runc" {
	requires_criu
	requires_cmd podman conmon
	podman_dirs "$TEST_TMP/podman" systemd
	podman_export_import runc
}
