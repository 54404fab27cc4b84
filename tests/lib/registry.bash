#!/bin/bash
# A real registry for the imgtool tests (see ../../../shared/TESTING-REGISTRY.md):
# Debian's docker-registry on 127.0.0.1 at a free port, TLS from a test CA,
# bearer tokens from tests/lib/token-server.py (anonymous: pull only;
# alice:secret: whatever she asks), plus helpers that build busybox-based
# test images with umoci and push them with skopeo, and a hostile registry
# (tests/lib/fault-registry.py) for fault injection.
#
# Everything lives under one directory given by the caller; every process
# started here is stopped by its PID.

REGISTRY_LIB=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
PYTHON3=${PYTHON3:-/usr/bin/python3}
[ -x "$PYTHON3" ] || PYTHON3=$(command -v python3)
BUSYBOX=${BUSYBOX:-$(command -v busybox || echo /bin/busybox)}

# A TCP port nobody listens on right now.
free_port() {
	"$PYTHON3" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

registry_have_tools() {
	local t
	for t in docker-registry skopeo umoci openssl curl; do
		command -v "$t" >/dev/null || { echo "missing $t"; return 1; }
	done
}

# registry_certs DIR: a test CA, a server certificate with SANs for
# 127.0.0.1/localhost signed by it, and a self-signed token signer.
registry_certs() {
	local d=$1
	mkdir -p "$d/certs"
	[ -f "$d/ca.crt" ] && return 0
	(
		cd "$d" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj /CN=imgtool-Test-CA
		openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >san.ext
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 825 -extfile san.ext
		openssl req -x509 -newkey rsa:2048 -nodes -keyout token.key -out token.crt -days 3650 -subj /CN=token-signer
		cp ca.crt certs/ca.crt
	) >/dev/null 2>&1
}

wait_for_url() {
	local url=$1 i
	for i in $(seq 1 200); do
		curl -s -o /dev/null --cacert "$REGISTRY_DIR/ca.crt" "$url" && return 0
		sleep 0.05
	done
	echo "nothing answered at $url" >&2
	return 1
}

# setup_file of a suite that pulls from the registry: skip without the tools
# or imgtool ($IMGTOOL), start it in $SUITE_DIR (under $BATS_FILE_TMPDIR)
# with the test images pushed.  Proxy variables are dropped: libcurl reads
# them (curl too, which waits for the registry); tests that want a proxy
# set them for one command.
registry_suite_start() {
	registry_have_tools || skip "needs docker-registry, skopeo, umoci, openssl, curl"
	[ -x "$IMGTOOL" ] || skip "imgtool is not built ($IMGTOOL)"
	unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
	export SUITE_DIR=$BATS_FILE_TMPDIR/registry
	mkdir -p "$SUITE_DIR"
	registry_start "$SUITE_DIR"
	registry_push_test_images
}

# registry_start DIR [TOKEN_EXPIRES_IN]: start the token server and the
# registry.  Exports REGISTRY (host:port), REGISTRY_DIR, REGISTRY_CA,
# REGISTRY_LOG (the registry's stderr), TOKEN_LOG (one JSON line per token
# request), REGISTRY_PID and TOKEN_PID.
registry_start() {
	REGISTRY_DIR=$1
	local expires=${2:-300} rport tport
	registry_certs "$REGISTRY_DIR" || return 1
	mkdir -p "$REGISTRY_DIR/store"
	REGISTRY_CA=$REGISTRY_DIR/ca.crt
	REGISTRY_LOG=$REGISTRY_DIR/registry.log
	TOKEN_LOG=$REGISTRY_DIR/token.log
	: >"$TOKEN_LOG"
	tport=$(free_port)
	"$PYTHON3" "$REGISTRY_LIB/token-server.py" --port "$tport" \
		--cert "$REGISTRY_DIR/server.crt" --key "$REGISTRY_DIR/server.key" \
		--signing-key "$REGISTRY_DIR/token.key" --signing-cert "$REGISTRY_DIR/token.crt" \
		--issuer test-issuer --service test-registry --expires-in "$expires" \
		--log "$TOKEN_LOG" >"$REGISTRY_DIR/token-server.out" 2>&1 &
	TOKEN_PID=$!
	rport=$(free_port)
	cat >"$REGISTRY_DIR/config.yml" <<-EOF
		version: 0.1
		log: {level: info, accesslog: {disabled: false}}
		storage: {filesystem: {rootdirectory: $REGISTRY_DIR/store}, delete: {enabled: true}}
		http:
		  addr: 127.0.0.1:$rport
		  secret: imgtool-test-secret
		  tls: {certificate: $REGISTRY_DIR/server.crt, key: $REGISTRY_DIR/server.key}
		auth:
		  token:
		    realm: https://127.0.0.1:$tport/token
		    service: test-registry
		    issuer: test-issuer
		    rootcertbundle: $REGISTRY_DIR/token.crt
	EOF
	docker-registry serve "$REGISTRY_DIR/config.yml" >"$REGISTRY_LOG" 2>&1 &
	REGISTRY_PID=$!
	REGISTRY=127.0.0.1:$rport
	export REGISTRY REGISTRY_DIR REGISTRY_CA REGISTRY_LOG TOKEN_LOG REGISTRY_PID TOKEN_PID
	wait_for_url "https://$REGISTRY/v2/" || { registry_stop; return 1; }
	wait_for_url "https://127.0.0.1:$tport/token?service=test-registry" || { registry_stop; return 1; }
}

stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -9 "$pid" 2>/dev/null
	return 0
}

