#!/usr/bin/env bats
# imgtool pull against a real registry (Debian's docker-registry with TLS from
# a test CA and bearer tokens from tests/lib/token-server.py), and against a
# hostile one (tests/lib/fault-registry.py) for each fault the client must
# survive or refuse.

load ../lib/registry
load ../lib/terminal

if type bats_require_minimum_version >/dev/null 2>&1; then
	bats_require_minimum_version 1.5.0
fi

: "${IMGTOOL:=${TOP_BUILDDIR:-$(readlink -f "$BATS_TEST_DIRNAME/../..")}/imgtool/imgtool}"

setup_file() {
	registry_suite_start
	export LAYOUT=$SUITE_DIR/layout
	# Credentials must come only from what a test passes.
	export DOCKER_CONFIG=$SUITE_DIR/no-docker-config REGISTRY_AUTH_FILE=$SUITE_DIR/no-auth.json
}

teardown_file() {
	registry_stop
}

setup() {
	STORE=$BATS_TEST_TMPDIR/store
}

teardown() {
	fault_stop
	proxy_stop
}

imgtool() {
	"$IMGTOOL" --store "$STORE" "$@"
}

# The digest a ref points at in the store (for each platform it is stored for).
store_ref() {
	jq -r --arg n "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n) | .digest' \
		"$STORE/index.json"
}

# The digest a ref points at for one architecture.
store_ref_for() {
	jq -r --arg n "$1" --arg a "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n
		and .platform.architecture == $a) | .digest' "$STORE/index.json"
}

blob_count() {
	find "$STORE/blobs/sha256" -type f | wc -l
}

# Manifest digest and layer digests of a tag in the source layout.
layout_layers() {
	local d
	d=$(layout_desc "$LAYOUT" "$1" | jq -r .digest)
	jq -r '.layers[].digest' "$LAYOUT/blobs/sha256/${d#sha256:}"
}

@test "pull: anonymous over TLS with --ca-file, HEAD then GET by digest" {
	: >"$TOKEN_LOG"
	local before
	before=$(wc -l <"$REGISTRY_LOG")
	run imgtool --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/busybox:1"
	[ "$status" -eq 0 ]
	want=$(layout_desc "$LAYOUT" amd64 | jq -r .digest)
	[ "$(store_ref "$REGISTRY/test/busybox:1")" = "$want" ]
	for l in $(layout_layers amd64); do
		[ -f "$STORE/blobs/sha256/${l#sha256:}" ]
	done
	# The tag was resolved with HEAD, the manifest fetched by its digest.
	tail -n +"$((before + 1))" "$REGISTRY_LOG" >"$BATS_TEST_TMPDIR/log"
	grep -q "\"HEAD /v2/test/busybox/manifests/1 " "$BATS_TEST_TMPDIR/log"
	grep -q "\"GET /v2/test/busybox/manifests/$want " "$BATS_TEST_TMPDIR/log"
	! grep -q "\"GET /v2/test/busybox/manifests/1 " "$BATS_TEST_TMPDIR/log"
	# Anonymous: the token request carried no user; one token served the whole pull.
	[ "$(jq -r .user "$TOKEN_LOG")" = "" ]
	[ "$(wc -l <"$TOKEN_LOG")" -eq 1 ]
	[ "$(jq -c .access "$TOKEN_LOG")" = '[{"type":"repository","name":"test/busybox","actions":["pull"]}]' ]
}

@test "pull: without the test CA the certificate is refused, with a hint" {
	run imgtool pull "$REGISTRY/test/busybox:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"certificate"* ]]
	[[ "$output" == *"--ca-file"* ]]
	[ ! -f "$STORE/index.json" ] || [ -z "$(store_ref "$REGISTRY/test/busybox:1")" ]
}

@test "pull: --insecure-registry skips certificate checks for that host only" {
	run imgtool --insecure-registry "$REGISTRY" pull "$REGISTRY/test/busybox:1"
	[ "$status" -eq 0 ]
	run imgtool --insecure-registry other.example:5000 pull "$REGISTRY/test/busybox:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"certificate"* ]]
}

