#!/usr/bin/env bats
# imgtool bundle --overlay: layers unpacked once into the store in
# overlayfs's form, bundles that are overlay mounts of them; unbundle,
# bundles, --remount, and gc/rm keeping what a bundle uses.
#
# Every mount a test makes is under its own $WORK, and teardown unmounts
# exactly those (deepest first) before removing $WORK.

bats_require_minimum_version 1.5.0

TESTS_DIR=$(dirname "$(readlink -f "$BATS_TEST_FILENAME")")
: "${IMGTOOL:=${TOP_BUILDDIR:-$TESTS_DIR/../..}/imgtool/imgtool}"
: "${OCIRT:=${TOP_BUILDDIR:-$TESTS_DIR/../..}/ocirt}"
RUNC=${RUNC:-$(command -v runc || echo /usr/sbin/runc)}
BUSYBOX=${BUSYBOX:-/bin/busybox}
PYTHON=/usr/bin/python3

setup_file() {
	[ -x "$IMGTOOL" ] || skip "imgtool not built: $IMGTOOL"
	[ -x "$BUSYBOX" ] || skip "needs busybox-static"
	FILE_TMP=$(mktemp -d /tmp/imgtool-overlay.XXXXXX)
	chmod 755 "$FILE_TMP"
	mkdir -m 755 "$FILE_TMP/outside"
	"$PYTHON" "$TESTS_DIR/make-images.py" "$FILE_TMP/layout" "$BUSYBOX" "$FILE_TMP/outside"
	export FILE_TMP
}

teardown_file() {
	[ -n "${FILE_TMP:-}" ] && rm -rf "$FILE_TMP"
}

setup() {
	[ -n "${FILE_TMP:-}" ] || skip "no test images"
	[ "$(id -u)" -eq 0 ] || skip "needs root (overlay mounts)"
	grep -qw overlay /proc/filesystems || skip "needs overlayfs"
	WORK=$(mktemp -d "$FILE_TMP/work.XXXXXX")
	LAYOUT="$FILE_TMP/layout"
	STORE="$WORK/store"
	CID="imgtool-ovl-$$-$BATS_TEST_NUMBER"
	RUNC_ROOT="$WORK/runc-root"
	OCIRT_ROOT="$WORK/ocirt-root"
}

# The mount points under $WORK that we reach, deepest first: a process that
# runs `mount --rbind / /` meanwhile leaves copies of them in mountinfo,
# under its copy of /, which nothing here can reach (statx tells them apart).
mounts_under_work() {
	"$PYTHON" - "$WORK/" <<-'EOF'
		import ctypes, sys
		libc = ctypes.CDLL(None, use_errno=True)
		buf = ctypes.create_string_buffer(256)
		def mnt_id(path):  # statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID)
		    if libc.statx(-100, path.encode(), 0x100, 0x1000, buf) != 0:
		        return None
		    return int.from_bytes(buf.raw[144:152], "little")
		points = []
		for line in open("/proc/self/mountinfo"):
		    f = line.split()
		    p = f[4].encode().decode("unicode_escape")
		    if p.startswith(sys.argv[1]) and mnt_id(p) == int(f[0]):
		        points.append(p)
		print("\n".join(sorted(set(points), reverse=True)))
	EOF
}

teardown() {
	[ -n "${WORK:-}" ] || return 0
	"$RUNC" --root "$RUNC_ROOT" delete -f "$CID" >/dev/null 2>&1 || true
	[ -x "$OCIRT" ] && "$OCIRT" --root "$OCIRT_ROOT" delete -f "$CID" >/dev/null 2>&1 || true
	local m
	for m in $(mounts_under_work); do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	# A copy of one of our mounts under someone else's copy of / keeps its
	# directory busy: say so rather than fail the test for it.
	rm -rf "$WORK" 2>/dev/null || echo "# $WORK: left, busy in a copy of / made by another process" >&3
}

imgtool() {
	"$IMGTOOL" --store "$STORE" "$@"
}

# The image `tag` of the test layout, in the store as localhost/layout:tag.
pull() {
	run -0 imgtool -q pull "oci:$LAYOUT:$1"
}

