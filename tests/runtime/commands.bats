#!/usr/bin/env bats
# ps, pause/resume, exec, update, events: commands on an existing container.

load ../lib/helpers

setup() {
	setup_test
	make_bundle hello
}

teardown() {
	teardown_test
}

# A container with two long-running processes: the init and one child.
run_sleeper() {
	set_cmd 'sleep 1000 & trap "exit 0" TERM; wait'
	ocirt run -d --bundle "$BUNDLE" "${1:-$ID}"
	assert_success
}

# Host pids in the container's cgroup, as `ps --format json` reports them.
json_pids() {
	python3 -c 'import json,sys; print(" ".join(str(p) for p in json.load(sys.stdin)))'
}

# ---------------------------------------------------------------- ps

# bats test_tags=vm
@test "ps --format json: the host pids of the container, the init among them" {
	run_sleeper
	local pid
	pid=$(container_pid "$ID")
	ocirt ps --format json "$ID"
	assert_success
	assert_output_matches '^\[[0-9]+(,[0-9]+)*\]$'
	local pids
	pids=$(json_pids <<<"$output")
	[[ " $pids " == *" $pid "* ]] || fail "init $pid not in: $pids"
	# Every listed pid is in the init's pid namespace, and there is a
	# `sleep 1000` among them.
	# (A `sleep 0.1` of the loop may be gone by now: skip vanished pids.)
	local p ns found=
	for p in $pids; do
		ns=$(readlink "/proc/$p/ns/pid") || continue
		[ "$ns" = "$(readlink "/proc/$pid/ns/pid")" ] || fail "$p: other pid ns"
		[ "$(tr '\0' ' ' <"/proc/$p/cmdline")" = "sleep 1000 " ] && found=1
	done
	[ -n "$found" ] || fail "no sleep 1000 among $pids"
}

# bats test_tags=vm
@test "ps (table): the header and only the container's lines, ps options passed on" {
	run_sleeper
	ocirt ps "$ID"
	assert_success
	assert_output_matches '^UID +PID +PPID'
	assert_output_contains "sleep 1000"
	# ps -ef would list the host too: only header + container processes.
	ocirt ps --format json "$ID"
	local n
	n=$(json_pids <<<"$output" | wc -w)
	ocirt ps "$ID" -o pid,comm
	assert_success
	assert_equal "${lines[0]// /}" "PIDCOMMAND"
	assert_equal "${#lines[@]}" "$((n + 1))"
	assert_output_not_contains "bats"
}

@test "ps of an unknown container: does not exist" {
	ocirt ps --format json "$ID-nope"
	assert_failure
	assert_output_contains "does not exist"
}

# bats test_tags=vm
@test "ps --format json agrees with runc on the same kind of container" {
	requires_cmd "$REF_RUNTIME"
	run_sleeper
	ocirt ps --format json "$ID"
	local ours
	ours=$(json_pids <<<"$output" | wc -w)
	ref run -d --bundle "$BUNDLE" "$ID-ref"
	assert_success
	ref ps --format json "$ID-ref"
	assert_success
	local theirs
	theirs=$(json_pids <<<"$output" | wc -w)
	ref delete --force "$ID-ref"
	assert_equal "$ours" "$theirs"
}

# ---------------------------------------------------------------- pause, resume

# The CPU time of a process (utime+stime ticks).
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# bats test_tags=vm
@test "pause freezes the container, state says paused, resume thaws it" {
	set_cmd 'while :; do :; done'
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	local pid
	pid=$(container_pid "$ID")

	ocirt pause "$ID"
	assert_success
	assert_output ""
	ocirt state "$ID"
	assert_output_contains '"status": "paused"' "\"pid\": $pid"
	ocirt list --format json
	assert_output_contains '"status":"paused"'
	# Frozen: no CPU time is used (a busy loop would use ~20 ticks in 0.3 s).
	local t1 t2
	t1=$(cpu_ticks "$pid")
	sleep 0.3
	t2=$(cpu_ticks "$pid")
	assert_equal "$t2" "$t1"

	ocirt resume "$ID"
	assert_success
	assert_output ""
	ocirt state "$ID"
	assert_output_contains '"status": "running"'
	sleep 0.3
	[ "$(cpu_ticks "$pid")" -gt "$t2" ] || fail "still frozen after resume"
}

