#!/usr/bin/env bats
# The container process and `run` in the foreground: linux.personality,
# SIGPIPE while relaying output, process.cwd; and how a cgroup is named in
# an error.

load ../lib/helpers

setup() {
	setup_test
	make_bundle hello
}

teardown() {
	teardown_test
}

requires_x86_64() {
	[ "$(uname -m)" = x86_64 ] || skip "needs an x86_64 host"
}

@test "personality: LINUX32 makes uname -m print i686" {
	requires_x86_64
	update_config 'c["linux"]["personality"] = {"domain": "LINUX32"}'
	set_args uname -m
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output "i686"
}

@test "personality: without it (or with LINUX) uname -m prints the host's machine" {
	requires_x86_64
	set_args uname -m
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output "x86_64"
	update_config 'c["linux"]["personality"] = {"domain": "LINUX"}'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output "x86_64"
}

# runc 1.1 ignores linux.personality (uname -m stays x86_64 under it), so
# the reference here is crun.  On a hybrid host crun 1.8 refuses to start
# unless the cgroup2 controllers file looks empty: hide it in a private
# mount namespace, which changes nothing else.
@test "personality: LINUX32 gives what crun gives" {
	requires_x86_64
	is_runc && skip "runc 1.1 does not implement linux.personality"
	requires_cmd crun
	update_config 'c["linux"]["personality"] = {"domain": "LINUX32"}'
	set_args uname -m
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	local ours=$output
	: >"$TEST_TMP/empty"
	run unshare -m sh -c '
		f=/sys/fs/cgroup/unified/cgroup.controllers
		[ ! -e "$f" ] || mount --bind "$1" "$f" || exit 1
		exec timeout 60 crun --root "$2" run --bundle "$3" "$4"' \
		sh "$TEST_TMP/empty" "$TEST_TMP/crun-state" "$BUNDLE" "$ID-crun"
	assert_success
	assert_equal "$ours" "$output"
}

@test "personality: an unknown domain fails create and leaves nothing" {
	update_config 'c["linux"]["personality"] = {"domain": "LINUX99"}'
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_failure
	is_runc || assert_output_contains "linux.personality.domain"
	assert_no_leaks "$ID"
}

# run_piped_to_head: `ocirt run` of $BUNDLE with its stdout piped into a
# reader that stops after 10 bytes; sets $run_status (ocirt's exit status)
# and $head_output.
run_piped_to_head() {
	local rc
	head_output=$(
		set +e
		timeout -k 5 60 env "$MARK" "$OCIRT" --root "$STATE_ROOT" run --bundle "$BUNDLE" "$ID" \
			</dev/null 2>"$TEST_TMP/run.err" | head -c 10
		echo "${PIPESTATUS[0]}" >"$TEST_TMP/run.status"
	)
	run_status=$(cat "$TEST_TMP/run.status")
	echo "run status $run_status, stderr: $(cat "$TEST_TMP/run.err")" >&2
}

@test "run with a terminal: a closed stdout pipe neither kills ocirt nor signals the container" {
	ocirt_only "runc forwards its own SIGPIPE to the container"
	update_config 'c["process"]["terminal"] = True; c["process"]["args"] = ["sh", "-c", "seq 1 200000; exit 7"]'
	# Without a pid namespace the shell is not an init that the kernel
	# shields from signals: a SIGPIPE forwarded to it would kill it.
	update_config 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "pid"]'
	run_piped_to_head
	assert_equal "$head_output" "$(printf '1\r\n2\r\n3\r\n4')"
	# The container ran to its end: its own status, not 141 (SIGPIPE).
	assert_equal "$run_status" 7
	assert_no_leaks "$ID"
}

@test "run with a terminal: the container does not inherit an ignored SIGPIPE" {
	update_config 'c["process"]["terminal"] = True; c["process"]["args"] = ["sh", "-c", "grep SigIgn /proc/self/status"]'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	# Bit 13 (SIGPIPE, mask 0x1000) must be clear.
	local mask
	mask=$(echo "$output" | tr -d '\r' | awk '/SigIgn/ { print $2 }')
	[ -n "$mask" ] || fail "no SigIgn line"
	[ $((0x$mask & 0x1000)) -eq 0 ] || fail "SIGPIPE is ignored in the container: $mask"
}

@test "run without a terminal: a closed stdout pipe ends as under runc" {
	is_runc && skip "OCIRT is runc itself"
	[ -x "$REF_RUNTIME" ] || skip "reference runtime not installed"
	# The container writes to the pipe itself.  As pid 1 of its namespace
	# seq is shielded from the SIGPIPE and fails with EPIPE instead.
	set_args seq 1 200000
	local ours=$BUNDLE their_status
	make_bundle hello "$TEST_TMP/ref"
	set_args seq 1 200000
	their_status=$(
		set +e
		timeout -k 5 60 "$REF_RUNTIME" --root "$TEST_TMP/ref-state" run --bundle "$BUNDLE" "$ID-ref" \
			</dev/null 2>/dev/null | head -c 10 >/dev/null
		echo "${PIPESTATUS[0]}"
	)
	BUNDLE=$ours
	run_piped_to_head
	assert_equal "$head_output" "$(printf '1\n2\n3\n4\n5')"
	assert_equal "$run_status" "$their_status"
	assert_no_leaks "$ID"
}

@test "cwd: a missing cwd is created, owned by the container's root, as runc creates it" {
	local rt want=""
	for rt in ref ocirt; do
		make_bundle default "$TEST_TMP/$rt"
		update_config 'c["process"]["cwd"] = "/work/dir"; c["process"]["user"] = {"uid": 1000, "gid": 1000}'
		set_cmd 'pwd; stat -c "%n %u:%g %a" /work /work/dir'
		# A read-only root too: the cwd is made before it is remounted.
		"$rt" run --bundle "$TEST_TMP/$rt" "$ID-$rt"
		assert_success
		[ -z "$want" ] || assert_output "$want"
		want=$output
	done
	assert_output $'/work/dir\n/work 0:0 755\n/work/dir 0:0 755'
	assert_no_leaks
}

@test "cwd: a cwd that is a file fails with the lowercase 'not a directory'" {
	update_config 'c["process"]["cwd"] = "/etc/passwd"'
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "not a directory"
	assert_no_leaks "$ID"
}

# A relative cgroupsPath is resolved against our own cgroup in each v1
# hierarchy (the root on a hybrid host's cgroup2); where those differ
# (here: memory, on hosts where a service manager put us in a memory
# sub-cgroup) the stored path has several lines.
# An error naming it must still be one readable line.
# bats test_tags=vm
@test "cgroups: a cgroup that cannot be created is named on one line" {
	ocirt_only "message wording"
	# A path under a file: mkdir fails with ENOTDIR in every hierarchy.
	update_config 'c["linux"]["cgroupsPath"] = "cgroup.procs/" + sys.argv[3]' "$ID"
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_one_line
	assert_output_contains_ci "not a directory"
	# The path is nested under whatever cgroup the suite itself runs in, so
	# only its end is known; where hierarchies differ every part is named.
	local shown part
	shown=$(sed -n 's/.*creating cgroup `\([^`]*\)`.*/\1/p' <<<"$output")
	[ -n "$shown" ] || fail "no cgroup named in: $output"
	while IFS= read -r part; do
		[[ "$part" == */cgroup.procs/"$ID" ]] || fail "part \`$part\` of \`$shown\` is not the container's cgroup"
	done < <(sed 's/; /\n/g' <<<"$shown")
	assert_no_leaks "$ID"
}
