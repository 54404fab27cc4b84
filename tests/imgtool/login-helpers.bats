#!/usr/bin/env bats
# imgtool login/logout with docker credential helpers (credHelpers for one
# registry, credsStore for all), against the real test registry
# (tests/lib/registry.bash: token server with alice:secret).  The helper is a
# fake docker-credential-testhelper first on PATH that keeps its "keychain"
# in a JSON file, logs every call's argv and environment, and fails on demand.

load ../lib/registry

bats_require_minimum_version 1.5.0

: "${IMGTOOL:=${TOP_BUILDDIR:-$(readlink -f "$BATS_TEST_DIRNAME/../..")}/imgtool/imgtool}"

setup_file() {
	registry_suite_start
	export REGISTRY_AUTH_FILE=$SUITE_DIR/no-auth.json
}

teardown_file() {
	registry_stop
}

setup() {
	STORE=$BATS_TEST_TMPDIR/store
	export DOCKER_CONFIG=$BATS_TEST_TMPDIR/docker
	CONFIG=$DOCKER_CONFIG/config.json
	HELPER_DIR=$BATS_TEST_TMPDIR/helper
	KEYCHAIN=$HELPER_DIR/keychain.json # what the helper holds: {server: {Username, Secret}}
	CALLS=$HELPER_DIR/calls            # one JSON line per call: {argv, env, stdin}
	mkdir -p "$DOCKER_CONFIG" "$HELPER_DIR/bin"
	: >"$CALLS"
	write_helper "$HELPER_DIR/bin/docker-credential-testhelper"
	export PATH=$HELPER_DIR/bin:$PATH
}

# The fake helper speaks docker-credential-helpers' protocol: get and erase
# read a server URL on stdin, store reads {"ServerURL","Username","Secret"};
# an unknown server is "credentials not found in native keychain" on stdout
# with exit status 1.  With $HELPER_DIR/fail present it complains on stderr
# and stdout and exits 1 whatever it is asked.
write_helper() {
	cat >"$1" <<-EOF
		#!$PYTHON3
		import json, os, sys
		d = "$HELPER_DIR"
		data = sys.stdin.read()
		with open(os.path.join(d, "calls"), "a") as f:
		    f.write(json.dumps({"argv": sys.argv, "env": dict(os.environ), "stdin": data}) + "\n")
		if os.path.exists(os.path.join(d, "fail")):
		    sys.stderr.write("testhelper: told to fail\n")
		    print("the keychain is locked")
		    sys.exit(1)
		path = os.path.join(d, "keychain.json")
		keychain = json.load(open(path)) if os.path.exists(path) else {}
		action = sys.argv[1] if len(sys.argv) == 2 else None
		if action == "store":
		    c = json.loads(data)
		    keychain[c["ServerURL"]] = {"Username": c["Username"], "Secret": c["Secret"]}
		elif action in ("get", "erase"):
		    server = data.strip()
		    if server not in keychain:
		        print("credentials not found in native keychain")
		        sys.exit(1)
		    if action == "get":
		        print(json.dumps(dict(keychain[server], ServerURL=server)))
		        sys.exit(0)
		    del keychain[server]
		else:
		    print("unknown action %r" % sys.argv[1:])
		    sys.exit(2)
		with open(path + ".new", "w") as f:
		    json.dump(keychain, f)
		os.rename(path + ".new", path)
	EOF
	chmod +x "$1"
}

imgtool() {
	"$IMGTOOL" --store "$STORE" --ca-file "$REGISTRY_CA" "$@"
}

# The actions the helper was asked for, in order, one per line.
helper_actions() {
	jq -r '.argv[1:] | join(" ")' "$CALLS"
}

