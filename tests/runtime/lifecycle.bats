#!/usr/bin/env bats
# The OCI lifecycle: create, start, state, kill, delete, run, list, spec.

load ../lib/helpers

setup() {
	setup_test
	make_bundle hello
}

teardown() {
	teardown_test
}

# A container whose init writes a marker into its /dev/shm (visible from the
# host through /proc/PID/root) when the user program runs, then waits.
marker_cmd='echo started > /dev/shm/ran; trap "exit 0" TERM; while :; do sleep 0.1; done'

# bats test_tags=vm
@test "create, start, kill, delete: each step reports the right state" {
	set_cmd "$marker_cmd"
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output ""

	ocirt state "$ID"
	assert_success
	assert_output_contains "\"id\": \"$ID\"" "\"status\": \"created\""
	local pid
	pid=$(json_field pid <<<"$output")
	[ "$pid" -gt 0 ] || fail "no pid in state"
	[ -d "/proc/$pid" ] || fail "pid $pid does not exist"

	# Blocked before exec'ing process.args: not the user program yet.
	local cmdline
	cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
	[[ "$cmdline" != "sh -c"* ]] || fail "user program already running: $cmdline"
	[ ! -e "/proc/$pid/root/dev/shm/ran" ] || fail "user program ran before start"

	ocirt start "$ID"
	assert_success
	assert_output ""
	wait_for_status "$ID" running
	local i
	for ((i = 0; i < 100; i++)); do
		[ -e "/proc/$pid/root/dev/shm/ran" ] && break
		sleep 0.05
	done
	[ -e "/proc/$pid/root/dev/shm/ran" ] || fail "user program did not run after start"
	cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
	[[ "$cmdline" == "sh -c"* ]] || fail "pid $pid is not the user program: $cmdline"
	ocirt state "$ID"
	assert_output_contains "\"status\": \"running\"" "\"pid\": $pid"

	ocirt kill "$ID"
	assert_success
	wait_for_status "$ID" stopped
	ocirt state "$ID"
	assert_success
	assert_output_contains "\"status\": \"stopped\""

	ocirt delete "$ID"
	assert_success
	assert_output ""
	ocirt state "$ID"
	assert_failure
	assert_output_contains "does not exist"
	assert_no_leaks "$ID"
}

@test "state has the OCI fields: ociVersion, id, pid, status, bundle, rootfs, created" {
	set_args sleep 100
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_success
	ocirt state "$ID"
	assert_success
	python3 - "$output" "$ID" "$BUNDLE" <<'EOF'
import json, re, sys
s = json.loads(sys.argv[1])
assert re.match(r"^1\.\d+\.\d+", s["ociVersion"]), s
assert s["id"] == sys.argv[2], s
assert s["status"] == "created", s
assert isinstance(s["pid"], int) and s["pid"] > 0, s
assert s["bundle"] == sys.argv[3], s
assert s["rootfs"] == sys.argv[3] + "/rootfs", s
assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", s["created"]), s
EOF
}

@test "create writes the pid file before it exits: no newline, the state's pid" {
	set_args sleep 100
	ocirt create --bundle "$BUNDLE" --pid-file "$TEST_TMP/init.pid" "$ID"
	assert_success
	[ -f "$TEST_TMP/init.pid" ] || fail "no pid file"
	local content
	content=$(
		cat "$TEST_TMP/init.pid"
		echo x
	)
	[[ "$content" =~ ^[0-9]+x$ ]] || fail "pid file is not a bare number: '$content'"
	assert_equal "${content%x}" "$(container_pid "$ID")"
	# No temporary file is left next to it.
	[ "$(ls -A "$TEST_TMP" | grep -c pid)" -eq 1 ] || fail "extra files: $(ls -A "$TEST_TMP")"
}