# getfattr, from python (the attr package may be missing).
xattr() {
	"$PYTHON" -c 'import os, sys; print(os.getxattr(sys.argv[1], sys.argv[2]).decode())' "$1" "$2" 2>/dev/null
}

is_overlay_mount() {
	[ "$(findmnt -n -o FSTYPE --mountpoint "$1")" = overlay ]
}

# What the container sees, but for what overlayfs reports on its own terms
# (a directory's size and link count; the mtime of a directory a layer only
# implies) and the 0/0 device overlayfs cannot hold (it means a whiteout).
listing() {
	(cd "$1" && find . ! -path ./dev/null \( -type d -printf '%p %y %m %U %G\n' -o -printf '%p %y %m %U %G %s %n %l\n' \) | sort)
}

@test "bundle --overlay: an overlay mount of layers in overlayfs form, seen as a copy bundle sees it" {
	pull overlay
	run -0 imgtool bundle --overlay localhost/layout:overlay "$WORK/o"
	[ "$output" = "imgtool: warning: \`dev/null\`: a 0/0 character device skipped (overlayfs reads it as a whiteout)" ]
	run -0 imgtool bundle localhost/layout:overlay "$WORK/c"
	[ -c "$WORK/c/rootfs/dev/null" ]
	is_overlay_mount "$WORK/o/rootfs"
	! is_overlay_mount "$WORK/c/rootfs"
	[ -d "$WORK/o/.overlay/upper" ] && [ -d "$WORK/o/.overlay/work" ]
	cmp "$WORK/o/config.json" "$WORK/c/config.json"
	# four layers, one directory each, named by chain ID
	[ "$(ls "$STORE/layers" | wc -l)" -eq 4 ]
	local o=$WORK/o/rootfs c=$WORK/c/rootfs
	[ "$(listing "$o")" = "$(listing "$c")" ]
	# whiteouts (also of a file two layers down) and opaque directories
	[ ! -e "$o/gone" ] && [ ! -e "$o/gone-file" ] && [ ! -e "$o/kept" ]
	[ "$(ls -A "$o/opaque")" = new ]
	[ "$(ls -A "$o/home/alice")" = fresh ]
	# in the layers: 0/0 character devices and the opaque xattr
	run -0 find "$STORE/layers" -name gone-file -type c
	[ "$(stat -c %t:%T "$output")" = 0:0 ]
	local d n=0
	for d in "$STORE"/layers/*/home/alice; do
		[ "$(xattr "$d" trusted.overlay.opaque)" = y ] && n=$((n + 1))
	done
	[ "$n" -eq 1 ]
	# the layer's own trusted.overlay.opaque on bin/ never reaches the mount
	for d in "$STORE"/layers/*/bin; do
		run ! xattr "$d" trusted.overlay.opaque
	done
	[ -x "$o/bin/busybox" ]
	# hardlinks: within a layer and to a file of a lower layer
	[ "$(stat -c %i "$o/bin/busybox")" = "$(stat -c %i "$o/bin/hardlink")" ]
	[ "$(stat -c %i "$o/etc/xattr-file")" = "$(stat -c %i "$o/etc/link-in-layer")" ]
	# xattrs, setuid/setgid, ownership
	[ "$(xattr "$o/etc/xattr-file" user.color)" = blue ]
	[ "$(stat -c %a "$o/usr/bin/setuid")" = 4755 ] && [ "$(stat -c %a "$o/usr/bin/setgid")" = 2755 ]
	[ "$(stat -c %u:%g:%a "$o/home/alice")" = 1000:1000:750 ]
	[ "$(stat -c %u:%g:%a "$o/home/alice/fresh")" = 1000:1000:644 ]
}