registry_stop() {
	stop_pid "${REGISTRY_PID:-}"
	stop_pid "${TOKEN_PID:-}"
	REGISTRY_PID= TOKEN_PID=
}

# Blob requests the registry served (GET /v2/<repo>/blobs/...), from its access log.
registry_blob_gets() {
	grep -c '"GET /v2/[^ ]*/blobs/sha256:' "$REGISTRY_LOG" || true
}

# ---------------------------------------------------------------- images

# image_new LAYOUT TAG ARCH: an image with busybox and its applet links in
# one layer, config Cmd /bin/sh.  Built rootless so no host ownership leaks.
image_new() {
	local layout=$1 tag=$2 arch=${3:-amd64} b
	[ -d "$layout" ] || umoci init --layout "$layout" || return 1
	umoci new --image "$layout:$tag" || return 1
	b=$(mktemp -d "${layout%/}.bundle.XXXXXX")
	rmdir "$b"
	umoci unpack --rootless --image "$layout:$tag" "$b" >/dev/null || return 1
	mkdir -p "$b/rootfs/bin" "$b/rootfs/etc"
	cp "$BUSYBOX" "$b/rootfs/bin/busybox"
	ln -s busybox "$b/rootfs/bin/sh"
	ln -s busybox "$b/rootfs/bin/echo"
	ln -s busybox "$b/rootfs/bin/cat"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$b/rootfs/etc/passwd"
	printf 'root:x:0:\n' >"$b/rootfs/etc/group"
	echo "$arch" >"$b/rootfs/etc/arch"
	umoci repack --image "$layout:$tag" "$b" >/dev/null || return 1
	rm -rf "$b"
	umoci config --image "$layout:$tag" --os linux --architecture "$arch" --config.cmd /bin/sh >/dev/null
}

# image_add_layer LAYOUT TAG NAME CONTENT: one more layer holding /NAME.
image_add_layer() {
	local layout=$1 tag=$2 name=$3 content=$4 b
	b=$(mktemp -d "${layout%/}.bundle.XXXXXX")
	rmdir "$b"
	umoci unpack --rootless --image "$layout:$tag" "$b" >/dev/null || return 1
	printf '%s\n' "$content" >"$b/rootfs/$name"
	umoci repack --image "$layout:$tag" "$b" >/dev/null || return 1
	rm -rf "$b"
}

# The digest and size of the manifest a tag names in a layout.
layout_desc() {
	local layout=$1 tag=$2
	jq -c --arg t "$tag" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t)
		| {digest, size, mediaType}' "$layout/index.json"
}

