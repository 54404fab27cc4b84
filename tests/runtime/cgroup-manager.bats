#!/usr/bin/env bats
# crun's global --cgroup-manager cgroupfs|systemd|disabled: cgroupfs is the
# default, systemd is --systemd-cgroup, disabled runs the container without
# a cgroup of its own (podman passes it for --cgroups=disabled); the last of
# these flags wins.  Compared with crun where it is installed.

load ../lib/helpers

setup() {
	setup_test
	make_bundle hello
	set_args sleep 100
	update_config 'c["linux"]["resources"] = {"pids": {"limit": 100}}'
}

teardown() {
	teardown_test
}

# cgroups_of PID: its /proc/PID/cgroup.
cgroups_of() {
	cat "/proc/$1/cgroup"
}

# bats test_tags=vm
@test "--cgroup-manager disabled: the container stays in our cgroup, none is made" {
	ocirt_only "crun's flag"
	ocirt --cgroup-manager disabled run -d --bundle "$BUNDLE" "$ID"
	assert_success
	assert_equal "$(cgroups_of "$(container_pid "$ID")")" "$(cgroups_of $$)"
	assert_equal "$(leaked_cgroups)" ""
	# what needs a cgroup says so; the rest works
	local cmd
	for cmd in ps pause "update --pids-limit 10" "events --stats"; do
		ocirt $cmd "$ID"
		assert_failure
		assert_output_contains "not supported: " "no cgroup"
	done
	ocirt exec "$ID" true
	assert_success
	ocirt --cgroup-manager disabled exec --cgroup pids:/ "$ID" true
	assert_failure
	ocirt delete --force "$ID"
	assert_success
	assert_no_leaks
}

@test "--cgroup-manager cgroupfs is the default: the container gets its cgroup" {
	ocirt_only "crun's flag"
	ocirt --cgroup-manager cgroupfs run -d --bundle "$BUNDLE" "$ID"
	assert_success
	local ours
	ours=$(cgroups_of "$(container_pid "$ID")")
	[ "$ours" != "$(cgroups_of $$)" ] || fail "the container is in our cgroup"
	[[ "$ours" == *"$ID"* ]] || fail "no cgroup named after the container: $ours"
	ocirt run -d --bundle "$BUNDLE" "$ID-2"
	assert_success
	assert_equal "$(cgroups_of "$(container_pid "$ID-2")" | sed "s/$ID-2/ID/g")" "$(sed "s/$ID/ID/g" <<<"$ours")"
}

# outcome FLAGS... ID: status, output and cgroups of `run -d` with FLAGS,
# the id replaced by ID.
outcome() {
	local id=${*: -1}
	ocirt "${@:1:$#-1}" run -d --bundle "$BUNDLE" "$id"
	echo "status=$status"
	sed "s/$id/ID/g" <<<"$output"
	if [ "$status" -eq 0 ]; then
		cgroups_of "$(container_pid "$id")" | sed "s/$id/ID/g"
		__ocirt delete --force "$id" >/dev/null 2>&1
	fi
}

# bats test_tags=vm
@test "--cgroup-manager systemd is --systemd-cgroup" {
	ocirt_only "crun's flag"
	local a b
	a=$(outcome --systemd-cgroup "$ID-a")
	b=$(outcome --cgroup-manager systemd "$ID-b")
	assert_equal "$b" "$a"
	assert_no_leaks
}

@test "--cgroup-manager: the last of it and --systemd-cgroup wins" {
	ocirt_only "crun's flag"
	assert_equal "$(outcome --cgroup-manager disabled --cgroup-manager cgroupfs "$ID-a")" \
		"$(outcome --cgroup-manager cgroupfs "$ID-b")"
	assert_equal "$(outcome --systemd-cgroup --cgroup-manager disabled "$ID-c")" \
		"$(outcome --cgroup-manager disabled "$ID-d")"
	assert_equal "$(outcome --cgroup-manager disabled --systemd-cgroup "$ID-e")" \
		"$(outcome --systemd-cgroup "$ID-f")"
	# and they differ: disabled is not cgroupfs
	[ "$(outcome --cgroup-manager disabled "$ID-g")" != "$(outcome --cgroup-manager cgroupfs "$ID-h")" ] ||
		fail "disabled and cgroupfs look the same"
	assert_no_leaks
}

@test "--cgroup-manager with an unknown driver fails before anything is made" {
	ocirt_only "crun's flag"
	ocirt --cgroup-manager bogus run -d --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "--cgroup-manager" "bogus"
	assert_one_line
	assert_no_leaks
}

@test "--cgroup-manager disabled: the same cgroup as under crun" {
	ocirt_only "crun's flag"
	requires_crun
	crun_ref --cgroup-manager disabled run -d --bundle "$BUNDLE" "$ID-crun"
	assert_success
	local theirs
	theirs=$(cgroups_of "$(__crun_pid "$ID-crun")")
	ocirt --cgroup-manager disabled run -d --bundle "$BUNDLE" "$ID"
	assert_success
	assert_equal "$(cgroups_of "$(container_pid "$ID")")" "$theirs"
	# both refuse to pause a container without a cgroup
	crun_ref pause "$ID-crun"
	assert_failure
	ocirt pause "$ID"
	assert_failure
}

__crun_pid() {
	"$TESTS_LIB/crun" --root "$TEST_TMP/crun-state" state "$1" | json_field pid
}