@test "runc and ocirt run an overlay bundle as they run the copy; writes land in the upper dir only" {
	pull overlay
	run -0 imgtool bundle localhost/layout:overlay "$WORK/c"
	run -0 imgtool bundle --overlay localhost/layout:overlay "$WORK/o"
	run -0 "$RUNC" --root "$RUNC_ROOT" run -b "$WORK/c" "$CID"
	local expected=$output
	[ "$expected" = "$(printf 'fresh\nx')" ]
	run -0 "$RUNC" --root "$RUNC_ROOT" run -b "$WORK/o" "$CID"
	[ "$output" = "$expected" ]
	if [ -x "$OCIRT" ]; then
		run -0 "$OCIRT" --root "$OCIRT_ROOT" run -b "$WORK/o" "$CID"
		[ "$output" = "$expected" ]
	fi

	# a write, and a delete of a lower file, from inside the container
	local cfg=$WORK/o/config.json
	jq '.process.args = ["/bin/sh", "-c", "echo written >/written; rm /etc/motd"] | .process.user = {"uid": 0, "gid": 0}' \
		"$cfg" >"$WORK/cfg" && cp "$WORK/cfg" "$cfg"
	run -0 "$RUNC" --root "$RUNC_ROOT" run -b "$WORK/o" "$CID"
	[ "$(cat "$WORK/o/.overlay/upper/written")" = written ]
	[ -c "$WORK/o/.overlay/upper/etc/motd" ]
	[ -z "$(find "$STORE/layers" -name written)" ]
	[ "$(find "$STORE/layers" -name motd -type f | wc -l)" -eq 1 ]
	# a second bundle of the same image sees none of it
	run -0 imgtool bundle --overlay localhost/layout:overlay "$WORK/o2"
	[ ! -e "$WORK/o2/rootfs/written" ]
	[ "$(cat "$WORK/o2/rootfs/etc/motd")" = "third layer" ]
}

