#!/usr/bin/env bats
# Bad input: a clear error, a non-zero exit, and nothing left behind
# (no state dir, no mount, no process, no cgroup).

load ../lib/helpers

setup() {
	setup_test
	make_bundle hello
	MOUNTS_BEFORE=$(wc -l </proc/self/mountinfo)
}

teardown() {
	teardown_test
}

# assert_clean ID: the failed command left nothing behind.
assert_clean() {
	local id=$1
	[ ! -e "$STATE_ROOT/$id" ] || fail "state dir left: $(ls -la "$STATE_ROOT/$id")"
	assert_no_leaks "$id"
	ocirt state "$id"
	assert_failure
	assert_output_contains "does not exist"
}

# create_fails: `create` of $BUNDLE as $ID fails and leaves nothing.
# Leaves the create's $output in $create_output.
create_fails() {
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_failure
	[ -n "$output" ] || fail "no error message"
	create_output=$output
	local saved_output=$output saved_status=$status
	assert_clean "$ID"
	output=$saved_output
	status=$saved_status
	mapfile -t lines <<<"$output"
}

@test "invalid JSON: the message names the file, line and column" {
	# A missing comma on line 4.
	cat >"$BUNDLE/config.json" <<'EOF'
{
	"ociVersion": "1.0.2",
	"root": {"path": "rootfs"},
	"process": {"cwd": "/" "args": ["true"]}
}
EOF
	create_fails
	is_runc && skip "runc names neither file nor position"
	assert_output_contains "config.json"
	assert_output_matches '(line 4|4:[0-9]+)'
	assert_output_matches 'column [0-9]+|4:[0-9]+'
	assert_one_line
}

@test "truncated JSON fails cleanly" {
	head -c 100 "$BUNDLE/config.json" >"$TEST_TMP/half.json"
	mv "$TEST_TMP/half.json" "$BUNDLE/config.json"
	create_fails
}

@test "a wrong type: the message names the field path" {
	update_config 'c["process"]["terminal"] = "yes"'
	create_fails
	assert_output_contains "process.terminal"
}

@test "a wrong nested type: the message names the full field path" {
	update_config 'c["linux"]["resources"]["memory"] = {"limit": "big"}'
	create_fails
	assert_output_contains "linux.resources.memory.limit"
}

@test "a wrong type: ocirt's one-line 'config.json: FIELD: ...' form" {
	ocirt_only "error wording"
	update_config 'c["process"]["args"] = "true"'
	create_fails
	assert_one_line
	assert_output_contains "config.json" "process.args"
}

@test "missing config.json" {
	rm "$BUNDLE/config.json"
	create_fails
	assert_output_contains "config.json"
}

@test "missing rootfs" {
	rm -rf "$BUNDLE/rootfs"
	create_fails
	assert_output_contains "rootfs"
}

@test "root.path pointing at a missing directory" {
	update_config 'c["root"]["path"] = "nope"'
	create_fails
	assert_output_contains "nope"
}

@test "a command not found in the container: create fails" {
	set_args no-such-command
	create_fails
	assert_output_contains "executable file not found"
	is_runc || assert_output_contains "no-such-command"
}

@test "an absolute command path that does not exist: create fails" {
	set_args /bin/no-such-command
	create_fails
	assert_output_contains_ci "no such file or directory"
}

@test "run of a command not found: run fails, nothing left" {
	set_args no-such-command
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "executable file not found"
	assert_clean "$ID"
}

@test "a cwd that is not a directory: create fails" {
	update_config 'c["process"]["cwd"] = "/etc/passwd"'
	create_fails
	assert_output_contains_ci "not a directory"
}

@test "a relative cwd is rejected" {
	update_config 'c["process"]["cwd"] = "tmp"'
	create_fails
	assert_output_contains "bsolute"
}

@test "empty process.args is rejected" {
	set_args
	create_fails
	assert_output_contains "args"
}

