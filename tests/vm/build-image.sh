#!/bin/bash
# Build, once, what tests/vm/run.sh boots: Debian 12's own kernel and a
# Debian 12 root filesystem with systemd, packed as a gzipped cpio initramfs.
# Both are cached outside the checkout and reused by every run; this script
# does nothing when the cache is complete.
#
#   tests/vm/build-image.sh [--rebuild]
#
# The cache ($OCIRT_VM_CACHE, default /var/cache/ocirt-vm) holds:
#   vmlinuz          the kernel, taken out of linux-image-<version>-amd64
#   base.cpio.gz     the root filesystem, /init first (see make_init)
#   image.stamp      what the two were built from; a different recipe rebuilds
#   modules.cpio.gz  the kernel modules the suites load, a second archive
#   modules.stamp    their own recipe
#   base.cpio        base.cpio.gz uncompressed, what run.sh boots: the
#                    guest's kernel inflates 400 MB of gzip at emulated speed
#                    (half a minute of every boot), the host in seconds, once
#
# Environment: OCIRT_VM_CACHE, OCIRT_VM_MIRROR (default
# http://deb.debian.org/debian), OCIRT_VM_KERNEL (an exact package name such
# as linux-image-6.1.0-57-amd64; default: what linux-image-amd64 depends on),
# OCIRT_VM_EXTRA_PACKAGES (more guest packages, for later suites:
# containerd, podman, conmon, criu ...).
#
# Exit status 77 (with the reason on stderr) when the image cannot be had
# here: qemu, cpio or debootstrap missing and not root (or no apt) to install
# them, no image and not root to build one, or the mirror is unreachable.
set -euo pipefail

