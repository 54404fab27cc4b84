#!/usr/bin/env bats
# POSIX-platform hooks (runtime-spec config.md, runtime.md lifecycle): where
# and when each kind runs, what it gets on stdin, failures and timeouts;
# compared with runc.  Every hook appends one line to one log file in the
# rootfs: "NAME WHERE STATE-JSON", WHERE being "host" or "container" by its
# mount namespace.

load ../lib/helpers

setup() {
	setup_test
	HOST_MNT=$(readlink /proc/self/ns/mnt)
	make_hook_bundle "$TEST_TMP/bundle"
}

teardown() {
	teardown_test
}

# make_hook_bundle DIR: a writable busybox bundle whose process waits a
# moment (so poststart comes first) and logs itself; the recorder script
# is both on the host ($HOOK) and in the rootfs (/bin/rec, for
# startContainer, whose path resolves in the container).
make_hook_bundle() {
	make_bundle hello "$1"
	update_config 'c["root"]["readonly"] = False'
	set_cmd 'sleep 1; echo "process container {}" >> /hooks.log'
	HOOK="$TEST_TMP/rec"
	cat >"$HOOK" <<'EOF'
#!/bin/sh
# rec NAME LOG HOST_MNT [EXIT [SLEEP]]
state=$(cat)
if [ "$(readlink /proc/self/ns/mnt)" = "$3" ]; then where=host; else where=container; fi
echo "$1 $where $state" >>"$2"
[ -z "$5" ] || sleep "$5"
exit "${4:-0}"
EOF
	chmod 755 "$HOOK"
	cp "$HOOK" "$BUNDLE/rootfs/bin/rec"
	LOG="$BUNDLE/rootfs/hooks.log"
}

# hook NAME [EXIT [SLEEP]]: the JSON of one recording hook (host path).
hook() {
	printf '{"path": "%s", "args": ["rec", "%s", "%s", "%s", "%s", "%s"]}' \
		"$HOOK" "$1" "$LOG" "$HOST_MNT" "${2:-0}" "${3:-}"
}

# set_hooks JSON: config.hooks of $BUNDLE.
set_hooks() {
	update_config 'c["hooks"] = json.loads(sys.argv[3])' "$1"
}

# All six, recording; startContainer by its path inside the container.
all_hooks() {
	cat <<EOF
{
	"prestart": [$(hook prestart)],
	"createRuntime": [$(hook createRuntime)],
	"createContainer": [$(hook createContainer)],
	"startContainer": [{"path": "/bin/rec", "args": ["rec", "startContainer", "/hooks.log", "$HOST_MNT"]}],
	"poststart": [$(hook poststart)],
	"poststop": [$(hook poststop)]
}
EOF
}

# hook_summary [FIELDS]: "NAME WHERE STATUS" per log line (and more state
# fields with FIELDS, e.g. "id bundle"), ids and paths made neutral.
hook_summary() {
	python3 - "$LOG" "$BUNDLE" "${1:-}" <<'EOF'
import json, sys
log, bundle, fields = sys.argv[1], sys.argv[2], sys.argv[3].split()
for line in open(log):
    name, where, state = line.rstrip("\n").split(" ", 2)
    st = json.loads(state)
    out = [name, where, st.get("status", "-")]
    for f in fields:
        v = str(st.get(f, "-"))
        out.append(v.replace(bundle, "BUNDLE"))
    print(" ".join(out))
EOF
}

@test "hooks: all six run in lifecycle order, in the right namespaces, with the state on stdin" {
	is_runc && skip "runc 1.1 runs poststart (status created) before startContainer"
	set_hooks "$(all_hooks)"
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	run hook_summary "id bundle"
	assert_success
	assert_output "prestart host creating $ID BUNDLE
createRuntime host creating $ID BUNDLE
createContainer container creating $ID BUNDLE
startContainer container created $ID BUNDLE
poststart host running $ID BUNDLE
process container - - -
poststop host stopped $ID BUNDLE"
}

@test "hooks: the state's pid is the container's pid as \`state\` reports it" {
	ocirt_only "runc gives the container's hooks the pid inside its namespace (1)"
	set_hooks "$(all_hooks)"
	set_cmd 'sleep 30'
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_success
	local pid
	pid=$(container_pid "$ID")
	ocirt start "$ID"
	assert_success
	run python3 -c '
import json, sys
for line in open(sys.argv[1]):
    name, where, state = line.split(" ", 2)
    print(name, json.loads(state)["pid"])' "$LOG"
	assert_output "prestart $pid
createRuntime $pid
createContainer $pid
startContainer $pid
poststart $pid"
	ocirt delete --force "$ID"
	assert_success
	run hook_summary
	assert_output_contains "poststop host stopped"
}

