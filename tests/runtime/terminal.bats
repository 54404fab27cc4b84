#!/usr/bin/env bats
# Terminals: `run` relays a pty to the caller's terminal; `create
# --console-socket` hands the pty master over in one SCM_RIGHTS message.

load ../lib/helpers

setup() {
	setup_test
	make_bundle default
	RECEIVER_PID=""
	TMUX_SOCKET=""
}

teardown() {
	if [ -n "$RECEIVER_PID" ]; then
		kill "$RECEIVER_PID" 2>/dev/null || true
		wait "$RECEIVER_PID" 2>/dev/null || true
	fi
	if [ -n "$TMUX_SOCKET" ]; then
		tmux -S "$TMUX_SOCKET" kill-server 2>/dev/null || true
	fi
	teardown_test
}

@test "run of the default spec config in a pty: type 'hostname; exit 3'" {
	requires_cmd script
	# script(1) gives ocirt a terminal on stdin/stdout, as a user's shell would.
	local cmd
	printf -v cmd '%q ' env "$MARK" "$OCIRT" --root "$STATE_ROOT" run --bundle "$BUNDLE" "$ID"
	run bash -c "printf 'hostname; exit 3\n' | timeout 60 script -qec '$cmd' /dev/null"
	assert_status 3
	local hostname
	hostname=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hostname"])' "$BUNDLE/config.json")
	# The shell echoes the typed line, then hostname prints on its own line.
	assert_output_contains "hostname; exit 3"
	[[ "$output" == *$'\n'"$hostname"$'\r'* ]] || fail "no '$hostname' line in: $output"
	assert_no_leaks "$ID"
}

@test "run in a pty: the container sees a terminal of the caller's size" {
	requires_cmd tmux
	TMUX_SOCKET="$TEST_TMP/tmux.sock"
	local cmd
	printf -v cmd '%q ' env "$MARK" "$OCIRT" --root "$STATE_ROOT" run --bundle "$BUNDLE" "$ID"
	tmux -S "$TMUX_SOCKET" -f /dev/null new-session -d -x 97 -y 31 "$cmd; echo EXIT=\$? > $TEST_TMP/exit; sleep 60"
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(container_status "$ID")" = running ] && break
		sleep 0.1
	done
	tmux -S "$TMUX_SOCKET" send-keys 'tty; stty size; echo "[$TERM]"; exit 3' Enter
	for ((i = 0; i < 200; i++)); do
		[ -s "$TEST_TMP/exit" ] && break
		sleep 0.05
	done
	local screen
	screen=$(tmux -S "$TMUX_SOCKET" capture-pane -p)
	echo "$screen" >&2
	assert_equal "$(cat "$TEST_TMP/exit")" "EXIT=3"
	[[ "$screen" == *"/dev/pts/0"* ]] || fail "tty is not /dev/pts/0"
	[[ "$screen" == *"31 97"* ]] || fail "window size not passed on"
	[[ "$screen" == *"[xterm]"* ]] || fail "TERM from the config not set"
}

@test "the caller's terminal settings are restored after run" {
	requires_cmd script
	local cmd
	printf -v cmd '%q ' env "$MARK" "$OCIRT" --root "$STATE_ROOT" run --bundle "$BUNDLE" "$ID"
	# stty -g before and after, inside the same pty.
	run bash -c "printf 'exit 0\n' | timeout 60 script -qec 'stty -g; $cmd >/dev/null; stty -g' /dev/null"
	assert_success
	local settings
	mapfile -t settings < <(grep -E '^[0-9a-f]+(:[0-9a-f]+)+' <<<"${output//$'\r'/}")
	[ "${#settings[@]}" -eq 2 ] || fail "expected two stty -g lines: $output"
	assert_equal "${settings[1]}" "${settings[0]}"
}

