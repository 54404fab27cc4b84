#!/usr/bin/env bats
# `ocirt features` against behaviour: what it lists, create accepts and
# applies; what it reports disabled, create refuses by name; and, field by
# field, the differences with runc 1.1.5's `runc features` are the ones
# ocirt means (what it implements beyond runc, what it does not implement).

load ../lib/helpers

setup() {
	setup_test
	ocirt_only "features against ocirt's behaviour"
	ocirt features
	assert_success
	FEATURES="$TEST_TMP/features.json"
	printf '%s\n' "$output" >"$FEATURES"
	AGENT_PID=
	make_bundle hello
	update_config 'c["root"]["readonly"] = False'
}

teardown() {
	if [ -n "$AGENT_PID" ]; then
		kill "$AGENT_PID" 2>/dev/null || true
		wait "$AGENT_PID" 2>/dev/null || true
	fi
	teardown_test
}

# feature EXPR: a value of the features document, as Python sees it (`f`).
feature() {
	python3 -c 'import json, sys; f = json.load(open(sys.argv[1])); v = eval(sys.argv[2]); print(json.dumps(v) if not isinstance(v, str) else v)' \
		"$FEATURES" "$1"
}

@test "features: every mount option listed is accepted and reaches the kernel" {
	# idmap and ridmap need mappings: tests/runtime/idmap.bats
	update_config '
f = json.load(open(sys.argv[3]))
for i, o in enumerate(f["mountOptions"]):
    if o in ("idmap", "ridmap"):
        continue
    if o in ("bind", "rbind"):
        m = {"type": "bind", "source": sys.argv[4]}
    else:
        m = {"type": "tmpfs", "source": "tmpfs"}
    m.update(destination="/mnt/" + o, options=[o])
    c["mounts"].append(m)' "$FEATURES" "$TEST_TMP"
	set_cmd 'cat /proc/self/mountinfo'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	local o
	for o in ro nosuid nodev noexec noatime nodiratime relatime nosymfollow; do
		[ "$(feature "'$o' in f['mountOptions']")" = true ] || fail "$o is not listed"
		grep -E "^[0-9]+ [0-9]+ [^ ]+ [^ ]+ /mnt/$o [^ ]*\\b$o\\b" <<<"$output" >/dev/null ||
			fail "option $o did not reach the mount: $(grep " /mnt/$o " <<<"$output")"
	done
}

@test "features: every seccomp action, operator, architecture and supported flag is accepted" {
	mkdir -p "$TEST_TMP/agent"
	"$PYTHON" "$TESTS_LIB/seccomp-agent.py" "$TEST_TMP/agent/sock" "$TEST_TMP/agent" </dev/null >/dev/null 2>&1 3>&- &
	AGENT_PID=$!
	wait_for_file "$TEST_TMP/agent/ready" || fail "the seccomp agent did not start"
	# Each action on a syscall the container never makes; each operator on
	# one more; every architecture and every flag at once.
	update_config '
f = json.load(open(sys.argv[3]))["linux"]["seccomp"]
unused = ["acct", "swapon", "swapoff", "syslog", "quotactl", "vhangup", "kexec_load",
          "init_module", "delete_module", "iopl", "ioperm", "lookup_dcookie", "add_key",
          "request_key", "keyctl", "umount2", "sethostname"]
rules = []
for a in f["actions"]:
    if a != "SCMP_ACT_ALLOW":
        rules.append({"names": [unused.pop()], "action": a, "errnoRet": 1})
for op in f["operators"]:
    rules.append({"names": [unused.pop()], "action": "SCMP_ACT_ERRNO",
                  "args": [{"index": 0, "value": 7, "valueTwo": 7, "op": op}]})
c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": f["archs"],
    "flags": f["supportedFlags"], "listenerPath": sys.argv[4], "syscalls": rules}' \
		"$FEATURES" "$TEST_TMP/agent/sock"
	set_cmd 'grep Seccomp: /proc/self/status'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_matches 'Seccomp:[[:space:]]+2'
	[ -e "$TEST_TMP/agent/state-1.json" ] || sleep 1
	[ -e "$TEST_TMP/agent/state-1.json" ] || fail "SCMP_ACT_NOTIFY is listed but the agent got no listener"
}

