#!/usr/bin/env bats
# The systemd cgroup driver (--systemd-cgroup): the container's init in a
# transient scope `prefix-name.scope` that systemd made over D-Bus, with the
# limits as unit properties and in the scope's cgroup files.  Observed from
# systemd (`systemctl show`), from the cgroup files, and inside the
# container, compared with runc --systemd-cgroup in the same place, and
# checked for leftovers (unit, cgroup) after delete.  Last, containerd's
# runc v2 shim with SystemdCgroup and podman with the systemd cgroup manager
# drive the runtime under test (the VM runs this file against runc too).
#
# Needs systemd as PID 1 and cgroup v2: tests/vm runs this suite in a
# Debian 12 guest.  On a host without systemd only the refusals run.

# The VM pass (tests/vm) runs every test here: see README.md.
# bats file_tags=vm

load ../lib/helpers
load ../lib/containerd
load ../lib/podman

setup() {
	setup_test
	make_bundle hello
	# Its own cgroup namespace: /sys/fs/cgroup inside is the scope.
	add_namespace cgroup
}

teardown() {
	containerd_stop
	[ -z "${PODMAN_DIR:-}" ] || podman_teardown_file
	# Units of this test that a failed assertion left running.
	local u
	if systemd_pid1; then
		for u in $(systemctl list-units --all --plain --no-legend "*$UNIQ*" 2>/dev/null | awk '{ print $1 }'); do
			systemctl stop "$u" >/dev/null 2>&1 || true
			systemctl reset-failed "$u" >/dev/null 2>&1 || true
		done
	fi
	teardown_test
}

systemd_pid1() {
	[ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]
}

# Whether the runtime under test was built with libsystemd (ocirt's
# configure makes it optional).
# Whether this build has the driver (libsystemd is opened when used, not
# linked): its features document says so.
has_libsystemd() {
	"$OCIRT" features | python3 -c 'import json, sys; sys.exit(not json.load(sys.stdin)["linux"]["cgroup"]["systemd"])'
}

