#!/usr/bin/env bats
# linux.seccomp with SCMP_ACT_NOTIFY: the filter's listener reaches the agent
# at listenerPath with the container process state, the agent answers the
# notified syscalls (observed from inside the container), for create/run
# and exec; bad configs and an agent that is not there fail cleanly; and
# runc sends the same state for the same bundle.

load ../lib/helpers

AGENT="$TESTS_LIB/seccomp-agent.py"

setup() {
	setup_test
	AGENT_PIDS=()
	make_bundle hello
	update_config 'c["root"]["readonly"] = False'
	update_config 'c["annotations"] = {"org.example.notify": "yes"}'
}

teardown() {
	local p
	for p in "${AGENT_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	teardown_test
}

# start_agent DIR [--mkdir errno:N|success]: an agent listening on DIR/sock,
# writing what it receives under DIR.  Sets $AGENT_SOCK and $AGENT_DIR.
start_agent() {
	AGENT_DIR=$1
	shift
	mkdir -p "$AGENT_DIR"
	AGENT_SOCK="$AGENT_DIR/sock"
	# Its output goes nowhere in $TEST_TMP: an open file there counts as a
	# leftover of the runtime's (assert_no_leaks).
	"$PYTHON" "$AGENT" "$AGENT_SOCK" "$AGENT_DIR" "$@" </dev/null >/dev/null 2>&1 3>&- &
	AGENT_PIDS+=("$!")
	wait_for_file "$AGENT_DIR/ready" || fail "the seccomp agent did not start (run $AGENT by hand to see why)"
}

# set_notify [BUNDLE]: mkdir and mkdirat go to the agent at $AGENT_SOCK.
set_notify() {
	local b=${1:-$BUNDLE}
	BUNDLE=$b update_config 'c["linux"]["seccomp"] = {
		"defaultAction": "SCMP_ACT_ALLOW",
		"listenerPath": sys.argv[3],
		"listenerMetadata": "test-metadata",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}' "$AGENT_SOCK"
}

# wait_for_file PATH: the agent writes its files from a thread of its own.
wait_for_file() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	fail "no $1"
}

# state_field N EXPR: a field of the state the agent got on connection N.
state_field() {
	wait_for_file "$AGENT_DIR/state-$1.json"
	python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$AGENT_DIR/state-$1.json" "$2"
}

@test "seccomp notify: the agent's errno for a notified mkdir is what the container sees" {
	start_agent "$TEST_TMP/agent" --mkdir errno:13
	set_notify
	set_cmd 'mkdir /tmp/a; echo "mkdir=$?"; [ -e /tmp/a ] || echo absent; touch /tmp/f && echo touch-ok'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "Permission denied" "mkdir=1" "absent" "touch-ok"
	grep -q '^1 mkdir' "$AGENT_DIR/log" || fail "the agent answered no mkdir: $(cat "$AGENT_DIR/log" 2>&1)"
	assert_equal "$(cat "$AGENT_DIR/fds-1")" 1
}

@test "seccomp notify: a fake success from the agent: mkdir succeeds and creates nothing" {
	local nnp
	for nnp in True False; do
		rm -rf "$TEST_TMP/agent-$nnp"
		start_agent "$TEST_TMP/agent-$nnp" --mkdir success
		set_notify
		update_config "c['process']['noNewPrivileges'] = $nnp"
		set_cmd 'mkdir /tmp/fake; echo "mkdir=$?"; [ -e /tmp/fake ] || echo not-created'
		ocirt run --bundle "$BUNDLE" "$ID-$nnp"
		assert_success
		assert_output_contains "mkdir=0" "not-created"
	done
}

@test "seccomp notify: without the filter mkdir really creates (the test is not vacuous)" {
	set_cmd 'mkdir /tmp/fake; echo "mkdir=$?"; [ -d /tmp/fake ] && echo created'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "mkdir=0" "created"
}

@test "seccomp notify: create sends the container process state (creating, the init's pid)" {
	start_agent "$TEST_TMP/agent"
	set_notify
	set_args sleep 100
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_success
	local pid
	pid=$(container_pid "$ID")
	assert_equal "$(state_field 1 's["fds"]')" "['seccompFd']"
	assert_equal "$(state_field 1 's["pid"]')" "$pid"
	assert_equal "$(state_field 1 's["metadata"]')" "test-metadata"
	assert_equal "$(state_field 1 's["ociVersion"] == s["state"]["ociVersion"] != ""')" True
	assert_equal "$(state_field 1 's["state"]["id"]')" "$ID"
	assert_equal "$(state_field 1 's["state"]["status"]')" creating
	assert_equal "$(state_field 1 's["state"]["pid"]')" "$pid"
	assert_equal "$(state_field 1 's["state"]["bundle"]')" "$BUNDLE"
	assert_equal "$(state_field 1 's["state"]["annotations"]')" "{'org.example.notify': 'yes'}"
	assert_equal "$(state_field 1 'sorted(s)')" "['fds', 'metadata', 'ociVersion', 'pid', 'state']"
}

