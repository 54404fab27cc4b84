#!/usr/bin/env bats
# --debug: one record per step of create/start/exec, on stderr or in the
# --log file; --log-format text is valid logfmt, json one object per line.

load ../lib/helpers

setup() {
	setup_test
	make_bundle hello
}

teardown() {
	teardown_test
}

# logfmt_msgs FILE: check that every line of FILE is a logfmt record
# time="..." level=... msg="..." (values bare or double-quoted with \" \\ \n
# escapes) and print each message, unescaped, as one JSON string a line.
logfmt_msgs() {
	python3 - "$1" <<'EOF'
import json, re, sys
pair = re.compile(r'([A-Za-z_]+)=("(?:[^"\\]|\\.)*"|[^ "=]*)(?: |$)')
unesc = {'"': '"', '\\': '\\', 'n': '\n', 'r': '\r', 't': '\t'}
def unquote(v):
    if not v.startswith('"'):
        return v
    out, i, body = [], 0, v[1:-1]
    while i < len(body):
        c = body[i]
        if c == '\\':
            n = body[i + 1]
            if n == 'x':
                out.append(chr(int(body[i + 2:i + 4], 16)))
                i += 4
                continue
            assert n in unesc, f"bad escape \\{n} in {v}"
            out.append(unesc[n])
            i += 2
            continue
        out.append(c)
        i += 1
    return ''.join(out)
for n, line in enumerate(open(sys.argv[1]), 1):
    line = line.rstrip('\n')
    pos, rec = 0, {}
    while pos < len(line):
        m = pair.match(line, pos)
        assert m, f"line {n} is not logfmt at column {pos}: {line!r}"
        rec[m.group(1)] = unquote(m.group(2))
        pos = m.end()
    assert list(rec) == ["time", "level", "msg"], f"line {n}: keys {list(rec)}: {line!r}"
    assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$', rec["time"]), line
    print(json.dumps(rec["msg"]))
EOF
}

# The steps a learner looks for, in the messages (one JSON string a line).
assert_steps() {
	local msgs=$1
	grep -q '^"config: read .*/config.json (ociVersion ' <<<"$msgs" || fail "no config line: $msgs"
	grep -q '^"namespaces: .*pid.*mount' <<<"$msgs" || fail "no namespaces line: $msgs"
	grep -q '^"mount: proc on /proc type proc ' <<<"$msgs" || fail "no /proc mount line: $msgs"
	grep -q '^"rootfs: pivot_root into ' <<<"$msgs" || fail "no pivot_root line: $msgs"
	grep -q '^"maskedPaths: masking /proc/kcore' <<<"$msgs" || fail "no maskedPaths line: $msgs"
	grep -q '^"uts: hostname ' <<<"$msgs" || fail "no hostname line: $msgs"
	grep -q '^"capabilities: bounding \[\\"CAP_AUDIT_WRITE\\" ' <<<"$msgs" || fail "no capabilities line: $msgs"
	grep -q '^"process: rlimit RLIMIT_NOFILE soft 1024 hard 1024"' <<<"$msgs" || fail "no rlimit line: $msgs"
	grep -q '^"process: user uid 0 gid 0 ' <<<"$msgs" || fail "no user line: $msgs"
	grep -q '^"ready: on start, exec /[a-z/]*echo with args \[\\"echo\\" \\"hello\\"\]"' <<<"$msgs" ||
		fail "no exec line: $msgs"
}

@test "--debug run: each step on stderr as logfmt, the output untouched" {
	ocirt_only "ocirt's debug records"
	run --separate-stderr ocirt_raw --root "$STATE_ROOT" --debug run --bundle "$BUNDLE" "$ID"
	assert_success
	[ "$output" = hello ] || fail "stdout is not just the container's: $output"
	printf '%s\n' "$stderr" >"$TEST_TMP/stderr"
	local msgs
	msgs=$(logfmt_msgs "$TEST_TMP/stderr") || fail "stderr is not logfmt: $stderr"
	assert_steps "$msgs"
	# In order: the mounts come before pivot_root, exec comes last but start.
	python3 - "$msgs" <<'EOF' || fail "steps out of order: $msgs"
import json, sys
msgs = [json.loads(l) for l in sys.argv[1].splitlines()]
first = lambda p: next(i for i, m in enumerate(msgs) if m.startswith(p))
assert first("mount: proc") < first("rootfs: pivot_root") < first("capabilities:") < first("ready:") < first("start:")
EOF
}

