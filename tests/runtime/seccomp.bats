#!/usr/bin/env bats
# linux.seccomp: the filter is loaded into the container process, each
# action does what it says, a bad profile fails `create` cleanly, and the
# container sees the same as under runc with the same profile.

load ../lib/helpers

setup() {
	setup_test
	make_bundle hello
	update_config 'c["root"]["readonly"] = False'
}

teardown() {
	teardown_test
}

# set_seccomp JSON: linux.seccomp of $BUNDLE.
set_seccomp() {
	update_config 'c["linux"]["seccomp"] = json.loads(sys.argv[3])' "$1"
}

# Allow everything but mkdir (EPERM, explicit errnoRet), rmdir (ENOSYS) and
# kill with signal 10 (SIGUSR1): an argument comparison.
PROFILE='{
	"defaultAction": "SCMP_ACT_ALLOW",
	"architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
	"syscalls": [
		{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
		{"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
		{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
		 "args": [{"index": 1, "value": 10, "op": "SCMP_CMP_EQ"}]}
	]
}'

# What the profile above changes, as the container sees it.
PROBE='
grep Seccomp: /proc/self/status
mkdir /tmp/newdir 2>&1 || echo "mkdir status $?"
mkdir -p /tmp/keep 2>&1 && echo "not reached"
rmdir /tmp 2>&1
kill -0 $$ && echo "kill -0 allowed"
kill -USR1 $$ 2>&1 || echo "kill -USR1 denied"
echo done'

@test "seccomp: ERRNO rules return their errnoRet, other syscalls are untouched" {
	set_seccomp "$PROFILE"
	set_cmd 'mkdir /tmp/a; echo "mkdir=$?"; rmdir /tmp 2>&1; touch /tmp/f && echo touch-ok'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "Operation not permitted" "mkdir=1" "Function not implemented" "touch-ok"
	[ ! -e "$BUNDLE/rootfs/tmp/a" ] || fail "mkdir was not filtered"
}

@test "seccomp: without the profile the same commands succeed (the test is not vacuous)" {
	set_cmd 'mkdir /tmp/a; echo "mkdir=$?"; grep Seccomp: /proc/self/status'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "mkdir=0"
	assert_output_matches 'Seccomp:[[:space:]]+0'
}

@test "seccomp: an argument comparison filters one signal number only" {
	set_seccomp "$PROFILE"
	set_cmd 'kill -0 $$ && echo zero-ok; kill -USR1 $$ || echo usr1-denied; echo alive'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "zero-ok" "usr1-denied" "alive"
}

@test "seccomp: SCMP_ACT_KILL_PROCESS kills the container with SIGSYS" {
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]}'
	set_args mkdir /tmp/never
	ocirt run --bundle "$BUNDLE" "$ID"
	# 128 + SIGSYS (31)
	assert_status 159
	[ ! -e "$BUNDLE/rootfs/tmp/never" ] || fail "mkdir ran"
}

@test "seccomp: the filter is in place with and without noNewPrivileges" {
	local nnp
	for nnp in True False; do
		update_config "c['process']['noNewPrivileges'] = $nnp"
		set_seccomp "$PROFILE"
		set_cmd 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; mkdir /tmp/x 2>/dev/null || echo denied'
		ocirt run --bundle "$BUNDLE" "$ID"
		assert_success
		assert_output_matches 'Seccomp:[[:space:]]+2'
		assert_output_contains "denied"
		if [ "$nnp" = True ]; then
			assert_output_matches 'NoNewPrivs:[[:space:]]+1'
		else
			assert_output_matches 'NoNewPrivs:[[:space:]]+0'
		fi
	done
}

@test "seccomp: an unknown action fails create, names the field and leaves nothing" {
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_BOGUS"}]}'
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_failure
	ocirt_only "message wording"
	assert_output_contains "linux.seccomp.syscalls[0].action" "SCMP_ACT_BOGUS"
	assert_one_line
	[ ! -e "$STATE_ROOT/$ID" ] || fail "state dir left behind"
	assert_no_leaks "$ID"
}

@test "seccomp: an unknown default action, operator or architecture fails create" {
	local bad
	for bad in \
		'{"defaultAction": "SCMP_ACT_NOPE"}' \
		'{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]}' \
		'{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]}'; do
		set_seccomp "$bad"
		ocirt create --bundle "$BUNDLE" "$ID"
		assert_failure
		is_runc || assert_output_contains "linux.seccomp."
		assert_no_leaks "$ID"
	done
}

