#!/usr/bin/env bats
# End to end against a real registry (tests/lib/registry.bash): `imgtool
# bundle REF DIR` pulls what is missing and the bundle runs under runc and
# ocirt; a cached image is bundled without a single request.

load ../lib/registry

bats_require_minimum_version 1.5.0

: "${IMGTOOL:=${TOP_BUILDDIR:-$(readlink -f "$BATS_TEST_DIRNAME/../..")}/imgtool/imgtool}"
: "${OCIRT:=${TOP_BUILDDIR:-$(readlink -f "$BATS_TEST_DIRNAME/../..")}/ocirt}"
RUNC=${RUNC:-$(command -v runc || echo /usr/sbin/runc)}

setup_file() {
	registry_suite_start
	local layout=$REGISTRY_DIR/layout
	image_new "$layout" hello amd64 &&
		image_add_layer "$layout" hello msg "hello from the registry" &&
		umoci config --image "$layout:hello" --config.cmd /bin/cat --config.cmd /msg >/dev/null &&
		image_push "$layout" hello test/hello:1
	export DOCKER_CONFIG=$SUITE_DIR/no-docker-config REGISTRY_AUTH_FILE=$SUITE_DIR/no-auth.json
}

teardown_file() {
	registry_stop
}

setup() {
	STORE=$BATS_TEST_TMPDIR/store
	WORK=$BATS_TEST_TMPDIR
	CID="imgtool-reg-$$-$BATS_TEST_NUMBER"
}

teardown() {
	fault_stop
	"$RUNC" --root "$WORK/runc-root" delete -f "$CID" >/dev/null 2>&1 || true
	[ -x "$OCIRT" ] && "$OCIRT" --root "$WORK/ocirt-root" delete -f "$CID" >/dev/null 2>&1 || true
}

imgtool() {
	"$IMGTOOL" --store "$STORE" --ca-file "$REGISTRY_CA" "$@"
}

requests() {
	grep -cE '"(GET|HEAD) /v2/' "$REGISTRY_LOG" || true
}

@test "bundle REF pulls it and runc runs what the image prints" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	run -0 imgtool -q bundle "$REGISTRY/test/hello:1" "$WORK/b"
	[ -s "$WORK/b/config.json" ]
	run -0 "$RUNC" --root "$WORK/runc-root" run -b "$WORK/b" "$CID"
	[ "$output" = "hello from the registry" ]
	# and it is in the store now
	run -0 imgtool images -q
	[ "$output" = "$REGISTRY/test/hello:1" ]
}

@test "ocirt runs a bundle made from a registry image like runc" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	[ -x "$OCIRT" ] || skip "ocirt not built"
	run -0 imgtool -q bundle "$REGISTRY/test/hello:1" "$WORK/b"
	run -0 "$OCIRT" --root "$WORK/ocirt-root" run -b "$WORK/b" "$CID"
	[ "$output" = "hello from the registry" ]
}

@test "a second bundle of a cached image makes no request" {
	run -0 imgtool -q bundle "$REGISTRY/test/layers:1" "$WORK/b1"
	local before
	before=$(requests)
	run -0 imgtool -q bundle "$REGISTRY/test/layers:1" "$WORK/b2"
	[ "$(requests)" -eq "$before" ]
	[ "$(cat "$WORK/b2/rootfs/third")" = "layer three" ]
	[ "$(cat "$WORK/b2/rootfs/second")" = "layer two" ]
}

@test "bundle --platform takes the right manifest from an index" {
	run -0 imgtool -q bundle --platform linux/arm64 "$REGISTRY/test/multi:latest" "$WORK/arm"
	[ "$(cat "$WORK/arm/rootfs/etc/arch")" = arm64 ]
	run -0 imgtool -q bundle --platform linux/amd64 "$REGISTRY/test/multi:latest" "$WORK/amd"
	[ "$(cat "$WORK/amd/rootfs/etc/arch")" = amd64 ]
}

@test "bundle --platform never changes what the name means for the host; each platform is cached" {
	[ "$(uname -m)" = x86_64 ] || skip "host default test written for amd64"
	run -0 imgtool -q bundle --platform linux/arm64 "$REGISTRY/test/multi:latest" "$WORK/a"
	[ "$(cat "$WORK/a/rootfs/etc/arch")" = arm64 ]
	run -0 imgtool -q bundle "$REGISTRY/test/multi:latest" "$WORK/b"
	[ "$(cat "$WORK/b/rootfs/etc/arch")" = amd64 ]
	local before
	before=$(requests)
	run -0 imgtool -q bundle --platform linux/arm64 "$REGISTRY/test/multi:latest" "$WORK/c"
	[ "$(cat "$WORK/c/rootfs/etc/arch")" = arm64 ]
	run -0 imgtool -q bundle "$REGISTRY/test/multi:latest" "$WORK/d"
	[ "$(cat "$WORK/d/rootfs/etc/arch")" = amd64 ]
	[ "$(requests)" -eq "$before" ]
}

