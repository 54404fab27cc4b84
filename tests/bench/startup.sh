#!/bin/sh
# Container start-up benchmark: ocirt, Debian's runc and crun, and a floor
# program, measured in one interleaved run, for a plain and a realistic config
# (docker's/podman's default seccomp profile, memory and pids limits, masked
# and read-only paths, 4 env entries).  Times `run` and the
# create/start/wait/delete cycle clients drive, peak RSS, and prints medians,
# ratios and issue 12's targets.  See startup.py.
#
#   tests/bench/startup.sh [-n ROUNDS] [-g GAP_MS] [path/to/ocirt]
#
# -g sleeps GAP_MS before each timed `run` and `create`: the first cgroup
# migration after an idle spell then waits for an RCU grace period, as a
# node's sparse creates do (back-to-back creates mostly skip it).
#   BENCH_TMPDIR=/tmp tests/bench/startup.sh ...   # work files on that filesystem
#
# Needs root, runc, crun, busybox-static, a C compiler, libseccomp-dev and python3.
set -eu

rounds=100 gap=0
while :; do
	case ${1:-} in
	-n) rounds=$2; shift 2 ;;
	-g) gap=$2; shift 2 ;;
	*) break ;;
	esac
done
here=$(cd "$(dirname "$0")" && pwd)
ocirt=${1:-$here/../../ocirt}
[ -f "$ocirt" ] && [ -x "$ocirt" ] || {
	echo "startup.sh: no ocirt at $ocirt (pass its path)" >&2
	exit 1
}
ocirt=$(cd "$(dirname "$ocirt")" && pwd)/$(basename "$ocirt")
runc=$(command -v runc) crun=$(command -v crun)

# State roots and pid files live on tmpfs where clients put them (/run on a
# real host; containerd's and podman's pid files too): /dev/shm, unless
# BENCH_TMPDIR says otherwise (a disk-backed directory adds journal commits).
tmpdir=${BENCH_TMPDIR:-/dev/shm}
# (The rootfs is in there too: it must allow exec.)
if [ -z "${BENCH_TMPDIR:-}" ] && { [ "$(stat -f -c %T "$tmpdir" 2>/dev/null)" != tmpfs ] ||
	findmnt -no OPTIONS --target "$tmpdir" | grep -qw noexec; }; then
	tmpdir=/tmp
fi
work=$(mktemp -d "$tmpdir/ocirt-bench.XXXXXX")
cgroup=ocirt-bench-${work##*.}
cleanup() {
	# startup.py cleans up after itself, even on SIGINT/SIGTERM; this is
	# for a python that died hard.  crun goes through tests/lib/crun.
	trap - EXIT INT TERM
	for pair in ocirt="$ocirt" runc="$runc" crun="$here/../lib/crun"; do
		name=${pair%%=*} bin=${pair#*=}
		for c in "$work/state-$name"/*/; do
			[ -d "$c" ] && "$bin" --root "$work/state-$name" delete --force "$(basename "$c")" >/dev/null 2>&1
		done
	done
	for d in /sys/fs/cgroup/*/"$cgroup"; do
		[ -d "$d" ] || continue
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cc -O2 -o "$work/floor" "$here/floor.c" -lseccomp
cc -O2 -o "$work/maxrss" "$here/maxrss.c"

rootfs=$work/rootfs
mkdir -p "$rootfs/bin" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys" "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
for a in sh true; do ln -s busybox "$rootfs/bin/$a"; done
# Both configs start from `ocirt spec`; startup.py writes one bundle per
# runtime and config, each with its own cgroupsPath under /$cgroup.
mkdir "$work/spec"
(cd "$work/spec" && "$ocirt" spec)

python3 "$here/startup.py" -n "$rounds" --gap "$gap" --rootfs "$rootfs" --base-config "$work/spec/config.json" \
	--seccomp "$here/../../bundles/seccomp-default.json" --floor "$work/floor" --maxrss "$work/maxrss" \
	--workdir "$work" ocirt="$ocirt" runc="$runc" crun="$crun"