@test "pause/resume in the wrong state: container not running / not paused" {
	run_sleeper
	ocirt resume "$ID"
	assert_failure
	assert_output_contains "container not paused"
	ocirt pause "$ID"
	assert_success
	ocirt pause "$ID"
	assert_failure
	assert_output_contains "container not running"
	ocirt resume "$ID"
	assert_success
	ocirt kill "$ID" KILL
	wait_for_status "$ID" stopped
	ocirt pause "$ID"
	assert_failure
	assert_output_contains "container not running"
	ocirt resume "$ID"
	assert_failure
	assert_output_contains "container not paused"
	ocirt pause "$ID-nope"
	assert_failure
	assert_output_contains "does not exist"
}

# bats test_tags=vm
@test "a paused container: kill KILL stops it (thawed to deliver), like runc" {
	run_sleeper
	local pid
	pid=$(container_pid "$ID")
	ocirt pause "$ID"
	assert_success
	ocirt kill "$ID" KILL
	assert_success
	wait_for_status "$ID" stopped
	ocirt delete "$ID"
	assert_success
	assert_no_leaks "$ID"
}

# bats test_tags=vm
@test "a paused container: kill TERM leaves it paused, delete refuses, delete --force removes it" {
	run_sleeper
	local pid
	pid=$(container_pid "$ID")
	ocirt pause "$ID"
	assert_success
	ocirt kill "$ID" TERM
	assert_success
	sleep 0.2
	ocirt state "$ID"
	assert_output_contains '"status": "paused"'
	ocirt delete "$ID"
	assert_failure
	assert_output_contains "not stopped"
	ocirt delete --force "$ID"
	assert_success
	! pid_alive "$pid" || fail "init $pid survived"
	assert_no_leaks "$ID"
}

@test "pause/resume --help" {
	ocirt_only "help text"
	ocirt pause --help
	assert_success
	assert_output_contains "Usage: ocirt pause"
	ocirt resume
	assert_failure
	assert_output_contains "usage: ocirt resume"
}

# ---------------------------------------------------------------- exec

@test "exec in the foreground: output, exit status, 128+signal" {
	run_sleeper
	ocirt exec "$ID" sh -c 'echo from-exec; exit 7'
	assert_status 7
	assert_output "from-exec"
	ocirt exec "$ID" sh -c 'kill -9 $$'
	assert_status 137
	ocirt exec "$ID" true
	assert_success
	assert_output ""
}