@test "seccomp: the container sees the same as under runc with the same profile" {
	is_runc && skip "OCIRT is runc itself"
	[ -x "$REF_RUNTIME" ] || skip "reference runtime not installed"
	local b
	for b in ours ref; do
		make_bundle hello "$TEST_TMP/$b"
		update_config 'c["root"]["readonly"] = False'
		set_seccomp "$PROFILE"
		set_cmd "$PROBE"
	done
	ref run --bundle "$TEST_TMP/ref" "$ID-ref"
	local theirs=$output their_status=$status
	ocirt run --bundle "$TEST_TMP/ours" "$ID"
	assert_status "$their_status"
	assert_equal "$output" "$theirs"
	assert_output_contains "kill -USR1 denied" "done"
}

@test "seccomp: KILL_PROCESS gives the same exit status as runc" {
	is_runc && skip "OCIRT is runc itself"
	[ -x "$REF_RUNTIME" ] || skip "reference runtime not installed"
	local b
	for b in ours ref; do
		make_bundle hello "$TEST_TMP/$b"
		update_config 'c["root"]["readonly"] = False'
		set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW",
			"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]}'
		set_args mkdir /tmp/never
	done
	ref run --bundle "$TEST_TMP/ref" "$ID-ref"
	local their_status=$status
	ocirt run --bundle "$TEST_TMP/ours" "$ID"
	assert_status "$their_status"
}

# bundles/seccomp-default.json: an allow list with SCMP_ACT_ERRNO (ENOSYS)
# as the default, the shape podman's and docker's default profiles have.
@test "seccomp: a podman-like default profile runs a shell, refuses unshare" {
	local nnp
	for nnp in False True; do
		make_bundle seccomp-default "$TEST_TMP/default-$nnp"
		update_config 'c["root"]["readonly"] = False'
		update_config "c['process']['noNewPrivileges'] = $nnp"
		set_cmd 'grep Seccomp: /proc/self/status; mkdir /tmp/d && rmdir /tmp/d && echo fs-ok
			ls / >/dev/null && echo ls-ok; (sleep 0 & wait) && echo fork-ok
			unshare -m true 2>&1 || echo unshare-denied'
		ocirt run --bundle "$BUNDLE" "$ID"
		assert_success
		assert_output_matches 'Seccomp:[[:space:]]+2'
		assert_output_contains "fs-ok" "ls-ok" "fork-ok" "Operation not permitted" "unshare-denied"
	done
}

@test "seccomp: the default profile behaves as under runc" {
	is_runc && skip "OCIRT is runc itself"
	[ -x "$REF_RUNTIME" ] || skip "reference runtime not installed"
	local b
	for b in ours ref; do
		make_bundle seccomp-default "$TEST_TMP/$b"
		update_config 'c["root"]["readonly"] = False'
		set_cmd 'grep -E "^(Seccomp|NoNewPrivs|CapEff):" /proc/self/status; mkdir /tmp/d && echo mkdir-ok
			unshare -m true 2>&1; mount -t tmpfs t /mnt 2>&1; echo end'
	done
	ref run --bundle "$TEST_TMP/ref" "$ID-ref"
	local theirs=$output their_status=$status
	ocirt run --bundle "$TEST_TMP/ours" "$ID"
	assert_status "$their_status"
	assert_equal "$output" "$theirs"
}

@test "features: seccomp is enabled, with libseccomp's actions, operators and architectures" {
	ocirt_only "features document"
	ocirt features
	assert_success
	run python3 -c '
import json, sys
f = json.loads(sys.argv[1])
s = f["linux"]["seccomp"]
assert s["enabled"] is True, s
for a in ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"]:
    assert a in s["actions"], a
assert "SCMP_ACT_NOTIFY" in s["actions"], "notify: seccomp-notify.bats"
assert "SCMP_CMP_MASKED_EQ" in s["operators"]
assert "SCMP_ARCH_X86_64" in s["archs"]
assert "io.github.seccomp.libseccomp.version" in f["annotations"]
print("ok")' "$output"
	assert_success
	assert_output "ok"
}