@test "--debug --log FILE: the steps go to the file, not to stderr (as runc)" {
	ocirt_only "ocirt's debug records"
	local log="$TEST_TMP/debug.log"
	run --separate-stderr ocirt_raw --root "$STATE_ROOT" --debug --log "$log" run --bundle "$BUNDLE" "$ID"
	assert_success
	[ "$output" = hello ] || fail "stdout: $output"
	[ -z "$stderr" ] || fail "stderr is not empty: $stderr"
	local msgs
	msgs=$(logfmt_msgs "$log") || fail "the log is not logfmt: $(cat "$log")"
	assert_steps "$msgs"
	# How the init entered its cgroup: born inside (cgroup2), moving itself
	# (v1 `tasks`), or its pid written by the parent.
	grep -q -E '^"cgroup: (pid [0-9]+ was created in .*\(CLONE_INTO_CGROUP\)|writing \\"0\\" to .*/tasks|writing \\"[0-9]+\\" to .*/cgroup.procs)' <<<"$msgs" ||
		fail "no line on how the init entered its cgroup: $msgs"
}

@test "--debug --log-format json: one JSON object per line, with the same steps" {
	ocirt_only "ocirt's debug records"
	local log="$TEST_TMP/debug.json"
	run --separate-stderr ocirt_raw --root "$STATE_ROOT" --debug --log "$log" --log-format json \
		run --bundle "$BUNDLE" "$ID"
	assert_success
	local msgs
	msgs=$(python3 - "$log" <<'EOF'
import json, sys
for n, line in enumerate(open(sys.argv[1]), 1):
    rec = json.loads(line)
    assert sorted(rec) == ["level", "msg", "time"], f"line {n}: {rec}"
    assert rec["level"] == "debug", rec
    print(json.dumps(rec["msg"]))
EOF
	) || fail "not one JSON object per line: $(cat "$log")"
	assert_steps "$msgs"
}

@test "without --debug nothing extra is printed or logged" {
	local log="$TEST_TMP/quiet.log"
	run --separate-stderr ocirt_raw --root "$STATE_ROOT" run --bundle "$BUNDLE" "$ID"
	assert_success
	[ "$output" = hello ] && [ -z "$stderr" ] || fail "stdout: $output, stderr: $stderr"
	run --separate-stderr ocirt_raw --root "$STATE_ROOT" --log "$log" run --bundle "$BUNDLE" "$ID"
	assert_success
	[ -z "$stderr" ] || fail "stderr: $stderr"
	[ ! -s "$log" ] || fail "the log has records: $(cat "$log")"
}

@test "--log-format text: a message with quotes, backslashes and a newline is one valid logfmt line" {
	ocirt_only "ocirt's log format"
	local log="$TEST_TMP/err.log"
	local weird=$'we"ird\\dir\nnext'
	run ocirt_raw --root "$STATE_ROOT" --log "$log" --log-format text create --bundle "$TEST_TMP/$weird" "$ID"
	assert_failure
	[ "$(wc -l <"$log")" -eq 1 ] || fail "expected one line: $(cat "$log")"
	local msgs
	msgs=$(logfmt_msgs "$log") || fail "not logfmt: $(cat "$log")"
	python3 - "$msgs" "$TEST_TMP/$weird" <<'EOF' || fail "message not intact: $msgs"
import json, sys
msg = json.loads(sys.argv[1])
assert sys.argv[2] in msg, (msg, sys.argv[2])
EOF
	grep -q '^time="[^"]*" level=error msg="' "$log" || fail "not time, level, msg: $(cat "$log")"
}

@test "--debug exec: the steps of the exec'd process reach exec's stderr" {
	ocirt_only "ocirt's debug records"
	set_args sleep 60
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	run --separate-stderr ocirt_raw --root "$STATE_ROOT" --debug exec "$ID" echo from-exec
	assert_success
	[ "$output" = from-exec ] || fail "stdout: $output"
	printf '%s\n' "$stderr" >"$TEST_TMP/stderr"
	local msgs
	msgs=$(logfmt_msgs "$TEST_TMP/stderr") || fail "stderr is not logfmt: $stderr"
	grep -q '^"namespaces: joining those of the container init (pid [0-9]*): .*mount' <<<"$msgs" ||
		fail "no namespaces line: $msgs"
	grep -q '^"capabilities: bounding ' <<<"$msgs" || fail "no capabilities line: $msgs"
	grep -q '^"ready: exec /[a-z/]*echo with args \[\\"echo\\" \\"from-exec\\"\]"' <<<"$msgs" || fail "no exec line: $msgs"
}