@test "an index that offers only a compatible platform (386 on amd64) is bundled from the cache, also after gc" {
	[ "$(uname -m)" = x86_64 ] || skip "host default test written for amd64"
	local l=$WORK/l386 d idx hex
	image_new "$l" i386 386
	d=$(layout_desc "$l" i386)
	idx=$(jq -nc --argjson a "$d" '{schemaVersion:2, mediaType:"application/vnd.oci.image.index.v1+json",
		manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json", digest:$a.digest, size:$a.size,
		platform:{architecture:"386", os:"linux"}}]}')
	hex=$(printf '%s' "$idx" | sha256sum | cut -d' ' -f1)
	printf '%s' "$idx" >"$l/blobs/sha256/$hex"
	jq --arg d "sha256:$hex" --argjson s "${#idx}" '.manifests += [{mediaType:"application/vnd.oci.image.index.v1+json",
		digest:$d, size:$s, annotations:{"org.opencontainers.image.ref.name":"only386"}}]' "$l/index.json" >"$l/i.json"
	mv "$l/i.json" "$l/index.json"
	image_push "$l" only386 test/only386:1 --all

	run -0 imgtool -q bundle "$REGISTRY/test/only386:1" "$WORK/a"
	[ "$(cat "$WORK/a/rootfs/etc/arch")" = 386 ]
	run -0 imgtool images
	[[ "${lines[1]}" == *" linux/386 "*"sha256:${hex:0:12} "* ]]
	local before
	before=$(requests)
	run -0 imgtool -q bundle "$REGISTRY/test/only386:1" "$WORK/b"
	run -0 imgtool gc
	run -0 imgtool -q bundle "$REGISTRY/test/only386:1" "$WORK/c"
	[ "$(cat "$WORK/c/rootfs/etc/arch")" = 386 ]
	[ "$(requests)" -eq "$before" ]
}

@test "bundle of a tag the registry does not have fails and leaves nothing" {
	run imgtool -q bundle "$REGISTRY/test/hello:nope" "$WORK/b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"nope"* ]]
	[ ! -e "$WORK/b" ]
	run compgen -G "$WORK/b.tmp-*"
	[ "$status" -ne 0 ]
}

# ---- pulling while unpacking: a bundle of an image not in the store streams
# each layer from the download into the rootfs and into the store at once ----

blob_count() {
	find "$STORE/blobs/sha256" -type f | wc -l
}

