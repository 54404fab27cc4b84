#!/bin/bash
# Shared helpers for the bats suites in tests/runtime/.
#
# Each test gets its own state root (--root), its own bundle directory and
# container ids that no other test (or other user of this machine) uses, so
# teardown can remove exactly what the test created and then check that
# nothing was left behind.
#
# OCIRT selects the runtime under test: make check sets it to the built
# binary; OCIRT=runc runs the same tests against Debian's runc, which is how
# the tests themselves are checked.

TESTS_LIB=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
TOP_SRCDIR=${TOP_SRCDIR:-$(readlink -f "$TESTS_LIB/../..")}
BUNDLES_DIR="$TOP_SRCDIR/bundles"

: "${OCIRT:=${TOP_BUILDDIR:-$TOP_SRCDIR}/ocirt}"
if [[ "$OCIRT" != */* ]]; then
	OCIRT=$(command -v "$OCIRT" || echo "$OCIRT")
fi
OCIRT_NAME=$(basename "$OCIRT")
# The reference runtime for differential tests.
REF_RUNTIME=${REF_RUNTIME:-$(command -v runc || echo /usr/sbin/runc)}
# A second one where it is installed (tests/lib/crun wraps it).
CRUN=${CRUN:-$(command -v crun || true)}
export CRUN
BUSYBOX=${BUSYBOX:-$(command -v busybox || echo /bin/busybox)}
# Debian's interpreter: a version-manager shim would cost a second per call.
if [ -z "${PYTHON:-}" ]; then
	if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=$(command -v python3); fi
fi
python3() {
	"$PYTHON" "$@"
}
# Seconds any single runtime command may take before it counts as hung.
OCIRT_CMD_TIMEOUT=${OCIRT_CMD_TIMEOUT:-60}

# `run --separate-stderr` needs this declaration (bats >= 1.5).
if type bats_require_minimum_version >/dev/null 2>&1; then
	bats_require_minimum_version 1.5.0
fi

# ---------------------------------------------------------------- skips

# True when the runtime under test is runc, so ocirt-only wording is skipped.
is_runc() {
	[ "$OCIRT_NAME" = runc ]
}

# Skip an assertion about ocirt's own wording or output format.
ocirt_only() {
	if is_runc; then
		skip "ocirt-specific: ${1:-output format}"
	fi
}

requires_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

requires_crun() {
	[ -n "$CRUN" ] && [ -x "$CRUN" ] || skip "needs crun"
}

# cgroup_v2: the host is pure cgroup v2 (make check-vm's guest; this
# development machine is hybrid).
cgroup_v2() {
	[ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]
}

requires_cgroup_v2() {
	cgroup_v2 || skip "needs a pure cgroup v2 host (make check-vm)"
}

requires_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs $c"
	done
}

# ---------------------------------------------------------------- setup

# Call from setup(): a fresh state root, scratch dir and unique ids.
# Everything lives under $BATS_TMPDIR, world-traversable so that a container
# whose root is mapped to an unprivileged host uid can still reach its rootfs.
setup_test() {
	requires_root
	[ -x "$OCIRT" ] || skip "runtime under test not built: $OCIRT"
	[ -x "$BUSYBOX" ] || skip "needs busybox-static"
	TEST_TMP=$(mktemp -d "${BATS_TMPDIR:-/tmp}/ocirt-test.XXXXXX")
	chmod 755 "$TEST_TMP"
	STATE_ROOT="$TEST_TMP/state"
	mkdir -p "$STATE_ROOT"
	UNIQ=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	# Container ids of this test: "$ID", "$ID-2", ... all contain $UNIQ.
	ID="t$UNIQ"
	# Every process the runtime starts carries this variable (the runtime's
	# environment and process.env of every bundle made here), so a leftover
	# process can be found without guessing at pids.
	MARK="OCIRT_TEST_MARK=$UNIQ"
	NETNS_CREATED=()
	cd "$TEST_TMP" || return 1
}

# Call from teardown(): remove every container, then fail on anything left.
teardown_test() {
	[ -n "${TEST_TMP:-}" ] || return 0
	cd / || true
	local ct
	# The reference runtime's containers (see `ref`) first, then ours.
	if [ -d "$TEST_TMP/ref-state" ]; then
		for ct in $(ls "$TEST_TMP/ref-state"); do
			timeout 60 "$REF_RUNTIME" --root "$TEST_TMP/ref-state" delete --force "$ct" >/dev/null 2>&1 || true
		done
	fi
	if [ -d "$TEST_TMP/crun-state" ]; then
		for ct in $(ls "$TEST_TMP/crun-state"); do
			timeout 60 "$TESTS_LIB/crun" --root "$TEST_TMP/crun-state" delete --force "$ct" >/dev/null 2>&1 || true
		done
	fi
	for ct in $(list_containers); do
		__ocirt delete --force "$ct" >/dev/null 2>&1 </dev/null
	done
	# The parent use_test_cgroup made (runtimes leave parents in place);
	# once its containers are gone it is empty, else find_leaks names them.
	[ -z "${TEST_CGROUP:-}" ] || rmdir "$TEST_CGROUP" 2>/dev/null || true
	local leaks
	leaks=$(find_leaks)
	# Nothing found, nothing to clean (each scan of /proc and the cgroup
	# tree costs seconds under emulation, tests/vm).
	[ -z "$leaks" ] || cleanup_leaks
	local ns
	for ns in "${NETNS_CREATED[@]}"; do
		ip netns delete "$ns" 2>/dev/null || true
	done
	# Never recurse into a mount that could not be removed: it may be a bind
	# of something that is not ours.
	if [ -z "$(leaked_mounts)" ]; then
		rm -rf --one-file-system "$TEST_TMP"
	else
		leaks+=$'\n'"(left $TEST_TMP in place: mounts remain under it)"
	fi
	if [ -n "$leaks" ]; then
		echo "teardown found leftovers:" >&2
		echo "$leaks" >&2
		return 1
	fi
}

# Ids of this test's containers: the runtime's list plus any state dir.
list_containers() {
	{
		__ocirt list -q 2>/dev/null </dev/null
		find "$STATE_ROOT" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null
	} | sort -u | grep -v '^$' || true
}

# ---------------------------------------------------------------- runtime

# Raw call: the runtime with this test's --root, bounded in time.
__ocirt() {
	timeout -k 5 "$OCIRT_CMD_TIMEOUT" env "$MARK" "$OCIRT" --root "$STATE_ROOT" "$@"
}

# The runtime without --root, for tests of the global flags themselves.
ocirt_raw() {
	timeout -k 5 "$OCIRT_CMD_TIMEOUT" env "$MARK" "$OCIRT" "$@"
}

# Run the runtime like bats' `run`: sets $status, $output and $lines.
# stdout/stderr go to a file, not a pipe: a detached container inherits
# them and would otherwise keep the capture open until it exits.
# $OUT_FILE names that file (a container started here keeps writing to it).
ocirt() {
	OUT_FILE=$(mktemp "$TEST_TMP/out.XXXXXX")
	status=0
	__ocirt "$@" </dev/null >"$OUT_FILE" 2>&1 || status=$?
	output=$(cat "$OUT_FILE")
	lines=()
	[ -z "$output" ] || mapfile -t lines <<<"$output"
	# bats shows this only when the test fails.
	echo "$OCIRT_NAME $* (status=$status):" >&2
	echo "$output" >&2
}

# Same, with the reference runtime (runc) and its own state root.
ref() {
	mkdir -p "$TEST_TMP/ref-state"
	OUT_FILE=$(mktemp "$TEST_TMP/out.XXXXXX")
	status=0
	timeout -k 5 "$OCIRT_CMD_TIMEOUT" env "$MARK" "$REF_RUNTIME" --root "$TEST_TMP/ref-state" "$@" \
		</dev/null >"$OUT_FILE" 2>&1 || status=$?
	output=$(cat "$OUT_FILE")
	lines=()
	[ -z "$output" ] || mapfile -t lines <<<"$output"
	echo "ref $* (status=$status):" >&2
	echo "$output" >&2
}

# The same with crun (tests/lib/crun), for bundles that must run under it too.
crun_ref() {
	mkdir -p "$TEST_TMP/crun-state"
	OUT_FILE=$(mktemp "$TEST_TMP/out.XXXXXX")
	status=0
	timeout -k 5 "$OCIRT_CMD_TIMEOUT" env "$MARK" "$TESTS_LIB/crun" --root "$TEST_TMP/crun-state" "$@" \
		</dev/null >"$OUT_FILE" 2>&1 || status=$?
	output=$(cat "$OUT_FILE")
	lines=()
	[ -z "$output" ] || mapfile -t lines <<<"$output"
	echo "crun $* (status=$status):" >&2
	echo "$output" >&2
}

# ---------------------------------------------------------------- rootfs

# One busybox rootfs per bats run, copied into each bundle (cheap: one
# binary and symlinks), so tests may change their copy freely.
rootfs_cache() {
	local cache="${BATS_RUN_TMPDIR:-${BATS_TMPDIR:-/tmp}}/busybox-rootfs"
	if [ ! -e "$cache/.done" ]; then
		rm -rf "$cache"
		mkdir -p "$cache/bin"
		cp "$BUSYBOX" "$cache/bin/busybox"
		# One relative symlink per applet, made in one process.
		"$cache/bin/busybox" --list | python3 -c '
import os, sys
for applet in sys.stdin.read().split():
    if applet != "busybox":
        os.symlink("busybox", os.path.join(sys.argv[1], applet))
' "$cache/bin"
		mkdir -p "$cache"/{proc,sys,dev,tmp,etc,root,home,var,run}
		mkdir -p "$cache/usr" && ln -s ../bin "$cache/usr/bin" && ln -s bin "$cache/sbin"
		chmod 1777 "$cache/tmp"
		printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$cache/etc/passwd"
		printf 'root:x:0:\nwheel:x:10:\nusers:x:100:\nnogroup:x:65534:\n' >"$cache/etc/group"
		touch "$cache/.done"
	fi
	echo "$cache"
}

# make_bundle TEMPLATE [DIR]: DIR (default $TEST_TMP/bundle) gets a rootfs
# and bundles/TEMPLATE.json as config.json. Sets $BUNDLE.
make_bundle() {
	local template=$1 dir=${2:-$TEST_TMP/bundle}
	local cache marked
	cache=$(rootfs_cache)
	mkdir -p "$dir"
	chmod 755 "$dir"
	cp -a "$cache" "$dir/rootfs"
	rm -f "$dir/rootfs/.done"
	# The template with a place for the mark at the end of process.env, made
	# once per bats run beside the rootfs (python's start costs half a
	# second under emulation, tests/vm); each bundle gets its test's mark.
	marked=${cache%/*}/$template.marked.json
	if [ ! -e "$marked" ]; then
		cp "$BUNDLES_DIR/$template.json" "$marked.$$"
		update_config_file "$marked.$$" 'c["process"].setdefault("env", []).append("OCIRT_TEST_MARK=@UNIQ@")'
		mv "$marked.$$" "$marked"
	fi
	sed "s/OCIRT_TEST_MARK=@UNIQ@/$MARK/" "$marked" >"$dir/config.json"
	BUNDLE=$dir
}

# update_config PYTHON [ARGS...]: edit $BUNDLE/config.json; the statements
# see the parsed document as `c` and their own arguments as sys.argv[3:].
update_config() {
	update_config_file "$BUNDLE/config.json" "$@"
}

# update_config_file FILE PYTHON [ARGS...]: the same on FILE.
update_config_file() {
	local file=$1 code=$2
	shift 2
	python3 - "$file" "$code" "$@" <<'EOF'
import json, sys
path = sys.argv[1]
with open(path) as f:
    c = json.load(f)
exec(sys.argv[2])
with open(path, "w") as f:
    json.dump(c, f, indent="\t")
    f.write("\n")
EOF
}

# set_args ARG...: process.args of $BUNDLE; terminal off.
set_args() {
	update_config 'c["process"]["args"] = sys.argv[3:]; c["process"]["terminal"] = False' "$@"
}

# set_cmd 'SHELL TEXT': process.args = sh -c TEXT.
set_cmd() {
	set_args sh -c "$1"
}

# add_namespace TYPE [PATH]
add_namespace() {
	update_config '
ns = c["linux"].setdefault("namespaces", [])
ns[:] = [n for n in ns if n["type"] != sys.argv[3]]
n = {"type": sys.argv[3]}
if len(sys.argv) > 4: n["path"] = sys.argv[4]
ns.append(n)' "$@"
}

# use_test_cgroup [ID]: on cgroup v2, linux.cgroupsPath of $BUNDLE becomes
# /ocirt-test-$UNIQ/ID (default $ID), and $TEST_CGROUP that parent's
# directory (teardown_test removes it).  A relative path (the default) puts
# the container below the caller's own cgroup, which on v2 has processes and
# so can enable no controller for its children: limits need a parent without
# processes, which is what containerd and podman give runtimes too.  On v1 a
# no-op: the default path takes limits there.
use_test_cgroup() {
	cgroup_v2 || return 0
	TEST_CGROUP=/sys/fs/cgroup/ocirt-test-$UNIQ
	update_config 'c["linux"]["cgroupsPath"] = sys.argv[3]' "/ocirt-test-$UNIQ/${1:-$ID}"
}

# cgroup_dir ID: the host directory of the container's cgroup: on v2 the one
# directory, on v1 the one of controller $2 (default memory).
cgroup_dir() {
	local root=/sys/fs/cgroup d
	# Where use_test_cgroup put it, without a walk of the whole tree.
	if [ -n "${TEST_CGROUP:-}" ] && [ -d "$TEST_CGROUP/$1" ]; then
		echo "$TEST_CGROUP/$1"
		return 0
	fi
	cgroup_v2 || root=/sys/fs/cgroup/${2:-memory}
	d=$(find "$root" -maxdepth 8 -type d -name "$1" 2>/dev/null | head -1)
	[ -n "$d" ] || fail "no cgroup directory for $1 under $root" || return 1
	echo "$d"
}

# ---------------------------------------------------------------- state

# json_field KEY < JSON: print one top-level field of a JSON object.
json_field() {
	python3 -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else v)' "$1"
}

# container_status ID: its status, or "missing" when state fails.
container_status() {
	local out
	out=$(__ocirt state "$1" 2>/dev/null </dev/null) || {
		echo missing
		return 0
	}
	json_field status <<<"$out"
}

container_pid() {
	__ocirt state "$1" 2>/dev/null </dev/null | json_field pid
}

# wait_for_status ID STATUS [SECONDS]
wait_for_status() {
	local id=$1 want=$2 secs=${3:-10}
	local i cur
	for ((i = 0; i < secs * 20; i++)); do
		cur=$(container_status "$id")
		[ "$cur" = "$want" ] && return 0
		sleep 0.05
	done
	echo "container $id: status is '$cur', expected '$want' after ${secs}s" >&2
	return 1
}

# ---------------------------------------------------------------- asserts

fail() {
	echo "$@" >&2
	return 1
}

# assert_status N: the last ocirt/ref/run call exited with N.
assert_status() {
	[ "$status" -eq "$1" ] || fail "expected exit status $1, got $status; output:" $'\n'"$output"
}

assert_success() {
	assert_status 0
}

# assert_failure: non-zero exit status.
assert_failure() {
	[ "$status" -ne 0 ] || fail "expected failure, got status 0; output:" $'\n'"$output"
}

# assert_output TEXT: the whole output equals TEXT.
assert_output() {
	[ "$output" = "$1" ] || fail "expected output:" $'\n'"$1" $'\n'"got:" $'\n'"$output"
}

# assert_output_contains TEXT...: each TEXT occurs in the output.
assert_output_contains() {
	local t
	for t in "$@"; do
		[[ "$output" == *"$t"* ]] || fail "expected output to contain '$t'; got:" $'\n'"$output"
	done
}

# assert_output_contains_ci TEXT...: the same, ignoring case (strerror
# text is "Not a directory" from libc and "not a directory" from Go).
assert_output_contains_ci() {
	local t
	for t in "$@"; do
		[[ "${output,,}" == *"${t,,}"* ]] || fail "expected output to contain '$t' (any case); got:" $'\n'"$output"
	done
}

assert_output_not_contains() {
	local t
	for t in "$@"; do
		[[ "$output" != *"$t"* ]] || fail "expected output not to contain '$t'; got:" $'\n'"$output"
	done
}

# assert_output_matches ERE
assert_output_matches() {
	[[ "$output" =~ $1 ]] || fail "expected output to match /$1/; got:" $'\n'"$output"
}

# assert_one_line: errors are reported as one line.
assert_one_line() {
	[ "${#lines[@]}" -eq 1 ] || fail "expected one line of output, got ${#lines[@]}:" $'\n'"$output"
}

assert_equal() {
	[ "$1" = "$2" ] || fail "expected:" $'\n'"$2" $'\n'"got:" $'\n'"$1"
}

# ---------------------------------------------------------------- leaks

# Pids of live processes started by this test's runtime calls: those with
# the mark in their environment, and those holding a file of this test's
# scratch dir open (a runtime that re-execs itself with a clean environment
# still holds exec.fifo in the state dir while blocked).
marked_pids() {
	{
		grep -lsxzF "$MARK" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3
		find /proc/[0-9]*/fd -lname "$TEST_TMP/*" 2>/dev/null | cut -d/ -f3
	} | sort -un | while read -r p; do
		[ "$p" != "$$" ] && [ "$p" != "$BASHPID" ] && pid_alive "$p" && echo "$p"
	done
	return 0
}