@test "seccomp notify: exec sends its own listener with the exec'd process's pid" {
	start_agent "$TEST_TMP/agent" --mkdir errno:28
	set_notify
	set_args sleep 100
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	ocirt exec --pid-file "$TEST_TMP/exec.pid" "$ID" sh -c 'mkdir /tmp/e 2>&1; echo "mkdir=$?"'
	assert_success
	assert_output_contains "No space left on device" "mkdir=1"
	assert_equal "$(state_field 2 's["pid"]')" "$(cat "$TEST_TMP/exec.pid")"
	assert_equal "$(state_field 2 's["state"]["pid"]')" "$(container_pid "$ID")"
	assert_equal "$(state_field 2 's["state"]["status"]')" running
	assert_equal "$(state_field 2 's["metadata"]')" "test-metadata"
	grep -q '^2 mkdir' "$AGENT_DIR/log" || fail "the agent answered no mkdir for exec"
}

@test "seccomp notify: SCMP_ACT_NOTIFY without listenerPath is refused, nothing left behind" {
	update_config 'c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_failure
	is_runc || assert_output_contains "linux.seccomp.listenerPath"
	assert_no_leaks "$ID"
}

@test "seccomp notify: a listenerPath nobody listens on fails create, nothing left behind" {
	local nnp
	for nnp in True False; do
		AGENT_SOCK="$TEST_TMP/nobody-$nnp.sock"
		set_notify
		update_config "c['process']['noNewPrivileges'] = $nnp"
		ocirt run --bundle "$BUNDLE" "$ID-$nnp"
		assert_failure
		is_runc || assert_output_contains "linux.seccomp.listenerPath" "$AGENT_SOCK" "No such file or directory"
		assert_no_leaks "$ID-$nnp"
	done
	# a socket file whose agent is gone: connection refused
	"$PYTHON" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$TEST_TMP/dead.sock"
	AGENT_SOCK="$TEST_TMP/dead.sock"
	set_notify
	ocirt run --bundle "$BUNDLE" "$ID-dead"
	assert_failure
	is_runc || assert_output_contains "linux.seccomp.listenerPath" "Connection refused"
	assert_no_leaks "$ID-dead"
}

@test "seccomp notify: an agent that is gone fails exec, the container keeps running" {
	start_agent "$TEST_TMP/agent"
	set_notify
	set_args sleep 100
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	kill "${AGENT_PIDS[0]}"
	wait "${AGENT_PIDS[0]}" 2>/dev/null || true
	ocirt exec "$ID" true
	assert_failure
	is_runc || assert_output_contains "linux.seccomp.listenerPath"
	assert_equal "$(container_status "$ID")" running
}

@test "seccomp notify: NOTIFY as the default action or for write is refused, as runc does" {
	start_agent "$TEST_TMP/agent"
	set_notify
	update_config 'c["linux"]["seccomp"]["defaultAction"] = "SCMP_ACT_NOTIFY"
c["linux"]["seccomp"]["syscalls"][0]["action"] = "SCMP_ACT_ALLOW"'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "SCMP_ACT_NOTIFY cannot be used as default action"
	is_runc || assert_output_contains "linux.seccomp.defaultAction"
	assert_no_leaks "$ID"

	set_notify
	update_config 'c["linux"]["seccomp"]["syscalls"][0]["names"] = ["write"]'
	ocirt run --bundle "$BUNDLE" "$ID-2"
	assert_failure
	assert_output_contains "SCMP_ACT_NOTIFY cannot be used for the write syscall"
	assert_no_leaks "$ID-2"
	[ ! -e "$AGENT_DIR/state-1.json" ] || fail "the agent got a listener"
}

# The state runc sends, with what differs by nature (the pids, the id, the
# bundle path, ociVersion: the spec version each runtime implements) taken out.
normalized_state() {
	python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
# create: the init is the process under the filter; exec: its own
assert (s["pid"] == s["state"]["pid"] > 0) == (sys.argv[2] == "create"), s
for d in (s, s["state"]):
    d["pid"] = "PID"
    d["ociVersion"] = "VERSION"
s["state"]["id"] = "ID"
s["state"]["bundle"] = "BUNDLE"
print(json.dumps(s, sort_keys=True))' "$1" "${2:-create}"
}