@test "features: every namespace listed is created new, all at once" {
	update_config '
f = json.load(open(sys.argv[3]))
c["linux"]["namespaces"] = [{"type": t} for t in f["linux"]["namespaces"]]
if "user" in f["linux"]["namespaces"]:
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]' "$FEATURES"
	local names t
	names=$(feature '" ".join({"mount": "mnt", "network": "net"}.get(t, t) for t in f["linux"]["namespaces"])')
	[ -n "$names" ] || fail "no namespaces listed"
	set_cmd "for n in $names; do echo \$n \$(readlink /proc/self/ns/\$n); done"
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	for t in $names; do
		grep -q "^$t " <<<"$output" || fail "no $t namespace inside"
		grep -qxF "$t $(readlink "/proc/self/ns/$t")" <<<"$output" && fail "$t is the host's"
	done
	return 0
}

@test "features: the capabilities listed are the kernel's, each one can be set" {
	# as many as this kernel has
	assert_equal "$(feature 'len(f["linux"]["capabilities"])')" "$(($(cat /proc/sys/kernel/cap_last_cap) + 1))"
	# all at once, but for those our own bounding set lacks (a test
	# harness may run without CAP_SYS_RESOURCE)
	local host
	host=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
	update_config '
f = json.load(open(sys.argv[3]))
names = f["linux"]["capabilities"]
order = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
         "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
         "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
         "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
         "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
         "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
         "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
         "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"]
host = int(sys.argv[4], 16)
caps = [n for n in names if n not in order or host >> order.index(n) & 1]
c["process"]["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}' "$FEATURES" "$host"
	set_cmd 'grep CapBnd: /proc/self/status'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_equal "$(awk '{ print $2 }' <<<"$output")" "$host"
}

# AppArmor, SELinux and netDevices are implemented (lsm.bats, netdev.bats):
# enabled, as runc reports what it can do, not what this host has.
@test "features: what is reported disabled is refused by name" {
	assert_equal "$(feature 'f["linux"]["apparmor"]["enabled"]')" true
	assert_equal "$(feature 'f["linux"]["selinux"]["enabled"]')" true
	assert_equal "$(feature 'f["linux"]["intelRdt"]["enabled"]')" false
	assert_equal "$(feature 'f["linux"]["netDevices"]["enabled"]')" true
	local change field
	while IFS='|' read -r field change; do
		make_bundle hello "$TEST_TMP/b-${field//./-}"
		update_config "$change"
		ocirt run --bundle "$BUNDLE" "$ID"
		assert_failure
		assert_output_contains "not supported: $field"
		assert_one_line
		assert_no_leaks "$ID"
	done <<-'EOF'
		linux.intelRdt|c["linux"]["intelRdt"] = {"closID": "x"}
	EOF
}