@test "login through credHelpers: the helper stores the secret, config.json keeps its keys and holds none" {
	printf '{"auths":{"other.example":{"auth":"%s"},"https://%s":{"auth":"%s"}},"credHelpers":{"%s":"testhelper"},"psFormat":"table {{.ID}}"}' \
		"$(printf bob:pw | base64)" "$REGISTRY" "$(printf alice:old | base64)" "$REGISTRY" >"$CONFIG"
	run -0 imgtool login -u alice --password-stdin "$REGISTRY" <<<"secret"
	[ "$output" = "Login Succeeded (credentials saved by docker-credential-testhelper)" ]
	# the registry checked the password first, then the helper stored it under the host
	[ "$(jq -r .user "$TOKEN_LOG" | tail -1)" = alice ]
	[ "$(helper_actions)" = store ]
	[ "$(jq -c --arg r "$REGISTRY" '.[$r]' "$KEYCHAIN")" = '{"Username":"alice","Secret":"secret"}' ]
	[ "$(jq -r '.stdin | fromjson | keys_unsorted | join(" ")' "$CALLS")" = "ServerURL Username Secret" ]
	# config.json: an empty entry for the registry (the plain-text one under another
	# spelling is gone), every other key kept, no secret anywhere
	[ "$(jq -c --arg r "$REGISTRY" '.auths[$r]' "$CONFIG")" = "{}" ]
	[ "$(jq -r '.auths | keys_unsorted | join(" ")' "$CONFIG")" = "other.example $REGISTRY" ]
	[ "$(jq -r '.auths["other.example"].auth' "$CONFIG" | base64 -d)" = bob:pw ]
	[ "$(jq -c .credHelpers "$CONFIG")" = "{\"$REGISTRY\":\"testhelper\"}" ]
	[ "$(jq -r .psFormat "$CONFIG")" = "table {{.ID}}" ]
	[ "$(grep -c -e secret -e "$(printf alice:secret | base64)" "$CONFIG")" -eq 0 ]
	[ "$(stat -c %a "$CONFIG")" = 600 ]
	[ -z "$(find "$DOCKER_CONFIG" -name '*.tmp-*')" ]
}

@test "login through credsStore, and a later pull authenticates through the helper" {
	echo '{"credsStore":"testhelper"}' >"$CONFIG"
	run -0 imgtool -q login -u alice -p secret "$REGISTRY"
	[ "$output" = "" ]
	[ "$(jq -c . "$CONFIG")" = "{\"credsStore\":\"testhelper\",\"auths\":{\"$REGISTRY\":{}}}" ]
	[ "$(jq -r --arg r "$REGISTRY" '.[$r].Secret' "$KEYCHAIN")" = secret ]

	: >"$TOKEN_LOG"
	: >"$CALLS"
	run -0 imgtool -q pull "$REGISTRY/test/busybox:1"
	[ "$(jq -r .user "$TOKEN_LOG" | sort -u)" = alice ]
	[ "$(helper_actions | sort -u)" = get ]
	[ "$(jq -r .stdin "$CALLS" | sort -u)" = "$REGISTRY" ]
}

@test "the password never reaches the helper's command line or environment" {
	printf '{"credHelpers":{"%s":"testhelper"}}' "$REGISTRY" >"$CONFIG"
	run -0 imgtool -q login -u alice -p secret "$REGISTRY"
	run -0 imgtool -q pull "$REGISTRY/test/busybox:1"
	run -0 imgtool -q logout "$REGISTRY"
	[ "$(helper_actions | sort -u | tr '\n' ' ')" = "erase get store " ]
	# argv is exactly the program and the action, every time
	[ "$(jq -c '.argv | [(.[0] | split("/") | last), (length)]' "$CALLS" | sort -u)" = '["docker-credential-testhelper",2]' ]
	[ "$(jq -r '.argv[], (.env | to_entries[] | .key + "=" + .value)' "$CALLS" | grep -c secret)" -eq 0 ]
	# the secret went on stdin only
	[ "$(jq -r 'select(.argv[1] == "store") | .stdin | fromjson | .Secret' "$CALLS")" = secret ]
}

@test "logout erases through the helper and drops the empty entry" {
	printf '{"auths":{"other.example":{"auth":"eDp5"}},"credHelpers":{"%s":"testhelper"},"detachKeys":"ctrl-x"}' \
		"$REGISTRY" >"$CONFIG"
	run -0 imgtool -q login -u alice -p secret "$REGISTRY"
	[ "$(jq -c --arg r "$REGISTRY" '.auths[$r]' "$CONFIG")" = "{}" ]
	: >"$CALLS"
	run -0 imgtool logout "$REGISTRY"
	[ "$output" = "Removed login credentials for $REGISTRY from docker-credential-testhelper" ]
	[ "$(helper_actions)" = erase ]
	[ "$(jq -r .stdin "$CALLS")" = "$REGISTRY" ]
	[ "$(jq -c . "$KEYCHAIN")" = "{}" ]
	[ "$(jq -r '.auths | keys_unsorted | join(" ")' "$CONFIG")" = other.example ]
	[ "$(jq -r .detachKeys "$CONFIG")" = ctrl-x ]
	[ "$(jq -c .credHelpers "$CONFIG")" = "{\"$REGISTRY\":\"testhelper\"}" ]

	# the helper has nothing more: like docker, that is not an error
	cp "$CONFIG" "$BATS_TEST_TMPDIR/before"
	run -0 imgtool logout "$REGISTRY"
	[ "$output" = "Not logged in to $REGISTRY" ]
	cmp "$CONFIG" "$BATS_TEST_TMPDIR/before"

	# and a pull after logout goes anonymous
	: >"$TOKEN_LOG"
	run -0 imgtool -q pull "$REGISTRY/test/busybox:1"
	[ "$(jq -r .user "$TOKEN_LOG" | sort -u)" = "" ]
}

