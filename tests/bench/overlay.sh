#!/bin/bash
# imgtool bundle --overlay vs copy mode (issue 12): the time of a warm
# bundle (the image in the store; for --overlay its layers in the store's
# cache too) and the disk ten bundles take.  Prints medians and ratios.
#
#   tests/bench/overlay.sh [-n ROUNDS] [path/to/imgtool]
#
# The image is made here, from files of this host, in three gzip layers:
# /usr/lib/python3.* and busybox, /usr/share/man, and a small top layer with
# whiteouts, an opaque directory and a hardlink into a lower layer (about
# 150 MB unpacked, some 20,000 files; the exact size depends on the host).
# Nothing else is needed: no registry, no debootstrap.
#
# Every run is warm-cache.  Between tasks the previous output is removed
# (unbundle for overlay bundles) and `sync`ed, untimed.  The store and the
# bundles live on a fresh ext4 on a loop device (mkfs defaults, with a
# journal): the host's filesystem may remember recent deletions and slow
# creates down from run to run (see imgtool.sh).  The whole run is in a
# mount namespace of its own, so that its mounts go with it.  Needs root.
set -euo pipefail

if [ -z "${OVERLAY_BENCH_NS:-}" ]; then
	OVERLAY_BENCH_NS=1 exec unshare -m --propagation private "$0" "$@"
fi

rounds=5
if [ "${1:-}" = "-n" ]; then
	rounds=$2
	shift 2
fi
here=$(cd "$(dirname "$0")" && pwd)
imgtool=${1:-${IMGTOOL:-$here/../../imgtool/imgtool}}
[ -f "$imgtool" ] && [ -x "$imgtool" ] || {
	echo "overlay.sh: no imgtool at $imgtool (pass its path)" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || {
	echo "overlay.sh: needs root (overlay mounts)" >&2
	exit 1
}
busybox=${BUSYBOX:-/bin/busybox}
pylib=$(ls -d /usr/lib/python3.[0-9]* | head -1)
for p in "$busybox" "$pylib" /usr/share/man; do
	[ -e "$p" ] || {
		echo "overlay.sh: needs $p" >&2
		exit 1
	}
done

work=$(mktemp -d "${BENCH_DIR:-/var/tmp}/imgtool-overlay-bench.XXXXXX")
loopdev=
cleanup() {
	umount -R "$work/fs" 2>/dev/null || umount -R -l "$work/fs" 2>/dev/null || true
	[ -z "$loopdev" ] || losetup -d "$loopdev" || true
	rm -rf "$work"
}
trap cleanup EXIT
truncate -s 4G "$work/fs.img"
mkfs.ext4 -q -F -N 1000000 -E lazy_itable_init=0,lazy_journal_init=0 "$work/fs.img"
loopdev=$(losetup -f --show --direct-io=on "$work/fs.img")
mkdir "$work/fs"
mount "$loopdev" "$work/fs"
store=$work/fs/store

echo "building the image from $pylib, /usr/share/man and busybox..." >&2
python3 - "$work/fs/layout" "$busybox" "$pylib" <<'EOF'
import gzip, hashlib, io, json, os, sys, tarfile
layout, busybox, pylib = sys.argv[1:4]
blobs = os.path.join(layout, "blobs", "sha256")
os.makedirs(blobs)
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, d), "wb").write(data)
    return "sha256:" + d
def layer(add):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        add(t)
    raw = buf.getvalue()
    return raw, gzip.compress(raw, 6, mtime=0)
def tree(t, src, dst):
    t.add(src, arcname=dst, recursive=True)
def one(t, name, kind=tarfile.REGTYPE, data=b"", link=""):
    ti = tarfile.TarInfo(name); ti.type = kind; ti.mode = 0o644; ti.mtime = 1700000000
    ti.linkname = link; ti.size = len(data)
    t.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
def l1(t):
    tree(t, pylib, pylib.lstrip("/"))
    t.add(busybox, arcname="bin/busybox")