@test "an invalid container id is rejected and nothing is created outside --root" {
	local bad
	for bad in "../escape" "a/b" "" "."; do
		ocirt create --bundle "$BUNDLE" "$bad"
		assert_failure
	done
	[ ! -e "$TEST_TMP/escape" ] || fail "created outside the root"
	[ -z "$(ls -A "$STATE_ROOT")" ] || fail "state root not empty: $(ls -A "$STATE_ROOT")"
	assert_no_leaks
}

@test "an unknown id: state, start, kill and delete say does not exist" {
	local cmd
	for cmd in state start kill delete; do
		ocirt "$cmd" "$ID"
		assert_failure
		assert_output_contains "does not exist"
	done
	is_runc && return 0
	assert_one_line
}

@test "kill of a stopped container: container not running" {
	set_args true
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	wait_for_status "$ID" stopped
	ocirt kill "$ID" KILL
	assert_failure
	assert_output_contains "container not running"
	assert_equal "$(container_status "$ID")" stopped
	ocirt delete "$ID"
	assert_success
	assert_clean "$ID"
}

@test "delete of a running container without --force fails and keeps it" {
	set_args sleep 100
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	local pid
	pid=$(container_pid "$ID")
	ocirt delete "$ID"
	assert_failure
	assert_output_contains "running"
	assert_equal "$(container_status "$ID")" running
	pid_alive "$pid" || fail "delete killed the container"
	ocirt delete --force "$ID"
	assert_success
	assert_clean "$ID"
}

@test "an id already used: create fails and the existing container is untouched" {
	set_args sleep 100
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_success
	local pid cgroups_before
	pid=$(container_pid "$ID")
	cgroups_before=$(leaked_cgroups | sort)
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "already exists"
	assert_equal "$(container_status "$ID")" created
	assert_equal "$(container_pid "$ID")" "$pid"
	assert_equal "$(leaked_cgroups | sort)" "$cgroups_before"
	assert_equal "$(marked_pids)" "$pid"
	ocirt delete --force "$ID"
	assert_success
	assert_clean "$ID"
}

@test "a failed create adds no mount to the host" {
	set_args no-such-command
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_equal "$(wc -l </proc/self/mountinfo)" "$MOUNTS_BEFORE"
	assert_clean "$ID"
}

@test "a mount with an unknown type fails cleanly" {
	update_config 'c["mounts"].append({"destination": "/mnt", "type": "nosuchfs", "source": "none"})'
	create_fails
}

@test "a bind mount of a missing source fails cleanly" {
	update_config 'c["mounts"].append({"destination": "/mnt", "type": "bind", "source": "/no/such/source", "options": ["rbind"]})'
	create_fails
	assert_output_contains "/no/such/source"
}

@test "an unknown namespace type fails cleanly" {
	update_config 'c["linux"]["namespaces"].append({"type": "nosuchns"})'
	create_fails
	assert_output_contains "nosuchns"
}

@test "joining a namespace path that does not exist fails cleanly" {
	update_config 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"] + [{"type": "network", "path": "/no/such/netns"}]'
	create_fails
	assert_output_contains "/no/such/netns"
}

@test "an rlimit above the host's hard limit fails cleanly" {
	local hard
	hard=$(ulimit -Hn)
	[ "$hard" != unlimited ] || skip "host RLIMIT_NOFILE is unlimited"
	update_config 'c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": int(sys.argv[3]) * 4, "hard": int(sys.argv[3]) * 4}]' "$hard"
	local bnd
	bnd=$(awk '/^CapBnd/ { print $2 }' /proc/self/status)
	(((0x$bnd >> 24) & 1)) && skip "CAP_SYS_RESOURCE present: raising is allowed"
	create_fails
}

@test "fields ocirt does not implement are refused by name, not ignored" {
	is_runc && skip "runc implements or ignores these"
	local field
	for field in 'c["linux"]["intelRdt"] = {"closID": "x"}'; do
		make_bundle hello
		update_config "$field"
		create_fails
		assert_output_contains "not supported: "
		assert_one_line
	done
}