# bats test_tags=vm
@test "exec joins the init's namespaces, root and cgroup" {
	run_sleeper
	local init
	init=$(container_pid "$ID")
	ocirt exec -d --pid-file "$TEST_TMP/exec.pid" "$ID" sleep 1000
	assert_success
	assert_output ""
	local pid ns
	pid=$(cat "$TEST_TMP/exec.pid")
	# Written like runc's: the decimal pid and no newline.
	[[ "$(cat -A "$TEST_TMP/exec.pid")" =~ ^[0-9]+$ ]] || fail "pid file: $(cat -A "$TEST_TMP/exec.pid")"
	[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" = "sleep 1000 " ] || fail "pid $pid is not the exec'd process"
	for ns in pid mnt uts ipc net cgroup user; do
		assert_equal "$(readlink "/proc/$pid/ns/$ns")" "$(readlink "/proc/$init/ns/$ns")"
	done
	assert_equal "$(cat "/proc/$pid/cgroup")" "$(cat "/proc/$init/cgroup")"
	[ "$(readlink "/proc/$pid/root")" = "$(readlink "/proc/$init/root")" ] || fail "other root"
	ocirt ps --format json "$ID"
	[[ " $(json_pids <<<"$output") " == *" $pid "* ]] || fail "exec'd $pid not in ps: $output"
	# Inside, it is not pid 1 and sees the container's hostname.
	ocirt exec "$ID" sh -c 'echo $$; hostname'
	assert_success
	[ "${lines[0]}" -gt 1 ] || fail "exec'd shell is pid ${lines[0]}"
	assert_equal "${lines[1]}" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hostname"])' "$BUNDLE/config.json")"
}

@test "exec --process FILE --detach --pid-file (the shims' form) runs exactly that process" {
	run_sleeper
	cat >"$TEST_TMP/process.json" <<'JSON'
{"args": ["sh", "-c", "echo \"$(id -u):$(id -g) $(pwd) $GREETING\" > /dev/shm/exec-out"],
 "env": ["PATH=/bin", "GREETING=hello"], "cwd": "/tmp", "user": {"uid": 1000, "gid": 100},
 "terminal": false}
JSON
	ocirt exec --process "$TEST_TMP/process.json" --detach --pid-file "$TEST_TMP/exec.pid" "$ID"
	assert_success
	[ -s "$TEST_TMP/exec.pid" ] || fail "no pid file"
	local init i
	init=$(container_pid "$ID")
	for ((i = 0; i < 100; i++)); do
		[ -s "/proc/$init/root/dev/shm/exec-out" ] && break
		sleep 0.05
	done
	assert_equal "$(cat "/proc/$init/root/dev/shm/exec-out")" "1000:100 /tmp hello"
}

@test "exec options: --user, --cwd, --env, --cap, --no-new-privs on top of the container's process" {
	update_config 'c["process"]["noNewPrivileges"] = False'
	run_sleeper
	ocirt exec --user 1000:100 --cwd /tmp --env FOO=bar "$ID" sh -c 'echo "$(id -u):$(id -g) $(pwd) $FOO"'
	assert_success
	assert_output "1000:100 /tmp bar"
	# The container's process has noNewPrivileges false and no CAP_SYS_ADMIN.
	ocirt exec "$ID" grep -E 'NoNewPrivs|CapEff' /proc/self/status
	local plain=$output
	[[ "$plain" == *"NoNewPrivs:"*"0"* ]] || fail "$plain"
	ocirt exec --no-new-privs --cap CAP_SYS_ADMIN "$ID" grep -E 'NoNewPrivs|CapEff' /proc/self/status
	assert_success
	assert_output_matches 'NoNewPrivs:[[:space:]]+1'
	local eff
	eff=$(awk '/CapEff/ { print $2 }' <<<"$output")
	(((0x$eff >> 21) & 1)) || fail "CAP_SYS_ADMIN (21) not in CapEff $eff"
}

@test "exec of a missing command: executable file not found in \$PATH, nothing left running" {
	run_sleeper
	ocirt ps --format json "$ID"
	local before=$output
	ocirt exec "$ID" no-such-command
	assert_failure
	assert_output_contains 'no-such-command' 'executable file not found in $PATH'
	assert_one_line
	ocirt exec -d "$ID" no-such-command
	assert_failure
	assert_output_contains "executable file not found"
	ocirt ps --format json "$ID"
	[ "$(json_pids <<<"$output" | wc -w)" -le "$(json_pids <<<"$before" | wc -w)" ] || fail "left: $output"
	ocirt exec --cwd /no/such/dir "$ID" true
	assert_failure
	assert_output_contains_ci "no such file or directory"
}

@test "exec in the wrong state: stopped, paused, unknown; no command" {
	run_sleeper
	ocirt exec "$ID"
	assert_failure
	ocirt pause "$ID"
	ocirt exec "$ID" true
	assert_failure
	assert_output_contains "paused"
	ocirt resume "$ID"
	ocirt kill "$ID" KILL
	wait_for_status "$ID" stopped
	ocirt exec "$ID" true
	assert_failure
	assert_output_contains "stopped"
	ocirt exec "$ID-nope" true
	assert_failure
	assert_output_contains "does not exist"
}

@test "exec: the process sees neither the ocirt binary nor its descriptors" {
	run_sleeper
	ocirt exec "$ID" readlink /proc/self/exe
	assert_success
	assert_output "/bin/busybox"
	# fd 3 is the directory ls reads; a leaked descriptor would come after it.
	OUT_FILE=$(mktemp "$TEST_TMP/out.XXXXXX")
	status=0
	__ocirt exec "$ID" ls /proc/self/fd 3</dev/null 4</dev/null >"$OUT_FILE" 2>&1 </dev/null || status=$?
	assert_success
	assert_equal "$(tr '\n' ' ' <"$OUT_FILE")" "0 1 2 3 "
	# --preserve-fds passes 3..3+N-1 and nothing more.
	status=0
	__ocirt exec --preserve-fds 1 "$ID" ls /proc/self/fd 3</dev/null 4</dev/null >"$OUT_FILE" 2>&1 </dev/null || status=$?
	assert_success
	assert_equal "$(tr '\n' ' ' <"$OUT_FILE")" "0 1 2 3 4 "
	status=0
	__ocirt exec --preserve-fds 1 "$ID" readlink /proc/self/fd/3 3</dev/null >"$OUT_FILE" 2>&1 </dev/null || status=$?
	assert_success
	assert_equal "$(cat "$OUT_FILE")" "/dev/null"
}

@test "exec applies the container's seccomp filter" {
	update_config 'c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}'
	run_sleeper
	ocirt exec "$ID" mkdir /tmp/x
	assert_failure
	assert_output_contains_ci "operation not permitted"
	ocirt exec "$ID" touch /dev/shm/y
	assert_success
}

@test "exec --tty --console-socket: the pty master goes to the socket" {
	run_sleeper
	SOCK="$TEST_TMP/console.sock"
	python3 - "$SOCK" "$TEST_TMP/recv" <<'PY' &
import array, os, socket, sys, time
path, out = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path); srv.listen(1)
open(out + ".ready", "w").close()
conn, _ = srv.accept()
fds = array.array("i")
msg, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(16 * fds.itemsize))
for lvl, typ, d in anc:
    fds.frombytes(d[: len(d) - (len(d) % fds.itemsize)])
