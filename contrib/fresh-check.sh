#!/bin/bash
# Run the README's two set-up commands, exactly as the README prints them, in
# a clean Debian 12 made on the spot, and print both exit statuses and the
# test summary.  A green run on a development machine can hide a package that
# was installed there by hand; this cannot.
#
#   contrib/fresh-check.sh [--keep] [--no-vm]
#
# The clean system is debootstrap's default bookworm (required + important
# packages, plus git), cached as a tarball in $FRESH_CACHE (default
# /var/cache/ocirt-fresh) and unpacked anew for every run.  It runs as a
# privileged container: its own mount, pid and uts namespaces, its own root
# (pivot_root), the host's network (so apt reaches the mirror), the host's
# /dev, /sys and cgroups.
# The checkout is a `git clone` of this repository's HEAD, so uncommitted
# changes are not in it.  Everything is removed at the end unless --keep.
# --no-vm runs the second command with NO_VM=1: the VM pass (make check-vm,
# which builds its own guest image with its own packages) counts as one skip;
# CI runs it on a fresh machine.
#
# Environment: FRESH_CACHE, FRESH_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${FRESH_CACHE:-/var/cache/ocirt-fresh}
mirror=${FRESH_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-bookworm-automatic.gpg
keep=false vm_env=""
for arg in "$@"; do
	case "$arg" in
	--keep) keep=true ;;
	--no-vm) vm_env="NO_VM=1 " ;;
	*)
		echo "usage: $0 [--keep] [--no-vm]" >&2
		exit 2
		;;
	esac
done

say() { echo "== fresh-check: $*" >&2; }
die() {
	echo "fresh-check: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, namespaces)"

# The indented lines of the README's "Two commands" section: the first is the
# main job, the second the test suite.
readme_commands() {
	awk '/^## /{ in_section = ($0 == "## Two commands") } in_section && /^    [^ ]/ { sub(/^    /, ""); print }' \
		"$top/README.md" | head -2
}
mapfile -t commands < <(readme_commands)
[ "${#commands[@]}" -eq 2 ] || die "README.md: the \"Two commands\" section must hold two indented commands"

# Debian's combined keyring fails to verify bookworm's Release file on this
# kind of host; the per-release one works.
base_tarball() {
	local tarball=$cache/bookworm-base.tar
	if [ -s "$tarball" ]; then
		echo "$tarball"
		return
	fi
	command -v debootstrap >/dev/null || {
		say "installing debootstrap"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
	}
	mkdir -p "$cache"
	local dir
	dir=$(mktemp -d "$cache/debootstrap.XXXXXX")
	say "debootstrap bookworm into $dir (once; cached in $tarball)"
	debootstrap --keyring="$keyring" --include=git,ca-certificates bookworm "$dir" "$mirror" \
		>"$cache/debootstrap.log" 2>&1 || {
		tail -20 "$cache/debootstrap.log" >&2
		rm -rf --one-file-system "$dir"
		die "debootstrap failed (log: $cache/debootstrap.log)"
	}
	tar -C "$dir" -cf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
	rm -rf --one-file-system "$dir"
	echo "$tarball"
}

tarball=$(base_tarball)
root=$(mktemp -d /var/tmp/ocirt-fresh.XXXXXX)
# The run gets a cgroup of its own in every hierarchy, as a login session
# or a service has: the tests must not depend on running in the root one.
session_cgroup=ocirt-fresh-$(basename "$root" | cut -d. -f2)
session_cgroups=()
make_session_cgroup() {
	local h
	for h in /sys/fs/cgroup /sys/fs/cgroup/*; do
		[ -f "$h/cgroup.procs" ] || continue
		mkdir "$h/$session_cgroup" || continue
		session_cgroups+=("$h/$session_cgroup")
		# A new v1 cpuset has no cpus or mems: nothing could join it.
		if [ -f "$h/cpuset.cpus" ]; then
			cat "$h/cpuset.cpus" >"$h/$session_cgroup/cpuset.cpus"
			cat "$h/cpuset.mems" >"$h/$session_cgroup/cpuset.mems"
		fi
	done
}

cleanup() {
	local c
	for c in "${session_cgroups[@]}"; do
		find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	if $keep; then
		say "kept $root"
	else
		rm -rf --one-file-system "$root"
	fi
}
trap cleanup EXIT

say "unpacking the base system into $root"
tar -C "$root" -xf "$tarball"
# "/" as on a real system (tar gave it the mode of mktemp's directory):
# apt's _apt user, test users and mapped container roots traverse it.
chmod 755 "$root"
git clone -q "$top" "$root/root/ocirt"
[ -z "$(git -C "$top" status --porcelain --untracked-files=no)" ] ||
	say "note: uncommitted changes in $top are not part of the check"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# As in Debian's container images: packages do not start their services
# (docker-registry would otherwise start one inside this pid namespace).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

# Inside: a root login shell in the clone, with the two commands in order.
cat >"$root/root/fresh-check-inner.sh" <<EOF
#!/bin/bash
cd /root/ocirt || exit 1
echo "== fresh-check: \$ ${commands[0]}" >&2
${commands[0]} </dev/null
echo "first command: exit \$?" >/root/fresh-check.status
echo "== fresh-check: \$ ${commands[1]}" >&2
${vm_env}${commands[1]} </dev/null 2>&1 | tee /root/fresh-check.tests
echo "second command: exit \${PIPESTATUS[0]}" >>/root/fresh-check.status
hash -r
{ command -v ocirt && command -v imgtool && man -w ocirt imgtool; } >>/root/fresh-check.status 2>&1
EOF
chmod 755 "$root/root/fresh-check-inner.sh"

# The container's pid 1 mounts what a privileged container sees and
# pivot_roots into it.  Not chroot: the kernel refuses user namespaces to a
# chrooted process, and paths outside the root would show the host's.
say "running the README's two commands in the clean system (this takes a while)"
make_session_cgroup
unshare --mount --pid --uts --fork --propagation private env -i \
	ROOT="$root" CGROUPS="${session_cgroups[*]}" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin bash -c '
	set -e
	for c in $CGROUPS; do echo $$ >"$c/cgroup.procs" 2>/dev/null || true; done
	hostname fresh-check
	mount --bind "$ROOT" "$ROOT"
	mount -t proc proc "$ROOT/proc"
	mount --rbind /sys "$ROOT/sys"
	mount --rbind /dev "$ROOT/dev"
	mount -t tmpfs -o mode=755 tmpfs "$ROOT/run"
	mkdir -p "$ROOT/run/lock" "$ROOT/run/old-root"
	cd "$ROOT"
	pivot_root . run/old-root
	cd /
	umount -l /run/old-root
	rmdir /run/old-root
	exec /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/bash -l /root/fresh-check-inner.sh
' || true

echo "---- fresh-check results"
cat "$root/root/fresh-check.status" 2>/dev/null || echo "no status: the run did not finish"
echo "test summary: $(tail -1 "$root/root/fresh-check.tests" 2>/dev/null)"
grep -q '^first command: exit 0$' "$root/root/fresh-check.status" 2>/dev/null &&
	grep -q '^second command: exit 0$' "$root/root/fresh-check.status"
