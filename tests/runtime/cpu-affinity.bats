#!/usr/bin/env bats
# process.execCPUAffinity (runtime-spec 1.2): `exec` runs its set-up on the
# `initial` CPUs and the process on the `final` ones, read back from
# /proc/self/status inside the container.  Not for the container's init
# (the spec says so).  runc 1.1 does not have the field (it ignores it): no
# differential test.

load ../lib/helpers

setup() {
	setup_test
	is_runc && skip "runc 1.1 has no execCPUAffinity"
	# Two CPUs are enough to tell "0", "1" and "0-1" apart.
	grep -q '^Cpus_allowed_list:[[:space:]]*0-1$' /proc/self/status || skip "needs to run on CPUs 0 and 1"
	make_bundle hello
	set_args sleep 100
}

teardown() {
	teardown_test
}

# set_affinity INITIAL FINAL ("" leaves one out) in config.json's process.
set_affinity() {
	update_config '
a = {}
if sys.argv[3]: a["initial"] = sys.argv[3]
if sys.argv[4]: a["final"] = sys.argv[4]
c["process"]["execCPUAffinity"] = a' "$1" "$2"
}

cpus_of_exec() {
	ocirt exec "$ID" grep Cpus_allowed_list: /proc/self/status
	assert_success
}

@test "execCPUAffinity: an exec'd process runs on the final CPUs" {
	set_affinity 0 1
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	cpus_of_exec
	assert_output_matches '^Cpus_allowed_list:[[:space:]]+1$'
}

@test "execCPUAffinity: the other way round (the result is not a coincidence)" {
	set_affinity 1 0
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	cpus_of_exec
	assert_output_matches '^Cpus_allowed_list:[[:space:]]+0$'
}

@test "execCPUAffinity: without it an exec'd process may run on every CPU" {
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	cpus_of_exec
	assert_output_matches '^Cpus_allowed_list:[[:space:]]+0-1$'
}

# bats test_tags=vm
@test "execCPUAffinity: the set-up runs on initial, before the process joins the cgroup" {
	set_affinity 1 0
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	ocirt --debug exec "$ID" true
	assert_success
	ocirt_only "--debug records"
	local rec
	rec=$(grep -n 'runs on CPUs 1 (process.execCPUAffinity.initial)' <<<"$output") || fail "no record of initial"
	if grep -q 'cgroup: writing' <<<"$output"; then
		# the affinity first, then the move into the cgroup
		[ "${rec%%:*}" -lt "$(grep -n 'cgroup: writing' <<<"$output" | head -1 | cut -d: -f1)" ] ||
			fail "initial was set after the cgroup move"
	fi
}

@test "execCPUAffinity: with initial only the process keeps the initial CPUs" {
	# Before Linux 6.2 moving into a cpuset reset a task's CPUs; since then
	# the kernel keeps what sched_setaffinity asked for.
	local v
	v=$(uname -r | cut -d. -f1,2)
	[ "$(printf '%s\n6.2\n' "$v" | sort -V | head -1)" = 6.2 ] || skip "Linux $v resets the CPUs on the cgroup move"
	set_affinity 1 ""
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	cpus_of_exec
	assert_output_matches '^Cpus_allowed_list:[[:space:]]+1$'
}

@test "execCPUAffinity: exec --process takes it from the process file" {
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	cat >"$TEST_TMP/process.json" <<-EOF
		{"args": ["grep", "Cpus_allowed_list:", "/proc/self/status"], "cwd": "/",
		 "env": ["PATH=/bin", "$MARK"], "execCPUAffinity": {"initial": "1", "final": "0"}}
	EOF
	ocirt exec --process "$TEST_TMP/process.json" "$ID"
	assert_success
	assert_output_matches '^Cpus_allowed_list:[[:space:]]+0$'
}

@test "execCPUAffinity: not applied to the container's init (runtime-spec)" {
	set_affinity 1 1
	update_config 'c["process"]["args"] = ["sh", "-c", "grep Cpus_allowed_list: /proc/self/status; sleep 100"]'
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q Cpus_allowed_list: "$OUT_FILE" && break
		sleep 0.05
	done
	assert_equal "$(grep Cpus_allowed_list: "$OUT_FILE" | awk '{ print $2 }')" "0-1"
	cpus_of_exec
	assert_output_matches '^Cpus_allowed_list:[[:space:]]+1$'
}

@test "execCPUAffinity: a list that is not one fails create, naming it, nothing left behind" {
	local bad
	for bad in 'x' '1-0' '0,,1' '5000'; do
		set_affinity 0 "$bad"
		ocirt create --bundle "$BUNDLE" "$ID"
		assert_failure
		is_runc || assert_output_contains "process.execCPUAffinity.final" "$bad"
		assert_no_leaks "$ID"
	done
}

@test "execCPUAffinity: CPUs the machine does not have fail exec, naming the field" {
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	local which
	for which in initial final; do
		cat >"$TEST_TMP/process.json" <<-EOF
			{"args": ["true"], "cwd": "/", "env": ["$MARK"], "execCPUAffinity": {"$which": "1000"}}
		EOF
		ocirt exec --process "$TEST_TMP/process.json" "$ID"
		assert_failure
		assert_output_contains "process.execCPUAffinity.$which" "1000"
		assert_one_line
	done
	assert_equal "$(container_status "$ID")" running
}