@test "create --pid-file=F (= form) and a relative pid file path" {
	set_args sleep 100
	ocirt create --bundle="$BUNDLE" --pid-file="$TEST_TMP/a.pid" "$ID"
	assert_success
	[ "$(cat "$TEST_TMP/a.pid")" = "$(container_pid "$ID")" ]
	cd "$TEST_TMP"
	ocirt create --bundle "$BUNDLE" --pid-file rel.pid "$ID-2"
	assert_success
	[ "$(cat "$TEST_TMP/rel.pid")" = "$(container_pid "$ID-2")" ]
}

@test "run in the foreground: the container's output and exit status 0" {
	set_cmd 'echo out; echo err >&2'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "out" "err"
	# run removes the container when it exits.
	ocirt state "$ID"
	assert_failure
	assert_output_contains "does not exist"
	assert_no_leaks "$ID"
}

@test "run passes the exit status through: exit 3" {
	set_cmd 'exit 3'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_status 3
	assert_output ""
	assert_no_leaks "$ID"
}

@test "run of hello prints hello" {
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output "hello"
}

@test "run exits 128+signal when the container is killed" {
	set_args sleep 100
	env "$MARK" "$OCIRT" --root "$STATE_ROOT" run --bundle "$BUNDLE" "$ID" </dev/null >"$TEST_TMP/run.out" 2>&1 &
	local runpid=$!
	wait_for_status "$ID" running
	ocirt kill "$ID" KILL
	assert_success
	local rc=0
	wait "$runpid" || rc=$?
	assert_equal "$rc" 137
	assert_no_leaks "$ID"
}

@test "run: a delete --force from elsewhere while the container runs ends run with 137, quietly, nothing left (runc alike)" {
	set_args sleep 100
	env "$MARK" "$OCIRT" --root "$STATE_ROOT" run --bundle "$BUNDLE" "$ID" </dev/null >"$TEST_TMP/run.out" 2>&1 &
	local runpid=$!
	wait_for_status "$ID" running
	ocirt delete --force "$ID"
	assert_success
	local rc=0
	wait "$runpid" || rc=$?
	assert_equal "$rc" 137
	# run found the container gone: nothing more to remove, nothing to say.
	[ ! -s "$TEST_TMP/run.out" ] || fail "run said: $(cat "$TEST_TMP/run.out")"
	ocirt state "$ID"
	assert_failure
	assert_no_leaks "$ID"
}

@test "run forwards signals to the container" {
	set_cmd 'trap "exit 7" TERM; echo ready; while :; do sleep 0.1; done'
	env "$MARK" "$OCIRT" --root "$STATE_ROOT" run --bundle "$BUNDLE" "$ID" </dev/null >"$TEST_TMP/run.out" 2>&1 &
	local runpid=$!
	wait_for_status "$ID" running
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q ready "$TEST_TMP/run.out" && break
		sleep 0.05
	done
	kill -TERM "$runpid"
	local rc=0
	wait "$runpid" || rc=$?
	assert_equal "$rc" 7
	assert_no_leaks "$ID"
}

@test "run -d returns with the container running" {
	set_args sleep 100
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	ocirt state "$ID"
	assert_success
	assert_output_contains '"status": "running"'
	ocirt delete --force "$ID"
	assert_success

	ocirt run --detach --bundle "$BUNDLE" --pid-file "$TEST_TMP/d.pid" "$ID-2"
	assert_success
	assert_equal "$(cat "$TEST_TMP/d.pid")" "$(container_pid "$ID-2")"
}

