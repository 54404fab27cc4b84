#!/usr/bin/env bats
# cgroup v2 on a real unified host (make check-vm's guest): each controller's
# files as the runtime writes them, compared with runc on the same bundle,
# what the container sees of them, the eBPF device filter, the freezer,
# nested and relative paths, enabling controllers in the parents and
# removal on delete.  Skipped on hybrid and v1 hosts.

# The VM pass (tests/vm) runs every test here: see README.md.
# bats file_tags=vm

load ../lib/helpers

setup() {
	setup_test
	requires_cgroup_v2
	make_bundle hello
	set_cmd 'exec sleep 1000'
}

teardown() {
	teardown_test
}

# probe ID FILE...: "FILE=CONTENT" of each file of the container's cgroup.
probe() {
	local id=$1 dir f
	shift
	dir=$(cgroup_dir "$id") || return 1
	for f in "$@"; do
		echo "$f=$(cat "$dir/$f" 2>&1)"
	done
}

# same_as_runc FILE...: run $BUNDLE with the runtime under test and with
# runc, each in its own cgroup below the test's parent; the files must read
# the same.  Leaves the runtime's reading in $ours.
same_as_runc() {
	requires_cmd "$REF_RUNTIME"
	use_test_cgroup "$ID"
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	ours=$(probe "$ID" "$@")
	ocirt delete --force "$ID"
	assert_success
	use_test_cgroup "$ID-ref"
	ref run -d --bundle "$BUNDLE" "$ID-ref"
	assert_success
	local theirs
	theirs=$(probe "$ID-ref" "$@")
	ref delete --force "$ID-ref"
	assert_equal "$ours" "$theirs"
}

# set_resources PYTHON-LITERAL: linux.resources, keeping the bundle's
# device rules.
set_resources() {
	update_config 'c["linux"]["resources"].update(eval(sys.argv[3]))' "$1"
}

@test "cgroup v2 memory: limit, reservation, swap and unified memory.high as runc writes them, seen inside" {
	set_resources '{"memory": {"limit": 64 << 20, "reservation": 32 << 20, "swap": 96 << 20},
		"unified": {"memory.high": str(48 << 20)}}'
	same_as_runc memory.max memory.low memory.swap.max memory.high
	# memory.swap is memory+swap (v1's meaning): 32 MB of swap on v2.
	assert_equal "$ours" "memory.max=67108864
memory.low=33554432
memory.swap.max=33554432
memory.high=50331648"
	# From inside: the container's own cgroup is its /sys/fs/cgroup.
	add_namespace cgroup
	use_test_cgroup
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	ocirt exec "$ID" cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory.high
	assert_success
	assert_output "67108864
50331648"
}

@test "cgroup v2 cpu: shares as cpu.weight (runc's conversion), quota and period, cpuset cpus and mems, as runc" {
	set_resources '{"cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"}}'
	same_as_runc cpu.weight cpu.max cpuset.cpus cpuset.mems
	# 1 + (512 - 2) * 9999 / 262142
	assert_equal "$ours" "cpu.weight=20
cpu.max=50000 100000
cpuset.cpus=0
cpuset.mems=0"
	use_test_cgroup
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	ocirt exec "$ID" grep Cpus_allowed_list /proc/self/status
	assert_success
	assert_output_matches $'^Cpus_allowed_list:[ \t]+0$'
}

@test "cgroup v2 pids and hugetlb: pids.max and hugetlb.<size>.max as runc writes them" {
	[ -d /sys/kernel/mm/hugepages/hugepages-2048kB ] || skip "no 2 MB huge pages"
	set_resources '{"pids": {"limit": 42}, "hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 20}]}'
	same_as_runc pids.max hugetlb.2MB.max
	assert_equal "$ours" "pids.max=42
hugetlb.2MB.max=4194304"
	# The limit holds inside: a fork beyond it fails (and the shell stops).
	set_cmd 'i=0; while [ $i -lt 60 ]; do sleep 100 & i=$((i + 1)); done; echo "all forked"'
	use_test_cgroup
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains_ci "can't fork: resource temporarily unavailable"
	assert_output_not_contains "all forked"
}