# requires_memory_cgroup [v1]: a memory controller to put limits on (v1
# only with "v1": there the kernel refuses a limit below the usage).
requires_memory_cgroup() {
	local v1=no
	awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ { f = 1 } END { exit !f }' /proc/self/mounts && v1=yes
	if [ "${1:-}" = v1 ]; then
		[ "$v1" = yes ] || skip "needs the cgroup v1 memory controller"
	elif [ "$v1" = no ]; then
		grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null || skip "needs a memory cgroup controller"
	fi
}

@test "a memory limit too small to start the container fails cleanly, naming the limit, as runc fails" {
	requires_memory_cgroup
	[ -x "$REF_RUNTIME" ] || skip "reference runtime $REF_RUNTIME not installed"
	set_cmd 'echo started'
	# 4 MiB is enough for both runtimes' init: the limit itself is no error
	update_config 'c["linux"].setdefault("resources", {})["memory"] = {"limit": 4194304}'
	ref run --bundle "$BUNDLE" "$ID-ref"
	assert_success
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output "started"

	# 1000 bytes: runc cannot set it below its init's usage; ours is set
	# first and the init is killed by the OOM killer as it starts
	update_config 'c["linux"]["resources"]["memory"] = {"limit": 1000}'
	ref run --bundle "$BUNDLE" "$ID-ref"
	assert_failure
	assert_output_contains "memory limit" "1000"
	create_fails
	assert_output_contains "memory limit" "1000"
	if ! is_runc; then
		assert_output_contains "container init was killed by the OOM killer: memory limit 1000 bytes"
		assert_output_contains "(linux.resources.memory.limit) is too small (cgroup \`"
		assert_one_line
	fi
}

@test "an init killed during create is reported with its signal, and nothing is left" {
	cat >"$TEST_TMP/killer" <<'EOF'
#!/bin/sh
# the state on stdin names the init: kill it before it is ready
pid=$(sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p')
kill -KILL "$pid"
EOF
	chmod 755 "$TEST_TMP/killer"
	update_config 'c["hooks"] = {"createRuntime": [{"path": sys.argv[3]}]}' "$TEST_TMP/killer"
	create_fails
	ocirt_only "wording"
	assert_output_contains "container init was killed by SIGKILL before it was ready"
	assert_one_line
}

@test "update of a memory limit below the usage names the usage, as runc does" {
	requires_memory_cgroup v1
	[ -x "$REF_RUNTIME" ] || skip "reference runtime $REF_RUNTIME not installed"
	[ "$(wc -l </proc/swaps)" -le 1 ] || skip "with swap the kernel may reclaim below any limit"
	set_cmd 'x=$(seq 1 20000); sleep 100'
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	ref run -d --bundle "$BUNDLE" "$ID-ref"
	assert_success
	ref update --memory 1000 "$ID-ref"
	assert_failure
	assert_output_contains "unable to set memory limit to 1000 (current usage: "
	ocirt update --memory 1000 "$ID"
	assert_failure
	assert_output_contains "unable to set memory limit to 1000 (current usage: " ", peak usage: "
	# the container still runs, under its old limit
	assert_equal "$(container_status "$ID")" running
}

@test "a namespace the init may not create (no CAP_SYS_ADMIN): create fails naming it, nothing left (runc fails too)" {
	requires_cmd setpriv
	# Only a network namespace, no mounts and no cgroup: the clone needs no
	# privilege, the unshare in the init does.  ocirt's init makes that
	# namespace itself while ocirt makes the cgroups, and reports the
	# failure once ocirt listens.
	update_config 'c["linux"]["namespaces"] = [{"type": "network"}]; c["mounts"] = []
c["root"]["readonly"] = False; c.pop("hostname", None)
c["linux"].pop("maskedPaths", None); c["linux"].pop("readonlyPaths", None)'
	local manager=()
	is_runc || manager=(--cgroup-manager disabled)
	run timeout -k 5 "$OCIRT_CMD_TIMEOUT" env "$MARK" setpriv --bounding-set -sys_admin \
		"$OCIRT" --root "$STATE_ROOT" "${manager[@]}" create --bundle "$BUNDLE" "$ID"
	assert_failure
	is_runc || assert_output_contains "creating namespaces (network): Operation not permitted"
	assert_clean "$ID"
}
