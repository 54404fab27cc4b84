#!/usr/bin/env bats
# checkpoint and restore through criu, with runc's command lines.  The same
# tests run against runc (the VM pass runs this suite with both), so each
# behaviour here is runc's too unless marked ocirt_only.  The restored
# process's stdio is checkpoint-stdio.bats's, containerd's and podman's
# checkpoints checkpoint-clients.bats's.
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
	teardown_test
}

@test "checkpoint, restore: criu missing from PATH is one clear line" {
	ocirt_only "message wording"
	run timeout 20 env PATH=/nonexistent "$OCIRT" --root "$STATE_ROOT" checkpoint "$ID"
	assert_failure
	assert_output "ocirt: checkpoint: criu not found"
	run timeout 20 env PATH=/nonexistent "$OCIRT" --root "$STATE_ROOT" restore -b "$BUNDLE" "$ID"
	assert_failure
	assert_output "ocirt: restore: criu not found"
	assert_no_leaks
}

@test "checkpoint: a created container cannot be checkpointed, and stays created" {
	requires_cmd criu
	set_args sleep 1000
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_success
	ocirt checkpoint --image-path "$TEST_TMP/img" "$ID"
	assert_failure
	assert_output_contains_ci "cannot be checkpointed in created state"
	assert_equal "$(container_status "$ID")" created
	ocirt delete --force "$ID"
	assert_no_leaks
}

@test "checkpoint: options criu cannot honour are refused by name" {
	ocirt_only "runc accepts these and fails later"
	ocirt checkpoint --lazy-pages "$ID"
	assert_failure
	assert_output "ocirt: not supported: checkpoint --lazy-pages"
	ocirt checkpoint --empty-ns pid "$ID"
	assert_failure
	assert_output_contains "not supported: --empty-ns pid"
	ocirt checkpoint --manage-cgroups-mode sometimes "$ID"
	assert_failure
	assert_output_contains "invalid --manage-cgroups-mode \`sometimes\`"
}

@test "checkpoint: when criu fails the container runs on and the error names the log" {
	requires_cmd criu
	counting_bundle
	# stdout to a file outside the container's mounts: criu 3.17 refuses to
	# dump that (and fails anyway where criu cannot run).
	__ocirt run -d --bundle "$BUNDLE" "$ID" </dev/null >"$TEST_TMP/outside" 2>&1
	wait_for_status "$ID" running
	wait_count 2
	ocirt checkpoint --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" "$ID"
	assert_failure
	assert_output_contains "$TEST_TMP/work/dump.log"
	if ! is_runc; then
		assert_one_line
		assert_output_contains "ocirt: checkpoint: criu dump failed: Error ("
	fi
	assert_equal "$(container_status "$ID")" running
	local n
	n=$(last_count)
	wait_count $((n + 2))
	assert_log_continuous
	ocirt delete --force "$ID"
	assert_no_leaks
}

@test "restore: when criu fails nothing is left behind" {
	requires_cmd criu
	counting_bundle
	mkdir -p "$TEST_TMP/img"
	echo '["/dev/null","/dev/null","/dev/null"]' >"$TEST_TMP/img/descriptors.json"
	ocirt restore -d -b "$BUNDLE" --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" "$ID"
	assert_failure
	assert_output_contains "$TEST_TMP/work/restore.log"
	if ! is_runc; then
		assert_one_line
		assert_output_contains "ocirt: restore: criu restore failed"
	fi
	assert_no_leaks
	ocirt state "$ID"
	assert_failure
	assert_output_contains "does not exist"
}

@test "checkpoint, restore: runc does the same on the same bundle" {
	requires_criu
	counting_bundle
	# The reference runtime's copy: its own bundle and counter.
	local mine=$BUNDLE
	mkdir -p "$TEST_TMP/ref-data"
	make_bundle default "$TEST_TMP/ref-bundle"
	update_config 'c["root"]["readonly"] = False'
	update_config '
c["mounts"].append({"destination": "/data", "type": "bind", "source": sys.argv[3], "options": ["rbind", "rw"]})
c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]})
' "$TEST_TMP/ref-data"
	set_cmd 'i=0; while :; do i=$((i+1)); echo $i >> /data/log; sleep 0.2; done'
	local refbundle=$BUNDLE
	BUNDLE=$mine
	mkdir -p "$TEST_TMP/ref-state"
	timeout 60 env "$MARK" "$REF_RUNTIME" --root "$TEST_TMP/ref-state" run -d --bundle "$refbundle" "$ID-ref" \
		</dev/null >/dev/null 2>&1 || fail "ref run -d failed"
	__ocirt run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1 || fail "run -d failed"
	wait_count 3
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(wc -l <"$TEST_TMP/ref-data/log")" -ge 3 ] && break
		sleep 0.1
	done
	local ref_dump ref_restore
	ref checkpoint --image-path "$TEST_TMP/ref-img" --work-path "$TEST_TMP/ref-work" "$ID-ref"
	ref_dump=$status
	[ "$ref_dump" -eq 0 ] || criu_log "$TEST_TMP/ref-work/dump.log"
	ocirt checkpoint --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" "$ID"
	[ "$status" -eq 0 ] || criu_log "$TEST_TMP/work/dump.log"
	assert_equal "$status" "$ref_dump"
	ref restore -d --bundle "$refbundle" --image-path "$TEST_TMP/ref-img" --work-path "$TEST_TMP/ref-work" "$ID-ref"
	ref_restore=$status
	[ "$ref_restore" -eq 0 ] || criu_log "$TEST_TMP/ref-work/restore.log"
	ocirt restore -d --bundle "$BUNDLE" --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" "$ID"
	[ "$status" -eq 0 ] || criu_log "$TEST_TMP/work/restore.log"
	assert_equal "$status" "$ref_restore"
	assert_equal "$ref_dump$ref_restore" 00
	ref state "$ID-ref"
	assert_equal "$(json_field status <<<"$output")" running
	assert_equal "$(container_status "$ID")" running
	ref delete --force "$ID-ref"
	ocirt delete --force "$ID"
	assert_no_leaks
}