@test "cgroup v2 io: weight (runc's conversion) and per-device max, as runc" {
	local dev
	dev=$(for b in /sys/block/*; do [ -e "$b/dev" ] && cat "$b/dev"; done | head -1)
	[ -n "$dev" ] || skip "no block device in this host"
	set_resources "{\"blockIO\": {\"weight\": 500,
		\"throttleReadBpsDevice\": [{\"major\": ${dev%:*}, \"minor\": ${dev#*:}, \"rate\": 1048576}],
		\"throttleWriteIOPSDevice\": [{\"major\": ${dev%:*}, \"minor\": ${dev#*:}, \"rate\": 100}]}}"
	same_as_runc io.weight io.max
	# 1 + (500 - 10) * 9999 / 990 (with bfq, io.bfq.weight takes 500 as is).
	[[ "$ours" == *"io.weight=default 4950"* ]] || fail "io.weight: $ours"
	[[ "$ours" == *"io.max=$dev rbps=1048576 wbps=max riops=max wiops=100"* ]] || fail "io.max: $ours"
}

@test "cgroup v2 unified: raw keys are written last, over the converted values, as runc" {
	set_resources '{"memory": {"limit": 64 << 20}, "unified": {"memory.max": str(32 << 20), "pids.max": "17"}}'
	same_as_runc memory.max pids.max
	assert_equal "$ours" "memory.max=33554432
pids.max=17"
}

@test "cgroup v2 unified: a key the kernel does not have fails, naming it, nothing left (runc fails too)" {
	set_resources '{"unified": {"memory.nosuchfile": "1"}}'
	use_test_cgroup
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "memory.nosuchfile"
	assert_no_leaks "$ID"
	requires_cmd "$REF_RUNTIME"
	use_test_cgroup "$ID-ref"
	ref run -d --bundle "$BUNDLE" "$ID-ref"
	assert_failure
}

# device_probe: what the container may open: one line per device, the
# error's text when it may not.
device_probe() {
	set_cmd 'try() { if r=$( (eval "$1") 2>&1); then echo "$2 ok"; else echo "$2: ${r##*: }"; fi; }
	for d in null zero full tty urandom exp missing; do try ": </dev/$d" "$d r"; done
	try ": >/dev/exp" "exp w"
	try "mknod /dev/n c 1 3" mknod'
}

@test "cgroup v2 devices: the eBPF filter denies by default, allows the default devices and the rules, as runc" {
	# Two nodes the container gets, of no driver (major 60 is for local use;
	# 1:12 is no mem device): open says ENXIO once the filter lets it
	# through, EPERM when the filter refuses.  /dev/exp is allowed for
	# reading only, /dev/missing not at all.  (Not /dev/kmsg: Debian's
	# dmesg_restrict refuses it without CAP_SYSLOG anyway.)
	update_config 'c["linux"]["devices"] = [
		{"path": "/dev/exp", "type": "c", "major": 60, "minor": 0, "fileMode": 438},
		{"path": "/dev/missing", "type": "c", "major": 1, "minor": 12, "fileMode": 438}]'
	set_resources '{"devices": [{"allow": False, "access": "rwm"},
		{"allow": True, "type": "c", "major": 60, "minor": 0, "access": "r"},
		{"allow": False, "type": "c", "major": 1, "minor": 9, "access": "rwm"}]}'
	# With CAP_MKNOD, the filter alone decides about mknod.
	update_config 'for k in ("bounding", "effective", "permitted"):
	c["process"]["capabilities"][k].append("CAP_MKNOD")'
	device_probe
	use_test_cgroup
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	local ours=$output
	# The default devices stay allowed even after a deny rule for one of
	# them: runc appends its defaults to the rules.
	assert_equal "$ours" "null r ok
zero r ok
full r ok
tty r: No such device or address
urandom r ok
exp r: No such device or address
missing r: Operation not permitted
exp w: Operation not permitted
mknod ok"
	requires_cmd "$REF_RUNTIME"
	use_test_cgroup "$ID-ref"
	ref run --bundle "$BUNDLE" "$ID-ref"
	assert_success
	assert_equal "$ours" "$output"
}

@test "cgroup v2 pause/resume go through cgroup.freeze; cgroup.events reports frozen, as with runc" {
	requires_cmd "$REF_RUNTIME"
	local rt id out=()
	for rt in ocirt ref; do
		id=$ID
		[ "$rt" = ocirt ] || id=$ID-ref
		use_test_cgroup "$id"
		$rt run -d --bundle "$BUNDLE" "$id"
		assert_success
		$rt pause "$id"
		assert_success
		out+=("$(probe "$id" cgroup.freeze; grep frozen "$(cgroup_dir "$id")/cgroup.events")")
		$rt resume "$id"
		assert_success
		out+=("$(probe "$id" cgroup.freeze; grep frozen "$(cgroup_dir "$id")/cgroup.events")")
		$rt delete --force "$id"
	done
	assert_equal "${out[0]}" "cgroup.freeze=1
frozen 1"
	assert_equal "${out[1]}" "cgroup.freeze=0
frozen 0"
	assert_equal "${out[2]}" "${out[0]}"
	assert_equal "${out[3]}" "${out[1]}"
}

@test "cgroup v2 nested cgroupsPath: each level enables the controllers; delete removes the container's directory only, as runc" {
	requires_cmd "$REF_RUNTIME"
	set_resources '{"pids": {"limit": 10}}'
	local top=/sys/fs/cgroup/ocirt-test-$UNIQ rt id d seen=()
	TEST_CGROUP=$top
	for rt in ocirt ref; do
		id=$ID
		[ "$rt" = ocirt ] || id=$ID-ref
		update_config 'c["linux"]["cgroupsPath"] = sys.argv[3]' "/ocirt-test-$UNIQ/a/b/$id"
		$rt run -d --bundle "$BUNDLE" "$id"
		assert_success
		for d in "$top" "$top/a" "$top/a/b"; do
			grep -qw pids "$d/cgroup.subtree_control" || fail "$rt: pids not enabled in $d"
		done
		assert_equal "$(cat "$top/a/b/$id/pids.max")" 10
		$rt delete --force "$id"
		assert_success
		seen+=("$(cd "$top" && find . -type d | sort | tr '\n' ' ')")
	done
	assert_equal "${seen[0]}" ". ./a ./a/b "
	assert_equal "${seen[1]}" "${seen[0]}"
	rmdir "$top/a/b" "$top/a"
}

# runc's base for a relative path on v2 is the parent of its own cgroup,
# which has processes (runc's) and so could enable no controllers.
@test "cgroup v2 relative cgroupsPath: below the parent of the caller's cgroup, removed on delete, as runc" {
	requires_cmd "$REF_RUNTIME"
	local own rt id pid seen=()
	own=$(dirname "$(sed -n 's/^0:://p' /proc/self/cgroup)")
	for rt in ocirt ref; do
		id=$ID
		[ "$rt" = ocirt ] || id=$ID-ref
		update_config 'c["linux"]["cgroupsPath"] = sys.argv[3]' "rel-$UNIQ/$id"
		$rt run -d --bundle "$BUNDLE" "$id"
		assert_success
		$rt state "$id"
		pid=$(json_field pid <<<"$output")
		seen+=("$(sed -n 's/^0:://p' "/proc/$pid/cgroup")")
		$rt delete --force "$id"
		assert_success
		[ ! -e "/sys/fs/cgroup$own/rel-$UNIQ/$id" ] || fail "$rt left /sys/fs/cgroup$own/rel-$UNIQ/$id"
	done
	rmdir "/sys/fs/cgroup$own/rel-$UNIQ"
	assert_equal "${seen[0]}" "${own%/}/rel-$UNIQ/$ID"
	assert_equal "${seen[1]}" "${own%/}/rel-$UNIQ/$ID-ref"
}

@test "cgroup v2 subtree_control: a parent without the controller gets it enabled" {
	TEST_CGROUP=/sys/fs/cgroup/ocirt-test-$UNIQ
	mkdir "$TEST_CGROUP"
	assert_equal "$(cat "$TEST_CGROUP/cgroup.subtree_control")" ""
	set_resources '{"pids": {"limit": 10}, "memory": {"limit": 64 << 20}}'
	use_test_cgroup
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	local enabled
	enabled=$(cat "$TEST_CGROUP/cgroup.subtree_control")
	[[ " $enabled " == *" pids "* && " $enabled " == *" memory "* ]] || fail "enabled: $enabled"
	probe "$ID" pids.max memory.max >"$TEST_TMP/probe"
	assert_equal "$(cat "$TEST_TMP/probe")" "pids.max=10
memory.max=67108864"
}

@test "cgroup v2 subtree_control: a parent with processes of its own cannot enable the controller: the error names it, nothing left (runc fails too)" {
	TEST_CGROUP=/sys/fs/cgroup/ocirt-test-$UNIQ
	mkdir -p "$TEST_CGROUP/busy"
	sleep 1000 3>&- &
	local sleeper=$!
	echo "$sleeper" >"$TEST_CGROUP/busy/cgroup.procs"
	set_resources '{"memory": {"limit": 64 << 20}}'
	update_config 'c["linux"]["cgroupsPath"] = sys.argv[3]' "/ocirt-test-$UNIQ/busy/$ID"
	ocirt run -d --bundle "$BUNDLE" "$ID"
	local st=$status ours=$output ref_status=
	if [ -x "$REF_RUNTIME" ]; then
		update_config 'c["linux"]["cgroupsPath"] = sys.argv[3]' "/ocirt-test-$UNIQ/busy/$ID-ref"
		ref run -d --bundle "$BUNDLE" "$ID-ref"
		ref_status=$status
	fi
	kill "$sleeper"
	wait "$sleeper" 2>/dev/null || true
	status=$st output=$ours
	lines=()
	mapfile -t lines <<<"$output"
	assert_failure
	[ -z "$ref_status" ] || [ "$ref_status" -ne 0 ] || fail "runc ran it"
	assert_no_leaks "$ID"
	rmdir "$TEST_CGROUP/busy"
	ocirt_only "error wording"
	assert_one_line
	assert_output_contains "memory" "/ocirt-test-$UNIQ/busy"
}

@test "cgroup v2: spec and spec --rootless add a cgroup namespace, as runc's do here" {
	requires_cmd "$REF_RUNTIME"
	local r ours theirs
	for r in "" --rootless; do
		mkdir -p "$TEST_TMP/ours$r" "$TEST_TMP/theirs$r"
		ocirt spec $r --bundle "$TEST_TMP/ours$r"
		assert_success
		ref spec $r --bundle "$TEST_TMP/theirs$r"
		assert_success
		ours=$(jq -c '[.linux.namespaces[].type]' "$TEST_TMP/ours$r/config.json")
		theirs=$(jq -c '[.linux.namespaces[].type]' "$TEST_TMP/theirs$r/config.json")
		assert_equal "$ours" "$theirs"
		[[ "$ours" == *'"cgroup"'* ]] || fail "no cgroup namespace: $ours"
	done
}