data = b""
deadline = time.time() + 20
while time.time() < deadline:
    try:
        chunk = os.read(fds[0], 4096)
    except OSError:
        break
    if not chunk:
        break
    data += chunk
open(out + ".data", "wb").write(b"fds=%d\n" % len(fds) + data)
PY
	local rpid=$!
	wait_for_file "$TEST_TMP/recv.ready" || fail "console receiver did not start"
	ocirt exec --tty --detach --console-socket "$SOCK" "$ID" sh -c 'tty; echo on-pty-$((6*7))'
	assert_success
	wait "$rpid"
	local data
	data=$(tr -d '\r' <"$TEST_TMP/recv.data")
	[[ "$data" == "fds=1"* ]] || fail "$data"
	[[ "$data" == *"/dev/pts/"* ]] || fail "not on a pty: $data"
	[[ "$data" == *"on-pty-42"* ]] || fail "no output: $data"
	ocirt exec --tty --detach "$ID" true
	assert_failure
	assert_output_contains "console socket"
}

@test "exec -t in the foreground relays the terminal" {
	requires_cmd script
	run_sleeper
	local cmd
	printf -v cmd '%q ' env "$MARK" "$OCIRT" --root "$STATE_ROOT" exec -t "$ID" sh
	run bash -c "printf 'tty; exit 5\n' | timeout 60 script -qec '$cmd' /dev/null"
	assert_status 5
	assert_output_contains "/dev/pts/"
}

