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
	registry_have_tools || skip "needs docker-registry, skopeo, umoci, openssl, curl"
	[ -x "$IMGTOOL" ] || skip "imgtool is not built ($IMGTOOL)"
	export SUITE_DIR=$BATS_FILE_TMPDIR/registry
	mkdir -p "$SUITE_DIR"
	registry_start "$SUITE_DIR"
	registry_push_test_images
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

@test "bundle of a tag the registry does not have fails and leaves nothing" {
	run imgtool -q bundle "$REGISTRY/test/hello:nope" "$WORK/b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"nope"* ]]
	[ ! -e "$WORK/b" ]
	run compgen -G "$WORK/b.tmp-*"
	[ "$status" -ne 0 ]
}
