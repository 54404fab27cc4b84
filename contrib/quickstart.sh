#!/bin/sh
# The main job, from a fresh Debian 12 checkout:
#   1. install what is missing (apt), 2. build ocirt and imgtool in ./build,
#   3. install them (`make install`: /usr/local/bin, man pages under
#      /usr/local/share/man; PREFIX=... picks another prefix),
#   4. bundle an image and run a container from it with the installed programs.
# Online the image is alpine from Docker Hub; offline it is a busybox image
# built here with umoci.  The image store and container state it uses live in
# one temporary directory that is removed at the end.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}

"$top/contrib/install-deps.sh"

echo "== building in $build" >&2
[ -x "$top/configure" ] || (cd "$top" && ./autogen.sh >/dev/null 2>&1)
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || "$top/configure" -q --prefix="${PREFIX:-/usr/local}"
make -s -j"$(nproc)" >/dev/null
bindir=$(make -s -f Makefile -f - print-bindir <<'MK'
print-bindir: ; @echo $(bindir)
MK
)
echo "== installing ocirt and imgtool in $bindir" >&2
make -s install >/dev/null

# From here on, the programs as a user's shell finds them.
hash -r
for prog in ocirt imgtool; do
	command -v "$prog" >/dev/null || {
		echo "quickstart: $prog was installed but is not on PATH ($PATH)" >&2
		exit 1
	}
done
work=$(mktemp -d /tmp/ocirt-quickstart.XXXXXX)
ocirt() { command ocirt --root "$work/state" "$@"; }
imgtool() { command imgtool --store "$work/store" "$@"; }
cleanup() {
	ocirt delete --force quickstart 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

if curl -s -o /dev/null -m 5 https://registry-1.docker.io/v2/; then
	image=alpine
else
	echo "== offline: building a busybox image with umoci" >&2
	(
		cd "$work"
		umoci init --layout image >/dev/null
		umoci new --image image:busybox >/dev/null
		umoci unpack --image image:busybox unpacked >/dev/null
		mkdir -p unpacked/rootfs/bin
		cp /bin/busybox unpacked/rootfs/bin/busybox
		for applet in sh ps hostname ip cat echo ls id; do
			ln -s busybox "unpacked/rootfs/bin/$applet"
		done
		umoci repack --image image:busybox unpacked >/dev/null
		umoci config --image image:busybox --os linux --architecture amd64 \
			--config.cmd /bin/sh --config.env PATH=/bin >/dev/null
		rm -rf unpacked
	)
	image=oci:$work/image:busybox
fi

echo "== imgtool bundle $image" >&2
imgtool bundle "$image" "$work/bundle"
echo "== ocirt run (the image's /bin/sh, reading these commands)" >&2
ocirt run -b "$work/bundle" quickstart <<'SH'
echo "hello from a container: hostname $(hostname), user $(id -u)"
echo "its processes:"; ps
echo "its network:"; ip link
SH
echo "== done: ocirt and imgtool are in $bindir; try" >&2
echo "     imgtool bundle alpine ./b && ocirt run -b ./b c1" >&2
echo "   (man ocirt, man imgtool; remove them with: make -C $build uninstall)" >&2