@test "exec agrees with runc: id, capabilities and NoNewPrivs of the exec'd process" {
	requires_cmd "$REF_RUNTIME"
	run_sleeper
	ref run -d --bundle "$BUNDLE" "$ID-ref"
	assert_success
	local probe='id; grep -E "^(Cap|NoNewPrivs)" /proc/self/status'
	ocirt exec --user 1000:100 "$ID" sh -c "$probe"
	local ours=$output
	ref exec --user 1000:100 "$ID-ref" sh -c "$probe"
	local theirs=$output
	ref delete --force "$ID-ref"
	assert_equal "$ours" "$theirs"
	ocirt exec "$ID" sh -c "$probe"
	ours=$output
	ref run -d --bundle "$BUNDLE" "$ID-ref"
	ref exec "$ID-ref" sh -c "$probe"
	theirs=$output
	ref delete --force "$ID-ref"
	assert_equal "$ours" "$theirs"
}

# ---------------------------------------------------------------- update

# cgroup_file CONTROLLER FILE: that file of this test's container (on v2
# the one directory, CONTROLLER ignored).
cgroup_file() {
	local dir
	dir=$(cgroup_dir "$ID" "$1") || return 1
	cat "$dir/$2"
}

# On v2 the containers of these tests need a parent that can enable
# controllers (see use_test_cgroup).
run_limited() {
	use_test_cgroup
	run_sleeper
}

# bats test_tags=vm
@test "update --memory/--pids-limit/--cpu-share change the container's cgroup" {
	run_limited
	ocirt update --memory 64m --pids-limit 50 --cpu-share 512 "$ID"
	assert_success
	assert_output ""
	assert_equal "$(cgroup_file pids pids.max)" "50"
	if cgroup_v2; then
		assert_equal "$(cgroup_file memory memory.max)" "67108864"
		# runc's conversion: 1 + (shares - 2) * 9999 / 262142.
		assert_equal "$(cgroup_file cpu cpu.weight)" "20"
	else
		assert_equal "$(cgroup_file memory memory.limit_in_bytes)" "67108864"
		assert_equal "$(cgroup_file cpu cpu.shares)" "512"
	fi
	ocirt update --pids-limit -1 "$ID"
	assert_success
	assert_equal "$(cgroup_file pids pids.max)" "max"
}

# memory_limit: the container's memory limit file, either version.
memory_limit() {
	if cgroup_v2; then cgroup_file memory memory.max; else cgroup_file memory memory.limit_in_bytes; fi
}

# bats test_tags=vm
@test "update --resources - (stdin) and --resources=FILE take a LinuxResources object" {
	run_limited
	OUT_FILE=$(mktemp "$TEST_TMP/out.XXXXXX")
	status=0
	echo '{"memory": {"limit": 33554432}, "pids": {"limit": 40}}' |
		__ocirt update --resources=- "$ID" >"$OUT_FILE" 2>&1 || status=$?
	assert_success
	assert_equal "$(memory_limit)" "33554432"
	assert_equal "$(cgroup_file pids pids.max)" "40"
	echo '{"pids": {"limit": 30}}' >"$TEST_TMP/res.json"
	ocirt update --resources "$TEST_TMP/res.json" "$ID"
	assert_success
	assert_equal "$(cgroup_file pids pids.max)" "30"
	# The memory limit was not touched by the second update.
	assert_equal "$(memory_limit)" "33554432"
}

# update_probe: the files `update --memory 100m --cpu-period 100000
# --cpu-quota 50000 --pids-limit 77` writes, as one line.
update_probe() {
	if cgroup_v2; then
		echo "$(cgroup_file memory memory.max) $(cgroup_file cpu cpu.max) $(cgroup_file pids pids.max)"
	else
		echo "$(cgroup_file memory memory.limit_in_bytes) $(cgroup_file cpu cpu.cfs_quota_us) $(cgroup_file pids pids.max)"
	fi
}

