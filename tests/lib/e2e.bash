#!/bin/bash
# What the client suites (tests/e2e/) share.  Load after helpers.bash.

# e2e_busybox_layout DIR: an OCI image layout DIR:busybox with a static
# busybox and its applets, /bin/sh as the command.
e2e_busybox_layout() {
	local dir=$1 tmp
	tmp=$(mktemp -d "$BATS_FILE_TMPDIR/layout.XXXXXX")
	umoci init --layout "$dir" >/dev/null
	umoci new --image "$dir:busybox" >/dev/null
	umoci unpack --image "$dir:busybox" "$tmp/unpacked" >/dev/null
	mkdir -p "$tmp/unpacked/rootfs/bin" "$tmp/unpacked/rootfs/tmp"
	cp "$BUSYBOX" "$tmp/unpacked/rootfs/bin/busybox"
	local applet
	for applet in $("$BUSYBOX" --list); do
		[ "$applet" = busybox ] || ln -s busybox "$tmp/unpacked/rootfs/bin/$applet"
	done
	umoci repack --image "$dir:busybox" "$tmp/unpacked" >/dev/null
	umoci config --image "$dir:busybox" --os linux --architecture amd64 \
		--config.cmd /bin/sh --config.env PATH=/bin >/dev/null
	rm -rf "$tmp"
}