@test "list: table, json and -q" {
	set_args sleep 100
	ocirt create --bundle "$BUNDLE" "$ID-a"
	assert_success
	ocirt run -d --bundle "$BUNDLE" "$ID-b"
	assert_success

	ocirt list
	assert_success
	assert_output_matches '^ID +PID +STATUS +BUNDLE +CREATED'
	assert_output_matches "$ID-a +[0-9]+ +created +$BUNDLE "
	assert_output_matches "$ID-b +[0-9]+ +running +$BUNDLE "

	ocirt list --format json
	assert_success
	python3 - "$output" "$ID" "$BUNDLE" <<'EOF'
import json, sys
got = {s["id"]: s for s in json.loads(sys.argv[1])}
i, b = sys.argv[2], sys.argv[3]
assert set(got) == {i + "-a", i + "-b"}, got
assert got[i + "-a"]["status"] == "created" and got[i + "-b"]["status"] == "running", got
assert all(s["bundle"] == b and s["pid"] > 0 for s in got.values()), got
EOF
	ocirt list --format=json
	assert_success
	ocirt list -f json
	assert_success

	ocirt list -q
	assert_success
	assert_equal "$(sort <<<"$output")" "$(printf '%s\n' "$ID-a" "$ID-b")"
	ocirt list --quiet
	assert_success
	[ "${#lines[@]}" -eq 2 ]
}

@test "list with no containers: header only, empty json, empty -q" {
	ocirt list
	assert_success
	[ "${#lines[@]}" -le 1 ] || fail "expected at most a header: $output"
	ocirt list --format json
	assert_success
	python3 -c 'import json,sys; assert json.loads(sys.argv[1]) in (None, []), sys.argv[1]' "$output"
	ocirt list -q
	assert_success
	assert_output ""
}

@test "list --format with an unknown format fails" {
	ocirt list --format yaml
	assert_failure
	# runc says only "invalid format option"; ocirt names the value.
	is_runc || assert_output_contains "yaml"
}

@test "spec writes a default config that validates and runs" {
	local dir="$TEST_TMP/spec"
	mkdir -p "$dir"
	ocirt spec --bundle "$dir"
	assert_success
	assert_output ""
	python3 - "$dir/config.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
assert c["ociVersion"].startswith("1."), c["ociVersion"]
p = c["process"]
assert p["args"] == ["sh"] and p["terminal"] is True, p
assert p["cwd"] == "/" and any(e.startswith("PATH=") for e in p["env"]), p
assert p["capabilities"]["bounding"], p
assert p["rlimits"], p
assert c["root"]["path"] == "rootfs", c["root"]
dests = [m["destination"] for m in c["mounts"]]
for d in ("/proc", "/dev", "/dev/pts", "/dev/shm", "/sys"):
    assert d in dests, dests
types = {n["type"] for n in c["linux"]["namespaces"]}
assert {"pid", "network", "ipc", "uts", "mount"} <= types, types
assert c["linux"]["maskedPaths"] and c["linux"]["readonlyPaths"], c["linux"]
EOF
	# The generated config runs (with a command that needs no terminal).
	cp -a "$BUNDLE/rootfs" "$dir/rootfs"
	BUNDLE=$dir
	update_config 'c["process"]["env"].append(sys.argv[3])' "$MARK"
	set_cmd 'hostname; cat /proc/self/status | grep NoNewPrivs'
	ocirt run --bundle "$dir" "$ID"
	assert_success
	assert_output_matches $'^[^\n]+\nNoNewPrivs:\t1$'
}

@test "spec refuses to overwrite an existing config.json" {
	local dir="$TEST_TMP/spec"
	mkdir -p "$dir"
	echo '{"keep": true}' >"$dir/config.json"
	ocirt spec --bundle "$dir"
	assert_failure
	assert_output_contains "exists"
	assert_equal "$(cat "$dir/config.json")" '{"keep": true}'
}

@test "spec in the current directory, and spec --rootless maps the user" {
	local dir="$TEST_TMP/spec"
	mkdir -p "$dir"
	cd "$dir"
	ocirt spec
	assert_success
	[ -s "$dir/config.json" ]
	rm "$dir/config.json"
	ocirt spec --rootless
	assert_success
	python3 - "$dir/config.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
assert "user" in [n["type"] for n in c["linux"]["namespaces"]], c["linux"]["namespaces"]
assert c["linux"]["uidMappings"] and c["linux"]["gidMappings"], c["linux"]
EOF
}