@test "pull --creds: alice's credentials go to the token realm" {
	: >"$TOKEN_LOG"
	run imgtool --ca-file "$REGISTRY_CA" --creds alice:secret pull "$REGISTRY/test/layers:1"
	[ "$status" -eq 0 ]
	[ "$(jq -r .user "$TOKEN_LOG" | sort -u)" = alice ]
	[ -n "$(store_ref "$REGISTRY/test/layers:1")" ]
	[ "$(layout_layers layers | wc -l)" -eq 3 ]
	for l in $(layout_layers layers); do
		[ -f "$STORE/blobs/sha256/${l#sha256:}" ]
	done
}

@test "pull --creds: a wrong password is refused clearly" {
	run imgtool --ca-file "$REGISTRY_CA" --creds alice:wrong pull "$REGISTRY/test/layers:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid username/password"* ]]
	[[ "$output" != *"wrong"* ]] # the secret never appears in messages
}

@test "pull: credentials from DOCKER_CONFIG's config.json and from a credential helper" {
	mkdir -p "$BATS_TEST_TMPDIR/docker" "$BATS_TEST_TMPDIR/bin"
	printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY" "$(printf alice:secret | base64)" \
		>"$BATS_TEST_TMPDIR/docker/config.json"
	: >"$TOKEN_LOG"
	DOCKER_CONFIG=$BATS_TEST_TMPDIR/docker run imgtool --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/busybox:1"
	[ "$status" -eq 0 ]
	[ "$(jq -r .user "$TOKEN_LOG" | sort -u)" = alice ]

	cat >"$BATS_TEST_TMPDIR/bin/docker-credential-testhelper" <<-'EOF'
		#!/bin/sh
		read server
		printf '{"ServerURL":"%s","Username":"alice","Secret":"secret"}\n' "$server"
	EOF
	chmod +x "$BATS_TEST_TMPDIR/bin/docker-credential-testhelper"
	printf '{"credHelpers":{"%s":"testhelper"}}' "$REGISTRY" >"$BATS_TEST_TMPDIR/docker/config.json"
	: >"$TOKEN_LOG"
	rm -rf "$STORE"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH DOCKER_CONFIG=$BATS_TEST_TMPDIR/docker \
		run imgtool --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/busybox:1"
	[ "$status" -eq 0 ]
	[ "$(jq -r .user "$TOKEN_LOG" | sort -u)" = alice ]
}

@test "pull: an identity token from config.json is exchanged with an OAuth POST" {
	mkdir -p "$BATS_TEST_TMPDIR/docker"
	printf '{"auths":{"%s":{"identitytoken":"rt-alice"}}}' "$REGISTRY" >"$BATS_TEST_TMPDIR/docker/config.json"
	: >"$TOKEN_LOG"
	DOCKER_CONFIG=$BATS_TEST_TMPDIR/docker run imgtool --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/busybox:1"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.method + " " + .user' "$TOKEN_LOG" | sort -u)" = "POST alice" ]
}

@test "pull: an unknown tag is reported as such" {
	run imgtool --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/busybox:nope"
	[ "$status" -ne 0 ]
	[[ "$output" == *"manifest unknown"* ]]
}

@test "pull: an unknown repository may not exist or may need a login, and says which" {
	run -1 imgtool --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/nope:1"
	[[ "$output" == *"repository $REGISTRY/test/nope does not exist, or it is private and needs a login (\`imgtool login $REGISTRY\`, or --creds)" ]]
	[[ "$output" != *"No such file or directory"* ]]
	run -1 imgtool --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/busybox:nope"
	[[ "$output" == *"manifest unknown (no such tag)" ]]
}

@test "pull: platform selection from an index skips the attestation entry" {
	amd=$(layout_desc "$LAYOUT" amd64 | jq -r .digest)
	arm=$(layout_desc "$LAYOUT" arm64 | jq -r .digest)
	[ "$(uname -m)" = x86_64 ] || skip "host default test written for amd64"
	run imgtool --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/multi:latest"
	[ "$status" -eq 0 ]
	[ "$(store_ref "$REGISTRY/test/multi:latest")" = "$amd" ]

	run imgtool --ca-file "$REGISTRY_CA" pull --platform linux/arm64 "$REGISTRY/test/multi:latest"
	[ "$status" -eq 0 ]
	[ "$(store_ref_for "$REGISTRY/test/multi:latest" arm64)" = "$arm" ]
	[ "$(store_ref_for "$REGISTRY/test/multi:latest" amd64)" = "$amd" ]
	layer=$(layout_layers arm64 | tail -1)
	[ -f "$STORE/blobs/sha256/${layer#sha256:}" ]

	run imgtool --ca-file "$REGISTRY_CA" pull --platform linux/s390x "$REGISTRY/test/multi:latest"
	[ "$status" -ne 0 ]
	[[ "$output" == *"no image for platform linux/s390x"* ]]
	[[ "$output" == *"linux/arm64, linux/amd64"* ]] # attestation (unknown/unknown) not offered
}