requires_systemd() {
	systemd_pid1 || skip "needs systemd as PID 1 (tests/vm runs this suite in a systemd guest)"
	[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || skip "needs a pure cgroup v2 host"
	requires_cmd systemctl
}

# sd ARGS: the runtime under test with the systemd driver.
sd() {
	ocirt --systemd-cgroup "$@"
}

# sd_ref ARGS: runc with the systemd driver.
sd_ref() {
	ref --systemd-cgroup "$@"
}

# show UNIT PROPS: "Prop=value" lines of systemctl show, in the order asked.
show() {
	local unit=$1 p
	shift
	for p in "$@"; do
		systemctl show -p "$p" "$unit"
	done
}

# unit_gone UNIT: systemd no longer knows the unit (or only as not-found).
unit_gone() {
	local state
	state=$(systemctl show -p LoadState --value "$1" 2>/dev/null)
	[ "$state" = not-found ] || [ -z "$state" ]
}

# systemd collects a stopped transient unit on its next round: allow it one.
assert_unit_gone() {
	local i
	for ((i = 0; i < 50; i++)); do
		unit_gone "$1" && return 0
		sleep 0.1
	done
	fail "unit $1 is still there: $(systemctl show -p LoadState,ActiveState "$1")"
}

# limits: the resources used by the comparisons below.
set_limits() {
	update_config '
r = c["linux"].setdefault("resources", {})
r["memory"] = {"limit": 67108864, "swap": 134217728}
r["pids"] = {"limit": 100}
r["cpu"] = {"shares": 1024, "quota": 50000, "period": 100000}'
}

# Properties both runtimes set on the scope.
PROPS=(ActiveState Slice Delegate MemoryAccounting CPUAccounting IOAccounting TasksAccounting
	MemoryMax MemorySwapMax TasksMax CPUWeight CPUQuotaPerSecUSec DevicePolicy DefaultDependencies)
# The cgroup files that hold the limits.
FILES=(memory.max memory.swap.max pids.max cpu.max cpu.weight)

files_of() {
	local dir=$1 f
	for f in "${FILES[@]}"; do
		echo "$f=$(cat "$dir/$f")"
	done
}

# The properties and files of our scope and of the reference runtime's
# (container $ID-ref) are the same.
assert_scope_like_ref() {
	local ours theirs
	ours=$(show "runc-$ID.scope" "${PROPS[@]}"; files_of "/sys/fs/cgroup/system.slice/runc-$ID.scope")
	theirs=$(show "runc-$ID-ref.scope" "${PROPS[@]}"; files_of "/sys/fs/cgroup/system.slice/runc-$ID-ref.scope")
	assert_equal "$ours" "$theirs"
}

# ---------------------------------------------------------------- without systemd

@test "--systemd-cgroup without systemd as PID 1: not supported, nothing left" {
	systemd_pid1 && skip "systemd is PID 1 here"
	sd run -d --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_no_leaks
	ocirt_only "error wording"
	assert_output_contains "not supported: --systemd-cgroup"
	has_libsystemd || assert_output_contains "(built without libsystemd)"
	assert_one_line
}

@test "--systemd-cgroup: a bad cgroupsPath is refused naming it, nothing left" {
	is_runc || has_libsystemd || skip "built without libsystemd: the flag itself is refused"
	local p
	for p in "a:b" "a/b.slice:p:n" "a--b.slice:p:n" "notaslice:p:n"; do
		update_config 'c["linux"]["cgroupsPath"] = sys.argv[3]' "$p"
		sd run -d --bundle "$BUNDLE" "$ID"
		assert_failure
		assert_no_leaks
		if ! is_runc; then
			assert_output_contains "cgroupsPath"
			assert_one_line
		fi
	done
}

# ---------------------------------------------------------------- the scope

@test "run: the init is in runc-ID.scope under system.slice, Delegate=yes, limits as properties and files" {
	requires_systemd
	set_limits
	set_args sleep 1000
	sd run -d --bundle "$BUNDLE" "$ID"
	assert_success
	local unit=runc-$ID.scope dir=/sys/fs/cgroup/system.slice/runc-$ID.scope pid
	pid=$(container_pid "$ID")
	assert_equal "$(cat /proc/"$pid"/cgroup)" "0::/system.slice/$unit"
	run show "$unit" ActiveState Slice Delegate MemoryMax MemorySwapMax TasksMax CPUWeight CPUQuotaPerSecUSec
	assert_equal "$output" "ActiveState=active
Slice=system.slice
Delegate=yes
MemoryMax=67108864
MemorySwapMax=67108864
TasksMax=100
CPUWeight=39
CPUQuotaPerSecUSec=500ms"
	assert_equal "$(cat "$dir/memory.max") $(cat "$dir/pids.max") $(cat "$dir/cpu.max")" "67108864 100 50000 100000"
	# Inside: the container's own cgroup is the scope.
	sd exec "$ID" cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max
	assert_success
	assert_equal "$output" "67108864
100"
	# `state` and `list` from the recorded path.
	sd state "$ID"
	assert_success
	assert_equal "$(json_field status <<<"$output")" running
	sd list -q
	assert_output_contains "$ID"
	sd delete --force "$ID"
	assert_success
	assert_unit_gone "$unit"
	[ ! -e "$dir" ] || fail "$dir is left"
	assert_no_leaks
}

@test "the scope matches runc --systemd-cgroup's: properties and cgroup files" {
	requires_systemd
	requires_cmd "$REF_RUNTIME"
	set_limits
	set_args sleep 1000
	sd run -d --bundle "$BUNDLE" "$ID"
	assert_success
	sd_ref run -d --bundle "$BUNDLE" "$ID-ref"
	assert_success
	assert_scope_like_ref
	sd delete --force "$ID"
	assert_success
	sd_ref delete --force "$ID-ref"
	assert_success
	assert_unit_gone "runc-$ID.scope"
	assert_unit_gone "runc-$ID-ref.scope"
	assert_no_leaks
}

@test "slice:prefix:name: a nested slice expands like runc's, the unit is prefix-name.scope" {
	requires_systemd
	requires_cmd "$REF_RUNTIME"
	set_args sleep 1000
	local slice="t$UNIQ-sub.slice"
	update_config 'c["linux"]["cgroupsPath"] = sys.argv[3]' "$slice:pfx:$ID"
	sd run -d --bundle "$BUNDLE" "$ID"
	assert_success
	local dir="/sys/fs/cgroup/t$UNIQ.slice/$slice/pfx-$ID.scope"
	[ -d "$dir" ] || fail "no $dir"
	assert_equal "$(cat /proc/"$(container_pid "$ID")"/cgroup)" "0::/t$UNIQ.slice/$slice/pfx-$ID.scope"
	assert_equal "$(systemctl show -p Slice --value "pfx-$ID.scope")" "$slice"
	# runc puts the same cgroupsPath (another name) in the same place.
	update_config 'c["linux"]["cgroupsPath"] = sys.argv[3]' "$slice:pfx:$ID-ref"
	sd_ref run -d --bundle "$BUNDLE" "$ID-ref"
	assert_success
	[ -d "/sys/fs/cgroup/t$UNIQ.slice/$slice/pfx-$ID-ref.scope" ] || fail "runc's scope is elsewhere"
	sd delete --force "$ID"
	assert_success
	sd_ref delete --force "$ID-ref"
	assert_success
	assert_unit_gone "pfx-$ID.scope"
	[ ! -e "$dir" ] || fail "$dir is left"
	# The slices are systemd's (runc leaves them too): stop them here.
	systemctl stop "$slice" "t$UNIQ.slice"
	assert_no_leaks
}

@test "state, ps, pause/resume and kill --all work on the scope" {
	requires_systemd
	set_cmd 'sleep 1000 & trap "exit 0" TERM; wait'
	sd run -d --bundle "$BUNDLE" "$ID"
	assert_success
	local dir=/sys/fs/cgroup/system.slice/runc-$ID.scope
	sd ps --format json "$ID"
	assert_success
	local n
	n=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])))' "$output")
	assert_equal "$n" 2
	assert_equal "$n" "$(wc -l <"$dir/cgroup.procs")"
	sd pause "$ID"
	assert_success
	assert_equal "$(container_status "$ID")" paused
	grep -qx 'frozen 1' "$dir/cgroup.events" || fail "not frozen: $(cat "$dir/cgroup.events")"
	sd resume "$ID"
	assert_success
	assert_equal "$(container_status "$ID")" running
	sd kill --all "$ID" KILL
	assert_success
	wait_for_status "$ID" stopped
	sd delete "$ID"
	assert_success
	assert_unit_gone "runc-$ID.scope"
	assert_no_leaks
}