# bats test_tags=vm
@test "update: the same limits as runc sets" {
	requires_cmd "$REF_RUNTIME"
	run_limited
	ocirt update --memory 100m --cpu-period 100000 --cpu-quota 50000 --pids-limit 77 "$ID"
	assert_success
	local ours
	ours=$(update_probe)
	use_test_cgroup "$ID-ref"
	ref run -d --bundle "$BUNDLE" "$ID-ref"
	assert_success
	ref update --memory 100m --cpu-period 100000 --cpu-quota 50000 --pids-limit 77 "$ID-ref"
	assert_success
	local saved=$ID theirs
	ID="$ID-ref"
	theirs=$(update_probe)
	ID=$saved
	ref delete --force "$ID-ref"
	assert_equal "$ours" "$theirs"
}

# bats test_tags=vm
@test "update errors: bad JSON names the field, bad values, unknown id, stopped container" {
	run_sleeper
	echo '{"memory": {"limit": "lots"}}' >"$TEST_TMP/res.json"
	ocirt update --resources "$TEST_TMP/res.json" "$ID"
	assert_failure
	ocirt_only "error wording"
	assert_output_contains "memory.limit: expected integer"
	ocirt update --memory 12q "$ID"
	assert_failure
	assert_output_contains "--memory: invalid value"
	ocirt update --pids-limit 5 "$ID-nope"
	assert_failure
	assert_output_contains "does not exist"
	ocirt kill "$ID" KILL
	wait_for_status "$ID" stopped
	ocirt update --pids-limit 5 "$ID"
	assert_failure
	assert_output_contains "container not running"
}

# ---------------------------------------------------------------- events

# bats test_tags=vm
@test "events --stats: one JSON record with cpu, memory, pids and blkio from the cgroup" {
	use_test_cgroup
	set_cmd 'sleep 1000 & exec sleep 1001'
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	ocirt update --memory 64m "$ID"
	assert_success
	ocirt events --stats "$ID"
	assert_success
	assert_one_line
	local v2=0
	! cgroup_v2 || v2=1
	python3 - "$ID" "$output" "$v2" <<'PY'
import json, sys
rec = json.loads(sys.argv[2])
v2 = sys.argv[3] == "1"
assert rec["type"] == "stats" and rec["id"] == sys.argv[1], rec
d = rec["data"]
assert set(["cpu", "memory", "pids", "blkio"]) <= set(d), d.keys()
assert d["pids"]["current"] == 2, d["pids"]
assert d["memory"]["usage"]["limit"] == 64 << 20, d["memory"]["usage"]
assert d["memory"]["usage"]["usage"] > 0
assert d["cpu"]["usage"]["total"] > 0
if v2:
    # memory.stat of v2 (runc reports no per-CPU usage there).
    assert "anon" in d["memory"]["raw"] and "file" in d["memory"]["raw"], d["memory"]["raw"]
else:
    assert len(d["cpu"]["usage"]["percpu"]) >= 1
    assert "total_rss" in d["memory"]["raw"]
PY
}

# bats test_tags=vm
@test "events --stats has the fields runc reports for the same container" {
	requires_cmd "$REF_RUNTIME"
	set_cmd 'sleep 1000 & exec sleep 1001'
	update_config 'c["linux"]["resources"]["pids"] = {"limit": 100}'
	use_test_cgroup
	ocirt run -d --bundle "$BUNDLE" "$ID"
	ocirt events --stats "$ID"
	assert_success
	local ours=$output
	use_test_cgroup "$ID-ref"
	ref run -d --bundle "$BUNDLE" "$ID-ref"
	ref events --stats "$ID-ref"
	local theirs=$output
	ref delete --force "$ID-ref"
	python3 - "$ours" "$theirs" <<'PY'
import json, sys
ours, theirs = (json.loads(a)["data"] for a in sys.argv[1:])
# Written only when non-zero, by both (Go's omitempty): the two containers'
# page caches need not agree.
omitempty = {("memory", "cache")}
for section in ("cpu", "memory", "pids"):
    for key, value in theirs[section].items():
        if (section, key) in omitempty:
            continue
        assert key in ours[section], (section, key)
        if isinstance(value, dict):
            assert set(value) <= set(ours[section][key]), (section, key, value.keys(), ours[section][key].keys())
assert ours["pids"]["current"] == theirs["pids"]["current"] == 2
PY
}