# Where the kernel has the LSM off (this host: neither).
@test "features: exec --process refuses the LSM fields as create does" {
	set_args sleep 100
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	if [ ! -e /sys/fs/selinux/enforce ]; then
		printf '{"args": ["true"], "cwd": "/", "selinuxLabel": "x"}\n' >"$TEST_TMP/process.json"
		ocirt exec --process "$TEST_TMP/process.json" "$ID"
		assert_failure
		assert_output_contains "process.selinuxLabel: SELinux is not enabled on this host"
		assert_one_line
	fi
	[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" != Y ] || return 0
	printf '{"args": ["true"], "cwd": "/", "apparmorProfile": "x"}\n' >"$TEST_TMP/process.json"
	ocirt exec --process "$TEST_TMP/process.json" "$ID"
	assert_failure
	assert_output_contains "process.apparmorProfile: AppArmor is not enabled on this host"
	assert_one_line
}

# As runc's, the document says what this build can do: a host without
# systemd as PID 1 gets a driver that says so.
@test "features: the systemd cgroup driver is claimed exactly when this build has it" {
	set_args true
	ocirt --systemd-cgroup run --bundle "$BUNDLE" "$ID"
	if [ "$(feature 'f["linux"]["cgroup"]["systemd"]')" = true ]; then
		if [ -d /run/systemd/system ]; then
			assert_success
		else
			assert_failure
			assert_output_contains "--systemd-cgroup (systemd is not running)"
		fi
	else
		assert_failure
		assert_output_contains "not supported: "
	fi
}

@test "features: no annotation changes what ocirt does: potentiallyUnsafeConfigAnnotations is empty, not absent" {
	assert_equal "$(feature 'f["potentiallyUnsafeConfigAnnotations"]')" "[]"
}

# Field by field against runc's document: for each list, what runc has and
# ocirt lacks, and what ocirt has beyond it; for each flag, where the two
# disagree.  The expected differences are the deliberate ones (man/ocirt.8).
@test "features: the differences with runc features are the known ones" {
	is_runc && skip "OCIRT is runc itself"
	[ -x "$REF_RUNTIME" ] || skip "reference runtime not installed"
	"$REF_RUNTIME" features >"$TEST_TMP/runc.json" || skip "this runc has no features command"
	run python3 -c '
import json, sys
ours = json.load(open(sys.argv[1]))
theirs = json.load(open(sys.argv[2]))
def get(d, path):
    for k in path.split("."):
        d = (d or {}).get(k)
    return d
out = []
for path in ["hooks", "mountOptions", "linux.namespaces", "linux.capabilities",
             "linux.seccomp.actions", "linux.seccomp.operators", "linux.seccomp.archs"]:
    a, b = set(get(ours, path) or []), set(get(theirs, path) or [])
    for x in sorted(b - a):
        out.append("%s: runc only: %s" % (path, x))
    for x in sorted(a - b):
        out.append("%s: ocirt only: %s" % (path, x))
for path in ["linux.cgroup.v1", "linux.cgroup.v2", "linux.cgroup.systemd", "linux.cgroup.systemdUser",
             "linux.seccomp.enabled", "linux.apparmor.enabled", "linux.selinux.enabled"]:
    if get(ours, path) != get(theirs, path):
        out.append("%s: ocirt %s, runc %s" % (path, get(ours, path), get(theirs, path)))
print("\n".join(out))' "$FEATURES" "$TEST_TMP/runc.json"
	assert_success
	# What this host's runc 1.1.5 (libseccomp-golang 0.10) and ocirt list:
	# the architectures of the other byte order runc lists, it cannot load
	# either ("error adding architecture ...: numerical argument out of
	# domain"), so ocirt leaves them out; runc does not know RISCV64; the
	# rest is what ocirt does not implement (or runc 1.1 lacks).
	local known
	known=$(
		cat <<-'EOF'
			mountOptions: ocirt only: idmap
			mountOptions: ocirt only: ridmap
			linux.namespaces: ocirt only: time
			linux.seccomp.archs: runc only: SCMP_ARCH_MIPS
			linux.seccomp.archs: runc only: SCMP_ARCH_MIPS64
			linux.seccomp.archs: runc only: SCMP_ARCH_MIPS64N32
			linux.seccomp.archs: runc only: SCMP_ARCH_PPC
			linux.seccomp.archs: runc only: SCMP_ARCH_PPC64
			linux.seccomp.archs: runc only: SCMP_ARCH_S390
			linux.seccomp.archs: runc only: SCMP_ARCH_S390X
			linux.seccomp.archs: ocirt only: SCMP_ARCH_RISCV64
			linux.cgroup.systemd: ocirt False, runc True
			linux.cgroup.systemdUser: ocirt False, runc True
			linux.apparmor.enabled: ocirt False, runc True
		EOF
	)
	# Any other difference, either way, is news.
	local line
	while read -r line; do
		[ -n "$line" ] || continue
		grep -qxF "$line" <<<"$known" || fail "unexpected difference with runc: $line"
	done <<<"$output"
}