@test "update: the unit's properties and the files change, as runc's do" {
	requires_systemd
	requires_cmd "$REF_RUNTIME"
	set_limits
	set_args sleep 1000
	sd run -d --bundle "$BUNDLE" "$ID"
	assert_success
	sd_ref run -d --bundle "$BUNDLE" "$ID-ref"
	assert_success
	sd update --memory 128m --memory-swap 256m --pids-limit 50 --cpu-quota 25000 "$ID"
	assert_success
	sd_ref update --memory 128m --memory-swap 256m --pids-limit 50 --cpu-quota 25000 "$ID-ref"
	assert_success
	run show "runc-$ID.scope" MemoryMax TasksMax CPUQuotaPerSecUSec
	assert_equal "$output" "MemoryMax=134217728
TasksMax=50
CPUQuotaPerSecUSec=250ms"
	assert_equal "$(cat /sys/fs/cgroup/system.slice/runc-$ID.scope/memory.max)" 134217728
	assert_scope_like_ref
	# A daemon-reload re-applies the unit's properties: the update holds.
	systemctl daemon-reload
	assert_equal "$(cat /sys/fs/cgroup/system.slice/runc-$ID.scope/memory.max)" 134217728
	sd delete --force "$ID"
	sd_ref delete --force "$ID-ref"
	assert_no_leaks
}

@test "devices: DevicePolicy=strict with the allow list; the default devices work inside" {
	requires_systemd
	set_args sleep 1000
	sd run -d --bundle "$BUNDLE" "$ID"
	assert_success
	assert_equal "$(systemctl show -p DevicePolicy --value "runc-$ID.scope")" strict
	systemctl show -p DeviceAllow --value "runc-$ID.scope" | grep -q '/dev/char/1:3 rwm' ||
		fail "no /dev/null in: $(systemctl show -p DeviceAllow "runc-$ID.scope")"
	sd exec "$ID" sh -c 'echo x >/dev/null && head -c 4 /dev/zero | wc -c'
	assert_success
	assert_equal "$output" 4
	sd delete --force "$ID"
	assert_no_leaks
}

