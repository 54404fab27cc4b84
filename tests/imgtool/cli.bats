#!/usr/bin/env bats
# What a new user meets first: error messages, exit statuses, what pull, rm
# and bundle print, interrupts.  Images come from make-images.py, served over
# plain HTTP by the hostile registry (tests/lib/fault-registry.py), which can
# also pretend repositories do not exist and trickle blobs out slowly.

bats_require_minimum_version 1.5.0

load ../lib/registry

TESTS_DIR=$(dirname "$(readlink -f "$BATS_TEST_FILENAME")")
: "${IMGTOOL:=${TOP_BUILDDIR:-$TESTS_DIR/../..}/imgtool/imgtool}"
BUSYBOX=${BUSYBOX:-/bin/busybox}

setup_file() {
	[ -x "$IMGTOOL" ] || skip "imgtool not built: $IMGTOOL"
	[ -x "$BUSYBOX" ] || skip "needs busybox-static"
	command -v jq >/dev/null || skip "needs jq"
	export LAYOUT=$BATS_FILE_TMPDIR/layout
	mkdir -p "$BATS_FILE_TMPDIR/outside"
	"$PYTHON3" "$TESTS_DIR/make-images.py" "$LAYOUT" "$BUSYBOX" "$BATS_FILE_TMPDIR/outside" >/dev/null
	unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
	# Credentials must come only from what a test passes.
	export DOCKER_CONFIG=$BATS_FILE_TMPDIR/no-docker-config REGISTRY_AUTH_FILE=$BATS_FILE_TMPDIR/no-auth.json
}

setup() {
	STORE=$BATS_TEST_TMPDIR/store
}

teardown() {
	fault_stop
}

imgtool() {
	"$IMGTOOL" --store "$STORE" "$@"
}

# The manifest digest of a tag in the test layout.
layout_digest() {
	jq -r --arg t "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' \
		"$LAYOUT/index.json"
}

# No strerror text in OUTPUT: these failures are not system calls'.
refute_strerror() {
	local s
	for s in "No such file or directory" "Invalid argument" "Permission denied" "File exists" \
		"Operation not supported" "Protocol error" "Bad message" "File too large"; do
		[[ "$output" != *"$s"* ]] || {
			echo "strerror \"$s\" in: $output"
			return 1
		}
	done
}

# ---------------------------------------------------------------- messages