@test "checkpoint, restore: the container counts on from where it was" {
	requires_criu
	start_counting
	local pid1 before
	pid1=$(container_pid "$ID")
	ocirt checkpoint --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" "$ID"
	criu_ok "$TEST_TMP/work/dump.log"
	[ -s "$TEST_TMP/img/descriptors.json" ] || fail "no descriptors.json in the image path"
	# runc deletes a checkpointed container, so that its id can be restored.
	ocirt state "$ID"
	assert_failure
	assert_output_contains "does not exist"
	wait_gone "$pid1" || fail "the checkpointed init $pid1 still runs"
	before=$(last_count)
	sleep 1
	assert_equal "$(last_count)" "$before"

	ocirt restore -d -b "$BUNDLE" --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" \
		--pid-file "$TEST_TMP/pid" "$ID"
	criu_ok "$TEST_TMP/work/restore.log"
	ocirt state "$ID"
	assert_success
	assert_equal "$(json_field status <<<"$output")" running
	local pid
	pid=$(json_field pid <<<"$output")
	assert_equal "$(cat "$TEST_TMP/pid")" "$pid"
	pid_alive "$pid" || fail "restored init $pid is not alive"
	wait_count $((before + 3))
	assert_log_continuous
	# The tmpfs came back with its content, and the restored container takes
	# an exec into its namespaces.
	ocirt exec "$ID" cat /tmp/last
	assert_success
	[ "$output" -gt "$before" ] || fail "/tmp/last is $output, not past $before"
	ocirt delete --force "$ID"
	assert_success
	assert_no_leaks
}

@test "checkpoint --leave-running: the container goes on, and the images restore elsewhere" {
	requires_criu
	start_counting
	local pid1 n
	pid1=$(container_pid "$ID")
	ocirt checkpoint --leave-running --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" "$ID"
	criu_ok "$TEST_TMP/work/dump.log"
	assert_equal "$(container_status "$ID")" running
	assert_equal "$(container_pid "$ID")" "$pid1"
	n=$(last_count)
	wait_count $((n + 2))
	assert_log_continuous
	ocirt delete --force "$ID"
	assert_success
	# The images still restore (the counter restarts from the dump's count,
	# so the log is no longer one sequence: only the status is checked).
	ocirt restore -d -b "$BUNDLE" --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" "$ID"
	criu_ok "$TEST_TMP/work/restore.log"
	wait_for_status "$ID" running
	ocirt delete --force "$ID"
	assert_no_leaks
}

# Pre-copy migration: a pre-dump saves the memory while the container runs
# on, the final dump on top of it (--parent-path, relative to the image
# path) saves only what changed since, and the restore reads both.
predump_chain() {
	local r=$1 n before
	counting_bundle_for "$r"
	rt_detached "$r" run -d --bundle "$BUNDLE" "$CID" || fail "$r run -d failed"
	wait_count 3
	rt "$r" checkpoint --pre-dump --image-path "$TEST_TMP/$r-img/p1" --work-path "$TEST_TMP/$r-work" "$CID"
	criu_ok "$TEST_TMP/$r-work/dump.log"
	assert_equal "$(rt_status "$r" "$CID")" running
	n=$(last_count)
	wait_count $((n + 3))
	rt "$r" checkpoint --parent-path ../p1 --image-path "$TEST_TMP/$r-img/final" --work-path "$TEST_TMP/$r-work" "$CID"
	criu_ok "$TEST_TMP/$r-work/dump.log"
	# criu links the dump to its parent.
	assert_equal "$(readlink "$TEST_TMP/$r-img/final/parent")" ../p1
	assert_equal "$(rt_status "$r" "$CID")" missing
	before=$(last_count)
	rt "$r" restore -d --bundle "$BUNDLE" --image-path "$TEST_TMP/$r-img/final" --work-path "$TEST_TMP/$r-work" "$CID"
	criu_ok "$TEST_TMP/$r-work/restore.log"
	assert_equal "$(rt_status "$r" "$CID")" running
	wait_count $((before + 3))
	assert_log_continuous
	rt "$r" delete --force "$CID"
	assert_success
}

# Each scenario is a test for each runtime: under emulation (tests/vm) the
# two together can outlast a test's time limit.
@test "checkpoint --pre-dump, then --parent-path: the restore counts on" {
	requires_criu
	predump_chain ocirt
	assert_no_leaks
}

@test "checkpoint --pre-dump, then --parent-path: runc does the same" {
	requires_criu
	predump_chain ref
	assert_no_leaks
}
