#!/usr/bin/env bats
# The command line itself: version, help, global flags and their two forms.

load ../lib/helpers

setup() {
	setup_test
}

teardown() {
	teardown_test
}

@test "--version prints runc's three-line shape" {
	ocirt --version
	assert_success
	[ "${#lines[@]}" -ge 3 ] || fail "expected at least 3 lines: $output"
	# go-runc parses "<name> version X", then "commit:" and "spec:" lines.
	assert_output_matches "^$OCIRT_NAME version [0-9]"
	[[ "${lines[1]}" == "commit: "* ]] || fail "line 2 is not 'commit: ...': ${lines[1]}"
	local spec_line
	spec_line=$(grep '^spec: ' <<<"$output")
	[[ "$spec_line" =~ ^spec:\ 1\.[0-9]+\.[0-9]+ ]] || fail "no 'spec: 1.x.y' line: $output"
}

@test "--version: ocirt's exact first line and three lines" {
	ocirt_only "ocirt's version wording"
	ocirt --version
	assert_success
	[ "${#lines[@]}" -eq 3 ] || fail "expected exactly 3 lines: $output"
	assert_output_matches '^ocirt version [0-9]+\.[0-9]+\.[0-9]+'$'\n''commit: [^'$'\n'']+'$'\n''spec: 1\.[0-9]+\.[0-9]+'
}

@test "--help lists the commands and exits 0" {
	ocirt --help
	assert_success
	local cmd
	for cmd in create start state kill delete run list spec; do
		assert_output_contains "$cmd"
	done
	assert_output_contains "--root" "--log"
}

@test "COMMAND --help describes that command and exits 0" {
	local cmd
	for cmd in create start state kill delete run list spec; do
		ocirt "$cmd" --help
		assert_success
		assert_output_contains "$cmd"
	done
	ocirt create --help
	assert_output_contains "--bundle" "--pid-file" "--console-socket" "--no-pivot"
	ocirt run --help
	assert_output_contains "--detach" "--bundle"
	ocirt kill --help
	assert_output_contains "--all"
	ocirt delete --help
	assert_output_contains "--force"
	ocirt list --help
	assert_output_contains "--format" "--quiet"
}

@test "an unknown command fails and names the command" {
	ocirt nosuchcommand
	assert_failure
	assert_output_contains "nosuchcommand"
}

@test "an unknown global flag fails" {
	ocirt --no-such-flag list
	assert_failure
	assert_output_contains "no-such-flag"
}

@test "a command with a missing container id fails" {
	ocirt start
	assert_failure
	[ -n "$output" ] || fail "no message"
}

@test "--root: containers live under the given root only" {
	make_bundle hello
	set_args sleep 100
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_success
	[ -d "$STATE_ROOT/$ID" ] || fail "no state dir under --root"
	[ -p "$STATE_ROOT/$ID/exec.fifo" ] || fail "no exec.fifo in the state dir"

	# A different root does not see it, in both flag forms.
	local other="$TEST_TMP/other-root"
	mkdir -p "$other"
	run ocirt_raw --root "$other" state "$ID"
	assert_failure
	assert_output_contains "does not exist"
	run ocirt_raw --root="$STATE_ROOT" state "$ID"
	assert_success
	assert_output_contains "\"id\": \"$ID\""
	run ocirt_raw --root="$other" list -q
	assert_success
	assert_output ""
}

@test "--log FILE --log-format json: one JSON object per line with level, msg, time" {
	local log="$TEST_TMP/log.json"
	run --separate-stderr ocirt_raw --root "$STATE_ROOT" --log "$log" --log-format json state "$ID"
	assert_failure
	[ -s "$log" ] || fail "log file is empty"
	# Errors also reach stderr as one line, for shims that show stderr.
	[[ "$stderr" == *"does not exist"* ]] || fail "stderr lacks the error: $stderr"
	python3 - "$log" <<'EOF'
import json, re, sys
errors = 0
for n, line in enumerate(open(sys.argv[1]), 1):
    rec = json.loads(line)
    assert isinstance(rec, dict), f"line {n} is not an object"
    for key in ("level", "msg", "time"):
        assert key in rec, f"line {n} lacks {key}: {line}"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", rec["time"]), f"time not RFC 3339: {rec['time']}"
    if rec["level"] == "error":
        errors += 1
        assert "does not exist" in rec["msg"], rec["msg"]
assert errors >= 1, "no error record"
EOF
}

@test "--log=FILE --log-format=json: the = forms work the same" {
	local log="$TEST_TMP/log2.json"
	run ocirt_raw --root="$STATE_ROOT" --log="$log" --log-format=json delete "$ID"
	assert_failure
	python3 - "$log" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
errs = [r for r in recs if r["level"] == "error"]
assert errs and "does not exist" in errs[-1]["msg"], recs
EOF
}

@test "--log-format text: the log holds a readable error line" {
	local log="$TEST_TMP/log.txt"
	run ocirt_raw --root "$STATE_ROOT" --log "$log" --log-format text kill "$ID"
	assert_failure
	grep -q "does not exist" "$log" || fail "log lacks the error: $(cat "$log")"
}

@test "--log-format json without --log writes JSON errors to stderr" {
	run --separate-stderr ocirt_raw --root "$STATE_ROOT" --log-format json state "$ID"
	assert_failure
	python3 -c '
import json, sys
rec = json.loads(sys.argv[1].strip().splitlines()[-1])
assert rec["level"] == "error" and "does not exist" in rec["msg"] and rec["time"], rec
' "$stderr"
}

@test "a log file accumulates records across calls" {
	local log="$TEST_TMP/acc.json"
	run ocirt_raw --root "$STATE_ROOT" --log "$log" --log-format json state "$ID"
	run ocirt_raw --root "$STATE_ROOT" --log "$log" --log-format json state "$ID-2"
	[ "$(grep -c 'does not exist' "$log")" -eq 2 ] || fail "expected two error records: $(cat "$log")"
}

@test "--debug and --rootless=false are accepted before the command" {
	make_bundle hello
	run ocirt_raw --root "$STATE_ROOT" --debug --rootless=false --log "$TEST_TMP/l.json" --log-format json run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "hello"
}

@test "run accepts --bundle=DIR and -b DIR" {
	make_bundle hello
	ocirt run --bundle="$BUNDLE" "$ID"
	assert_success
	assert_output "hello"
	ocirt run -b "$BUNDLE" "$ID"
	assert_success
	assert_output "hello"
}

@test "the bundle defaults to the current directory" {
	make_bundle hello
	cd "$BUNDLE"
	ocirt run "$ID"
	assert_success
	assert_output "hello"
}