@test "hooks: createRuntime runs before pivot_root and createContainer in the container's mount namespace" {
	is_runc && skip "runc gives createContainer the pid inside the container (1)"
	# createRuntime sees the init still rooted at the host's /;
	# createContainer sees the container's /proc mounted under the rootfs.
	cat >"$TEST_TMP/probe" <<EOF
#!/bin/sh
pid=\$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
echo "\$1 root=\$(readlink /proc/\$pid/root) procmount=\$(grep -c " $BUNDLE/rootfs/proc " /proc/self/mountinfo)" >>"$TEST_TMP/probe.log"
EOF
	chmod 755 "$TEST_TMP/probe"
	set_hooks "{\"createRuntime\": [{\"path\": \"$TEST_TMP/probe\", \"args\": [\"p\", \"createRuntime\"]}],
		\"createContainer\": [{\"path\": \"$TEST_TMP/probe\", \"args\": [\"p\", \"createContainer\"]}]}"
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_success
	run cat "$TEST_TMP/probe.log"
	assert_output "createRuntime root=/ procmount=0
createContainer root=/ procmount=1"
}

# Start `create` in the background with a createRuntime hook that writes
# its parent's pid (create.pid) and its own (hook.pid), then runs the shell
# text $1; return once the hook runs, the create's job in CREATE_JOB.
create_held_in_create_runtime() {
	printf '#!/bin/sh\necho "$PPID" >"%s/create.pid"\necho "$$" >"%s/hook.pid"\n%s\n' \
		"$TEST_TMP" "$TEST_TMP" "$1" >"$TEST_TMP/hold"
	chmod 755 "$TEST_TMP/hold"
	set_hooks "{\"createRuntime\": [{\"path\": \"$TEST_TMP/hold\"}]}"
	__ocirt create --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1 &
	CREATE_JOB=$!
	# create.pid is complete once hook.pid exists.
	wait_for_file "$TEST_TMP/hook.pid" 10 && [ -s "$TEST_TMP/create.pid" ] || fail "the createRuntime hook never ran"
}

# ocirt writes state.json while the init makes its mounts, under another
# name until the init is ready: `list`, which takes no lock, shows only
# created containers (runc writes its state when the init is ready).
@test "hooks: list does not show a container whose create is still running" {
	create_held_in_create_runtime "while [ ! -e '$TEST_TMP/go' ]; do sleep 0.05; done"
	# stdout only: runc warns on stderr of a state dir it cannot load.
	local during
	during=$(__ocirt list -q 2>/dev/null)
	touch "$TEST_TMP/go"
	wait "$CREATE_JOB" || fail "create failed"
	[[ "$during" != *"$ID"* ]] || fail "listed during create: $during"
	ocirt list -q
	assert_output_contains "$ID"
	ocirt delete --force "$ID"
	assert_success
}

# ocirt brings lo up while the init makes its mounts: still before the
# hooks run, as runc's init does it first.
@test "hooks: createRuntime and createContainer see lo up in the container's network namespace" {
	cat >"$TEST_TMP/lo" <<EOF
#!/bin/sh
# createRuntime runs on the host: look through the init's pid; createContainer
# runs in the container's namespaces (runc's state gives it pid 1 there).
pid=\$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
case \$1 in
createRuntime) flags=\$(nsenter -t "\$pid" -n ip -o link show lo) ;;
*) flags=\$(ip -o link show lo) ;;
esac
echo "\$1 \$(echo "\$flags" | grep -o '<[A-Z_,]*>')" >>"$TEST_TMP/lo.log"
EOF
	chmod 755 "$TEST_TMP/lo"
	set_hooks "{\"createRuntime\": [{\"path\": \"$TEST_TMP/lo\", \"args\": [\"lo\", \"createRuntime\"]}],
		\"createContainer\": [{\"path\": \"$TEST_TMP/lo\", \"args\": [\"lo\", \"createContainer\"]}]}"
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_success
	run cat "$TEST_TMP/lo.log"
	assert_output "createRuntime <LOOPBACK,UP,LOWER_UP>
createContainer <LOOPBACK,UP,LOWER_UP>"
}

@test "hooks: startContainer runs in the container after start, before the process" {
	set_hooks '{"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "test -e /bin/busybox && echo startContainer >> /hooks.log"]}]}'
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_success
	[ ! -e "$LOG" ] || fail "startContainer ran at create"
	ocirt start "$ID"
	assert_success
	wait_for_status "$ID" stopped
	run cat "$LOG"
	assert_output "startContainer
process container {}"
}