@test "errors that are not system calls' carry no strerror" {
	run imgtool pull --platform linux/s390x "oci:$LAYOUT:multi"
	[ "$status" -eq 1 ]
	[[ "$output" == *"choose one with --platform" ]]
	refute_strerror

	mkdir "$BATS_TEST_TMPDIR/b"
	run imgtool bundle "oci:$LAYOUT:root" "$BATS_TEST_TMPDIR/b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"bundle \`$BATS_TEST_TMPDIR/b\` already exists" ]]
	refute_strerror

	run imgtool inspect "oci:$LAYOUT:nope"
	[ "$status" -eq 1 ]
	[[ "$output" == *"image \`nope\` not found in"* ]]
	refute_strerror

	run imgtool pull "user/NotLowercase"
	[ "$status" -eq 1 ]
	[[ "$output" == *"must be lowercase" ]]
	refute_strerror

	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT"
	run imgtool pull "$FAULT/test/x:nope"
	[ "$status" -eq 1 ]
	[[ "$output" == *"manifest unknown (no such tag)" ]]
	refute_strerror
}

@test "a refused token's 401 names the status once, with no strerror" {
	# every token is refused: the registry answers 401 again after the token
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT" --token --token-uses 0
	run -1 imgtool pull "$FAULT/test/x:good"
	[[ "$output" == *": HTTP 401; if the repository is private, log in with \`imgtool login $FAULT\` or use --creds" ]]
	refute_strerror
}

@test "a failed system call still says why" {
	touch "$BATS_TEST_TMPDIR/file"
	run "$IMGTOOL" --store "$BATS_TEST_TMPDIR/file/store" images
	[ "$status" -eq 1 ]
	[[ "$output" == *": Not a directory" ]]
}

@test "an unknown repository (404 NAME_UNKNOWN) may not exist or may need a login" {
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT" --repos test/x
	run -1 imgtool pull "$FAULT/test/nope:good"
	[[ "$output" == *"repository $FAULT/test/nope does not exist, or it is private and needs a login (\`imgtool login $FAULT\`"* ]]
	refute_strerror
	# by digest too: no HEAD first
	run -1 imgtool pull "$FAULT/test/nope@$(layout_digest good)"
	[[ "$output" == *"repository $FAULT/test/nope does not exist, or it is private and needs a login"* ]]
	# an unknown tag of a known repository is only that
	run -1 imgtool pull "$FAULT/test/x:nope"
	[[ "$output" == *"manifest unknown (no such tag)" ]]
	[[ "$output" != *"repository"* ]]
}

@test "an unknown repository (401 insufficient_scope, as Docker Hub) may not exist or may need a login" {
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT" --repos test/x --token
	run -1 imgtool pull "$FAULT/test/nope:good"
	[[ "$output" == *"repository $FAULT/test/nope does not exist, or it is private and needs a login (\`imgtool login $FAULT\`"* ]]
	refute_strerror
	run -0 imgtool pull "$FAULT/test/x:good"
}

# ---------------------------------------------------------------- bundle DIR

@test "bundle checks DIR before pulling anything: exists, parent missing, not writable" {
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT"
	mkdir "$BATS_TEST_TMPDIR/exists"
	run -1 imgtool bundle "$FAULT/test/x:root" "$BATS_TEST_TMPDIR/exists"
	[[ "$output" == "imgtool: bundle \`$BATS_TEST_TMPDIR/exists\` already exists" ]]
	run -1 imgtool bundle "$FAULT/test/x:root" "$BATS_TEST_TMPDIR/missing/b"
	[[ "$output" == "imgtool: bundle \`$BATS_TEST_TMPDIR/missing/b\`: cannot create it in \`$BATS_TEST_TMPDIR/missing\`: No such file or directory" ]]
	if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
		local ro
		ro=$(mktemp -d /tmp/imgtool-cli.XXXXXX)
		chmod 755 "$ro"
		run -1 setpriv --reuid=65534 --regid=65534 --clear-groups "$IMGTOOL" --store "$ro/store" \
			bundle "$FAULT/test/x:root" "$ro/b"
		rm -rf "$ro"
		[[ "$output" == "imgtool: bundle \`$ro/b\`: cannot create it in \`$ro\`: Permission denied" ]]
	fi
	# nothing was asked of the registry, nothing was stored
	[ "$(fault_count 'select(.kind != "other")')" -eq 0 ]
	[ ! -e "$STORE/blobs" ] || [ -z "$(find "$STORE/blobs" -type f)" ]
	# and a good DIR works
	run -0 imgtool -q bundle "$FAULT/test/x:root" "$BATS_TEST_TMPDIR/b"
	[ -f "$BATS_TEST_TMPDIR/b/config.json" ]
}

# ---------------------------------------------------------------- output

@test "pull -q prints the digest and nothing else, for registry and local images" {
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT"
	want=$(layout_digest good)
	run -0 --separate-stderr imgtool -q pull "$FAULT/test/x:good"
	[ "$output" = "$want" ]
	[ -z "$stderr" ]
	run -0 --separate-stderr imgtool pull -q "$FAULT/test/x:good"
	[ "$output" = "$want" ]
	[ -z "$stderr" ]
	run -0 --separate-stderr imgtool pull --quiet "oci:$LAYOUT:good"
	[ "$output" = "$want" ]
	[ -z "$stderr" ]
	# without -q: the name too
	run -0 --separate-stderr imgtool pull "$FAULT/test/x:good"
	[ "$output" = "$FAULT/test/x:good: $want" ]
}

@test "rm prints every name it untagged" {
	want=$(layout_digest good)
	run -0 imgtool -q pull --name localhost/a:one "oci:$LAYOUT:good"
	run -0 imgtool -q pull --name localhost/a:two "oci:$LAYOUT:good"
	run -0 imgtool -q pull --name localhost/b:one "oci:$LAYOUT:good"
	run -0 imgtool -q pull --name localhost/a:other "oci:$LAYOUT:root"
	# by digest: both tags of a (not b's, not a's other image)
	run -0 --separate-stderr imgtool rm "localhost/a@$want"
	[ "$output" = "$(printf 'Untagged: localhost/a:one\nUntagged: localhost/a:two')" ]
	run -0 imgtool images -q
	[ "$output" = "$(printf 'localhost/b:one\nlocalhost/a:other')" ]
	# by tag, several at once
	run -0 imgtool rm localhost/b:one localhost/a:other
	[ "$output" = "$(printf 'Untagged: localhost/b:one\nUntagged: localhost/a:other')" ]
	run -0 imgtool images -q
	[ -z "$output" ]
}

# ---------------------------------------------------------------- exit statuses

# usage_error ARGS...: exit 2 and one line that points at --help.
usage_error() {
	run --separate-stderr imgtool "$@"
	[ "$status" -eq 2 ] || {
		echo "imgtool $*: exit $status, not 2: $stderr"
		return 1
	}
	[ -z "$output" ]
	[ "${#lines[@]}" -eq 0 ]
	[[ "$stderr" == "imgtool: "*"(see \`imgtool "*"--help\`)" ]] || {
		echo "imgtool $*: $stderr"
		return 1
	}
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
}

@test "usage errors exit 2 from every command, with one line" {
	local c
	for c in pull bundle images inspect rm gc login logout; do
		usage_error "$c" --no-such-option
		usage_error "$c" -Z
	done
	# missing and extra operands
	usage_error pull
	usage_error pull a b
	usage_error bundle a
	usage_error bundle a b c
	usage_error images a
	usage_error inspect
	usage_error inspect a b
	usage_error rm
	usage_error gc a
	usage_error login a b
	usage_error logout a b
	# options without their value, bad values
	usage_error pull --platform
	usage_error pull -p
	usage_error pull --platform linux "oci:$LAYOUT:good"
	usage_error pull --platform=a/b/c/d "oci:$LAYOUT:good"
	usage_error bundle --platform linux "oci:$LAYOUT:good" "$BATS_TEST_TMPDIR/b"
	usage_error inspect --platform nonsense "oci:$LAYOUT:good"
	usage_error pull --name 'Bad@name' "oci:$LAYOUT:good"
	usage_error pull --name localhost/x:1 example.com/test/x:good # --name is for local sources
	usage_error login -u 'a:b' -p secret example.com
	usage_error login -u alice -p '' example.com
	usage_error login --password-stdin example.com
	# global options, and the command itself
	usage_error --no-such-option images
	usage_error --store
	usage_error frobnicate
	[ ! -e "$BATS_TEST_TMPDIR/b" ]
}

@test "a failure that is not a usage error exits 1" {
	run -1 imgtool inspect "oci:$LAYOUT:nope"
	run -1 imgtool rm localhost/nothing:1
}

# ---------------------------------------------------------------- interrupts

# Bash starts background commands with SIGINT ignored: restore it, as a
# terminal's Ctrl-C would find it.
start_with_sigint() {
	"$PYTHON3" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$IMGTOOL" --store "$STORE" "$@" >"$BATS_TEST_TMPDIR/out" 2>&1 &
	PID=$!
}

# Until $PID is imgtool (no longer the wrapper that restores SIGINT).
wait_for_exec() {
	local i
	for i in $(seq 1 200); do
		[[ "$(readlink "/proc/$PID/exe")" == */imgtool ]] && return 0
		sleep 0.01
	done
	return 1
}

# Bytes of partial downloads in ingest/.
ingest_bytes() {
	find "$STORE/ingest" -type f -printf '%s\n' 2>/dev/null | awk '{ n += $1 } END { print n + 0 }'
}

# Until this run's download has written bytes into ingest/ (beyond $1).
wait_for_partial() {
	local i before=${1:-0}
	for i in $(seq 1 200); do
		[ "$(ingest_bytes)" -gt $((before + 1000)) ] && return 0
		sleep 0.05
	done
	echo "no partial download appeared: $(cat "$BATS_TEST_TMPDIR/out")"
	return 1
}

# interrupt: SIGINT to $PID; it must exit 130 within 3 s.
interrupt() {
	local rc=0 t0=$SECONDS
	kill -INT "$PID"
	wait "$PID" || rc=$?
	[ "$rc" -eq 130 ] || {
		echo "exit $rc, not 130: $(cat "$BATS_TEST_TMPDIR/out")"
		return 1
	}
	[ $((SECONDS - t0)) -le 3 ]
}

@test "SIGINT during a bundle's download exits 130 at once and leaves no bundle, every time" {
	# 1 MB at 100 kB/s: about 10 s if the interrupt were not heard
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT" --slow-blobs 100000
	local b=$BATS_TEST_TMPDIR/b i
	for i in 1 2 3; do
		before=$(ingest_bytes)
		start_with_sigint bundle "$FAULT/test/x:root" "$b"
		# the first time as soon as imgtool runs, probably before any byte
		if [ "$i" -eq 1 ]; then wait_for_exec; else wait_for_partial "$before"; fi
		interrupt
		[ ! -e "$b" ]
		[ -z "$(compgen -G "$b.tmp-*")" ]
		[[ "$(cat "$BATS_TEST_TMPDIR/out")" != *"Digest:"* ]] # the image was not completed
	done
	# the partial download stays for the next run, which finishes the bundle
	fault_stop
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT"
	run -0 imgtool -q bundle "$FAULT/test/x:root" "$b"
	[ -x "$b/rootfs/bin/busybox" ]
	[ "$(fault_count 'select(.kind=="blob" and .range != null and .status==206)')" -eq 1 ]
}

@test "SIGINT during a pull's download exits 130 at once" {
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT" --slow-blobs 100000
	start_with_sigint pull "$FAULT/test/x:root"
	wait_for_partial
	interrupt
	run -0 imgtool images -q
	[ -z "$output" ]
}

@test "a resumed pull's final progress line counts only the bytes this run downloaded" {
	local layer size resumed fetched
	layer=$(jq -r '.layers[0].digest' "$LAYOUT/blobs/sha256/$(layout_digest root | cut -d: -f2)")
	size=$(stat -c %s "$LAYOUT/blobs/sha256/${layer#sha256:}")
	[ "$size" -gt 500000 ]
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT" --slow-blobs 200000
	start_with_sigint pull "$FAULT/test/x:root"
	wait_for_exec
	wait_for_partial 100000
	interrupt
	resumed=$(ingest_bytes)
	fault_stop
	fault_start "$BATS_TEST_TMPDIR" "$LAYOUT"
	run -0 --separate-stderr imgtool pull "$FAULT/test/x:root"
	local id=${layer#sha256:}
	id=${id:0:12}
	[[ "$stderr" == *"$id: resuming at $resumed bytes"* ]]
	line=$(grep "^$id: done " <<<"$stderr")
	# "<id>: done 812.3kB in 0.1s (…/s), resumed after 216.0kB"
	[[ "$line" =~ ^$id:\ done\ ([0-9.]+)kB\ in\ .*,\ resumed\ after\ ([0-9.]+)kB$ ]] || {
		echo "final line: $line"
		return 1
	}
	fetched=${BASH_REMATCH[1]}
	# what this run fetched and what it resumed add up to the blob (to 100 bytes: rounding)
	awk -v f="$fetched" -v r="$resumed" -v s="$size" 'BEGIN { d = f * 1000 + r - s; exit !(d < 100 && d > -100) }'
}
