#!/usr/bin/env bats
# checkpoint and restore through criu: what the restored process's stdio
# becomes: the caller's pipes in the foreground, a terminal container's new
# pty sent to --console-socket or relayed to the caller's terminal.  Each
# scenario also runs against runc.
#
# criu 3.17 cannot run on every kernel (this development machine's stops at
# "vdso: Unexpected rt vDSO area bounds"): the tests that need a working
# criu skip with criu's own reason; tests/vm runs them on Debian's kernel.
# The helpers are tests/lib/checkpoint.bash.

# The VM pass (tests/vm) runs every test here: see README.md.
# bats file_tags=vm

load ../lib/helpers
load ../lib/checkpoint

setup() {
	checkpoint_setup
}

teardown() {
	stop_receivers
	teardown_test
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

# checkpoint_terminal_container RT: the bundle's command (set by the caller)
# as a terminal container of RT, its pty master sent to a console receiver
# ($TEST_TMP/RT-console), counting; then checkpointed into
# $TEST_TMP/RT-img (work path $TEST_TMP/RT-work).
checkpoint_terminal_container() {
	local r=$1
	update_config 'c["process"]["terminal"] = True'
	start_console_receiver "$r-console"
	rt_detached "$r" run -d --console-socket "$SOCK" --bundle "$BUNDLE" "$CID" || fail "$r run -d failed"
	wait_count 3
	rt "$r" checkpoint --image-path "$TEST_TMP/$r-img" --work-path "$TEST_TMP/$r-work" "$CID"
	criu_ok "$TEST_TMP/$r-work/dump.log"
}

# A terminal container: restore takes --console-socket, as create does,
# and sends the master of the restored pty there; the restored processes
# still read and write their terminal.
terminal_restore() {
	local r=$1 before i
	counting_bundle_for "$r"
	set_cmd '(i=0; while :; do i=$((i+1)); echo $i >> /data/log; sleep 0.2; done) &
while read -r l; do echo "got $l on $(tty)" >> /data/reply; done'
	checkpoint_terminal_container "$r"
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

# A terminal container restored in the foreground without --console-socket:
# the runtime relays the new pty to its own stdio (here script(1)'s
# terminal, as a user's shell would give it), as a foreground run does, and
# exits with the container's status.  --detach without --console-socket
# is refused first, with create's words, and leaves nothing behind.
terminal_foreground() {
	local r=$1 before cmd name
	counting_bundle_for "$r"
	# On "quit": until the restored counter has counted on three more.
	set_cmd '(i=0; while :; do i=$((i+1)); echo $i >> /data/log; sleep 0.2; done) &
while read -r l; do
	echo "got $l on $(tty)"
	if [ "$l" = quit ]; then
		n=$(tail -n1 /data/log)
		while [ "$(tail -n1 /data/log)" -lt $((n + 3)) ]; do sleep 0.1; done
		echo "counted on to $(tail -n1 /data/log)"
		exit 5
	fi
done'
	checkpoint_terminal_container "$r"
	before=$(last_count)

	rt "$r" restore -d --bundle "$BUNDLE" --image-path "$TEST_TMP/$r-img" --work-path "$TEST_TMP/$r-work" "$CID"
	assert_failure
	name=$OCIRT_NAME
	[ "$r" = ocirt ] || name=$(basename "$REF_RUNTIME")
	assert_output_contains "cannot allocate tty if $name will detach without setting console socket"
	[ "$r" != ocirt ] || is_runc || assert_one_line
	assert_equal "$(rt_status "$r" "$CID")" missing

	cmd="$(rt_cmd "$r") restore --bundle $(printf '%q' "$BUNDLE") --image-path $(printf '%q' "$TEST_TMP/$r-img")"
	cmd+=" --work-path $(printf '%q' "$TEST_TMP/$r-work") $CID"
	# Typed before the restore is done: the caller's terminal keeps it.
	run bash -c "printf 'hello\nquit\n' | timeout 120 script -qec '$cmd' /dev/null"
	echo "$output" | cat -v >&2
	[ "$status" -eq 5 ] || criu_log "$TEST_TMP/$r-work/restore.log"
	assert_status 5
	output=${output//$'\r'/}
	# (Not at the start of a line: the container's terminal may echo a NUL
	# as "^@" before the first reply, with runc's restore too.)
	[[ "$output" == *"got hello on /dev/pts/0"$'\n'* ]] || fail "no reply to hello on the container's tty"
	[[ "$output" == *$'\n'"got quit on /dev/pts/0"$'\n'* ]] || fail "no reply to quit on the container's tty"
	[[ "$output" == *$'\n'"counted on to "* ]] || fail "the restored counter's end did not come through"
	[ "$(last_count)" -ge $((before + 3)) ] || fail "the counter stopped at $(last_count), restored at $before"
	assert_log_continuous
	# The first master was the only one sent: the restore relayed its own.
	assert_equal "$(cat "$TEST_TMP/$r-console.meta")" "conn 1 fds 1 tty True"
	# In the foreground the container is deleted once it exits, as with run.
	assert_equal "$(rt_status "$r" "$CID")" missing
}

@test "restore of a terminal container in the foreground: the caller's terminal gets the pty, and the status" {
	requires_criu
	requires_cmd script
	terminal_foreground ocirt
	assert_no_leaks
}

@test "restore of a terminal container in the foreground: runc does the same" {
	requires_criu
	requires_cmd script
	terminal_foreground ref
	assert_no_leaks
}