@test "--debug with seccomp: the filter is described before it is loaded" {
	ocirt_only "ocirt's debug records"
	local seccomp
	seccomp=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["linux"]["seccomp"]))' \
		"$BUNDLES_DIR/seccomp-default.json")
	update_config 'c["linux"]["seccomp"] = json.loads(sys.argv[3]); c["process"]["noNewPrivileges"] = False' "$seccomp"
	run --separate-stderr ocirt_raw --root "$STATE_ROOT" --debug run --bundle "$BUNDLE" "$ID"
	assert_success
	[ "$output" = hello ] || fail "stdout: $output"
	printf '%s\n' "$stderr" >"$TEST_TMP/stderr"
	local msgs
	msgs=$(logfmt_msgs "$TEST_TMP/stderr") || fail "stderr is not logfmt: $stderr"
	grep -q '^"seccomp: loading the filter now: default action SCMP_ACT_[A-Z]*, [0-9]* rules naming [0-9]* syscalls' \
		<<<"$msgs" || fail "no seccomp line: $msgs"
	# With noNewPrivileges the filter goes on right before exec: nothing is
	# logged after it.
	update_config 'c["process"]["noNewPrivileges"] = True'
	run --separate-stderr ocirt_raw --root "$STATE_ROOT" --debug run --bundle "$BUNDLE" "$ID"
	assert_success
	printf '%s\n' "$stderr" >"$TEST_TMP/stderr"
	msgs=$(logfmt_msgs "$TEST_TMP/stderr") || fail "stderr is not logfmt: $stderr"
	grep -q '^"seccomp: loading the filter at start, right before exec' <<<"$msgs" || fail "no seccomp line: $msgs"
}

@test "--debug --no-pivot: chroot instead of pivot_root" {
	ocirt_only "ocirt's debug records"
	run --separate-stderr ocirt_raw --root "$STATE_ROOT" --debug run --no-pivot --bundle "$BUNDLE" "$ID"
	assert_success
	printf '%s\n' "$stderr" >"$TEST_TMP/stderr"
	local msgs
	msgs=$(logfmt_msgs "$TEST_TMP/stderr") || fail "stderr is not logfmt: $stderr"
	grep -q '^"rootfs: --no-pivot: moving .* onto / and chroot into it' <<<"$msgs" || fail "no chroot line: $msgs"
	! grep -q 'pivot_root into' <<<"$msgs" || fail "pivot_root with --no-pivot: $msgs"
}

@test "--debug: a namespace joined by path is named with its path, the others as created" {
	ocirt_only "ocirt's debug records"
	requires_cmd ip
	make_netns
	add_namespace network "$NETNS_PATH"
	run --separate-stderr ocirt_raw --root "$STATE_ROOT" --debug run --bundle "$BUNDLE" "$ID"
	assert_success
	printf '%s\n' "$stderr" >"$TEST_TMP/stderr"
	local msgs
	msgs=$(logfmt_msgs "$TEST_TMP/stderr") || fail "stderr is not logfmt: $stderr"
	grep -qF "\"namespaces: joining the network namespace $NETNS_PATH\"" <<<"$msgs" || fail "no join line: $msgs"
	grep -q '^"namespaces: creating (unshare) pid .*mount"' <<<"$msgs" || fail "no unshare line: $msgs"
}

# bats test_tags=vm
@test "--debug: each cgroup limit is logged with its file and value" {
	ocirt_only "ocirt's debug records"
	update_config 'c["linux"].setdefault("resources", {})["pids"] = {"limit": 321}'
	run --separate-stderr ocirt_raw --root "$STATE_ROOT" --debug run --bundle "$BUNDLE" "$ID"
	assert_success
	printf '%s\n' "$stderr" >"$TEST_TMP/stderr"
	local msgs
	msgs=$(logfmt_msgs "$TEST_TMP/stderr") || fail "stderr is not logfmt: $stderr"
	grep -q '^"cgroup: writing \\"321\\" to /.*/pids.max"' <<<"$msgs" || fail "no pids.max line: $msgs"
}