cache=${OCIRT_VM_CACHE:-/var/cache/ocirt-vm}
mirror=${OCIRT_VM_MIRROR:-http://deb.debian.org/debian}
# The combined keyring fails to verify bookworm's Release file on this kind of
# host ("Invalid Release signature"); the per-release one works.
keyring=/usr/share/keyrings/debian-archive-bookworm-automatic.gpg

# What the guest needs: systemd as PID 1 (dbus for systemd's cgroup
# delegation to transient units), the bats suites and their helpers, runc as
# the control runtime, and the libraries ocirt links (ldd build/ocirt).
# procps and psmisc: the suites read /proc through ps, kill and friends.
# The clients (containerd, podman with conmon and the CNI plugins), rootless
# (uidmap, slirp4netns, a user's systemd through dbus-user-session), criu and
# apparmor serve the client, rootless, checkpoint and LSM suites;
# selinux-policy-default (with selinux-utils) is the policy of run.sh's
# second boot, under SELinux.
guest_packages="systemd systemd-sysv dbus bats runc busybox-static python3 jq iproute2
util-linux procps kmod libseccomp2 libcap2 libyajl2 libsystemd0
containerd podman conmon containernetworking-plugins uidmap slirp4netns dbus-user-session
criu apparmor selinux-policy-default selinux-utils ${OCIRT_VM_EXTRA_PACKAGES:-}"

say() { echo "== vm-image: $*" >&2; }
skip() {
	echo "SKIP: vm-image: $*" >&2
	exit 77
}
die() {
	echo "vm-image: $*" >&2
	exit 1
}

# host_tools: qemu, cpio, debootstrap and depmod (kmod), installed when
# missing.  dpkg-deb and apt-get come with every Debian.
host_tools() {
	local missing=() tool pkg
	for tool in qemu-system-x86_64:qemu-system-x86 cpio:cpio debootstrap:debootstrap depmod:kmod; do
		pkg=${tool#*:}
		command -v "${tool%%:*}" >/dev/null || missing+=("$pkg")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || skip "missing ${missing[*]} (run as root to install them)"
	command -v apt-get >/dev/null || skip "missing ${missing[*]} and no apt-get"
	say "installing ${missing[*]}"
	# --no-install-recommends: qemu's recommends pull in a desktop's worth.
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
		>&2 || skip "apt-get install ${missing[*]} failed"
}

# kernel_package: the exact linux-image package to take the kernel from.
kernel_package() {
	if [ -n "${OCIRT_VM_KERNEL:-}" ]; then
		echo "$OCIRT_VM_KERNEL"
		return
	fi
	# A glob would download dozens of versions: name the one the
	# metapackage currently points at.
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1
}

# recipe: everything the cached files depend on; a change rebuilds them.
recipe() {
	echo "kernel=$1"
	echo "mirror=$mirror"
	echo "packages=$(echo $guest_packages)"
	# The code that makes the image (comments aside): a changed /init or
	# guest setup rebuilds too.
	declare -f make_rootfs configure_guest make_init pack | sha256sum | cut -d' ' -f1
}

# fetch_kernel PACKAGE WORKDIR: WORKDIR/vmlinuz, without installing anything
# on the host.
fetch_kernel() {
	local pkg=$1 work=$2
	say "downloading $pkg"
	(cd "$work" && apt-get download -q "$pkg" >"$work/apt-download.log" 2>&1) ||
		skip "apt-get download $pkg failed (no mirror?): $(tail -1 "$work/apt-download.log")"
	dpkg-deb -x "$work"/"$pkg"_*.deb "$work/kernel"
	cp "$work/kernel/boot/vmlinuz-${pkg#linux-image-}" "$work/vmlinuz"
}

# make_rootfs DIR: a minimal bookworm with $guest_packages.
make_rootfs() {
	local dir=$1
	say "debootstrap bookworm (a few minutes; log: $cache/debootstrap.log)"
	debootstrap --keyring="$keyring" --variant=minbase \
		--include="$(echo $guest_packages | tr ' ' ,)" \
		bookworm "$dir" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
		tail -5 "$cache/debootstrap.log" >&2
		if grep -qiE 'Failed getting release file|Couldn.t download|Temporary failure|Could not resolve' \
			"$cache/debootstrap.log"; then
			skip "debootstrap cannot reach $mirror (log: $cache/debootstrap.log)"
		fi
		die "debootstrap failed (log: $cache/debootstrap.log)"
	}
	# The image is unpacked into RAM at every boot: drop what no test reads.
	rm -rf "$dir"/usr/share/{doc,man,info,locale} "$dir"/var/cache/apt/* "$dir"/var/lib/apt/lists/*
}

# configure_guest DIR: boot straight to the test unit, quietly.
configure_guest() {
	local dir=$1
	echo ocirt-vm >"$dir/etc/hostname"
	: >"$dir/etc/fstab"
	# Without udev (minbase has none) systemd waits 90 s for dev-ttyS0.device
	# before starting a getty on the serial console; nobody logs in anyway.
	local unit
	for unit in serial-getty@ttyS0.service serial-getty@ttyS1.service getty@tty1.service \
		systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer; do
		ln -sf /dev/null "$dir/etc/systemd/system/$unit"
	done
	# SELinux: only a boot with security=selinux (run.sh's second boot) has
	# it; there systemd loads this policy, permissive: the files of the
	# tmpfs root carry no labels, and what the tests observe (a process's
	# label after exec, a mount's context=) shows in permissive mode too.
	# Under AppArmor systemd finds no selinuxfs and goes on.
	printf 'SELINUX=permissive\nSELINUXTYPE=default\n' >"$dir/etc/selinux/config"
	# run.sh's per-run archive adds the test unit and enables it here.
	mkdir -p "$dir/etc/systemd/system/multi-user.target.wants"
	make_init >"$dir/init"
	chmod 755 "$dir/init"
}

# make_init: the initramfs's first program.  The kernel refuses pivot_root
# away from the initial rootfs (runc and ocirt both pivot_root into a
# container's root), but not away from a bind mount of it: bound on a
# directory, moved over /, it is a mount with a parent.  (Copying the root
# into a tmpfs would do too, at half a minute of every boot under emulation.)
make_init() {
	cat <<'EOF'
#!/bin/sh
mount -t proc proc /proc
echo "ocirt-vm: /init at $(cut -d' ' -f1 /proc/uptime) s" >/dev/console 2>/dev/null || true
mkdir -p /newroot
mount --bind / /newroot
umount /proc
cd /newroot
mount --move . /
exec chroot . /lib/systemd/systemd
EOF
}

# The kernel modules the suites load: dummy and veth (linux.netDevices),
# the netfilter family criu probes, the socket diagnostics criu dumps a
# network namespace's sockets with (without them `criu dump` fails after
# "Sockects collect procedure ...: -2", with no error line), overlay and
# fuse, brd (a RAM disk: the block device the io controller's per-device
# limits need; the guest has no disk).  Debian's kernel has them as modules
# only; all of them would be 400 MB in RAM.
module_dirs="drivers/net/dummy.ko drivers/net/veth.ko drivers/net/macvlan.ko drivers/net/ipvlan
net/netfilter net/ipv4/netfilter net/ipv6/netfilter net/bridge net/802 net/llc net/sched
net/ipv4/inet_diag.ko net/ipv4/tcp_diag.ko net/ipv4/udp_diag.ko net/ipv4/raw_diag.ko
net/unix/unix_diag.ko net/netlink/netlink_diag.ko net/packet
lib/libcrc32c.ko crypto/crc32c_generic.ko arch/x86/crypto/crc32c-intel.ko fs/overlay fs/fuse
drivers/block/brd.ko"

# make_modules PACKAGE WORKDIR OUT: those modules with their modules.dep, as a
# second archive (usr/lib/modules: /lib is a link in the base image).  The
# kernel unpacks concatenated archives in order, so adding modules never
# rebuilds the base image.
make_modules() {
	local pkg=$1 work=$2 out=$3 ver=${1#linux-image-}
	[ -d "$work/kernel" ] || fetch_kernel "$pkg" "$work"
	local src=$work/kernel/lib/modules/$ver dst=$work/mods/usr/lib/modules/$ver m
	mkdir -p "$dst/kernel"
	for m in $module_dirs; do
		[ -e "$src/kernel/$m" ] || continue
		mkdir -p "$dst/kernel/$(dirname "$m")"
		cp -a "$src/kernel/$m" "$dst/kernel/$(dirname "$m")/"
	done
	cp "$src"/modules.order "$src"/modules.builtin* "$dst/" 2>/dev/null || true
	depmod -b "$work/mods/usr" "$ver" || die "depmod for the guest's modules failed"
	pack "$work/mods" "$out"
}

# pack DIR OUT: DIR as a gzipped newc cpio, owned by root inside.
pack() {
	(cd "$1" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) |
		gzip -1 >"$2"
}

main() {
	local rebuild=false
	case "${1:-}" in
	--rebuild) rebuild=true ;;
	"") ;;
	*)
		echo "usage: $0 [--rebuild]" >&2
		exit 2
		;;
	esac
	[ "$(uname -m)" = x86_64 ] || skip "the guest image is amd64; this host is $(uname -m)"

	local kpkg
	kpkg=$(kernel_package)
	[ -n "$kpkg" ] || skip "apt-cache knows no linux-image-amd64 (no Debian package lists?)"
	# Checked even with a complete cache: run.sh needs them too.
	host_tools
	local want
	want=$(recipe "$kpkg")
	if ! $rebuild && [ -s "$cache/vmlinuz" ] && [ -s "$cache/base.cpio.gz" ] &&
		[ "$(cat "$cache/image.stamp" 2>/dev/null)" = "$want" ]; then
		modules "$kpkg"
		uncompressed
		return 0
	fi
	[ "$(id -u)" = 0 ] || skip "no VM image in $cache and building one needs root (debootstrap)"
	mkdir -p "$cache"

	local work
	work=$(mktemp -d "$cache/build.XXXXXX")
	# debootstrap leaves /proc and friends mounted when it fails half-way.
	trap "umount -R '$work/root/proc' '$work/root/sys' 2>/dev/null || true; rm -rf --one-file-system '$work'" EXIT
	trap 'exit 130' INT TERM
	chmod 755 "$work" # apt-get download runs as the unprivileged _apt
	fetch_kernel "$kpkg" "$work"
	make_rootfs "$work/root"
	configure_guest "$work/root"
	say "packing the root filesystem"
	pack "$work/root" "$work/base.cpio.gz"
	# Move into place last, stamp after: an interrupted build is redone.
	rm -f "$cache/image.stamp"
	mv "$work/vmlinuz" "$cache/vmlinuz"
	mv "$work/base.cpio.gz" "$cache/base.cpio.gz"
	echo "$want" >"$cache/image.stamp"
	say "cached $kpkg and a $(du -h "$cache/base.cpio.gz" | cut -f1) root filesystem in $cache"
	modules "$kpkg" "$work"
	uncompressed
}

# uncompressed: $cache/base.cpio, from base.cpio.gz when that is newer.  Made
# from the packed image, not part of its recipe; where the cache is not
# ours to write, run.sh boots the gzipped one.
uncompressed() {
	local tmp
	[ "$cache/base.cpio" -nt "$cache/base.cpio.gz" ] && return 0
	tmp=$(mktemp "$cache/base.cpio.XXXXXX" 2>/dev/null) || return 0
	say "uncompressing the root filesystem for the guest's kernel"
	if gzip -dc "$cache/base.cpio.gz" >"$tmp"; then
		chmod 644 "$tmp"
		mv "$tmp" "$cache/base.cpio"
	else
		rm -f "$tmp"
	fi
}

# modules PACKAGE [WORKDIR]: $cache/modules.cpio.gz, built when its own
# recipe changed (WORKDIR: where the kernel package may already be).
modules() {
	local kpkg=$1 work=${2:-} want
	want=$(echo "kernel=$kpkg modules=$(echo $module_dirs)"; declare -f make_modules | sha256sum)
	[ -s "$cache/modules.cpio.gz" ] && [ "$(cat "$cache/modules.stamp" 2>/dev/null)" = "$want" ] && return 0
	[ "$(id -u)" = 0 ] || skip "no guest modules in $cache and building them needs root"
	if [ -z "$work" ]; then
		work=$(mktemp -d "$cache/build.XXXXXX")
		trap "rm -rf --one-file-system '$work'" EXIT
		chmod 755 "$work"
	fi
	say "packing the guest's kernel modules"
	make_modules "$kpkg" "$work" "$work/modules.cpio.gz"
	rm -f "$cache/modules.stamp"
	mv "$work/modules.cpio.gz" "$cache/modules.cpio.gz"
	echo "$want" >"$cache/modules.stamp"
	say "cached $(du -h "$cache/modules.cpio.gz" | cut -f1) of kernel modules in $cache"
}

main "$@"