# Compiled filters are kept in a cache (runtime/seccomp-cache.c); these tests
# give it a directory of their own.  An entry: a 16-byte magic, the key's
# and the program's lengths (u32), the key (build id, libseccomp, profile),
# the program.
CACHE_TOOL='
import os, struct, sys
def load(p):
    b = open(p, "rb").read()
    kl, il = struct.unpack("<II", b[16:24])
    return b[:16], b[24:24 + kl], b[24 + kl:]
cmd, d = sys.argv[1], sys.argv[2]
names = sorted(os.listdir(d))
if cmd == "count":
    print(len(names))
elif cmd == "graft":  # entry A keeps its key and gets program B
    a, b = sys.argv[3], sys.argv[4]
    m, ka, _ = load(os.path.join(d, a))
    _, _, pb = load(os.path.join(d, b))
    open(os.path.join(d, a), "wb").write(m + struct.pack("<II", len(ka), len(pb) // 8) + ka + pb)
elif cmd == "flip":  # change one byte of the profile in the key
    m, k, p = load(os.path.join(d, sys.argv[3]))
    k = k.replace(b"SCMP_ACT_ERRNO", b"SCMP_ACT_ERRNP", 1)
    open(os.path.join(d, sys.argv[3]), "wb").write(m + struct.pack("<II", len(k), len(p) // 8) + k + p)
elif cmd == "key":
    print(load(os.path.join(d, sys.argv[3]))[1].decode())
'

# cache_run PROFILE: run the mkdir probe under PROFILE; "mkdir=STATUS".
cache_run() {
	set_seccomp "$1"
	set_cmd 'mkdir "$(mktemp -u /tmp/a.XXXXXX)" 2>/dev/null; echo "mkdir=$?"'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
}

@test "seccomp: a compiled filter is reused from the cache, looked up by the whole profile" {
	ocirt_only "the cache of compiled filters"
	export OCIRT_SECCOMP_CACHE="$TEST_TMP/cache"
	local allow='{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
		{"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}'
	cache_run "$allow"
	assert_output "mkdir=0"
	local b
	b=$(ls "$OCIRT_SECCOMP_CACHE")
	[ "$(stat -c %a "$OCIRT_SECCOMP_CACHE")" = 700 ] || fail "cache directory not 0700"
	cache_run "$PROFILE"
	assert_output "mkdir=1"
	run python3 -c "$CACHE_TOOL" count "$OCIRT_SECCOMP_CACHE"
	assert_output 2
	local a
	a=$(ls "$OCIRT_SECCOMP_CACHE" | grep -vx "$b")
	run python3 -c "$CACHE_TOOL" key "$OCIRT_SECCOMP_CACHE" "$a"
	assert_output_contains "build-id " "libseccomp " '"mkdirat"'

	# The deny profile's entry now carries the allow program: it is used.
	python3 -c "$CACHE_TOOL" graft "$OCIRT_SECCOMP_CACHE" "$a" "$b"
	cache_run "$PROFILE"
	assert_output "mkdir=0"

	# A directory others could write is not trusted: compiled afresh.
	chmod 755 "$OCIRT_SECCOMP_CACHE"
	cache_run "$PROFILE"
	assert_output "mkdir=1"
	chmod 700 "$OCIRT_SECCOMP_CACHE"

	# A key that differs in one byte is a miss, and the entry is rewritten.
	python3 -c "$CACHE_TOOL" flip "$OCIRT_SECCOMP_CACHE" "$a"
	cache_run "$PROFILE"
	assert_output "mkdir=1"
	run python3 -c "$CACHE_TOOL" key "$OCIRT_SECCOMP_CACHE" "$a"
	assert_output_contains '"SCMP_ACT_ERRNO"'
}

@test "seccomp: OCIRT_SECCOMP_CACHE=off compiles every time and writes nothing" {
	ocirt_only "the cache of compiled filters"
	export OCIRT_SECCOMP_CACHE=off
	cache_run "$PROFILE"
	assert_output "mkdir=1"
	cache_run "$PROFILE"
	assert_output "mkdir=1"
	[ "$(ls -A "$TEST_TMP" | grep -c cache)" = 0 ] || fail "off wrote a cache"
	[ ! -e "$TEST_TMP/state/off" ] && [ ! -e "$BUNDLE/off" ] && [ ! -e /off ] || fail "off is a directory name"
}
