#!/usr/bin/env bats
# linux.memoryPolicy (runtime-spec 1.3): set_mempolicy(2) for the
# container's init and for exec'd processes.  Debian's runc 1.1 has no such
# field; the expectations are the specification's.

load ../lib/helpers

setup() {
	setup_test
	[ -e /proc/self/numa_maps ] || skip "the kernel has no NUMA support (no /proc/self/numa_maps)"
	make_bundle default
}

teardown() {
	teardown_test
}

# The policy of the first mapping of the process, as numa_maps shows it.
POLICY='head -1 /proc/self/numa_maps | cut -d" " -f2'

@test "memoryPolicy: the init and an exec'd process run under the policy" {
	update_config 'c["linux"]["memoryPolicy"] = {"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}'
	update_config 'c["root"]["readonly"] = False'
	set_cmd "$POLICY > /tmp/init; exec sleep 1000"
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	wait_for_status "$ID" running
	ocirt exec "$ID" sh -c "while [ ! -s /tmp/init ]; do sleep 0.05; done; cat /tmp/init; $POLICY"
	assert_success
	assert_output $'interleave=static:0\ninterleave=static:0'
	ocirt delete --force "$ID"
	assert_no_leaks
}

@test "memoryPolicy: bind, and no policy at all" {
	update_config 'c["linux"]["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "0"}'
	set_cmd "$POLICY"
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output "bind:0"
	update_config 'del c["linux"]["memoryPolicy"]'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output "default"
}

@test "memoryPolicy: a bad mode, flag or node list fails create, naming the field" {
	ocirt_only "message wording"
	set_args true
	local bad
	for bad in '{"mode": "MPOL_NOPE"}|linux.memoryPolicy.mode' \
		'{"mode": "MPOL_BIND", "nodes": "0-x"}|linux.memoryPolicy.nodes' \
		'{"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_SOON"]}|linux.memoryPolicy.flags[0]' \
		'{"mode": "MPOL_LOCAL", "nodes": "0"}|linux.memoryPolicy.nodes' \
		'{"mode": "MPOL_BIND"}|linux.memoryPolicy.nodes'; do
		update_config 'c["linux"]["memoryPolicy"] = json.loads(sys.argv[3])' "${bad%|*}"
		ocirt create --bundle "$BUNDLE" "$ID"
		assert_failure
		assert_one_line
		assert_output_contains "${bad#*|}"
		assert_no_leaks "$ID"
	done
}

@test "memoryPolicy: features lists the modes and flags create accepts" {
	ocirt features
	assert_success
	python3 - "$output" <<'PY'
import json, sys
mp = json.loads(sys.argv[1])["linux"]["memoryPolicy"]
assert "MPOL_BIND" in mp["modes"] and "MPOL_INTERLEAVE" in mp["modes"], mp
assert "MPOL_F_STATIC_NODES" in mp["flags"], mp
PY
}