@test "a warm overlay bundle unpacks nothing; concurrent bundles of one image share the layers" {
	pull overlay
	run -0 imgtool -v bundle --overlay localhost/layout:overlay "$WORK/a"
	[ "$(grep -c "unpacked into the store's cache" <<<"$output")" -eq 4 ]
	local before
	before=$(ls -i "$STORE/layers")
	run -0 imgtool -v bundle --overlay localhost/layout:overlay "$WORK/b"
	[[ "$output" != *"unpacked into the store's cache"* ]]
	[ "$(ls -i "$STORE/layers")" = "$before" ]

	# four at once, from a cold cache
	rm -rf "$STORE/layers"
	umount "$WORK/a/rootfs" "$WORK/b/rootfs"
	local pids=() i
	for i in 1 2 3 4; do
		"$IMGTOOL" --store "$STORE" bundle --overlay localhost/layout:overlay "$WORK/p$i" 2>"$WORK/err$i" &
		pids+=($!)
	done
	for i in 0 1 2 3; do
		wait "${pids[$i]}"
	done
	[ "$(ls -A "$STORE/layers" | wc -l)" -eq 4 ]
	for i in 1 2 3 4; do
		[ -x "$WORK/p$i/rootfs/bin/busybox" ]
	done
}

@test "bundles lists overlay bundles; --remount mounts one again; unbundle leaves nothing mounted" {
	pull overlay
	run -0 imgtool bundle --overlay localhost/layout:overlay "$WORK/o"
	run -0 imgtool bundles
	[[ "${lines[0]}" == BUNDLE*IMAGE*STATE ]]
	[[ "${lines[1]}" == "$WORK/o "*"localhost/layout:overlay"*" mounted" ]]
	[ "${#lines[@]}" -eq 2 ]

	# as after a reboot
	umount "$WORK/o/rootfs"
	run -0 imgtool bundles
	[[ "${lines[1]}" == *"not mounted (imgtool bundle --remount DIR)" ]]
	run -0 imgtool bundle --remount "$WORK/o"
	is_overlay_mount "$WORK/o/rootfs"
	[ -x "$WORK/o/rootfs/bin/busybox" ]
	run -0 imgtool bundle --remount "$WORK/o" # already mounted: nothing to do
	[ "$(mounts_under_work | wc -l)" -eq 1 ]

	# a layer directory that went away is made again
	umount "$WORK/o/rootfs"
	rm -rf "$STORE/layers"
	run -0 imgtool bundle --remount "$WORK/o"
	[ -x "$WORK/o/rootfs/bin/busybox" ]

	run -0 imgtool unbundle "$WORK/o"
	[ ! -e "$WORK/o" ]
	[ -z "$(mounts_under_work)" ]
	run -0 imgtool bundles
	[ "${#lines[@]}" -eq 1 ]
	[ -z "$(ls -A "$STORE/bundles")" ]
}

@test "gc and rm keep what an overlay bundle uses and name it; after unbundle gc frees it" {
	pull overlay
	pull root
	run -0 imgtool bundle --overlay localhost/layout:overlay "$WORK/o"
	local blobs
	blobs=$(ls "$STORE/blobs/sha256" | wc -l)
	run -0 imgtool rm localhost/layout:overlay
	[ "${lines[0]}" = "Untagged: localhost/layout:overlay" ]
	[ "${lines[1]}" = "Kept: its layers are used by overlay bundle $WORK/o" ]
	run -0 imgtool gc
	# manifest, config and the four layers, one of them root's too
	[ "${lines[0]}" = "Kept 5 blobs used by overlay bundle $WORK/o (localhost/layout:overlay)" ]
	[ "${lines[1]}" = "Deleted 0 blobs, freed 0 B" ]
	[ "$(ls "$STORE/blobs/sha256" | wc -l)" -eq "$blobs" ]
	[ "$(ls "$STORE/layers" | wc -l)" -eq 4 ]
	# the bundle still works, and can be remounted from the store
	umount "$WORK/o/rootfs"
	run -0 imgtool bundle --remount "$WORK/o"
	run -0 "$RUNC" --root "$RUNC_ROOT" run -b "$WORK/o" "$CID"
	[ "$output" = "$(printf 'fresh\nx')" ]

	run -0 imgtool unbundle "$WORK/o"
	run -0 imgtool gc
	[[ "${lines[0]}" == "Deleted 5 blobs, freed "* ]]
	[ "${lines[1]}" = "Deleted 4 cached layers" ]
	[ -z "$(ls -A "$STORE/layers")" ]
	# root:v1's blobs stayed
	run -0 imgtool bundle localhost/layout:root "$WORK/r"
}

@test "unbundle removes a copy bundle too, and refuses what is not a bundle" {
	pull root
	run -0 imgtool bundle localhost/layout:root "$WORK/c"
	run -0 imgtool unbundle "$WORK/c"
	[ ! -e "$WORK/c" ]

	mkdir -p "$WORK/plain/rootfs"
	touch "$WORK/plain/config.json"
	run -1 imgtool unbundle "$WORK/plain"
	[ "$output" = "imgtool: \`$WORK/plain\` is not an imgtool bundle (it has no .imgtool-bundle)" ]
	[ -e "$WORK/plain/config.json" ]
	run -1 imgtool unbundle "$WORK/nothing"
	[ "$output" = "imgtool: bundle \`$WORK/nothing\` does not exist" ]
	run -1 imgtool unbundle "$WORK/plain/config.json"
	[[ "$output" == *"is not an imgtool bundle (not a directory)" ]]
	run -1 imgtool bundle --remount "$WORK/plain"
	[[ "$output" == *"is not an imgtool bundle (it has no .imgtool-bundle)" ]]
	run -2 imgtool bundle --remount "$WORK/plain" "$WORK/c"
	[[ "$output" == *"--remount expects DIR alone (see \`imgtool bundle --help\`)" ]]
	run -2 imgtool unbundle
	[[ "$output" == *"expected at least one DIR (see \`imgtool unbundle --help\`)" ]]
	for c in unbundle bundles; do
		run -0 "$IMGTOOL" "$c" --help
		[[ "$output" == "Usage: imgtool $c"* ]]
	done
	[ "$(ls -A "$WORK")" = "$(printf 'plain\nstore')" ]
}

@test "unbundle refuses a bundle with something else mounted inside, and removes nothing" {
	pull root
	run -0 imgtool bundle --overlay localhost/layout:root "$WORK/o"
	mkdir "$WORK/host" && touch "$WORK/host/precious"
	mkdir "$WORK/o/rootfs/mnt"
	mount --bind "$WORK/host" "$WORK/o/rootfs/mnt"
	run -1 imgtool unbundle "$WORK/o"
	[[ "$output" == *"\`$WORK/o/rootfs/mnt\` is mounted inside the bundle: unmount it first"* ]]
	[ -e "$WORK/host/precious" ]
	is_overlay_mount "$WORK/o/rootfs"
	umount "$WORK/o/rootfs/mnt"
	run -0 imgtool unbundle "$WORK/o"
	[ ! -e "$WORK/o" ]
	[ -z "$(mounts_under_work)" ]
}

@test "bad input: DIR exists, a local source, a layer that fails; nothing is left behind" {
	pull root
	mkdir "$WORK/b" && touch "$WORK/b/mine"
	run -1 imgtool bundle --overlay localhost/layout:root "$WORK/b"
	[[ "$output" == *"bundle \`$WORK/b\` already exists"* ]]
	[ "$(ls -A "$WORK/b")" = mine ]

	run -2 imgtool bundle --overlay "oci:$LAYOUT:root" "$WORK/x"
	[[ "$output" == *"--overlay shares layers through the store: \`imgtool pull oci:$LAYOUT:root\` first"* ]]
	[ ! -e "$WORK/x" ]

	# pulled (blobs verify), but the config's last diff_id is wrong
	pull diffid-mismatch
	run -1 imgtool bundle --overlay localhost/layout:diffid-mismatch "$WORK/x"
	[[ "$output" == *"diff_id mismatch: expected sha256:0000000000000000"* ]]
	[ ! -e "$WORK/x" ]
	! compgen -G "$WORK/x.tmp-*"
	[ -z "$(mounts_under_work)" ]
	[ -z "$(ls -A "$STORE/bundles" 2>/dev/null)" ]
	# the good lower layer stays cached, no half-made entry
	[ "$(ls -A "$STORE/layers")" = "$(ls "$STORE/layers")" ]
	[ "$(ls -A "$STORE/layers" | wc -l)" -eq 1 ]
}

@test "a half-made layer entry left by a crash is never used" {
	pull root
	run -0 imgtool bundle --overlay localhost/layout:root "$WORK/o"
	local chain
	chain=$(ls "$STORE/layers")
	run -0 imgtool unbundle "$WORK/o"
	# as if killed before the rename: only the temporary exists, half full
	mv "$STORE/layers/$chain" "$STORE/layers/.tmp-$chain"
	rm "$STORE/layers/.tmp-$chain/bin/busybox"
	run -0 imgtool bundle --overlay localhost/layout:root "$WORK/o"
	[ -x "$WORK/o/rootfs/bin/busybox" ]
	[ "$(ls -A "$STORE/layers")" = "$chain" ]
}

@test "a bundle removed without unbundle shows as gone; unbundle DIR then drops its record" {
	pull root
	run -0 imgtool bundle --overlay localhost/layout:root "$WORK/o"
	umount "$WORK/o/rootfs"
	rm -rf "$WORK/o"
	run -0 imgtool bundles
	[[ "${lines[1]}" == "$WORK/o "*"gone (the directory is not this bundle)" ]]
	run -0 imgtool rm localhost/layout:root
	run -0 imgtool gc
	[[ "${lines[0]}" == "Kept 3 blobs used by overlay bundle $WORK/o (localhost/layout:root)" ]]
	run -0 imgtool unbundle "$WORK/o"
	[ "$output" = "Dropped the record of overlay bundle $WORK/o (its directory is gone)" ]
	run -0 imgtool gc
	[[ "${lines[0]}" == "Deleted 3 blobs, freed "* ]]
	[ "${lines[1]}" = "Deleted 1 cached layers" ]
	run -1 imgtool unbundle "$WORK/o"
	[ "$output" = "imgtool: bundle \`$WORK/o\` does not exist" ]
}

@test "rm of a name that points at an index names the overlay bundle made from it" {
	[ "$(uname -m)" = x86_64 ] || skip "the test index has amd64 and arm64"
	pull multi
	run -0 imgtool bundle --overlay localhost/layout:multi "$WORK/o"
	run -0 imgtool rm localhost/layout:multi
	[ "$output" = "$(printf 'Untagged: localhost/layout:multi\nKept: its layers are used by overlay bundle %s' "$WORK/o")" ]
}