# start_receiver: a console-socket receiver at $SOCK. It takes exactly one
# connection, checks that it carries exactly one fd, types a command into
# the pty and records everything the container writes until it hangs up.
start_receiver() {
	SOCK="$TEST_TMP/console.sock"
	python3 - "$SOCK" "$TEST_TMP/recv" <<'EOF' &
import array, os, socket, sys, time
path, out = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
open(out + ".ready", "w").close()
conn, _ = srv.accept()
fds = array.array("i")
msg, anc, flags, _ = conn.recvmsg(4096, socket.CMSG_SPACE(16 * fds.itemsize))
rights = [d for (lvl, typ, d) in anc if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS]
for d in rights:
    fds.frombytes(d[: len(d) - (len(d) % fds.itemsize)])
with open(out + ".meta", "w") as f:
    f.write(f"messages={len(rights)} fds={len(fds)} name={msg.decode(errors='replace')}\n")
if len(fds) != 1:
    sys.exit(1)
master = fds[0]
with open(out + ".meta", "a") as f:
    f.write(f"isatty={os.isatty(master)}\n")
# Wait for the shell, then type; collect output until the slave closes.
os.write(master, b"echo via-pty-$((6*7)); tty; exit 3\n")
data = b""
deadline = time.time() + 30
while time.time() < deadline:
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    data += chunk
open(out + ".data", "wb").write(data)
EOF
	RECEIVER_PID=$!
	wait_for_file "$TEST_TMP/recv.ready" || fail "console receiver did not start"
}

@test "create --console-socket sends exactly one pty master fd" {
	start_receiver
	ocirt create --bundle "$BUNDLE" --console-socket "$SOCK" "$ID"
	assert_success
	assert_output ""
	ocirt start "$ID"
	assert_success
	wait_for_status "$ID" stopped 30
	wait "$RECEIVER_PID"
	RECEIVER_PID=""
	local meta
	meta=$(cat "$TEST_TMP/recv.meta")
	[[ "$meta" == "messages=1 fds=1 name="?* ]] || fail "expected one message with one fd and a name: $meta"
	[[ "$meta" == *"isatty=True"* ]] || fail "the fd is not a terminal: $meta"
	local data
	data=$(tr -d '\r' <"$TEST_TMP/recv.data")
	[[ "$data" == *$'\n'"via-pty-42"$'\n'* ]] || fail "command did not run through the pty: $data"
	[[ "$data" == *"/dev/pts/0"* ]] || fail "container tty is not /dev/pts/0: $data"
}

@test "run -d --console-socket: the container runs on the received pty" {
	start_receiver
	ocirt run -d --bundle "$BUNDLE" --console-socket "$SOCK" "$ID"
	assert_success
	wait_for_status "$ID" stopped 30
	wait "$RECEIVER_PID"
	RECEIVER_PID=""
	grep -q "via-pty-42" "$TEST_TMP/recv.data" || fail "no output: $(cat "$TEST_TMP/recv.data")"
}

@test "--console-socket=PATH (= form) works too" {
	start_receiver
	ocirt create --bundle "$BUNDLE" --console-socket="$SOCK" "$ID"
	assert_success
	ocirt start "$ID"
	assert_success
	wait_for_status "$ID" stopped 30
}

@test "terminal true without a console socket: create fails cleanly" {
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "console"
	[ ! -e "$STATE_ROOT/$ID" ]
	assert_no_leaks "$ID"
}

@test "a console socket nobody listens on: create fails cleanly" {
	ocirt create --bundle "$BUNDLE" --console-socket "$TEST_TMP/nobody.sock" "$ID"
	assert_failure
	[ ! -e "$STATE_ROOT/$ID" ]
	assert_no_leaks "$ID"
}

@test "the container's /dev/console is its terminal" {
	start_receiver
	update_config 'c["process"]["args"] = ["sh", "-c", "stat -c \"%t:%T\" /dev/console; sh"]'
	ocirt run -d --bundle "$BUNDLE" --console-socket "$SOCK" "$ID"
	assert_success
	wait_for_status "$ID" stopped 30
	wait "$RECEIVER_PID"
	RECEIVER_PID=""
	# /dev/pts/0 is major 136 (0x88), minor 0.
	grep -q "88:0" "$TEST_TMP/recv.data" || fail "/dev/console is not the pty: $(cat "$TEST_TMP/recv.data")"
}
