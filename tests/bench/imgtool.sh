#!/bin/bash
# imgtool benchmark (issue 3, "Speed"): on one local registry and in one
# interleaved run, a cold `imgtool bundle` vs `skopeo copy` + `umoci unpack`,
# a warm bundle vs `umoci unpack` from a layout, and imgtool's layer unpack
# vs `gzip -dc | tar -x`.  Prints medians, ratios and the targets as
# met/MISSED.
#
#   tests/bench/imgtool.sh [-n ROUNDS] [path/to/imgtool]
#
# The image is a Debian bookworm minbase rootfs (about 170 MB unpacked) in
# three gzip layers.  The rootfs tarball is made once with debootstrap and kept
# in $BENCH_CACHE (default /var/cache/ocirt-bench), with the OCI layout built
# from it.  The registry is Debian's docker-registry on 127.0.0.1 with TLS
# from a test CA and token authentication (anonymous pull), as in the tests:
# every client pays the same token round trip.
#
# Every run is warm-cache (the page cache is not dropped): the blobs were
# just pushed, so they are in memory for every tool alike.  Between tasks the
# previous task's output is removed (set aside on the host filesystem, see
# below) and `sync`ed, untimed.
#
# Where the tools write: by default a fresh ext4 (mkfs defaults, so with a
# journal, as on most hosts) on a loop device made for the run.  The host's
# own filesystem remembers what was deleted on it: an ext4 without a journal
# (this sandbox's root) scans past every inode freed in the last minutes on
# each create, so a tree deleted by another run or another tenant slows all
# tools down by an amount that changes from run to run.  BENCH_FS=host
# measures on the host filesystem instead, under /var/tmp, keeping every
# output until the end so that the run's own deletions do not do that.
#
# Needs root, docker-registry, skopeo, umoci, openssl, curl, jq, python3,
# gzip, tar, and debootstrap plus Debian's mirror when the cache is empty.
set -euo pipefail

rounds=5
if [ "${1:-}" = "-n" ]; then
	rounds=$2
	shift 2
fi
here=$(cd "$(dirname "$0")" && pwd)
imgtool=${1:-${IMGTOOL:-$here/../../imgtool/imgtool}}
[ -f "$imgtool" ] && [ -x "$imgtool" ] || {
	echo "imgtool.sh: no imgtool at $imgtool (pass its path)" >&2
	exit 1
}
imgtool=$(cd "$(dirname "$imgtool")" && pwd)/$(basename "$imgtool")
[ "$(id -u)" = 0 ] || {
	echo "imgtool.sh: needs root (bundles keep the image's owners and device nodes)" >&2
	exit 1
}

# shellcheck source=../lib/registry.bash
. "$here/../lib/registry.bash"
registry_have_tools >&2 || exit 1
for t in python3 gzip tar unshare; do
	command -v "$t" >/dev/null || {
		echo "imgtool.sh: missing $t" >&2
		exit 1
	}
done

cache=${BENCH_CACHE:-/var/cache/ocirt-bench}
suite=bookworm
rootfs_tar=$cache/$suite-minbase.tar
layout=$cache/$suite-minbase.oci
tag=bench
mkdir -p "$cache"

work=$(mktemp -d /var/tmp/imgtool-bench.XXXXXX)
loopdev=
cleanup() {
	registry_stop
	if [ -n "$loopdev" ]; then
		umount "$work/fs" 2>/dev/null || umount -l "$work/fs"
		losetup -d "$loopdev" 2>/dev/null || true
	fi
	rm -rf "$work" "$cache"/*.tmp.*
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -f "$rootfs_tar" ]; then
	command -v debootstrap >/dev/null || {
		echo "imgtool.sh: $rootfs_tar is missing and debootstrap is not installed (apt-get install debootstrap)" >&2
		exit 1
	}
	echo "building $rootfs_tar with debootstrap (once)..." >&2
	tmp=$(mktemp -d "$cache/rootfs.tmp.XXXXXX")
	debootstrap --variant=minbase "$suite" "$tmp/rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
		>"$tmp/debootstrap.log" 2>&1 || {
		tail -20 "$tmp/debootstrap.log" >&2
		exit 1
	}
	rm -f "$tmp"/rootfs/var/cache/apt/archives/*.deb
	tar --numeric-owner --xattrs -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" .
	mv "$tmp/rootfs.tar" "$rootfs_tar"
	rm -rf "$tmp"
fi

if [ ! -f "$layout/index.json" ] || [ "$rootfs_tar" -nt "$layout/index.json" ]; then
	echo "building the OCI image $layout (once)..." >&2
	rm -rf "$layout"
	tmp=$(mktemp -d "$cache/layout.tmp.XXXXXX")
	python3 "$here/imgtool.py" image "$rootfs_tar" "$tmp/oci" "$tag"
	mv "$tmp/oci" "$layout"
	rm -rf "$tmp"
fi

# Outputs are removed between tasks on it: a few GB are plenty.
mkdir "$work/fs"
if [ "${BENCH_FS:-loop}" = loop ]; then
	fs_gb=4
	truncate -s "${fs_gb}G" "$work/fs.img"
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$work/fs.img"
	# Direct I/O: the loop device's writes do not pass through the page
	# cache a second time (as the host file's).
	loopdev=$(losetup -f --show --direct-io=on "$work/fs.img")
	mount "$loopdev" "$work/fs"
	fs_note="a fresh ${fs_gb} GB ext4 (journal) on $loopdev, outputs removed between tasks"
	keep=
else
	fs_note="the host filesystem ($(findmnt -no FSTYPE -T "$work/fs"), $(findmnt -no SOURCE -T "$work/fs")), outputs kept to the end"
	keep=--keep-outputs
fi

registry_start "$work/registry"
image_push "$layout" "$tag" "bench/debian:$tag"

echo "imgtool: $imgtool ($("$imgtool" --version 2>&1 | head -1))"
echo "skopeo: $(skopeo --version); umoci: $(umoci --version); $(gzip --version | head -1); $(tar --version | head -1)"
echo "registry: docker-registry on $REGISTRY, TLS (test CA), token auth, anonymous pull"
echo "output: $fs_note"
python3 "$here/imgtool.py" run -n "$rounds" --imgtool "$imgtool" --ref "$REGISTRY/bench/debian:$tag" \
	--ca "$REGISTRY_CA" --certs "$REGISTRY_DIR/certs" --work "$work/fs" $keep
