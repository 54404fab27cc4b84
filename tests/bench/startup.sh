#!/bin/sh
# Container start-up benchmark: ocirt, Debian's runc and crun, and a floor
# program, measured in one interleaved run.  Prints medians and ratios.
#
#   tests/bench/startup.sh [-n ROUNDS] [path/to/ocirt]
#
# Needs root, runc, crun, busybox-static, a C compiler and python3.
set -eu

rounds=100
if [ "${1:-}" = "-n" ]; then rounds=$2; shift 2; fi
here=$(cd "$(dirname "$0")" && pwd)
ocirt=${1:-$here/../../ocirt}
ocirt=$(cd "$(dirname "$ocirt")" && pwd)/$(basename "$ocirt")

work=$(mktemp -d /tmp/ocirt-bench.XXXXXX)
cleanup() {
	# Containers left by an interrupted run: delete them with their own runtime.
	for pair in ocirt="$ocirt" runc=runc crun=crun; do
		name=${pair%%=*} bin=${pair#*=}
		[ -d "$work/root-$name" ] || continue
		for c in "$work/root-$name"/*/; do
			[ -d "$c" ] && "$bin" --root "$work/root-$name" delete --force "$(basename "$c")" 2>/dev/null
		done
	done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

cc -O2 -o "$work/floor" "$here/floor.c"
cc -O2 -o "$work/maxrss" "$here/maxrss.c"

bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/dev" "$bundle/rootfs/sys" "$bundle/rootfs/tmp"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
for a in sh true; do ln -s busybox "$bundle/rootfs/bin/$a"; done
# The same default config for everyone (runc's `spec`), running /bin/true
# without a terminal.
(cd "$bundle" && runc spec)
python3 - "$bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
json.dump(c, open(p, "w"), indent=2)
PY

# crun 1.8 misdetects a hybrid host as cgroup v2 when the unified hierarchy
# has a cgroup.controllers file; hide it in a private mount namespace for the
# whole run, so every runtime sees the same view.
touch "$work/empty"
hide=""
if [ -f /sys/fs/cgroup/unified/cgroup.controllers ]; then
	hide="mount --bind $work/empty /sys/fs/cgroup/unified/cgroup.controllers &&"
fi
unshare -m --propagation private sh -c "$hide exec python3 '$here/startup.py' -n $rounds \
	--bundle '$bundle' --floor '$work/floor' --maxrss '$work/maxrss' --workdir '$work' \
	ocirt='$ocirt' runc=$(command -v runc) crun=$(command -v crun)"
