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
	set_cmd 'sleep 1000 & trap "exit 0" TERM; while :; do sleep 0.1; done'
	ocirt run -d --bundle "$BUNDLE" "${1:-$ID}"
	assert_success
}

# Host pids in the container's cgroup, as `ps --format json` reports them.
json_pids() {
	python3 -c 'import json,sys; print(" ".join(str(p) for p in json.load(sys.stdin)))'
}

# ---------------------------------------------------------------- ps

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