# Mount points (host mount namespace) under this test's scratch dir.
leaked_mounts() {
	awk -v p="$TEST_TMP" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo
}

# Cgroup directories whose name contains this test's unique tag.
leaked_cgroups() {
	find /sys/fs/cgroup -maxdepth 7 -type d -name "*$UNIQ*" 2>/dev/null || true
}

# find_leaks [ID]: print what the test's runtime calls left behind
# (for ID only, or for the whole test).
find_leaks() {
	local id=${1:-} d p m c
	if [ -n "$id" ]; then
		[ ! -e "$STATE_ROOT/$id" ] || echo "state dir: $STATE_ROOT/$id"
	else
		for d in "$STATE_ROOT"/*/; do
			[ -d "$d" ] && echo "state dir: $d"
		done
	fi
	# A process may still be on its way out right after delete/kill.
	local i
	for ((i = 0; i < 40; i++)); do
		p=$(marked_pids)
		[ -z "$p" ] && break
		sleep 0.05
	done
	for p in $p; do
		echo "process: $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
	done
	for m in $(leaked_mounts); do
		echo "mount: $m"
	done
	for c in $(leaked_cgroups); do
		if [ -z "$id" ] || [[ "$c" == *"$id"* ]]; then
			echo "cgroup: $c"
		fi
	done
}

# assert_no_leaks [ID]
assert_no_leaks() {
	local leaks
	leaks=$(find_leaks "$@")
	[ -z "$leaks" ] || fail "left behind:" $'\n'"$leaks"
}

# Remove what find_leaks reports, so one failure does not spill into the
# next test. Only this test's processes, mounts and cgroups are touched.
cleanup_leaks() {
	local p m c
	for p in $(marked_pids); do
		kill -9 "$p" 2>/dev/null || true
	done
	local i
	for ((i = 0; i < 20; i++)); do
		[ -z "$(marked_pids)" ] && break
		sleep 0.05
	done
	for m in $(leaked_mounts | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
	for c in $(leaked_cgroups | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2-); do
		rmdir "$c" 2>/dev/null || true
	done
}

# ---------------------------------------------------------------- misc

# make_netns: a named network namespace for this test, removed by
# teardown_test; sets $NETNS_PATH.
make_netns() {
	local name="ocirt-$UNIQ-${#NETNS_CREATED[@]}"
	ip netns add "$name" || return 1
	NETNS_CREATED+=("$name")
	NETNS_PATH="/var/run/netns/$name"
}

# pid_alive PID: the process exists and is not a zombie waiting for a reaper.
# (bash alone, no program started: the waits poll it, and under emulation
# (tests/vm) each program costs a tenth of a second.)
pid_alive() {
	local line st
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
	# The state follows the command name, which may hold spaces and parens.
	st=${line##*) }
	st=${st%% *}
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# wait_for_file PATH [SECS]: true once PATH exists (a helper's "ready"
# mark), within SECS seconds (10).
wait_for_file() {
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# wait_gone PID...: true once none of them is alive (a zombie is not: it
# waits for a reaper that may never come); 5 s at most.
wait_gone() {
	local i p alive
	for ((i = 0; i < 100; i++)); do
		alive=0
		for p in "$@"; do
			pid_alive "$p" && alive=1
		done
		[ "$alive" -eq 0 ] && return 0
		sleep 0.05
	done
	return 1
}

# ns_members PID: the host pids in PID's pid namespace, PID itself left out
# (zombies included).
ns_members() {
	local d
	[ -e "/proc/$1/ns/pid" ] || return 0
	# -ef: the same namespace is the same nsfs inode (no readlink started
	# for each process).
	for d in /proc/[0-9]*; do
		[ "${d#/proc/}" != "$1" ] && [ "$d/ns/pid" -ef "/proc/$1/ns/pid" ] && echo "${d#/proc/}"
	done
	return 0
}

# Host hard limit of an rlimit as `ulimit` prints it (-n, -u, ...).
host_hard_limit() {
	ulimit -H "$1"
}
