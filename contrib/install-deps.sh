#!/bin/sh
# Install, with apt, whatever the build, the main job and the test suite need
# and this Debian 12 machine does not have yet.  Safe to run again: it does
# nothing when everything is there.
set -eu

packages="autoconf automake libtool pkg-config make gcc clang libc6-dev
libseccomp-dev libcap-dev libyajl-dev libsystemd-dev libarchive-dev libcurl4-openssl-dev libssl-dev libisal-dev
busybox-static runc crun bats util-linux iproute2 python3 tmux curl ca-certificates
skopeo umoci docker-registry openssl zstd jq man-db
podman conmon containernetworking-plugins containerd uidmap criu"

missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root, or apt-get install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
# Debian starts the registry as a service where it can; the tests start their
# own on other ports, so a running default instance is harmless either way.
