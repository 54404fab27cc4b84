#!/usr/bin/env bats
# linux.netDevices (runtime-spec 1.3): a host interface moved into the
# container's network namespace, renamed, with its permanent global
# addresses, and up.  The interfaces are TAP devices, which need no kernel
# module (dummy and veth are modules this host cannot load), or dummy ones
# in the VM pass.  Debian's runc
# 1.1 has no such field and silently ignores it: the expectations are the
# specification's.

# The VM pass (tests/vm) runs every test here: see README.md.
# bats file_tags=vm

load ../lib/helpers

# add_interface NAME: a TAP device where /dev/net/tun is (this host), else
# a dummy one (the VM, whose kernel has dummy as a module).
add_interface() {
	if [ -c /dev/net/tun ]; then
		ip tuntap add dev "$1" mode tap
	else
		modprobe dummy 2>/dev/null || true
		ip link add "$1" type dummy
	fi
}

setup() {
	setup_test
	requires_cmd ip
	make_bundle default
	TAP="oct${UNIQ}"
	add_interface "$TAP" || skip "cannot create a TAP or dummy interface here"
	ip addr add 10.199.0.1/24 dev "$TAP"
}

teardown() {
	# Moved interfaces die with the container's namespace; one that was
	# never moved is still ours to remove.
	ip link del "$TAP" 2>/dev/null || true
	teardown_test
}

# net_devices JSON: linux.netDevices of $BUNDLE.
net_devices() {
	update_config 'c["linux"]["netDevices"] = json.loads(sys.argv[3])' "$1"
}

@test "netDevices: the interface is moved, renamed, keeps its address and is up" {
	net_devices "{\"$TAP\": {\"name\": \"ctr0\"}}"
	set_cmd 'ip -o -4 addr show dev ctr0; cat /sys/class/net/ctr0/flags; ls /sys/class/net'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "inet 10.199.0.1/24" "scope global ctr0"
	# IFF_UP is bit 0 of the flags.
	[ $((${lines[1]} & 1)) = 1 ] || fail "ctr0 is not up: flags ${lines[1]}"
	assert_output_not_contains "$TAP"
	# Not moved back (the spec forbids it): a virtual interface dies with
	# the namespace.
	! ip link show "$TAP" 2>/dev/null || fail "$TAP is back on the host"
	assert_no_leaks
}

@test "netDevices: without a name the interface keeps its host name; a template is numbered by the kernel" {
	net_devices "{\"$TAP\": {}}"
	set_cmd "ls /sys/class/net"
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "$TAP"

	add_interface "$TAP"
	net_devices "{\"$TAP\": {\"name\": \"net%d\"}}"
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "net0"
	assert_output_not_contains "$TAP"
}

@test "netDevices: a name taken in the container fails create, leaves the interface on the host" {
	net_devices "{\"$TAP\": {\"name\": \"lo\"}}"
	set_cmd true
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_one_line
	assert_output_contains "linux.netDevices.$TAP: \`lo\` already exists in the container's network namespace"
	ip link show "$TAP" >/dev/null || fail "$TAP is gone"
	assert_no_leaks
}

@test "netDevices: an interface the host does not have fails create and leaves nothing" {
	net_devices '{"ocnosuch0": {"name": "ctr0"}}'
	set_cmd true
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_one_line
	assert_output_contains "linux.netDevices.ocnosuch0: no such network interface on the host"
	assert_no_leaks
}

@test "netDevices: refused without a network namespace, and for names the kernel would refuse" {
	net_devices "{\"$TAP\": {}}"
	update_config 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "linux.netDevices: requires a network namespace in linux.namespaces"

	make_bundle default "$TEST_TMP/b2"
	net_devices "{\"$TAP\": {\"name\": \"a/b\"}}"
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "linux.netDevices.$TAP.name: \"a/b\" is not a valid interface name"
	net_devices '{"averyveryverylongname": {}}'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "\"averyveryverylongname\" is not a valid interface name"
	ip link show "$TAP" >/dev/null || fail "$TAP was touched"
	assert_no_leaks
}

@test "features: netDevices is enabled" {
	ocirt_only "features document"
	ocirt features
	assert_success
	run python3 -c 'import json, sys; print(json.loads(sys.argv[1])["linux"]["netDevices"]["enabled"])' "$output"
	assert_output "True"
}