@test "kill by name, by SIGNAME and by number; the default is TERM" {
	set_cmd 'trap "echo usr1 >> /dev/shm/sigs" USR1; trap "echo usr2 >> /dev/shm/sigs" USR2;
		trap "echo hup >> /dev/shm/sigs" HUP; trap "exit 0" TERM; : > /dev/shm/sigs;
		while :; do sleep 0.1; done'
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	local pid sigs="/proc/$(container_pid "$ID")/root/dev/shm/sigs"
	pid=$(container_pid "$ID")
	local i
	for ((i = 0; i < 100; i++)); do
		[ -e "$sigs" ] && break
		sleep 0.05
	done

	ocirt kill "$ID" USR1
	assert_success
	assert_output ""
	ocirt kill "$ID" SIGUSR2
	assert_success
	ocirt kill "$ID" 1
	assert_success
	for ((i = 0; i < 100; i++)); do
		[ "$(wc -l <"$sigs")" -ge 3 ] && break
		sleep 0.05
	done
	assert_equal "$(sort "$sigs" | tr '\n' ' ')" "hup usr1 usr2 "

	ocirt kill "$ID"
	assert_success
	wait_for_status "$ID" stopped
	! pid_alive "$pid" || fail "pid $pid still alive"
}

@test "kill with an unknown signal fails and leaves the container running" {
	set_args sleep 100
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	ocirt kill "$ID" SIGNOPE
	assert_failure
	ocirt kill "$ID" 4242
	assert_failure
	assert_equal "$(container_status "$ID")" running
}

@test "kill KILL stops a running container and kill of a created one works" {
	set_args sleep 100
	ocirt run -d --bundle "$BUNDLE" "$ID"
	ocirt kill "$ID" KILL
	assert_success
	wait_for_status "$ID" stopped

	ocirt create --bundle "$BUNDLE" "$ID-2"
	assert_success
	ocirt kill "$ID-2" 9
	assert_success
	wait_for_status "$ID-2" stopped
}

# bats test_tags=vm
@test "kill --all signals every process of the container" {
	set_cmd 'sleep 100 & sleep 100 & trap "" TERM; echo ready > /dev/shm/ready; wait'
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	local pid
	pid=$(container_pid "$ID")
	wait_for_file "/proc/$pid/root/dev/shm/ready" 5 || fail "the container did not get ready"
	local ns members=()
	ns=$(readlink "/proc/$pid/ns/pid")
	local d
	for d in /proc/[0-9]*; do
		[ "$(readlink "$d/ns/pid" 2>/dev/null)" = "$ns" ] && members+=("${d#/proc/}")
	done
	[ "${#members[@]}" -ge 3 ] || fail "expected 3 processes in the container, got ${members[*]}"

	ocirt kill --all "$ID" KILL
	assert_success
	wait_for_status "$ID" stopped
	for ((i = 0; i < 100; i++)); do
		local alive=0
		for d in "${members[@]}"; do
			pid_alive "$d" && [ "$(readlink "/proc/$d/ns/pid" 2>/dev/null)" = "$ns" ] && alive=1
		done
		[ "$alive" -eq 0 ] && break
		sleep 0.05
	done
	[ "$alive" -eq 0 ] || fail "processes survived kill --all"
}

# bats test_tags=vm
@test "delete --force removes a running container" {
	set_args sleep 100
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	local pid
	pid=$(container_pid "$ID")
	ocirt delete --force "$ID"
	assert_success
	assert_output ""
	! pid_alive "$pid" || fail "init $pid still alive"
	ocirt state "$ID"
	assert_failure
	assert_output_contains "does not exist"
	assert_no_leaks "$ID"

	ocirt run -d --bundle "$BUNDLE" "$ID-2"
	ocirt delete -f "$ID-2"
	assert_success
	assert_no_leaks "$ID-2"
}