# bats test_tags=vm
@test "events --interval streams records until the container stops" {
	run_sleeper
	local events="$TEST_TMP/events.out"
	__ocirt events --interval 200ms "$ID" >"$events" 2>&1 </dev/null &
	local epid=$!
	sleep 1
	ocirt kill "$ID" KILL
	assert_success
	local rc=0
	wait "$epid" || rc=$?
	assert_equal "$rc" 0
	local n
	n=$(grep -c '^{"type":"stats"' "$events" || true)
	[ "$n" -ge 3 ] || fail "only $n records: $(cat "$events")"
	[ "$(wc -l <"$events")" -eq "$n" ] || fail "unexpected output: $(cat "$events")"
}

# bats test_tags=vm
@test "events reports an OOM kill in the container as runc does: {\"type\":\"oom\",\"id\":...}" {
	requires_cmd "$REF_RUNTIME"
	# 32 MB: runc's own init (a Go program) was OOM-killed at 16 MB once,
	# under the VM's cgroup v2 accounting.
	update_config 'c["linux"]["resources"]["memory"] = {"limit": 32 << 20}'
	local rt id events epid i ours
	for rt in ocirt ref; do
		id=$ID
		[ "$rt" = ocirt ] || id=$ID-ref
		use_test_cgroup "$id"
		set_cmd 'exec sleep 1000'
		$rt run -d --bundle "$BUNDLE" "$id"
		assert_success
		events=$TEST_TMP/events-$rt
		if [ "$rt" = ocirt ]; then
			__ocirt events --interval 1s "$id" >"$events" 2>&1 </dev/null &
		else
			timeout -k 5 "$OCIRT_CMD_TIMEOUT" "$REF_RUNTIME" --root "$TEST_TMP/ref-state" \
				events --interval 1s "$id" >"$events" 2>&1 </dev/null &
		fi
		epid=$!
		# The first record: the stream is watching (runc's comes after
		# one interval).
		for ((i = 0; i < 200; i++)); do
			grep -q '"type":"stats"' "$events" && break
			sleep 0.1
		done
		# 64 MB in one buffer, in a 32 MB cgroup: the OOM killer takes dd.
		$rt exec "$id" dd if=/dev/zero of=/dev/null bs=64M count=1
		assert_failure
		for ((i = 0; i < 200; i++)); do
			grep -q '"type":"oom"' "$events" && break
			sleep 0.1
		done
		$rt delete --force "$id"
		wait "$epid" || true
		grep '"type":"oom"' "$events" | head -1 | sed "s/$id/ID/" >"$events.oom"
		[ -s "$events.oom" ] || fail "$rt events reported no OOM kill: $(cat "$events")"
	done
	assert_equal "$(cat "$TEST_TMP/events-ocirt.oom")" '{"type":"oom","id":"ID"}'
	assert_equal "$(cat "$TEST_TMP/events-ref.oom")" "$(cat "$TEST_TMP/events-ocirt.oom")"
}

# bats test_tags=vm
@test "events errors: unknown id, stopped container, bad interval" {
	ocirt events --stats "$ID-nope"
	assert_failure
	assert_output_contains "does not exist"
	run_sleeper
	ocirt events --interval 5x "$ID"
	assert_failure
	ocirt_only "error wording"
	assert_output_contains "invalid duration"
	ocirt kill "$ID" KILL
	wait_for_status "$ID" stopped
	ocirt events --stats "$ID"
	assert_failure
	assert_output_contains "container not running"
}