@test "hooks: path, args, env and timeout are honoured" {
	cat >"$TEST_TMP/envhook" <<EOF
#!/bin/sh
echo "args=\$*" >"$TEST_TMP/env.out"
env | grep -v -e '^PWD=' -e '^SHLVL=' -e '^_=' | sort >>"$TEST_TMP/env.out"
EOF
	chmod 755 "$TEST_TMP/envhook"
	set_hooks "{\"createRuntime\": [{\"path\": \"$TEST_TMP/envhook\", \"args\": [\"envhook\", \"a\", \"b c\"],
		\"env\": [\"FOO=bar\", \"PATH=/bin\", \"$MARK\"], \"timeout\": 10}]}"
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_success
	run cat "$TEST_TMP/env.out"
	# Exactly the hook's env (sh itself adds PWD, SHLVL, _).
	assert_output "args=a b c
FOO=bar
$MARK
PATH=/bin"
}

# fails_cleanly: the last command failed and left nothing of $ID.
fails_cleanly() {
	assert_failure
	[ ! -e "$STATE_ROOT/$ID" ] || fail "state dir left behind"
	assert_no_leaks "$ID"
}

@test "hooks: a failing createRuntime hook fails create, names the hook, rolls back, runs poststop" {
	set_hooks "{\"createRuntime\": [$(hook createRuntime 3)], \"poststop\": [$(hook poststop)]}"
	ocirt create --bundle "$BUNDLE" "$ID"
	fails_cleanly
	if ! is_runc; then
		assert_output_contains "createRuntime hook #0" "$HOOK" "exit status 3"
		assert_one_line
	fi
	run hook_summary
	assert_output "createRuntime host creating
poststop host stopped"
}

@test "hooks: a failing prestart hook fails create and rolls back" {
	set_hooks "{\"prestart\": [$(hook prestart 1)], \"createRuntime\": [$(hook createRuntime)]}"
	ocirt create --bundle "$BUNDLE" "$ID"
	fails_cleanly
	is_runc || assert_output_contains "prestart hook #0"
	run hook_summary
	assert_output "prestart host creating"
}

@test "hooks: a failing createContainer hook fails create and rolls back" {
	set_hooks "{\"createContainer\": [$(hook createContainer 4)]}"
	ocirt create --bundle "$BUNDLE" "$ID"
	fails_cleanly
	is_runc || assert_output_contains "createContainer hook #0" "exit status 4"
	run hook_summary
	assert_output "createContainer container creating"
}

@test "hooks: a hook whose path does not exist fails create" {
	set_hooks "{\"createRuntime\": [{\"path\": \"$TEST_TMP/nope\"}]}"
	ocirt create --bundle "$BUNDLE" "$ID"
	fails_cleanly
	is_runc || assert_output_contains "createRuntime hook #0" "$TEST_TMP/nope" "o such file or directory"
}

@test "hooks: a failing startContainer hook fails start; the process never runs" {
	ocirt_only "runc 1.1 start succeeds when a startContainer hook fails"
	set_hooks '{"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 5"]}]}'
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_success
	ocirt start "$ID"
	assert_failure
	assert_output_contains "startContainer hook #0" "exit status 5"
	wait_for_status "$ID" stopped
	sleep 0.5
	[ ! -e "$LOG" ] || fail "the process ran: $(cat "$LOG")"
	ocirt delete "$ID"
	assert_success
	assert_no_leaks "$ID"
}

@test "hooks: a failing startContainer hook fails run and run -d, naming it; nothing is left, the process never runs" {
	ocirt_only "runc 1.1 start succeeds when a startContainer hook fails"
	set_hooks '{"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 5"]}]}'
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "startContainer hook #0" "exit status 5"
	ocirt state "$ID"
	assert_failure
	assert_no_leaks "$ID"
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "startContainer hook #0" "exit status 5"
	ocirt state "$ID"
	assert_failure
	assert_no_leaks "$ID"
	[ ! -e "$LOG" ] || fail "the process ran: $(cat "$LOG")"
}

@test "hooks: failing poststart and poststop hooks are warnings only" {
	ocirt_only "warning format"
	set_hooks "{\"poststart\": [$(hook poststart 6)], \"poststop\": [$(hook poststop 7)]}"
	ocirt --log "$TEST_TMP/log.json" --log-format json run --bundle "$BUNDLE" "$ID"
	assert_success
	run cat "$TEST_TMP/log.json"
	assert_output_contains '"level":"warning"' "poststart hook #0" "exit status 6" "poststop hook #0" "exit status 7"
	run hook_summary
	assert_output "poststart host running
process container -
poststop host stopped"
}