@test "seccomp notify: runc sends the same state and the container sees the same" {
	is_runc && skip "OCIRT is runc itself"
	[ -x "$REF_RUNTIME" ] || skip "reference runtime not installed"
	local b theirs their_status
	for b in ours ref; do
		start_agent "$TEST_TMP/agent-$b" --mkdir errno:13
		make_bundle hello "$TEST_TMP/$b"
		update_config 'c["root"]["readonly"] = False'
		update_config 'c["annotations"] = {"org.example.notify": "yes"}'
		set_notify
		set_cmd 'mkdir /tmp/a 2>&1; echo "mkdir=$?"; ls /tmp'
	done
	ref run --bundle "$TEST_TMP/ref" "$ID-ref"
	theirs=$output their_status=$status
	ocirt run --bundle "$TEST_TMP/ours" "$ID"
	assert_status "$their_status"
	assert_equal "$output" "$theirs"
	wait_for_file "$TEST_TMP/agent-ref/state-1.json"
	wait_for_file "$TEST_TMP/agent-ours/state-1.json"
	assert_equal "$(normalized_state "$TEST_TMP/agent-ours/state-1.json")" \
		"$(normalized_state "$TEST_TMP/agent-ref/state-1.json")"
	assert_equal "$(cut -d' ' -f1,2 "$TEST_TMP/agent-ours/log")" "$(cut -d' ' -f1,2 "$TEST_TMP/agent-ref/log")"
}

@test "seccomp notify: for exec runc sends the same state and the process sees the same" {
	is_runc && skip "OCIRT is runc itself"
	[ -x "$REF_RUNTIME" ] || skip "reference runtime not installed"
	local b theirs their_status
	for b in ours ref; do
		start_agent "$TEST_TMP/agent-$b" --mkdir errno:17
		make_bundle hello "$TEST_TMP/$b"
		update_config 'c["root"]["readonly"] = False'
		update_config 'c["annotations"] = {"org.example.notify": "yes"}'
		set_notify
		set_args sleep 100
	done
	ref run -d --bundle "$TEST_TMP/ref" "$ID-ref"
	assert_success
	ref exec "$ID-ref" sh -c 'mkdir /tmp/e 2>&1; echo "mkdir=$?"'
	theirs=$output their_status=$status
	ocirt run -d --bundle "$TEST_TMP/ours" "$ID"
	assert_success
	ocirt exec "$ID" sh -c 'mkdir /tmp/e 2>&1; echo "mkdir=$?"'
	assert_status "$their_status"
	assert_equal "$output" "$theirs"
	assert_output_contains "File exists"
	wait_for_file "$TEST_TMP/agent-ref/state-2.json"
	wait_for_file "$TEST_TMP/agent-ours/state-2.json"
	assert_equal "$(normalized_state "$TEST_TMP/agent-ours/state-2.json" exec)" \
		"$(normalized_state "$TEST_TMP/agent-ref/state-2.json" exec)"
}

@test "features: SCMP_ACT_NOTIFY is listed, as runc lists it" {
	ocirt features
	assert_success
	python3 -c 'import json, sys; assert "SCMP_ACT_NOTIFY" in json.loads(sys.argv[1])["linux"]["seccomp"]["actions"]' \
		"$output" || fail "SCMP_ACT_NOTIFY missing from features"
}

@test "seccomp notify: the listener flags: TSYNC and WAIT_KILLABLE_RECV with a listener, WAIT_KILLABLE_RECV alone is left out" {
	ocirt features
	python3 -c 'import json, sys; assert "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" in json.loads(sys.argv[1])["linux"]["seccomp"]["supportedFlags"]' \
		"$output" || skip "the kernel has no SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
	start_agent "$TEST_TMP/agent" --mkdir errno:13
	set_notify
	update_config 'c["linux"]["seccomp"]["flags"] = ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]'
	set_cmd 'mkdir /tmp/a; echo "mkdir=$?"'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "Permission denied" "mkdir=1"
	# without a NOTIFY rule the kernel would refuse the flag
	update_config 'c["linux"]["seccomp"]["syscalls"][0]["action"] = "SCMP_ACT_ERRNO"'
	ocirt run --bundle "$BUNDLE" "$ID-2"
	assert_success
	assert_output_contains "Operation not permitted" "mkdir=1"
}