@test "delete after the container exited: the scope went with it, delete succeeds, nothing left" {
	requires_systemd
	set_args true
	sd run -d --bundle "$BUNDLE" "$ID"
	assert_success
	wait_for_status "$ID" stopped
	sd delete "$ID"
	assert_success
	assert_unit_gone "runc-$ID.scope"
	[ ! -e "/sys/fs/cgroup/system.slice/runc-$ID.scope" ] || fail "the scope's cgroup is left"
	assert_no_leaks
}

@test "a create that fails after the unit started stops it again" {
	requires_systemd
	# A createRuntime hook that fails: the unit exists by then.
	update_config 'c["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}'
	sd create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_unit_gone "runc-$ID.scope"
	assert_no_leaks
}

@test "delete --force of a created container stops its unit; a unit stopped behind our back is no error" {
	requires_systemd
	set_args sleep 1000
	sd create --bundle "$BUNDLE" "$ID"
	assert_success
	assert_equal "$(systemctl show -p ActiveState --value "runc-$ID.scope")" active
	sd delete --force "$ID"
	assert_success
	assert_unit_gone "runc-$ID.scope"
	sd run -d --bundle "$BUNDLE" "$ID-2"
	assert_success
	systemctl stop "runc-$ID-2.scope"
	sd delete --force "$ID-2"
	assert_success
	# Killed by systemd, the scope has failed; ocirt's delete resets it,
	# Debian's runc 1.1.5 leaves it "failed" for someone to reset.
	if is_runc; then
		systemctl reset-failed "runc-$ID-2.scope" 2>/dev/null || true
	fi
	assert_unit_gone "runc-$ID-2.scope"
	assert_no_leaks
}

@test "features: the systemd driver is claimed" {
	ocirt_only "features of this build"
	has_libsystemd || skip "built without libsystemd"
	sd features
	assert_success
	python3 -c '
import json, sys
c = json.loads(sys.argv[1])["linux"]["cgroup"]
assert c["systemd"] is True and c["systemdUser"] is True, c' "$output"
}


# ---------------------------------------------------------------- clients

# units_of NAME: the units whose name contains NAME (scopes, mounts).
units_of() {
	systemctl list-units --all --plain --no-legend "*$1*" 2>/dev/null | awk '{ print $1 }'
}

# assert_client_gone NAME PID...: no unit or cgroup named after NAME,
# none of the PIDs alive, no mount under the test's directory.
assert_client_gone() {
	local name=$1 i
	shift
	for ((i = 0; i < 50; i++)); do
		[ -z "$(units_of "$name")" ] && break
		sleep 0.1
	done
	[ -z "$(units_of "$name")" ] || fail "units left: $(units_of "$name")"
	[ -z "$(find /sys/fs/cgroup -name "*$name*")" ] || fail "cgroups left: $(find /sys/fs/cgroup -name "*$name*")"
	wait_gone "$@" || fail "processes left: $(ps -o pid=,args= -p "$*")"
	assert_no_leaks
}

# The init of the client tests: TERM ends it with status 3, USR1 leaves a
# trace in /tmp.  busybox sh as pid 1 runs the traps (no default actions).
CLIENT_INIT='trap "echo usr1 >/tmp/usr1" USR1; trap "exit 3" TERM; while :; do sleep 1000 & wait $!; done'