@test "delete --force of an unknown id exits 0" {
	ocirt delete --force "$ID"
	assert_success
}

@test "delete of a created container removes it" {
	set_args sleep 100
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_success
	local pid
	pid=$(container_pid "$ID")
	ocirt delete "$ID"
	assert_success
	! pid_alive "$pid" || fail "init $pid still alive"
	ocirt state "$ID"
	assert_output_contains "does not exist"
	assert_no_leaks "$ID"
}

@test "start of a running container fails and changes nothing" {
	set_args sleep 100
	ocirt run -d --bundle "$BUNDLE" "$ID"
	local pid
	pid=$(container_pid "$ID")
	ocirt start "$ID"
	assert_failure
	assert_output_contains "running"
	ocirt state "$ID"
	assert_output_contains '"status": "running"' "\"pid\": $pid"
}

@test "start of a stopped container fails" {
	set_args true
	ocirt create --bundle "$BUNDLE" "$ID"
	ocirt start "$ID"
	assert_success
	wait_for_status "$ID" stopped
	ocirt start "$ID"
	assert_failure
	assert_output_contains "stopped"
	assert_equal "$(container_status "$ID")" stopped
}

@test "start of an unknown id fails with does not exist" {
	ocirt start "$ID"
	assert_failure
	assert_output_contains "does not exist"
}

@test "a second create with the same id fails and leaves the first alone" {
	set_args sleep 100
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_success
	local pid
	pid=$(container_pid "$ID")
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "already exists"
	ocirt state "$ID"
	assert_success
	assert_output_contains '"status": "created"' "\"pid\": $pid"
	ocirt start "$ID"
	assert_success
	wait_for_status "$ID" running
}

@test "two concurrent delete --force on one id both exit 0 and leave nothing" {
	set_args sleep 100
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	__ocirt delete --force "$ID" >"$TEST_TMP/d1" 2>&1 </dev/null &
	local p1=$!
	__ocirt delete --force "$ID" >"$TEST_TMP/d2" 2>&1 </dev/null &
	local p2=$!
	local r1=0 r2=0
	wait "$p1" || r1=$?
	wait "$p2" || r2=$?
	[ "$r1" -eq 0 ] && [ "$r2" -eq 0 ] || fail "exit $r1/$r2: $(cat "$TEST_TMP/d1" "$TEST_TMP/d2")"
	assert_no_leaks "$ID"
}

@test "two concurrent creates of one id: exactly one succeeds" {
	set_args sleep 100
	__ocirt create --bundle "$BUNDLE" "$ID" >"$TEST_TMP/c1" 2>&1 </dev/null &
	local p1=$!
	__ocirt create --bundle "$BUNDLE" "$ID" >"$TEST_TMP/c2" 2>&1 </dev/null &
	local p2=$!
	local r1=0 r2=0
	wait "$p1" || r1=$?
	wait "$p2" || r2=$?
	if [ "$r1" -eq 0 ]; then
		[ "$r2" -ne 0 ] || fail "both creates succeeded"
	else
		[ "$r2" -eq 0 ] || fail "both creates failed: $(cat "$TEST_TMP/c1" "$TEST_TMP/c2")"
	fi
	assert_equal "$(container_status "$ID")" created
	ocirt delete --force "$ID"
	assert_success
	assert_no_leaks "$ID"
}

@test "concurrent start and kill on one id are serialised" {
	set_args sleep 100
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_success
	__ocirt start "$ID" >/dev/null 2>&1 </dev/null &
	local p1=$!
	__ocirt kill "$ID" KILL >/dev/null 2>&1 </dev/null &
	local p2=$!
	wait "$p1" || true
	wait "$p2" || true
	# Whatever the order, the container ends up stopped, never wedged.
	wait_for_status "$ID" stopped
	ocirt delete "$ID"
	assert_success
	assert_no_leaks "$ID"
}
