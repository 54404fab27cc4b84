#!/usr/bin/env bats
# imgtool login/logout against the real test registry (tests/lib/registry.bash:
# token server with alice:secret): the credentials are checked before they
# are written to docker's config.json, which pulls then read.

load ../lib/registry
load ../lib/terminal

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
}

imgtool() {
	"$IMGTOOL" --store "$STORE" --ca-file "$REGISTRY_CA" "$@"
}

@test "login checks alice's password, saves it 0600, and a pull uses it" {
	run -0 imgtool login -u alice -p secret "$REGISTRY"
	[[ "$output" == *"Login Succeeded (credentials saved in $CONFIG)"* ]]
	[[ "$output" == *"prefer --password-stdin"* ]]
	[ "$(stat -c %a "$CONFIG")" = 600 ]
	[ "$(jq -r --arg r "$REGISTRY" '.auths[$r].auth' "$CONFIG" | base64 -d)" = "alice:secret" ]
	# the password went to the token realm and nowhere else
	[ "$(jq -r .user "$TOKEN_LOG" | tail -1)" = alice ]
	: >"$TOKEN_LOG"
	run -0 imgtool -q pull "$REGISTRY/test/busybox:1"
	[ "$(jq -r .user "$TOKEN_LOG" | sort -u)" = alice ]
}

@test "login --password-stdin keeps the other keys of config.json" {
	mkdir -p "$DOCKER_CONFIG"
	printf '{"auths":{"other.example":{"auth":"%s"}},"psFormat":"table {{.ID}}","detachKeys":"ctrl-x"}' \
		"$(printf bob:pw | base64)" >"$CONFIG"
	chmod 644 "$CONFIG"
	run -0 imgtool -q login -u alice --password-stdin "https://$REGISTRY/v2/" <<<"secret"
	[ "$output" = "" ]
	[ "$(stat -c %a "$CONFIG")" = 600 ]
	[ "$(jq -r '.psFormat + " " + .detachKeys' "$CONFIG")" = "table {{.ID}} ctrl-x" ]
	[ "$(jq -r '.auths["other.example"].auth' "$CONFIG" | base64 -d)" = bob:pw ]
	[ "$(jq -r --arg r "$REGISTRY" '.auths[$r].auth' "$CONFIG" | base64 -d)" = alice:secret ]
	[ "$(jq -r '.auths | keys | length' "$CONFIG")" -eq 2 ]
	[ -z "$(find "$DOCKER_CONFIG" -name '*.tmp-*')" ]
}

@test "login on a terminal asks for the user and, without echo, the password" {
	run -0 on_terminal "$BATS_TEST_TMPDIR/tty" "Username: " alice "Password: " secret -- \
		"$IMGTOOL" --store "$STORE" --ca-file "$REGISTRY_CA" login "$REGISTRY"
	[ "$output" = "echo on" ] # and the terminal was left as it was found
	shown=$(tr -d '\r' <"$BATS_TEST_TMPDIR/tty")
	# the user name is echoed as typed; the password is not, nor its newline
	[[ "$shown" == "Username: alice"$'\n'"Password: "$'\n'"Login Succeeded (credentials saved in $CONFIG)"* ]]
	[[ "$shown" != *secret* ]]
	[ "$(stat -c %a "$CONFIG")" = 600 ]
	[ "$(jq -r --arg r "$REGISTRY" '.auths[$r].auth' "$CONFIG" | base64 -d)" = "alice:secret" ]
	[ "$(jq -r .user "$TOKEN_LOG" | tail -1)" = alice ]

	# -u given: only the password is asked for; a wrong one is refused
	rm -f "$CONFIG"
	run -1 on_terminal "$BATS_TEST_TMPDIR/tty" "Password: " wrong -- \
		"$IMGTOOL" --store "$STORE" --ca-file "$REGISTRY_CA" login -u alice "$REGISTRY"
	shown=$(tr -d '\r' <"$BATS_TEST_TMPDIR/tty")
	[[ "$shown" == "Password: "$'\n'*"invalid username/password"* ]]
	[[ "$shown" != *Username* && "$shown" != *wrong* ]]
	[ ! -e "$CONFIG" ]
}