@test "logout of Docker Hub hands the helper https://index.docker.io/v1/" {
	echo '{"credsStore":"testhelper","auths":{"https://index.docker.io/v1/":{}}}' >"$CONFIG"
	echo '{"https://index.docker.io/v1/":{"Username":"bob","Secret":"pw"}}' >"$KEYCHAIN"
	run -0 imgtool logout
	[ "$output" = "Removed login credentials for docker.io from docker-credential-testhelper" ]
	[ "$(jq -r .stdin "$CALLS")" = "https://index.docker.io/v1/" ]
	[ "$(jq -c . "$KEYCHAIN")" = "{}" ]
	[ "$(jq -c . "$CONFIG")" = '{"credsStore":"testhelper","auths":{}}' ]
}

@test "a failing helper: a one-line error naming it, exit 1, config.json untouched" {
	printf '{"auths":{"%s":{}},"credsStore":"testhelper"}' "$REGISTRY" >"$CONFIG"
	chmod 644 "$CONFIG"
	cp "$CONFIG" "$BATS_TEST_TMPDIR/before"
	touch "$HELPER_DIR/fail"

	run -1 imgtool login -u alice -p secret "$REGISTRY"
	[ "${#lines[@]}" -eq 2 ] # the --password warning, then the error
	[ "${lines[1]}" = "imgtool: saving the credentials for $REGISTRY: credential helper \`docker-credential-testhelper\` failed to store the credentials (exit status 1): testhelper: told to fail; the keychain is locked" ]
	[[ "$output" != *secret* ]]
	cmp "$CONFIG" "$BATS_TEST_TMPDIR/before"
	[ "$(stat -c %a "$CONFIG")" = 644 ]

	run -1 imgtool logout "$REGISTRY"
	[ "$output" = "imgtool: logging out of $REGISTRY: credential helper \`docker-credential-testhelper\` failed to erase the credentials (exit status 1): testhelper: told to fail; the keychain is locked" ]
	cmp "$CONFIG" "$BATS_TEST_TMPDIR/before"

	# a helper that is not installed
	printf '{"credHelpers":{"%s":"missing"}}' "$REGISTRY" >"$CONFIG"
	cp "$CONFIG" "$BATS_TEST_TMPDIR/before"
	run -1 imgtool -q login -u alice -p secret "$REGISTRY"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"credential helper \`docker-credential-missing\`"*"No such file or directory" ]]
	cmp "$CONFIG" "$BATS_TEST_TMPDIR/before"
	run -1 imgtool logout "$REGISTRY"
	[[ "$output" == *"credential helper \`docker-credential-missing\`"*"No such file or directory" ]]
	cmp "$CONFIG" "$BATS_TEST_TMPDIR/before"
}

@test "a helper's long, multi-line answer is quoted on one line, without the secret" {
	cat >"$HELPER_DIR/bin/docker-credential-noisy" <<-'EOF'
		#!/bin/sh
		cat >/dev/null
		printf 'line one\n\tline two\n' >&2
		echo "the password secret is weak"
		head -c 100000 /dev/zero | tr '\0' x
		exit 3
	EOF
	chmod +x "$HELPER_DIR/bin/docker-credential-noisy"
	echo '{"credsStore":"noisy"}' >"$CONFIG"
	run -1 imgtool -q login -u alice -p secret "$REGISTRY"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"\`docker-credential-noisy\` failed to store the credentials (exit status 3): line one  line two; the password ****** is weak xxx"*"..." ]]
	[ "${#output}" -lt 1000 ]
	[ "$(jq -c . "$CONFIG")" = '{"credsStore":"noisy"}' ]
}