# Every blob in the store hashes to its name.
store_verified() {
	local f
	for f in "$STORE"/blobs/sha256/*; do
		[ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || return 1
	done
}

# The layers of the hello image the fault registry damages (over 1000 bytes)
# are not in the store.
no_big_layers() {
	local m d
	m=$(layout_desc "$REGISTRY_DIR/layout" hello | jq -r .digest)
	for d in $(jq -r '.layers[] | select(.size > 1000) | .digest' "$REGISTRY_DIR/layout/blobs/sha256/${m#sha256:}"); do
		[ ! -e "$STORE/blobs/sha256/${d#sha256:}" ] || return 1
	done
}

assert_no_bundle() {
	[ ! -e "$1" ]
	run compgen -G "$1.tmp-*"
	[ "$status" -ne 0 ]
}

@test "stream: a cold bundle fills the store with verified blobs and the name" {
	run -0 imgtool -v bundle "$REGISTRY/test/layers:1" "$WORK/b"
	# the layers were unpacked in order from the download
	[[ "$output" == *"layer 1/3"*"layer 2/3"*"layer 3/3"*"Digest: sha256:"* ]]
	[ "$(cat "$WORK/b/rootfs/second")" = "layer two" ]
	[ "$(blob_count)" -eq 5 ] # 3 layers, config, manifest
	store_verified
	[ -z "$(find "$STORE/ingest" -type f)" ]
	run -0 imgtool images -q
	[ "$output" = "$REGISTRY/test/layers:1" ]
	# the diff_ids checked on the way in are remembered with the blobs
	local m c want got
	m=$(jq -r '.manifests[0].digest' "$STORE/index.json")
	c=$(jq -r .config.digest "$STORE/blobs/sha256/${m#sha256:}")
	want=$(jq -r '.rootfs.diff_ids | join(" ")' "$STORE/blobs/sha256/${c#sha256:}")
	got=$(for d in $(jq -r '.layers[].digest' "$STORE/blobs/sha256/${m#sha256:}"); do
		python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.imgtool.diff_id").decode())' \
			"$STORE/blobs/sha256/${d#sha256:}"
	done | paste -sd' ')
	[ "$got" = "$want" ]
}

@test "stream: a blob whose digest does not match leaves no bundle, no blob, no name" {
	fault_start "$BATS_TEST_TMPDIR" "$REGISTRY_DIR/layout" --corrupt-blobs
	run -1 imgtool bundle "$FAULT/test/x:hello" "$WORK/b"
	[[ "$output" == *"digest mismatch"* ]]
	assert_no_bundle "$WORK/b"
	store_verified
	no_big_layers
	run -0 imgtool images -q
	[ "$output" = "" ]
}

@test "stream: a blob cut short leaves no bundle and no blob" {
	fault_start "$BATS_TEST_TMPDIR" "$REGISTRY_DIR/layout" --short-blobs
	run -1 imgtool bundle "$FAULT/test/x:hello" "$WORK/b"
	[[ "$output" == *"layer sha256:"* ]]
	assert_no_bundle "$WORK/b"
	no_big_layers
}

@test "stream: a dropped connection is resumed with Range under the unpacker" {
	fault_start "$BATS_TEST_TMPDIR" "$REGISTRY_DIR/layout" --truncate-once
	run -0 imgtool bundle "$FAULT/test/x:hello" "$WORK/b"
	[ "$(fault_count 'select(.kind=="blob" and .range != null and .status==206)')" -ge 1 ]
	[ "$(cat "$WORK/b/rootfs/msg")" = "hello from the registry" ]
	store_verified
}

@test "stream: a server that ignores Range resends from 0 and the unpacker follows" {
	fault_start "$BATS_TEST_TMPDIR" "$REGISTRY_DIR/layout" --truncate-once --no-range
	run -0 imgtool bundle "$FAULT/test/x:hello" "$WORK/b"
	[ -x "$WORK/b/rootfs/bin/busybox" ]
	[ "$(cat "$WORK/b/rootfs/msg")" = "hello from the registry" ]
	store_verified
}

@test "stream: a layer another pull is writing is taken when its turn comes" {
	local m second holder
	m=$(layout_desc "$REGISTRY_DIR/layout" layers | jq -r .digest)
	second=$(jq -r '.layers[1].digest' "$REGISTRY_DIR/layout/blobs/sha256/${m#sha256:}")
	mkdir -p "$STORE/ingest"
	flock -x "$STORE/ingest/sha256-${second#sha256:}" sleep 2 &
	holder=$!
	run -0 imgtool bundle "$REGISTRY/test/layers:1" "$WORK/b"
	wait "$holder"
	[[ "$output" == *"Waiting for another pull of ${second:0:19}"* ]]
	[ "$(cat "$WORK/b/rootfs/second")" = "layer two" ]
	[ "$(cat "$WORK/b/rootfs/third")" = "layer three" ]
	[ "$(blob_count)" -eq 5 ]
	store_verified
}

@test "stream: two concurrent cold bundles of one image download each blob once" {
	local before after a b
	before=$(grep -c '"GET /v2/test/layers/blobs/' "$REGISTRY_LOG")
	"$IMGTOOL" --store "$STORE" --ca-file "$REGISTRY_CA" -q bundle "$REGISTRY/test/layers:1" "$WORK/b1" \
		>"$WORK/a.out" 2>&1 &
	a=$!
	"$IMGTOOL" --store "$STORE" --ca-file "$REGISTRY_CA" -q bundle "$REGISTRY/test/layers:1" "$WORK/b2" \
		>"$WORK/b.out" 2>&1 &
	b=$!
	wait "$a" || { cat "$WORK/a.out"; false; }
	wait "$b" || { cat "$WORK/b.out"; false; }
	[ "$(cat "$WORK/b1/rootfs/third")" = "layer three" ]
	[ "$(cat "$WORK/b2/rootfs/third")" = "layer three" ]
	[ "$(blob_count)" -eq 5 ]
	store_verified
	after=$(grep -c '"GET /v2/test/layers/blobs/' "$REGISTRY_LOG")
	[ "$((after - before))" -eq 4 ] # 3 layers and the config, once each
}

@test "stream: a layer unpacking past --max-unpacked-size stops the bundle, naming its digest" {
	local digest
	digest=$(python3 "$BATS_TEST_DIRNAME/make-bomb.py" "$WORK/bomb" 100000000)
	image_push "$WORK/bomb" bomb test/bomb:1
	run -1 imgtool -q bundle --max-unpacked-size 50M "$REGISTRY/test/bomb:1" "$WORK/b"
	[[ "$output" == *"layer $digest: unpacks to more than 50.0 MiB (--max-unpacked-size)" ]]
	assert_no_bundle "$WORK/b"
	store_verified
	# the default limit stops it too; a larger one unpacks it
	run -1 imgtool -q bundle "$REGISTRY/test/bomb:1" "$WORK/b"
	[[ "$output" == *"layer $digest: unpacks to more than 64.0 MiB (the default limit: "* ]]
	assert_no_bundle "$WORK/b"
	run -0 imgtool -q bundle --max-unpacked-size 1G "$REGISTRY/test/bomb:1" "$WORK/b"
	[ "$(stat -c %s "$WORK/b/rootfs/zeros")" = 100000000 ]
}