@test "containerd, runc v2 shim with SystemdCgroup and BinaryName: run, exec, the memory limit inside and on the scope, kill, delete, nothing left" {
	requires_systemd
	requires_cmd containerd ctr containerd-shim-runc-v2
	containerd_start
	local c=c-$ID unit=ctr-c-$ID.scope pid shim
	# --runc-binary and --runc-systemd-cgroup are the runc v2 shim's options
	# BinaryName and SystemdCgroup, which CRI sets from containerd's config.
	# ctr's spec has no cgroup namespace and no cgroup mount: the mount
	# given here shows the whole hierarchy, as runc mounts it.
	cctr run -d --runc-binary "$OCIRT" --runc-systemd-cgroup --cgroup "system.slice:ctr:$c" \
		--memory-limit 67108864 --env "$MARK" \
		--mount type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:nodev:noexec \
		--rootfs "$BUNDLE/rootfs" "$c" /bin/sh -c "$CLIENT_INIT"
	assert_success
	pid=$(ctrd_task_pid "$c")
	[ -n "$pid" ] || fail "no task $c: $(ctrd task ls)"
	shim=$(pgrep -f -- "containerd-shim-runc-v2 .*-id $c( |\$)")
	[ -n "$shim" ] || fail "no shim for $c"
	assert_equal "$(cat "/proc/$pid/cgroup")" "0::/system.slice/$unit"
	assert_equal "$(show "$unit" ActiveState Delegate MemoryMax | tr '\n' ' ')" \
		"ActiveState=active Delegate=yes MemoryMax=67108864 "
	assert_equal "$(cat "/sys/fs/cgroup/system.slice/$unit/memory.max")" 67108864
	cctr task exec --exec-id e1 "$c" /bin/sh -c 'cat "/sys/fs/cgroup$(sed -n "s/^0:://p" /proc/self/cgroup)/memory.max"'
	assert_success
	assert_output 67108864
	cctr task kill --signal SIGUSR1 "$c"
	assert_success
	cctr task kill --signal SIGTERM "$c"
	assert_success
	ctrd_wait_stopped "$c" || fail "task $c did not stop: $(ctrd task ls)"
	assert_equal "$(cat "$BUNDLE/rootfs/tmp/usr1")" usr1
	cctr task delete "$c"
	assert_success
	# ctr reports the status it got from the shim.
	assert_output_contains "exit code 3"
	cctr containers delete "$c"
	assert_success
	assert_unit_gone "$unit"
	containerd_stop
	assert_client_gone "$c" "$pid" "$shim"
}

@test "podman --cgroup-manager systemd: run, exec, the memory limit inside and on the scope, kill, stop, rm, nothing left" {
	requires_systemd
	requires_cmd podman conmon
	podman_dirs "$TEST_TMP/podman" systemd
	local c=c-$ID cid unit pid conmon
	pod "$OCIRT_NAME" run -d --name "$c" --network none --memory 64m -e "$MARK" \
		--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --rootfs "$BUNDLE/rootfs" sh -c "$CLIENT_INIT"
	assert_success
	cid=${output##*$'\n'}
	unit=libpod-$cid.scope
	pod "$OCIRT_NAME" inspect --format '{{.State.Pid}} {{.State.ConmonPid}}' "$c"
	assert_success
	read -r pid conmon <<<"$output"
	assert_equal "$(cat "/proc/$pid/cgroup")" "0::/machine.slice/$unit"
	assert_equal "$(show "$unit" ActiveState Slice Delegate MemoryMax | tr '\n' ' ')" \
		"ActiveState=active Slice=machine.slice Delegate=yes MemoryMax=67108864 "
	assert_equal "$(cat "/sys/fs/cgroup/machine.slice/$unit/memory.max")" 67108864
	# podman gives a cgroup namespace on v2: the scope is /sys/fs/cgroup.
	pod "$OCIRT_NAME" exec "$c" sh -c 'cat /proc/self/cgroup /sys/fs/cgroup/memory.max'
	assert_success
	assert_output $'0::/\n67108864'
	# With AppArmor enabled podman asks for its profile (ocirt refused it
	# once): the init runs confined by it.
	if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ]; then
		[[ "$(cat "/proc/$pid/attr/current")" == containers-default-*" (enforce)" ]] ||
			fail "AppArmor: $(cat "/proc/$pid/attr/current")"
	fi
	pod "$OCIRT_NAME" kill --signal USR1 "$c"
	assert_success
	local i
	for ((i = 0; i < 100; i++)); do
		[ -e "$BUNDLE/rootfs/tmp/usr1" ] && break
		sleep 0.1
	done
	assert_equal "$(cat "$BUNDLE/rootfs/tmp/usr1")" usr1
	# TERM ends it (status 3), long before podman would send KILL.
	pod "$OCIRT_NAME" stop --time 60 "$c"
	assert_success
	pod "$OCIRT_NAME" inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$c"
	assert_output "exited 3"
	pod "$OCIRT_NAME" rm "$c"
	assert_success
	assert_unit_gone "$unit"
	assert_client_gone "$cid" "$pid" "$conmon"
	# Nothing of podman's is left to clean: teardown_test removes the
	# store with the test's directory.
	PODMAN_DIR=
}