@test "hooks: after a failing poststart or poststop hook the remaining hooks and the lifecycle go on" {
	# runtime-spec "Lifecycle": warn, and continue as if the hook succeeded.
	is_runc && skip "runc 1.1 kills the container when a poststart hook fails"
	set_hooks "{\"poststart\": [$(hook poststart 6), $(hook poststart2)],
		\"poststop\": [$(hook poststop 7), $(hook poststop2)]}"
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "poststart hook #0" "exit status 6" "poststop hook #0" "exit status 7"
	run hook_summary
	assert_output "poststart host running
poststart2 host running
process container -
poststop host stopped
poststop2 host stopped"
	assert_no_leaks "$ID"
}

@test "hooks: a hook past its timeout is killed and create fails naming it" {
	is_runc && skip "runc kills the hook but waits for its children"
	set_hooks "{\"createRuntime\": [$(hook createRuntime 0 30 | sed 's/}$/, "timeout": 1}/')]}"
	local start=$SECONDS
	ocirt create --bundle "$BUNDLE" "$ID"
	fails_cleanly
	[ $((SECONDS - start)) -lt 10 ] || fail "took $((SECONDS - start)) s"
	is_runc || assert_output_contains "createRuntime hook #0" "timed out after 1 s"
	# fails_cleanly found no process either: the hook's `sleep` (it carries
	# the test's mark) went with it, its process group was killed.
}

@test "hooks: the same order, namespaces and state as under runc" {
	is_runc && skip "OCIRT is runc itself"
	[ -x "$REF_RUNTIME" ] || skip "reference runtime not installed"
	set_hooks "$(all_hooks)"
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	# runc 1.1 reports poststart's state as "created" (the spec has the
	# process started by then) and pid 1 to container hooks: compare the rest.
	# runc 1.1 also runs poststart as soon as the init is released, racing
	# the startContainer hooks: their relative order is not compared.
	local ours
	ours=$(hook_summary "id bundle" | sed "s/^poststart host [a-z]*/poststart host X/; s/ $ID / ID /" |
		awk '/^startContainer/ { s = $0; next } { print } END { print s }')

	local ours_bundle=$BUNDLE
	make_hook_bundle "$TEST_TMP/ref"
	set_hooks "$(all_hooks)"
	ref run --bundle "$BUNDLE" "$ID-ref"
	assert_success
	local theirs
	theirs=$(hook_summary "id bundle" | sed "s/^poststart host [a-z]*/poststart host X/; s/ $ID-ref / ID /" |
		awk '/^startContainer/ { s = $0; next } { print } END { print s }')
	BUNDLE=$ours_bundle
	assert_equal "$ours" "$theirs"
}

@test "features: every hook kind is listed" {
	ocirt_only "features document"
	ocirt features
	assert_success
	run python3 -c 'import json,sys; print(" ".join(json.loads(sys.argv[1])["hooks"]))' "$output"
	assert_output "prestart createRuntime createContainer startContainer poststart poststop"
}

# A create killed between making the cgroup and writing state.json: its
# state dir names the cgroup (the "cgroup" record written before the
# cgroup exists), so `delete --force` removes everything.
@test "a create killed during createRuntime: delete --force leaves nothing" {
	create_held_in_create_runtime "exec sleep 60"
	local job=$CREATE_JOB i create_pid
	create_pid=$(cat "$TEST_TMP/create.pid")
	[ "$(cat /proc/"$create_pid"/comm)" = "$OCIRT_NAME" ] || fail "the hook's parent is not $OCIRT_NAME"
	kill -9 "$create_pid"
	# The hook itself is the test's own helper: stop it.
	kill -9 "$(cat "$TEST_TMP/hook.pid")"
	# Wait for that one job only, and not forever: a hang here is a finding.
	for ((i = 0; i < 100; i++)); do
		kill -0 "$job" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$job" 2>/dev/null && fail "the killed create's job still runs: $(ps -o pid,ppid,stat,args --ppid "$job" 2>&1)"
	wait "$job" || true
	# The point of the test: the cgroup exists and no state.json names it.
	[ -n "$(leaked_cgroups)" ] || fail "the create was killed before it made its cgroup"
	[ ! -e "$STATE_ROOT/$ID/state.json" ] || fail "state.json already written"

	ocirt delete --force "$ID"
	assert_success
	[ ! -e "$STATE_ROOT/$ID" ] || fail "state dir left behind"
	[ -z "$(leaked_cgroups)" ] || fail "cgroup left behind: $(leaked_cgroups)"
	assert_no_leaks
}
