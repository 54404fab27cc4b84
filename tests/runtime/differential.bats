#!/usr/bin/env bats
# Differential tests: the same bundle under Debian's runc and under ocirt
# (each with its own --root) must show the container the same world.

load ../lib/helpers

setup() {
	setup_test
	is_runc && skip "OCIRT is runc itself: nothing to compare against"
	[ -x "$REF_RUNTIME" ] || skip "reference runtime $REF_RUNTIME not installed"
	HOST_NS=""
	local n
	for n in cgroup ipc mnt net pid uts user time; do
		[ -e "/proc/self/ns/$n" ] && HOST_NS+="$n=$(readlink "/proc/self/ns/$n") "
	done
}

teardown() {
	teardown_test
}

# What the container reports, one labelled section each, with values that
# legitimately differ between two runs (pids of helpers, times) normalised.
PROBE='
echo "== processes"; ps -o pid,ppid,comm > /dev/shm/.ps; sed -E "1d; s/^ *1 +0 /init /; s/^ *[0-9]+ +1 /child /" /dev/shm/.ps; rm /dev/shm/.ps
echo "== hostname"; hostname
echo "== namespaces"
for kv in $HOST_NS; do
	n=${kv%%=*}; h=${kv#*=}
	[ -e /proc/self/ns/$n ] || continue
	if [ "$(readlink /proc/self/ns/$n)" = "$h" ]; then echo "$n host"; else echo "$n new"; fi
done
echo "== mounts"
while read -r id parent dev root mp opts rest; do
	fstype=${rest#*- }; fstype=${fstype%% *}
	echo "$mp $fstype ${opts%%,*}"
done < /proc/self/mountinfo | sort
echo "== ip link"; ip link
echo "== status"; grep -E "^(Uid|Gid|Groups|Umask|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status
echo "== uid_map"; cat /proc/self/uid_map /proc/self/gid_map
echo "== setgroups"; cat /proc/self/setgroups
echo "== ulimit"; ulimit -a
echo "== oom_score_adj"; cat /proc/self/oom_score_adj
echo "== dev"; cd /dev && for f in * pts/* mqueue/* shm/*; do [ -e "$f" ] || [ -L "$f" ] || continue; stat -c "%N %F %a %u:%g %t:%T" "$f"; done
echo "== env"; env | grep -v "^OCIRT_TEST_MARK=" | sort
echo "== cwd"; pwd
echo "== root"; ls -a / | tr "\n" " "; echo
echo "== masked"; for p in /proc/kcore /proc/keys /proc/timer_list /sys/firmware; do [ -e $p ] && echo "$p $(cat $p 2>/dev/null | wc -c)"; done
echo "== writable"; for d in / /tmp /dev /dev/shm /proc/sys /sys; do if touch $d/.probe 2>/dev/null; then echo "$d rw"; rm -f $d/.probe; else echo "$d ro"; fi; done
'

# compare_runtimes TEMPLATE [PYTHON-EDIT]: run PROBE in two identical
# bundles made from TEMPLATE, one per runtime, and diff what they saw.
compare_runtimes() {
	local template=$1 edit=${2:-}
	local b
	for b in ours ref; do
		make_bundle "$template" "$TEST_TMP/$b"
		[ -z "$edit" ] || update_config "$edit"
		update_config 'c["process"]["env"].append(sys.argv[3])' "HOST_NS=$HOST_NS"
		set_args sh -c "$PROBE"
	done

	ref run --bundle "$TEST_TMP/ref" "$ID-ref"
	assert_success
	local theirs=$output
	ocirt run --bundle "$TEST_TMP/ours" "$ID"
	assert_success
	local ours=$output
	local d
	if ! d=$(diff -u --label runc <(echo "$theirs") --label "$OCIRT_NAME" <(echo "$ours")); then
		fail "the container saw a different world under $OCIRT_NAME than under runc:"$'\n'"$d"
	fi
	# A probe that printed nothing would compare equal.
	[[ "$ours" == *"== writable"* ]] || fail "probe did not finish: $ours"
}

@test "differential: hello bundle" {
	compare_runtimes hello
}

@test "differential: runc's default spec (terminal off)" {
	compare_runtimes default 'c["process"]["terminal"] = False'
}

@test "differential: non-root user with additional groups and umask" {
	compare_runtimes nonroot
}

# bats test_tags=vm
@test "differential: rlimits, oomScoreAdj, cwd, env, cgroup namespace" {
	# runc 1.1 ignores domainname: leave it out of the comparison.
	compare_runtimes custom 'c.pop("domainname", None)'
}

@test "differential: user namespace with mappings" {
	compare_runtimes userns
}

@test "differential: writable rootfs, no network namespace" {
	compare_runtimes hello 'c["root"]["readonly"] = False; c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]'
}

@test "differential: all capabilities, noNewPrivileges off" {
	compare_runtimes hello '
caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE",
        "CAP_SETFCAP", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE"]
for s in ("bounding", "effective", "permitted", "inheritable"):
    c["process"]["capabilities"][s] = caps
c["process"]["noNewPrivileges"] = False'
}

@test "differential: extra mounts (tmpfs, read-only bind) and masked/readonly paths" {
	mkdir -p "$TEST_TMP/data"
	echo x >"$TEST_TMP/data/f"
	compare_runtimes hello '
c["mounts"].append({"destination": "/data", "type": "bind", "source": "'"$TEST_TMP"'/data", "options": ["rbind", "ro"]})
c["mounts"].append({"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=755"]})
c["linux"]["maskedPaths"].append("/etc/group")
c["linux"]["readonlyPaths"].append("/home")'
}

# spec_bundle DIR: `ocirt spec` in DIR plus a rootfs, run without a terminal.
# Only process.args/terminal/env change: what a new user would edit.
spec_bundle() {
	mkdir -p "$1"
	ocirt spec --bundle "$1"
	assert_success
	cp -a "$(rootfs_cache)" "$1/rootfs"
	rm -f "$1/rootfs/.done"
	BUNDLE=$1
	update_config 'c["process"]["env"].append(sys.argv[3])' "$MARK"
	set_cmd 'echo ran; grep NoNewPrivs /proc/self/status'
}

@test "spec: the config names the lowest ociVersion that covers it, and runs under runc" {
	spec_bundle "$TEST_TMP/spec"
	# every field `spec` writes is in runtime-spec 1.0.0
	assert_equal "$(json_field ociVersion <"$BUNDLE/config.json")" "1.0.0"
	ref run --bundle "$BUNDLE" "$ID-ref"
	assert_success
	local expected=$output
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output "$expected"
}

@test "spec: the config runs unchanged under crun 1.8, which refuses versions it does not know" {
	requires_crun
	spec_bundle "$TEST_TMP/spec"
	crun_ref run --bundle "$BUNDLE" "$ID-crun"
	assert_success
	assert_output $'ran\nNoNewPrivs:\t1'
	# the same config claiming a version past crun's: the check is real
	update_config 'c["ociVersion"] = "1.2.0"'
	crun_ref run --bundle "$BUNDLE" "$ID-crun"
	assert_failure
	assert_output_contains "unknown version"
}

# spec_like_runc [--rootless]: `spec` writes the document runc's `spec`
# writes on this host (a cgroup namespace on cgroup v2), hostname and
# ociVersion aside.
spec_like_runc() {
	requires_cmd "$REF_RUNTIME"
	mkdir -p "$TEST_TMP/ours" "$TEST_TMP/theirs"
	rm -f "$TEST_TMP/ours/config.json" "$TEST_TMP/theirs/config.json"
	ocirt spec "$@" --bundle "$TEST_TMP/ours"
	assert_success
	ref spec "$@" --bundle "$TEST_TMP/theirs"
	assert_success
	run python3 - "$TEST_TMP/ours/config.json" "$TEST_TMP/theirs/config.json" <<'PY'
import json, sys
ours, theirs = (json.load(open(p)) for p in sys.argv[1:])
for c in (ours, theirs):
    del c["hostname"], c["ociVersion"]
for k in sorted(set(ours) | set(theirs)):
    if ours.get(k) != theirs.get(k):
        print(k, json.dumps(ours.get(k)), "runc:", json.dumps(theirs.get(k)))
print(" ".join(n["type"] for n in ours["linux"]["namespaces"]))
PY
	assert_success
}

@test "spec and spec --rootless: runc's document for this host (a cgroup namespace on cgroup v2)" {
	local cgns=""
	cgroup_v2 && cgns=" cgroup"
	spec_like_runc
	assert_output "pid network ipc uts mount$cgns"
	spec_like_runc --rootless
	assert_output "pid ipc uts mount$cgns user"
}
