# Helpers of the checkpoint suites (tests/runtime/checkpoint*.bats):
# criu's verdict on the kernel, the counting container, the same scenario
# with the runtime under test and runc, a console-socket receiver.  The
# suites are split so that the VM pass (tests/vm, whole suites per lane)
# can run them side by side.

# checkpoint_setup: setup() of each suite: the default bundle with a
# writable rootfs, and the counter's data directory.
checkpoint_setup() {
	setup_test
	make_bundle default
	update_config 'c["root"]["readonly"] = False'
	mkdir -p "$TEST_TMP/data"
}

# stop_receivers: the console-socket receivers the test started.
stop_receivers() {
	if [ -n "${RECEIVER_PIDS:-}" ]; then
		kill $RECEIVER_PIDS 2>/dev/null || true
		wait $RECEIVER_PIDS 2>/dev/null || true
	fi
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
# (Read by bash itself: the waits poll it, and under emulation (tests/vm)
# each program started costs the container the CPU it needs to count.)
last_count() {
	local log=() last=
	[ ! -f "${DATA:-$TEST_TMP/data}/log" ] || mapfile -t log <"${DATA:-$TEST_TMP/data}/log"
	[ "${#log[@]}" -eq 0 ] || last=${log[-1]}
	[[ "$last" =~ ^[0-9]+$ ]] || last=0
	echo "$last"
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

# start_console_receiver NAME: a console-socket receiver at
# $TEST_TMP/NAME.sock (set as $SOCK) that keeps every pty master it is sent,
# logs each connection to NAME.meta ("conn N fds F tty T"), types "hello"
# into every master after the first, and drains them all.
start_console_receiver() {
	SOCK=$TEST_TMP/$1.sock
	cat >"$TEST_TMP/$1.py" <<'PY'
import os, select, socket, sys
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
            _, fds, _, _ = socket.recv_fds(conn, 4096, 16)
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
	wait_for_file "$TEST_TMP/$1.ready" || fail "console receiver did not start"
}

# rt_cmd RT: the runtime's command line (without its subcommand), quoted
# for a shell, as `rt` and `rt_detached` call it.
rt_cmd() {
	if [ "$1" = ocirt ]; then
		printf '%q ' env "$MARK" "$OCIRT" --root "$STATE_ROOT"
	else
		mkdir -p "$TEST_TMP/ref-state"
		printf '%q ' env "$MARK" "$REF_RUNTIME" --root "$TEST_TMP/ref-state"
	fi
}