@test "pull, images, inspect: a multi-platform tag's digest is its index's, the platform manifest beside it" {
	[ "$(uname -m)" = x86_64 ] || skip "host default test written for amd64"
	local idx amd bb
	idx=$(layout_desc "$LAYOUT" multi | jq -r .digest)
	amd=$(layout_desc "$LAYOUT" amd64 | jq -r .digest)
	# what skopeo (and docker) show for the tag
	[ "$(skopeo inspect --cert-dir "$REGISTRY_DIR/certs" "docker://$REGISTRY/test/multi:latest" | jq -r .Digest)" = "$idx" ]

	run -0 --separate-stderr imgtool --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/multi:latest"
	[ "$output" = "$REGISTRY/test/multi:latest: $idx (linux/amd64 manifest $amd)" ]
	[[ "$stderr" == *"Digest: $idx"* ]]
	run -0 imgtool images
	[[ "${lines[0]}" == REPOSITORY*TAG*PLATFORM*DIGEST*"MANIFEST DIGEST"*SIZE*PULLED ]]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" == "$REGISTRY/test/multi "*latest*linux/amd64*"${idx:0:19} "*"${amd:0:19} "* ]]
	run -0 --separate-stderr imgtool inspect "$REGISTRY/test/multi:latest"
	[ "$(jq -r '.digest + " " + .manifestDigest + " " + .architecture' <<<"$output")" = "$idx $amd amd64" ]

	# a single-manifest image: the two are one
	bb=$(layout_desc "$LAYOUT" amd64 | jq -r .digest)
	run -0 --separate-stderr imgtool --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/busybox:1"
	[ "$output" = "$REGISTRY/test/busybox:1: $bb" ]
	run -0 --separate-stderr imgtool inspect "$REGISTRY/test/busybox:1"
	[ "$(jq -r '.digest + " " + .manifestDigest' <<<"$output")" = "$bb $bb" ]
}

@test "pull by the index digest or by the platform manifest's names the image the tag names" {
	[ "$(uname -m)" = x86_64 ] || skip "host default test written for amd64"
	local idx amd name=$REGISTRY/test/multi
	idx=$(layout_desc "$LAYOUT" multi | jq -r .digest)
	amd=$(layout_desc "$LAYOUT" amd64 | jq -r .digest)
	run -0 imgtool -q --ca-file "$REGISTRY_CA" pull "$name:latest"
	run -0 --separate-stderr imgtool --ca-file "$REGISTRY_CA" pull "$name@$idx"
	[ "$output" = "$name@$idx: $idx (linux/amd64 manifest $amd)" ]
	run -0 --separate-stderr imgtool --ca-file "$REGISTRY_CA" pull "$name@$amd"
	[ "$output" = "$name@$amd: $amd" ]
	run -0 imgtool images
	[ "${#lines[@]}" -eq 2 ]
	[[ "$output" != *"<none>"* ]]
	run -0 imgtool images -q
	[ "$output" = "$name:latest" ]
	# both digests find it in the store
	for d in "$idx" "$amd"; do
		run -0 --separate-stderr imgtool inspect "$name@$d"
		[ "$(jq -r .manifestDigest <<<"$output")" = "$amd" ]
	done

	# the other way round: the digest names come first, the tag takes them over
	rm -rf "$STORE"
	run -0 imgtool -q --ca-file "$REGISTRY_CA" pull "$name@$idx"
	run -0 imgtool -q --ca-file "$REGISTRY_CA" pull "$name@$amd"
	run -0 imgtool images
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" == "$name "*"<none>"*"${idx:0:19} "*"${amd:0:19} "* ]]
	run -0 imgtool -q --ca-file "$REGISTRY_CA" pull "$name:latest"
	run -0 imgtool images -q
	[ "$output" = "$name:latest" ]
	run -0 --separate-stderr imgtool inspect "$name@$idx"
	[ "$(jq -r .manifestDigest <<<"$output")" = "$amd" ]
}

@test "pull --platform adds a platform to the name: one image per name and platform; rm takes all or --platform's" {
	[ "$(uname -m)" = x86_64 ] || skip "host default test written for amd64"
	local idx amd arm name=$REGISTRY/test/multi:latest
	idx=$(layout_desc "$LAYOUT" multi | jq -r .digest)
	amd=$(layout_desc "$LAYOUT" amd64 | jq -r .digest)
	arm=$(layout_desc "$LAYOUT" arm64 | jq -r .digest)
	run -0 imgtool -q --ca-file "$REGISTRY_CA" pull --platform linux/arm64 "$name"
	run -0 imgtool -q --ca-file "$REGISTRY_CA" pull "$name"
	# the layout's own means: two descriptors of one ref.name, each with its platform
	[ "$(jq -c --arg n "$name" '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n)
		| [.platform.os, .platform.architecture, .digest, .annotations["io.imgtool.ref.digest"]]]' "$STORE/index.json")" \
		= "[[\"linux\",\"arm64\",\"$arm\",\"$idx\"],[\"linux\",\"amd64\",\"$amd\",\"$idx\"]]" ]
	run -0 imgtool images
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[1]}" == *linux/arm64*"${idx:0:19} "*"${arm:0:19} "* ]]
	[[ "${lines[2]}" == *linux/amd64*"${idx:0:19} "*"${amd:0:19} "* ]]
	run -0 imgtool images -q
	[ "$output" = "$name" ]
	# inspect takes the host's unless told
	run -0 --separate-stderr imgtool inspect "$name"
	[ "$(jq -r .architecture <<<"$output")" = amd64 ]
	run -0 --separate-stderr imgtool inspect --platform linux/arm64 "$name"
	[ "$(jq -r '.architecture + " " + .manifestDigest' <<<"$output")" = "arm64 $arm" ]
	run -1 imgtool inspect --platform linux/s390x "$name"
	[[ "$output" == *"for linux/s390x not found"*"linux/arm64, linux/amd64"* ]]

	run -0 imgtool rm --platform linux/arm64 "$name"
	run -0 imgtool images
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" == *linux/amd64* ]]
	run -0 imgtool -q --ca-file "$REGISTRY_CA" pull --platform linux/arm64 "$name"
	run -0 imgtool rm "$name"
	# One name for two platforms is one name untagged.
	[ "$output" = "Untagged: $name" ]
	run -0 imgtool images -q
	[ "$output" = "" ]
}

