#!/usr/bin/env bats
# Rootless podman (through conmon, in the user namespace podman makes from
# the user's /etc/subuid and /etc/subgid ranges) with ocirt as its runtime,
# each scenario also with Debian's runc as the control.  The user is the
# file's own (tests/lib/rootless.bash): the runtime then runs as uid 0 of
# a user namespace with XDG_RUNTIME_DIR set, and without cgroups (this
# host's v1 hierarchies are not the user's).

load ../lib/helpers
load ../lib/e2e
load ../lib/rootless

setup_file() {
	rootless_setup_file
}

teardown_file() {
	rootless_teardown_file
}

setup() {
	setup_test
	[ -n "${RL_UID:-}" ] || skip "no rootless user"
}

teardown() {
	rootless_teardown
	teardown_test
}

@test "podman rootless: run prints as the mapped root, passes the exit status through, and rm leaves nothing (runc, ocirt)" {
	local rt
	for rt in runc ocirt; do
		rpod "$rt" run --rm $(rpod_run_opts) "$RL_IMAGE" sh -c 'echo "uid $(id -u), host $(awk "\$1 == 0 { print \$2 }" /proc/self/uid_map)"; exit 3'
		assert_status 3
		assert_output "uid 0, host $RL_UID"
		rpod "$rt" ps --all --quiet
		assert_success
		assert_output ""
	done
}

@test "podman rootless: run -d keeps the runtime's state in XDG_RUNTIME_DIR; exec, stop and rm (runc, ocirt)" {
	local rt id
	for rt in runc ocirt; do
		# A shell that ends on SIGTERM: stop must deliver it, not fall back
		# to SIGKILL.
		rpod "$rt" run -d --name "c-$ID-$rt" $(rpod_run_opts) "$RL_IMAGE" \
			sh -c 'trap "exit 0" TERM; sleep 1000 & wait'
		assert_success
		id=$output
		[ -d "$RL_XDG/$rt/$id" ] || fail "$rt: no state dir $RL_XDG/$rt/$id: $(ls -la "$RL_XDG/$rt" 2>&1)"
		rpod "$rt" exec "c-$ID-$rt" sh -c 'echo "in $(cat /proc/1/comm) as $(id -u)"'
		assert_success
		assert_output "in sh as 0"
		rpod "$rt" exec --user 1000 "c-$ID-$rt" sh -c 'id -u; exit 7'
		assert_status 7
		assert_output "1000"
		rpod "$rt" stop --time 30 "c-$ID-$rt"
		assert_success
		rpod "$rt" inspect --format '{{.State.Status}} {{.State.ExitCode}}' "c-$ID-$rt"
		assert_success
		assert_output "exited 0"
		rpod "$rt" rm "c-$ID-$rt"
		assert_success
		[ ! -e "$RL_XDG/$rt/$id" ] || fail "$rt: rm left $RL_XDG/$rt/$id"
	done
}

@test "podman rootless: a bind mount of the user's directory, read and written as the user (runc, ocirt)" {
	local shared=$RL_DIR/shared-$ID rt
	mkdir "$shared"
	echo from-host >"$shared/f"
	chown -R "$RL_USER:" "$shared"
	for rt in runc ocirt; do
		rpod "$rt" run --rm $(rpod_run_opts) -v "$shared:/shared" "$RL_IMAGE" \
			sh -c 'cat /shared/f; echo "$0" > /shared/out-$0' "$rt"
		assert_success
		assert_output "from-host"
		[ "$(cat "$shared/out-$rt")" = "$rt" ] || fail "$rt: the write did not reach the host"
		[ "$(stat -c %u "$shared/out-$rt")" = "$RL_UID" ] || fail "$rt: the file is not the user's: $(stat -c %u "$shared/out-$rt")"
	done
	rm -rf "$shared"
}