def l2(t):
    tree(t, "/usr/share/man", "usr/share/man")
def l3(t):
    man = sorted(os.listdir("/usr/share/man"))
    one(t, "usr/share/man/.wh." + man[0])
    one(t, "usr/share/man/%s/.wh..wh..opq" % man[-1], data=b"")
    one(t, "bin/busybox-link", tarfile.LNKTYPE, link="bin/busybox")
    one(t, "etc/motd", data=b"top layer\n")
layers = [layer(f) for f in (l1, l2, l3)]
descs = [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(z), "size": len(z)}
         for _, z in layers]
cfg = json.dumps({"architecture": "amd64", "os": "linux",
                  "config": {"Entrypoint": ["/bin/busybox"], "Cmd": ["true"]},
                  "rootfs": {"type": "layers",
                             "diff_ids": ["sha256:" + hashlib.sha256(r).hexdigest() for r, _ in layers]}}).encode()
m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cfg),
                           "size": len(cfg)}, "layers": descs}).encode()
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": put(m), "size": len(m),
           "annotations": {"org.opencontainers.image.ref.name": "bench"}}]},
          open(os.path.join(layout, "index.json"), "w"))
open(os.path.join(layout, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
print("%.1f MB compressed, %.1f MB uncompressed" % (sum(len(z) for _, z in layers) / 1e6,
                                                   sum(len(r) for r, _ in layers) / 1e6), file=sys.stderr)
EOF
img() { "$imgtool" --store "$store" "$@"; }
img -q pull "oci:$work/fs/layout:bench" >/dev/null
ref=localhost/layout:bench

# seconds of wall time of "$@"
timed() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>&1
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

cold=$(timed img bundle --overlay "$ref" "$work/fs/cold")
img unbundle "$work/fs/cold"
sync
copy_t=() ovl_t=()
for r in $(seq "$rounds"); do
	copy_t+=("$(timed img bundle "$ref" "$work/fs/c")")
	img unbundle "$work/fs/c"
	sync
	ovl_t+=("$(timed img bundle --overlay "$ref" "$work/fs/o")")
	img unbundle "$work/fs/o"
	sync
	echo "round $r: copy ${copy_t[-1]} s, overlay ${ovl_t[-1]} s" >&2
done
copy_m=$(printf '%s\n' "${copy_t[@]}" | median)
ovl_m=$(printf '%s\n' "${ovl_t[@]}" | median)

for i in $(seq 10); do
	img bundle "$ref" "$work/fs/dc$i" >/dev/null
	img bundle --overlay "$ref" "$work/fs/do$i" >/dev/null
done
sync
kb() { du -skxc "$@" | tail -1 | cut -f1; }
copy_kb=$(kb "$work"/fs/dc*)
ovl_kb=$(kb "$work"/fs/do*)
layers_kb=$(kb "$store/layers")
for i in $(seq 10); do
	img unbundle "$work/fs/dc$i" "$work/fs/do$i"
done

printf '\n%d rounds, median wall seconds\n' "$rounds"
printf '  cold --overlay bundle (layers unpacked into the cache): %.3f\n' "$cold"
printf '  warm copy bundle:                                      %.3f\n' "$copy_m"
printf '  warm --overlay bundle:                                 %.3f\n' "$ovl_m"
printf '  overlay / copy:                                        %.3f\n' "$(echo "$ovl_m / $copy_m" | bc -l)"
printf '\ndisk, ten bundles (du -x: an overlay bundle counts its own files, not the mount)\n'
printf '  copy:     %8d KiB\n' "$copy_kb"
printf '  overlay:  %8d KiB, plus the shared layer cache %d KiB once\n' "$ovl_kb" "$layers_kb"
printf '  (overlay + cache) / copy = %.3f\n' "$(echo "($ovl_kb + $layers_kb) / $copy_kb" | bc -l)"