# image_multi LAYOUT TAG AMD64_TAG ARM64_TAG: an OCI index with both, plus
# an attestation-like entry (unknown/unknown) pointing at the amd64 manifest
# that a client must skip.
image_multi() {
	local layout=$1 tag=$2 a=$3 b=$4 da db idx hex size
	da=$(layout_desc "$layout" "$a")
	db=$(layout_desc "$layout" "$b")
	idx=$(jq -nc --argjson a "$da" --argjson b "$db" '{schemaVersion:2,
		mediaType:"application/vnd.oci.image.index.v1+json",
		manifests:[
		 {mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$a.digest,size:$a.size,
		  platform:{architecture:"unknown",os:"unknown"},
		  annotations:{"vnd.docker.reference.type":"attestation-manifest"}},
		 {mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$b.digest,size:$b.size,
		  platform:{architecture:"arm64",os:"linux"}},
		 {mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$a.digest,size:$a.size,
		  platform:{architecture:"amd64",os:"linux"}}]}')
	hex=$(printf '%s' "$idx" | sha256sum | cut -d' ' -f1)
	size=$(printf '%s' "$idx" | wc -c)
	printf '%s' "$idx" >"$layout/blobs/sha256/$hex"
	jq --arg d "sha256:$hex" --argjson s "$size" --arg t "$tag" \
		'.manifests += [{mediaType:"application/vnd.oci.image.index.v1+json",digest:$d,size:$s,
		  annotations:{"org.opencontainers.image.ref.name":$t}}]' \
		"$layout/index.json" >"$layout/index.json.new" && mv "$layout/index.json.new" "$layout/index.json"
}

# image_push LAYOUT TAG REPO:TAG [--all]: push as alice.
image_push() {
	local layout=$1 tag=$2 dest=$3
	shift 3
	skopeo copy -q "$@" --dest-cert-dir "$REGISTRY_DIR/certs" --dest-creds alice:secret \
		"oci:$layout:$tag" "docker://$REGISTRY/$dest"
}

# Build and push the standard set once per test file:
#   test/busybox:1      one layer, amd64 config
#   test/multi:latest   index: attestation entry, arm64, amd64
#   test/layers:1       three layers
registry_push_test_images() {
	local layout=$REGISTRY_DIR/layout
	[ -d "$layout" ] || {
		image_new "$layout" amd64 amd64 &&
			image_new "$layout" arm64 arm64 &&
			image_multi "$layout" multi amd64 arm64 &&
			umoci tag --image "$layout:amd64" layers &&
			image_add_layer "$layout" layers second "layer two" &&
			image_add_layer "$layout" layers third "layer three"
	} || return 1
	image_push "$layout" amd64 test/busybox:1 &&
		image_push "$layout" multi test/multi:latest --all &&
		image_push "$layout" layers test/layers:1
}

# ---------------------------------------------------------------- hostile registry

# fault_start DIR LAYOUT [fault-registry.py options...]: serve LAYOUT over
# plain HTTP on 127.0.0.1 with faults.  Exports FAULT (host:port),
# FAULT_LOG (one JSON line per request) and FAULT_PID.
fault_start() {
	local dir=$1 layout=$2 port i
	shift 2
	port=$(free_port)
	FAULT_LOG=$dir/fault.log
	: >"$FAULT_LOG"
	"$PYTHON3" "$REGISTRY_LIB/fault-registry.py" --port "$port" --layout "$layout" \
		--log "$FAULT_LOG" "$@" >"$dir/fault.out" 2>&1 &
	FAULT_PID=$!
	FAULT=127.0.0.1:$port
	export FAULT FAULT_LOG FAULT_PID
	for i in $(seq 1 200); do
		curl -s -o /dev/null "http://$FAULT/healthz" && return 0
		sleep 0.05
	done
	echo "fault registry did not start: $(cat "$dir/fault.out")" >&2
	return 1
}

fault_stop() {
	stop_pid "${FAULT_PID:-}"
	FAULT_PID=
}

# Requests in the fault log matching a jq filter, e.g. 'select(.kind=="blob")'.
fault_count() {
	jq -c "$1" "$FAULT_LOG" | wc -l
}