@test "login with a wrong password fails clearly and writes nothing" {
	run -1 imgtool login -u alice -p wrong "$REGISTRY"
	[[ "$output" == *"invalid username/password"* ]]
	[[ "$output" != *"wrong"* ]] # the secret never appears in messages
	[ ! -e "$CONFIG" ]

	mkdir -p "$DOCKER_CONFIG"
	echo '{"auths":{}}' >"$CONFIG"
	run -1 imgtool login -u alice --password-stdin "$REGISTRY" <<<"wrong"
	[[ "$output" == *"invalid username/password"* ]]
	[ "$(cat "$CONFIG")" = '{"auths":{}}' ]
	# an unknown user too
	run -1 imgtool login -u mallory -p secret "$REGISTRY"
	[[ "$output" == *"invalid username/password"* ]]
}

@test "logout removes the registry's entries and keeps the others" {
	mkdir -p "$DOCKER_CONFIG"
	printf '{"auths":{"other.example":{"auth":"%s"},"https://%s":{"auth":"eDp5"}},"credHelpers":{}}' \
		"$(printf bob:pw | base64)" "$REGISTRY" >"$CONFIG"
	run -0 imgtool login -q -u alice -p secret "$REGISTRY"
	# the old spelling with a scheme was replaced, not duplicated
	[ "$(jq -r '.auths | keys_unsorted | join(" ")' "$CONFIG")" = "other.example $REGISTRY" ]
	run -0 imgtool logout "$REGISTRY"
	[ "$output" = "Removed login credentials for $REGISTRY from $CONFIG" ]
	[ "$(jq -r '.auths | keys_unsorted | join(" ")' "$CONFIG")" = "other.example" ]
	[ "$(jq -c .credHelpers "$CONFIG")" = "{}" ]
	[ "$(stat -c %a "$CONFIG")" = 600 ]
	run -0 imgtool logout "$REGISTRY"
	[ "$output" = "Not logged in to $REGISTRY" ]
}

@test "Docker Hub's entry is https://index.docker.io/v1/ whatever the spelling" {
	mkdir -p "$DOCKER_CONFIG"
	printf '{"auths":{"https://index.docker.io/v1/":{"auth":"eDp5"},"%s":{"auth":"eDp5"}}}' "$REGISTRY" >"$CONFIG"
	run -0 imgtool logout registry-1.docker.io
	[ "$output" = "Removed login credentials for docker.io from $CONFIG" ]
	[ "$(jq -r '.auths | keys_unsorted | join(" ")' "$CONFIG")" = "$REGISTRY" ]
}

# (login through helpers that work: login-helpers.bats)
@test "login never bypasses a configured credential helper, even one that is missing" {
	mkdir -p "$DOCKER_CONFIG"
	echo '{"credsStore":"imgtool-test-absent"}' >"$CONFIG"
	run -1 imgtool login -u alice -p secret "$REGISTRY"
	[[ "$output" == *"credential helper \`docker-credential-imgtool-test-absent\`"* ]]
	[ "$(cat "$CONFIG")" = '{"credsStore":"imgtool-test-absent"}' ]
}

@test "login/logout --help and usage errors" {
	run -0 "$IMGTOOL" login --help
	[[ "$output" == "Usage: imgtool login"* ]]
	run -0 "$IMGTOOL" logout --help
	[[ "$output" == "Usage: imgtool logout"* ]]
	run -2 "$IMGTOOL" login -p x --password-stdin -u a "$REGISTRY"
	[[ "$output" == *"mutually exclusive (see \`imgtool login --help\`)"* ]]
	run -2 "$IMGTOOL" login --password-stdin "$REGISTRY" </dev/null
	[[ "$output" == *"--password-stdin needs --username"* ]]
	run -2 "$IMGTOOL" logout a b
	[[ "$output" == *"expected at most one REGISTRY"* ]]
}