@test "pull: a single-platform image of another architecture is refused" {
	run imgtool --ca-file "$REGISTRY_CA" pull --platform linux/arm64 "$REGISTRY/test/busybox:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux/amd64, not linux/arm64"* ]]
}

@test "pull: a second pull of a cached image makes no blob request" {
	run imgtool --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/layers:1"
	[ "$status" -eq 0 ]
	before=$(registry_blob_gets)
	manifests_before=$(grep -c '"GET /v2/test/layers/manifests/' "$REGISTRY_LOG")
	run imgtool --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/layers:1"
	[ "$status" -eq 0 ]
	[ "$(registry_blob_gets)" -eq "$before" ]
	# only the HEAD that checks whether the tag moved
	[ "$(grep -c '"GET /v2/test/layers/manifests/' "$REGISTRY_LOG")" -eq "$manifests_before" ]
}

@test "pull: two concurrent pulls of one image both succeed with one copy of each blob" {
	before=$(grep -c '"GET /v2/test/layers/blobs/' "$REGISTRY_LOG")
	"$IMGTOOL" --store "$STORE" -q --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/layers:1" \
		>"$BATS_TEST_TMPDIR/a.out" 2>&1 &
	a=$!
	"$IMGTOOL" --store "$STORE" -q --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/layers:1" \
		>"$BATS_TEST_TMPDIR/b.out" 2>&1 &
	b=$!
	wait "$a" || { cat "$BATS_TEST_TMPDIR/a.out"; false; }
	wait "$b" || { cat "$BATS_TEST_TMPDIR/b.out"; false; }
	# 3 layers + config + manifest, each once
	[ "$(blob_count)" -eq 5 ]
	[ -z "$(find "$STORE" -name '*.partial' -o -path '*/ingest/*' -type f -size +0)" ]
	# each blob was downloaded once: the second pull found the first one's work
	after=$(grep -c '"GET /v2/test/layers/blobs/' "$REGISTRY_LOG")
	[ "$((after - before))" -eq 4 ]
}

@test "pull: stdout stays clean; progress goes to stderr" {
	run --separate-stderr imgtool --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/busybox:1"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"Pulling $REGISTRY/test/busybox:1"* ]]
	[[ "$output" != *"Pulling"* ]]
}

@test "pull: on a terminal, each layer has a row redrawn in place with bytes, total and speed" {
	run -0 on_terminal "$BATS_TEST_TMPDIR/tty" -- "$IMGTOOL" --store "$STORE" --ca-file "$REGISTRY_CA" \
		pull "$REGISTRY/test/layers:1"
	local shown d
	shown=$(cat "$BATS_TEST_TMPDIR/tty")
	# rows are redrawn: the cursor goes back up over them and each is cleared
	[[ "$shown" == *$'\e['*A* ]]
	[[ "$shown" == *$'\r\e[2K'* ]]
	for d in $(layout_layers layers); do
		d=${d#sha256:}
		# the last drawing of the row says what was done, how much and how fast
		[[ "$shown" =~ ${d:0:12}:\ (done|already\ present)[^$'\n']*B ]] || {
			echo "no finished row for $d in: $shown"
			return 1
		}
	done
	[[ "$shown" =~ [0-9.]+[kMG]?B/s ]]
	# without a terminal, the same pull prints plain lines, no escapes
	rm -rf "$STORE"
	run --separate-stderr imgtool --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/layers:1"
	[ "$status" -eq 0 ]
	[[ "$stderr" != *$'\e['* ]]
}

# ---------------------------------------------------------------- hostile registry

@test "fault: 500 twice, then success: the pull retries" {
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT" --fail-first 2
	run imgtool pull "$FAULT/test/x:amd64"
	[ "$status" -eq 0 ]
	[ "$(fault_count 'select(.status==500)')" -eq 2 ]
	[ -n "$(store_ref "$FAULT/test/x:amd64")" ]
}

@test "fault: 429 with Retry-After is waited out" {
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT" --ratelimit 1
	SECONDS=0
	run imgtool pull "$FAULT/test/x:amd64"
	[ "$status" -eq 0 ]
	[ "$SECONDS" -ge 1 ]
	[ "$(fault_count 'select(.status==429)')" -eq 1 ]
}

@test "fault: 429 with a long Retry-After fails with the rate-limit figures and a login hint" {
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT" --ratelimit-forever
	run imgtool pull "$FAULT/test/x:amd64"
	[ "$status" -ne 0 ]
	[[ "$output" == *"rate limit"* ]]
	[[ "$output" == *"limit 100 per 21600 s"* ]]
	[[ "$output" == *"imgtool login"* ]]
	# and it did not hammer the registry
	[ "$(fault_count 'select(.status==429)')" -eq 1 ]
}

@test "fault: a blob whose digest does not match is refused and not stored" {
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT" --corrupt-blobs
	run imgtool pull "$FAULT/test/x:amd64"
	[ "$status" -ne 0 ]
	[[ "$output" == *"digest mismatch"* ]]
	layer=$(layout_layers amd64)
	[ ! -e "$STORE/blobs/sha256/${layer#sha256:}" ]
	[ -z "$(store_ref "$FAULT/test/x:amd64")" ]
}

@test "fault: a blob shorter than its descriptor is refused" {
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT" --short-blobs
	run imgtool pull "$FAULT/test/x:amd64"
	[ "$status" -ne 0 ]
	[[ "$output" == *"truncated"* ]] || [[ "$output" == *"size"* ]]
	layer=$(layout_layers amd64)
	[ ! -e "$STORE/blobs/sha256/${layer#sha256:}" ]
}

@test "fault: a dropped connection is resumed with Range" {
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT" --truncate-once
	run imgtool pull "$FAULT/test/x:amd64"
	[ "$status" -eq 0 ]
	[ "$(fault_count 'select(.kind=="blob" and .range != null and .status==206)')" -eq 1 ]
}

@test "fault: a server that ignores Range still yields a correct blob" {
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT" --truncate-once --no-range
	run imgtool pull "$FAULT/test/x:amd64"
	[ "$status" -eq 0 ]
	layer=$(layout_layers amd64)
	[ "$(sha256sum <"$STORE/blobs/sha256/${layer#sha256:}" | cut -d' ' -f1)" = "${layer#sha256:}" ]
}

@test "fault: a connection that always drops fails after the retries" {
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT" --truncate-always
	run imgtool pull "$FAULT/test/x:amd64"
	[ "$status" -ne 0 ]
	[[ "$output" == *"transfer closed"* ]] || [[ "$output" == *"remaining"* ]]
	[ -z "$(store_ref "$FAULT/test/x:amd64")" ]
}

@test "fault: a pull that failed midway is resumed by the next pull with Range" {
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT" --truncate-always
	run imgtool pull "$FAULT/test/x:amd64"
	[ "$status" -ne 0 ]
	[ -n "$(find "$STORE/ingest" -type f -size +0)" ] # the bytes already fetched were kept
	fault_stop
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT"
	run imgtool pull "$FAULT/test/x:amd64"
	[ "$status" -eq 0 ]
	[ "$(fault_count 'select(.kind=="blob" and .range != null and .status==206)')" -eq 1 ]
	[ "$(fault_count 'select(.kind=="blob" and .range == null)')" -eq 0 ] # the config was kept too
	layer=$(layout_layers amd64)
	[ "$(sha256sum <"$STORE/blobs/sha256/${layer#sha256:}" | cut -d' ' -f1)" = "${layer#sha256:}" ]
}

@test "fault: an oversized manifest is refused before parsing" {
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT" --huge-manifest
	run imgtool pull "$FAULT/test/x:amd64"
	[ "$status" -ne 0 ]
	[[ "$output" == *"4 MiB"* ]]
}

@test "fault: a schema 1 manifest is refused clearly" {
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT" --schema1
	run imgtool pull "$FAULT/test/x:amd64"
	[ "$status" -ne 0 ]
	[[ "$output" == *"schema 1"* ]]
}

@test "fault: a blob redirect to another host does not receive the token" {
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT" --token --redirect-blobs
	run imgtool pull "$FAULT/test/x:amd64"
	[ "$status" -eq 0 ]
	[ "$(fault_count 'select(.kind=="blob" and .status==307 and .auth)')" -ge 1 ]
	[ "$(fault_count 'select(.kind=="direct")')" -ge 1 ]
	[ "$(fault_count 'select(.kind=="direct" and .auth)')" -eq 0 ]
	[ "$(fault_count 'select(.kind=="direct" and (.host | startswith("localhost:")))')" -ge 1 ]
}

@test "fault: an expired token is refreshed once and the pull goes on" {
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT" --token --token-uses 2
	run imgtool pull "$FAULT/test/x:amd64"
	[ "$status" -eq 0 ]
	[ "$(fault_count 'select(.kind=="token")')" -ge 2 ]
	[ "$(fault_count 'select(.status==401 and .auth)')" -ge 1 ]
}

# ---------------------------------------------------------------- proxies

# proxy_start [connect-proxy.py options...]: our own proxy on 127.0.0.1.
# Sets PROXY (http://127.0.0.1:port), PROXY_LOG (one JSON line per request)
# and PROXY_PID.
proxy_start() {
	local dir=$BATS_TEST_TMPDIR/proxy
	mkdir -p "$dir"
	PROXY_LOG=$dir/requests.log
	: >"$PROXY_LOG"
	rm -f "$dir/port"
	"$PYTHON3" "$REGISTRY_LIB/connect-proxy.py" --port-file "$dir/port" --log "$PROXY_LOG" "$@" \
		>"$dir/out" 2>&1 &
	PROXY_PID=$!
	for _ in $(seq 1 200); do
		[ -s "$dir/port" ] && break
		sleep 0.05
	done
	[ -s "$dir/port" ] || { echo "proxy did not start: $(cat "$dir/out")" >&2; return 1; }
	PROXY=http://127.0.0.1:$(cat "$dir/port")
}

proxy_stop() {
	stop_pid "${PROXY_PID:-}"
	PROXY_PID=
}

# The proxy's log lines matching a jq filter.
proxy_count() {
	jq -c "$1" "$PROXY_LOG" | wc -l
}

# Debian 12's libcurl 7.88 sends requests for 127.0.0.1 and localhost to the
# proxy like any other host (no implicit bypass), so the suite's registry
# is reached through the proxy or not at all.
@test "pull: https_proxy from the environment is used (CONNECT seen by the proxy), and no_proxy bypasses it" {
	proxy_start
	: >"$TOKEN_LOG"
	https_proxy=$PROXY run imgtool --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/busybox:1"
	[ "$status" -eq 0 ]
	[ -n "$(store_ref "$REGISTRY/test/busybox:1")" ]
	# the registry and the token realm, each through a tunnel
	[ "$(proxy_count "select(.method==\"CONNECT\" and .target==\"$REGISTRY\" and .status==200)")" -ge 1 ]
	realm=$(sed -n 's|^ *realm: https://\([^/]*\)/token$|\1|p' "$SUITE_DIR/config.yml")
	[ "$(proxy_count "select(.method==\"CONNECT\" and .target==\"$realm\" and .status==200)")" -ge 1 ]
	[ "$(jq -r .user "$TOKEN_LOG")" = "" ] # and the token was served through it
	[ "$(proxy_count 'select(.method!="CONNECT")')" -eq 0 ]

	# no_proxy names the registry's host: nothing goes through the proxy
	: >"$PROXY_LOG"
	rm -rf "$STORE"
	https_proxy=$PROXY no_proxy=127.0.0.1 run imgtool --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/busybox:1"
	[ "$status" -eq 0 ]
	[ -n "$(store_ref "$REGISTRY/test/busybox:1")" ]
	[ "$(wc -l <"$PROXY_LOG")" -eq 0 ]
}

@test "pull: http_proxy carries plain-HTTP requests, to a host only the proxy can resolve" {
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT"
	proxy_start --map registry.proxy.test=127.0.0.1
	host=registry.proxy.test:${FAULT##*:}
	# without the proxy the name does not resolve
	run imgtool --insecure-registry "$host" pull "$host/test/x:amd64"
	[ "$status" -ne 0 ]
	http_proxy=$PROXY https_proxy=$PROXY run imgtool --insecure-registry "$host" pull "$host/test/x:amd64"
	[ "$status" -eq 0 ]
	[ -n "$(store_ref "$host/test/x:amd64")" ]
	[ "$(proxy_count "select(.method==\"HEAD\" and .target==\"http://$host/v2/test/x/manifests/amd64\")")" -eq 1 ]
	[ "$(proxy_count "select(.method==\"GET\" and (.target | startswith(\"http://$host/v2/test/x/blobs/\")))")" -eq 2 ]
	[ "$(fault_count 'select(.kind=="blob")')" -eq 2 ]
}

@test "pull: a proxy that is down or refuses the tunnel fails with one clear line, at once" {
	local port
	port=$(free_port)
	SECONDS=0
	https_proxy=http://127.0.0.1:$port run timeout 60 "$IMGTOOL" --store "$STORE" -q --ca-file "$REGISTRY_CA" \
		pull "$REGISTRY/test/busybox:1"
	[ "$status" -ne 0 ] && [ "$status" -ne 124 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "imgtool: "*"Failed to connect to 127.0.0.1 port $port"* ]]
	[ "$SECONDS" -lt 30 ] # the retries of a refused connection, no more

	proxy_start --deny 403
	SECONDS=0
	https_proxy=$PROXY run timeout 60 "$IMGTOOL" --store "$STORE" -q --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/busybox:1"
	[ "$status" -ne 0 ] && [ "$status" -ne 124 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"CONNECT tunnel failed, response 403 (the proxy from the environment refused the tunnel"* ]]
	# a refusal is not retried
	[ "$(proxy_count 'select(.method=="CONNECT")')" -eq 1 ]
	[ "$SECONDS" -lt 5 ]
	proxy_stop

	proxy_start --deny 407
	https_proxy=$PROXY run timeout 60 "$IMGTOOL" --store "$STORE" -q --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/busybox:1"
	[ "$status" -ne 0 ] && [ "$status" -ne 124 ]
	[[ "$output" == *"response 407 (the proxy from the environment wants credentials"* ]]
	[ "$(proxy_count 'select(.method=="CONNECT")')" -eq 1 ]
	[ ! -f "$STORE/index.json" ] || [ -z "$(store_ref "$REGISTRY/test/busybox:1")" ]
}

# ---------------------------------------------------------------- blob locks

# image_reversed LAYOUT FROM TO: TO has FROM's layers (and diff_ids) in the
# opposite order, so the two images share every layer.
image_reversed() {
	local layout=$1 from=$2 to=$3 m c cfg man chex mhex
	m=$(layout_desc "$layout" "$from" | jq -r .digest)
	c=$(jq -r .config.digest "$layout/blobs/sha256/${m#sha256:}")
	cfg=$(jq -c '.rootfs.diff_ids |= reverse' "$layout/blobs/sha256/${c#sha256:}")
	chex=$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)
	printf '%s' "$cfg" >"$layout/blobs/sha256/$chex"
	man=$(jq -c --arg d "sha256:$chex" --argjson s "$(printf '%s' "$cfg" | wc -c)" \
		'.layers |= reverse | .config.digest = $d | .config.size = $s' "$layout/blobs/sha256/${m#sha256:}")
	mhex=$(printf '%s' "$man" | sha256sum | cut -d' ' -f1)
	printf '%s' "$man" >"$layout/blobs/sha256/$mhex"
	jq --arg d "sha256:$mhex" --argjson s "$(printf '%s' "$man" | wc -c)" --arg t "$to" \
		'.manifests += [{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$d,size:$s,
		  annotations:{"org.opencontainers.image.ref.name":$t}}]' \
		"$layout/index.json" >"$layout/index.json.new" && mv "$layout/index.json.new" "$layout/index.json"
}

@test "pull: a blob another pull is writing does not hold up the other layers" {
	local second base third p
	base=$(layout_layers layers | sed -n 1p)
	second=$(layout_layers layers | sed -n 2p)
	third=$(layout_layers layers | sed -n 3p)
	mkdir -p "$STORE/ingest"
	# Another writer holds the second layer's lock.
	flock -x "$STORE/ingest/sha256-${second#sha256:}" sleep 60 &
	holder=$!
	"$IMGTOOL" --store "$STORE" --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/layers:1" \
		>"$BATS_TEST_TMPDIR/pull.out" 2>&1 &
	p=$!
	for _ in $(seq 1 200); do
		[ -f "$STORE/blobs/sha256/${base#sha256:}" ] && [ -f "$STORE/blobs/sha256/${third#sha256:}" ] && break
		sleep 0.05
	done
	# The free layers were committed while the pull waits, holding no lock.
	[ -f "$STORE/blobs/sha256/${base#sha256:}" ]
	[ -f "$STORE/blobs/sha256/${third#sha256:}" ]
	[ ! -f "$STORE/blobs/sha256/${second#sha256:}" ]
	kill -0 "$p"
	# what it has open in ingest/ while it waits: the busy blob only
	sleep 0.2
	run -0 bash -c "ls -l /proc/$p/fd | grep -o 'ingest/.*'"
	[ "$output" = "ingest/sha256-${second#sha256:}" ]
	kill "$holder"
	wait "$holder" || true
	wait "$p" || { cat "$BATS_TEST_TMPDIR/pull.out"; false; }
	grep -q "Waiting for another pull of ${second:0:19}" "$BATS_TEST_TMPDIR/pull.out"
	[ "$(sha256sum <"$STORE/blobs/sha256/${second#sha256:}" | cut -d' ' -f1)" = "${second#sha256:}" ]
}

@test "pull: two images sharing layers in opposite order pull concurrently without deadlock" {
	local second holder a b
	image_reversed "$LAYOUT" layers reversed
	image_push "$LAYOUT" reversed test/reversed:1
	second=$(layout_layers layers | sed -n 2p)
	for round in held free; do
		rm -rf "$STORE"
		mkdir -p "$STORE/ingest"
		# Holding the middle layer's lock for a moment lines both pulls up on
		# it, each with its first layer in hand: the order that deadlocked.
		[ "$round" = free ] || {
			flock -x "$STORE/ingest/sha256-${second#sha256:}" sleep 2 &
			holder=$!
		}
		timeout 60 "$IMGTOOL" --store "$STORE" -q --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/layers:1" \
			>"$BATS_TEST_TMPDIR/a.out" 2>&1 &
		a=$!
		timeout 60 "$IMGTOOL" --store "$STORE" -q --ca-file "$REGISTRY_CA" pull "$REGISTRY/test/reversed:1" \
			>"$BATS_TEST_TMPDIR/b.out" 2>&1 &
		b=$!
		wait "$a" || { echo "$round: $(cat "$BATS_TEST_TMPDIR/a.out")"; false; }
		wait "$b" || { echo "$round: $(cat "$BATS_TEST_TMPDIR/b.out")"; false; }
		[ "$round" = free ] || wait "$holder"
		# 3 shared layers + 2 configs + 2 manifests
		[ "$(blob_count)" -eq 7 ]
		[ -n "$(store_ref "$REGISTRY/test/layers:1")" ]
		[ -n "$(store_ref "$REGISTRY/test/reversed:1")" ]
	done
}
