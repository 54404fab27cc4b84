#!/usr/bin/env bats
# Behaviour that clients (containerd's shim, conmon, Kubernetes through CRI)
# depend on, checked against Debian's runc on the same bundle: each scenario
# is a function run once with `ocirt` and once with `ref` (runc).

load ../lib/helpers

setup() {
	setup_test
}

teardown() {
	teardown_test
}

# rt_pid RT ID: the init's host pid as runtime RT (ocirt or ref) reports it.
rt_pid() {
	"$1" state "$2"
	json_field pid <<<"$output"
}

# same_as_runc SCENARIO: run SCENARIO (a function of `ref` or `ocirt`) with
# each runtime; fails unless both print the same.  Sets $got to ocirt's.
same_as_runc() {
	local want
	want=$("$1" ref)
	got=$("$1" ocirt)
	[ "$got" = "$want" ] || fail $'ocirt:\n'"$got"$'\nrunc:\n'"$want"
}

# start_pod RT A B: container A owns a pid namespace; B joins it, starts a
# background child and exits, as a pod's app container whose main process
# ended.  Sets POD_A_PID and POD_ORPHANS (B's leftovers, in A's namespace).
start_pod() {
	local rt=$1 a=$2 b=$3 i
	make_bundle default "$TEST_TMP/$a"
	set_args sleep 1000
	"$rt" run -d --bundle "$TEST_TMP/$a" "$a"
	assert_success
	POD_A_PID=$(rt_pid "$rt" "$a")
	make_bundle default "$TEST_TMP/$b"
	add_namespace pid "/proc/$POD_A_PID/ns/pid"
	set_cmd 'sleep 1000 & exit 0'
	"$rt" create --bundle "$TEST_TMP/$b" "$b"
	assert_success
	"$rt" start "$b"
	assert_success
	for ((i = 0; i < 100; i++)); do
		"$rt" state "$b"
		[[ "$output" == *'"stopped"'* ]] && break
		sleep 0.05
	done
	[[ "$output" == *'"stopped"'* ]] || fail "$rt: B did not stop: $output"
	POD_ORPHANS=$(ns_members "$POD_A_PID")
	[ -n "$POD_ORPHANS" ] || fail "$rt: B's background child is not running"
}

# containerd's shim, once B's init has exited: kill --all, then delete.
pod_kill_all_then_delete() {
	local rt=$1 a="$ID-$1-a" b="$ID-$1-b"
	start_pod "$rt" "$a" "$b"
	"$rt" kill --all "$b" KILL
	assert_success
	wait_gone $POD_ORPHANS || fail "$rt: kill --all left B's child running: $POD_ORPHANS"
	"$rt" delete "$b"
	assert_success
	"$rt" delete --force "$a"
	assert_success
}

# delete alone must not fail on B's leftovers holding its cgroup.
pod_delete() {
	local rt=$1 a="$ID-$1-a" b="$ID-$1-b"
	start_pod "$rt" "$a" "$b"
	"$rt" delete "$b"
	assert_success
	wait_gone $POD_ORPHANS || fail "$rt: delete left B's child running: $POD_ORPHANS"
	"$rt" delete --force "$a"
	assert_success
}

# bats test_tags=vm
@test "compat: kill --all after the init exited kills what a shared-pid-ns container left (runc, ocirt)" {
	pod_kill_all_then_delete ref
	pod_kill_all_then_delete ocirt
	assert_no_leaks
}

@test "compat: delete of a stopped container kills what it left in a shared pid namespace (runc, ocirt)" {
	pod_delete ref
	pod_delete ocirt
	assert_no_leaks
}

@test "compat: kill with signal 0 checks the init is there (runc, ocirt)" {
	local rt
	for rt in ref ocirt; do
		make_bundle default "$TEST_TMP/$rt"
		set_args sleep 1000
		"$rt" run -d --bundle "$TEST_TMP/$rt" "$ID-$rt"
		assert_success
		"$rt" kill "$ID-$rt" 0
		assert_success
		"$rt" kill "$ID-$rt" KILL
		assert_success
		"$rt" kill "$ID-$rt" 0
		local i
		for ((i = 0; i < 100 && status == 0; i++)); do
			sleep 0.05
			"$rt" kill "$ID-$rt" 0
		done
		assert_failure
		assert_output_contains "container not running"
		"$rt" delete "$ID-$rt"
		assert_success
	done
}

# env_seen RT: the environment of the init and of an exec'd process, with a
# name given twice in process.env and again by exec --env.
env_seen() {
	local rt=$1 id="$ID-$1"
	make_bundle default "$TEST_TMP/$rt"
	update_config 'c["process"]["env"] += ["FOO=first", "BAR=bar", "FOO=second"]'
	set_args sleep 1000
	"$rt" run -d --bundle "$TEST_TMP/$rt" "$id"
	assert_success
	"$rt" exec "$id" sh -c 'tr "\0" "\n" </proc/1/environ'
	assert_success
	printf 'init:\n%s\n' "$output"
	"$rt" exec --env PATH=/x --env FOO=third "$id" /bin/env
	assert_success
	printf 'exec:\n%s\n' "$output"
	"$rt" delete --force "$id" >&2
}

# start_exe RT ID: after each of 10 create/start, what the init's
# /proc/PID/exe names the moment `start` returned.  runc's start reads
# exec.fifo to its end, which the init's execve closes: the program runs
# by then, and a client's exec right after may read /proc/1/environ.
start_exe() {
	local rt=$1 id=$2 i pid
	for ((i = 0; i < 10; i++)); do
		"$rt" create --bundle "$TEST_TMP/$rt" "$id-$i"
		assert_success
		pid=$(rt_pid "$rt" "$id-$i")
		"$rt" start "$id-$i"
		assert_success
		readlink "/proc/$pid/exe"
		"$rt" delete --force "$id-$i" >&2
	done | sort | uniq -c
}

exe_after_start() {
	local rt=$1 id=$ID-$1
	make_bundle default "$TEST_TMP/$rt"
	set_args sleep 1000
	start_exe "$rt" "$id"
}

@test "compat: when start returns, the container's process runs, not the runtime (runc, ocirt)" {
	local want got
	# runc 1.1.5 itself now and then returns before (its init's exe then
	# reads "/"): the reference is what it does most of the time.
	want=$(exe_after_start ref | sort -rn | head -1)
	[[ "$want" == *" /bin/busybox" ]] || fail "runc's start mostly returned before the process ran: $want"
	got=$(exe_after_start ocirt)
	[ "$got" = "     10 /bin/busybox" ] || fail "start returned before the process ran: $got"
}

@test "compat: a name given twice in process.env or again by exec --env takes its last value (runc, ocirt)" {
	local got
	same_as_runc env_seen
	[[ "$got" == *$'\nFOO=second\n'* ]] || fail "init does not see FOO=second: $got"
	[[ "$got" == *$'\nFOO=third\n'* && "$got" == *$'\nPATH=/x\n'* ]] || fail "exec's values lost: $got"
	[ "$(grep -c '^PATH=' <<<"$got")" -eq 2 ] || fail "PATH defined twice in a process: $got"
}

@test "compat: an id that starts with a dot runs, with runc's session keyring: _ses.<id>, searchable (runc, ocirt)" {
	local rt want=""
	for rt in ref ocirt; do
		make_bundle default "$TEST_TMP/$rt"
		set_args sleep 1000
		"$rt" run -d --bundle "$TEST_TMP/$rt" ".$ID"
		assert_success
		# Permissions and name, as the host sees the container's keyring.
		local seen
		seen=$(awk -v d="_ses..$ID:" '$9 == d { print $4, $9 }' /proc/keys)
		[ -n "$seen" ] || fail "$rt: no keyring _ses..$ID in /proc/keys"
		[ -z "$want" ] || [ "$seen" = "$want" ] || fail "ocirt's keyring: $seen; runc's: $want"
		want=$seen
		"$rt" delete --force ".$ID"
		assert_success
	done
}

# tmpfs_modes RT: the modes of three tmpfs mounts: over an existing 0700
# directory without and with mode=1777, and on a new directory with mode=1777.
tmpfs_modes() {
	local rt=$1
	make_bundle default "$TEST_TMP/$rt"
	update_config 'c["root"]["readonly"] = False
c["mounts"] += [{"destination": d, "type": "tmpfs", "source": "tmpfs", "options": o}
	for d, o in (("/mnt/keep", []), ("/mnt/given", ["mode=1777"]), ("/mnt/new", ["mode=1777"]))]'
	mkdir -p "$TEST_TMP/$rt/rootfs/mnt/keep" "$TEST_TMP/$rt/rootfs/mnt/given"
	chmod 700 "$TEST_TMP/$rt/rootfs/mnt/keep" "$TEST_TMP/$rt/rootfs/mnt/given"
	set_cmd 'stat -c "%n %a" /mnt/keep /mnt/given /mnt/new'
	"$rt" run --bundle "$TEST_TMP/$rt" "$ID-$rt"
	assert_success
}

@test "compat: a tmpfs keeps the covered directory's mode unless its own mode= is given (runc 1.1.8+, ocirt)" {
	tmpfs_modes ocirt
	assert_output $'/mnt/keep 700\n/mnt/given 1777\n/mnt/new 1777'
	# Debian's runc 1.1.5 lets the covered directory win over mode= too
	# (fixed in runc 1.1.8); the other two agree.
	tmpfs_modes ref
	assert_output_contains "/mnt/keep 700"
	assert_output_contains "/mnt/new 1777"
}

@test "compat: a device path with a trailing or doubled slash names the device (runc, ocirt)" {
	local rt want=""
	for rt in ref ocirt; do
		make_bundle default "$TEST_TMP/$rt"
		update_config 'c["linux"]["devices"] = [
	{"path": "/dev/mynull/", "type": "c", "major": 1, "minor": 3, "fileMode": 438},
	{"path": "/dev//sub//myzero", "type": "c", "major": 1, "minor": 5, "fileMode": 438}]'
		set_cmd 'stat -c "%n %F %t:%T %a" /dev/mynull /dev/sub/myzero'
		"$rt" run --bundle "$TEST_TMP/$rt" "$ID-$rt"
		assert_success
		[ -z "$want" ] || assert_output "$want"
		want=$output
	done
	assert_output $'/dev/mynull character special file 1:3 666\n/dev/sub/myzero character special file 1:5 666'
}

@test "compat: rootfsPropagation unbindable makes the container's / unbindable (runc 1.2.7+, ocirt)" {
	# Debian's runc 1.1.5 fails here: it makes the host side unbindable
	# before bind-mounting the rootfs (EINVAL); later runc and the
	# runtime-tools validation expect what ocirt does.
	local p
	for p in unbindable runbindable; do
		make_bundle default "$TEST_TMP/$p"
		update_config 'c["linux"]["rootfsPropagation"] = sys.argv[3]' "$p"
		set_cmd 'awk "\$5 == \"/\" { print \$5, \$7 }" /proc/self/mountinfo'
		ocirt run --bundle "$TEST_TMP/$p" "$ID-$p"
		assert_success
		assert_output "/ unbindable"
	done
}

# Each rootfsPropagation gives the container's mounts the same propagation
# under both, on the host as it is and in a mount namespace where every
# mount is shared (as on a systemd host): there the rootfs's parent mount
# must be made private first (pivot_root refuses a shared parent), found in
# the mount table as it is after "/" got its propagation.  shared and
# rshared are applied to the new "/" after pivot_root, as runc 1.2.7 and
# later do (runc 1.1.5 leaves it as it was).
@test "compat: rootfsPropagation slave, private, rslave, rprivate as runc; shared and rshared as runc 1.2.7+" {
	local p rt where want
	propagation_in() { # WHERE RUNTIME PROPAGATION
		local bundle="$TEST_TMP/$1-$2-$3" bin=$OCIRT root=$STATE_ROOT
		make_bundle default "$bundle"
		update_config 'c["linux"]["rootfsPropagation"] = sys.argv[3]' "$3"
		set_cmd 'awk "{ sub(/:[0-9]+/, \"\", \$7); print \$5, \$7 }" /proc/self/mountinfo'
		if [ "$1" = host ]; then
			"$2" run --bundle "$bundle" "$ID-$1-$2-$3"
			assert_success
			return
		fi
		[ "$2" = ref ] && bin=$REF_RUNTIME root=$TEST_TMP/ref-state
		status=0
		output=$(timeout -k 5 "$OCIRT_CMD_TIMEOUT" env "$MARK" unshare -m --propagation shared \
			"$bin" --root "$root" run --bundle "$bundle" "$ID-$1-$2-$3" </dev/null 2>&1) || status=$?
		lines=()
		[ -z "$output" ] || mapfile -t lines <<<"$output"
		[ "$status" = 0 ] || fail "$2 in a shared mount namespace failed ($status): $output"
	}
	mkdir -p "$TEST_TMP/ref-state"
	for where in host shared; do
		for p in slave private rslave rprivate; do
			want=""
			for rt in ref ocirt; do
				propagation_in "$where" "$rt" "$p"
				[ -z "$want" ] || [ "$output" = "$want" ] || fail "$where, $p: ocirt gives
$output
where runc gives
$want"
				want=$output
			done
		done
		for p in shared rshared; do
			propagation_in "$where" ocirt "$p"
			[ "${lines[0]}" = "/ shared" ] || fail "$where, $p: / is not shared: ${lines[0]}"
		done
		[ "${lines[1]}" = "/proc shared" ] || fail "$where, rshared: /proc is not shared: ${lines[1]}"
	done
	assert_no_leaks
}

@test "compat: /sys/fs/cgroup on a v1 or hybrid host: a tmpfs with a read-only bind of each hierarchy (runc, ocirt)" {
	[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] && skip "a cgroup v2 host mounts cgroup2 itself"
	local rt want=""
	for rt in ref ocirt; do
		make_bundle default "$TEST_TMP/$rt"
		set_cmd 'awk '\''$5 ~ "^/sys/fs/cgroup" { print $4, $5, $6, $9 }'\'' /proc/self/mountinfo; ls /sys/fs/cgroup'
		"$rt" run --bundle "$TEST_TMP/$rt" "$ID-$rt"
		assert_success
		output=${output//"$ID-$rt"/ID}
		[ -z "$want" ] || [ "$output" = "$want" ] || fail "ocirt gives
$output
where runc gives
$want"
		want=$output
	done
	[[ "$output" == "/ /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime tmpfs"* ]] || fail "no tmpfs first: $output"
	[[ "$output" == *" ro,nosuid,nodev,noexec,relatime cgroup"* ]] || fail "no read-only hierarchy: $output"
	assert_no_leaks
}

# A cgroup v2 host in a mount namespace of the test's own: the host's empty
# cgroup2 hierarchy mounted on /sys/fs/cgroup.  Both runtimes take it for a
# v2 host (statfs); ocirt then finds its one hierarchy without reading the
# mount table (runtime/cgroups.c, unified_at_root).
@test "compat: cgroup2 on /sys/fs/cgroup of a v1 or hybrid host, seen as a v2 host: the cgroup is runc's (runc, ocirt)" {
	[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] && skip "a cgroup v2 host: cgroupv2.bats runs there"
	[ -e /sys/fs/cgroup/unified/cgroup.procs ] || skip "no cgroup2 hierarchy on this host"
	local rt bin root want="" top=/sys/fs/cgroup/unified/ocirt-test-$UNIQ
	for rt in ref ocirt; do
		make_bundle default "$TEST_TMP/$rt"
		update_config 'c["linux"]["cgroupsPath"] = sys.argv[3]' "/ocirt-test-$UNIQ/$rt"
		set_cmd 'grep "^0::" /proc/self/cgroup; stat -f -c %t /sys/fs/cgroup'
		bin=$OCIRT root=$STATE_ROOT
		[ "$rt" = ref ] && bin=$REF_RUNTIME root=$TEST_TMP/ref-state
		status=0
		output=$(timeout -k 5 "$OCIRT_CMD_TIMEOUT" env "$MARK" unshare -m --propagation private \
			sh -c 'mount -t cgroup2 none /sys/fs/cgroup && exec "$@"' sh \
			"$bin" --root "$root" run --bundle "$TEST_TMP/$rt" "$ID-$rt" </dev/null 2>&1) || status=$?
		[ "$status" = 0 ] || fail "$rt: $output"
		output=${output//"/$rt"$'\n'/$'\n'}
		[ -z "$want" ] || [ "$output" = "$want" ] || fail "ocirt gives
$output
where runc gives
$want"
		want=$output
		[ ! -e "$top/$rt" ] || fail "$rt left $top/$rt"
	done
	[ "$output" = "0::/ocirt-test-$UNIQ
63677270" ] || fail "not in its cgroup2 cgroup: $output"
	rmdir "$top"
	assert_no_leaks
}

@test "compat: run --keep leaves the exited container stopped until delete (runc, ocirt)" {
	local rt
	for rt in ref ocirt; do
		make_bundle default "$TEST_TMP/$rt"
		set_cmd 'exit 3'
		"$rt" run --keep --bundle "$TEST_TMP/$rt" "$ID-$rt"
		assert_status 3
		"$rt" state "$ID-$rt"
		assert_success
		assert_output_contains '"status": "stopped"'
		"$rt" delete "$ID-$rt"
		assert_success
		# create has no --keep.
		"$rt" create --keep --bundle "$TEST_TMP/$rt" "$ID-$rt"
		assert_failure
		assert_output_contains "keep"
	done
	assert_no_leaks
}

@test "compat: exec --additional-gids adds supplementary groups (runc, ocirt)" {
	local rt want=""
	for rt in ref ocirt; do
		make_bundle default "$TEST_TMP/$rt"
		set_args sleep 1000
		"$rt" run -d --bundle "$TEST_TMP/$rt" "$ID-$rt"
		assert_success
		"$rt" exec --user 1000:1000 --additional-gids 10 --additional-gids 100 "$ID-$rt" id -G
		assert_success
		[ -z "$want" ] || assert_output "$want"
		want=$output
		"$rt" exec --additional-gids nope "$ID-$rt" true
		assert_failure
	done
	assert_output_contains "nope"
	[ "$want" = "1000 10 100" ] || fail "groups: $want"
}

# cgroup_dirs PID: the host directories of PID's cgroup, one per hierarchy.
cgroup_dirs() {
	local pid=$1 line path d
	while IFS= read -r line; do
		path=${line#*:*:}
		for d in /sys/fs/cgroup /sys/fs/cgroup/*; do
			[ -f "$d$path/cgroup.procs" ] && grep -qx "$pid" "$d$path/cgroup.procs" && echo "$d$path"
		done
	done <"/proc/$pid/cgroup" | sort -u
}

# exec_in_sub RT: what an exec'd process sees of its cgroups with --cgroup
# SUB (every hierarchy) and --cgroup pids:SUB, as "hierarchy-key sub|-".
exec_in_sub() {
	local rt=$1 id="$ID-$1" pid d
	make_bundle default "$TEST_TMP/$rt"
	set_args sleep 1000
	"$rt" run -d --bundle "$TEST_TMP/$rt" "$id"
	assert_success
	pid=$(rt_pid "$rt" "$id")
	for d in $(cgroup_dirs "$pid"); do
		mkdir "$d/sub"
		# A new v1 cpuset has no cpus or mems: nothing could join it.
		if [ -f "$d/cpuset.cpus" ]; then
			cat "$d/cpuset.cpus" >"$d/sub/cpuset.cpus"
			cat "$d/cpuset.mems" >"$d/sub/cpuset.mems"
		fi
	done
	local show='while IFS=: read -r n c p; do case $p in */sub) echo "$c sub";; *) echo "$c -";; esac; done </proc/self/cgroup | sort'
	"$rt" exec --cgroup sub "$id" sh -c "$show"
	assert_success
	echo "all: $output"
	if [ -z "$(awk -F: '$2 == "pids"' "/proc/$pid/cgroup")" ]; then
		echo "pids: (no v1 pids hierarchy)"
	else
		"$rt" exec --cgroup pids:sub "$id" sh -c "$show"
		assert_success
		echo "pids: $output"
	fi
	"$rt" exec --cgroup nosuch "$id" true
	[ "$status" -ne 0 ] && echo "missing sub-cgroup: refused"
	"$rt" delete --force "$id" >&2
}

# bats test_tags=vm
@test "compat: exec --cgroup runs the process in an existing sub-cgroup of the container's (runc, ocirt)" {
	local got
	same_as_runc exec_in_sub
	[[ "$got" == *"sub"* ]] || fail "no sub-cgroup seen: $got"
	[[ "$got" == *"missing sub-cgroup: refused"* ]] || fail "a missing sub-cgroup was accepted: $got"
	ocirt_only "wording"
	make_bundle default
	set_args sleep 1000
	ocirt run -d --bundle "$BUNDLE" "$ID"
	ocirt exec --cgroup ../escape "$ID" true
	assert_failure
	assert_output_contains "below the container's cgroup"
	ocirt delete --force "$ID"
	assert_no_leaks
}

# cgroup_membership RT: where the init of a container with a pids limit and
# two exec'd processes (-d --pid-file as the shims pass it, and one in the
# foreground) are, per hierarchy ("controllers:path", the container's id
# replaced by ID), and in how many host directories their pids are listed.
cgroup_membership() {
	local rt=$1 id="$ID-$1" pid epid d
	make_bundle default "$TEST_TMP/$rt"
	set_args sleep 1000
	# An absolute path: where a relative one lands depends on the caller's
	# own cgroups, which the suite may have anywhere.
	update_config 'c["linux"]["resources"] = {"pids": {"limit": 50}}
c["linux"]["cgroupsPath"] = sys.argv[3]' "/ocirt-test-$UNIQ/$id"
	"$rt" run -d --bundle "$TEST_TMP/$rt" "$id"
	assert_success
	pid=$(rt_pid "$rt" "$id")
	"$rt" exec -d --pid-file "$TEST_TMP/$rt.pid" "$id" sleep 1000
	assert_success
	epid=$(cat "$TEST_TMP/$rt.pid")
	echo "init:"
	sed "s/$id/ID/g" "/proc/$pid/cgroup" | cut -d: -f2- | sort
	echo "listed in $(cgroup_dirs "$pid" | wc -l) host directories"
	echo "exec -d:"
	sed "s/$id/ID/g" "/proc/$epid/cgroup" | cut -d: -f2- | sort
	echo "listed in $(cgroup_dirs "$epid" | wc -l) host directories"
	echo "exec (foreground):"
	"$rt" exec "$id" sh -c 'cut -d: -f2- /proc/self/cgroup | sort'
	sed "s/$id/ID/g" <<<"$output"
	for d in $(cgroup_dirs "$pid"); do
		[ -f "$d/pids.current" ] && echo "pids.current $(cat "$d/pids.current")"
	done
	"$rt" delete --force "$id" >&2
}

# bats test_tags=vm
@test "compat: the init and exec'd processes are in the container's cgroup in every hierarchy (runc, ocirt)" {
	local got
	same_as_runc cgroup_membership
	[[ "$got" == *"ID"* ]] || fail "not in a cgroup named after the container: $got"
	# every hierarchy of the host, not just some
	local n
	n=$(grep -c . /proc/self/cgroup)
	[[ "$got" == *"listed in $n host directories"*"listed in $n host directories"* ]] ||
		fail "not in all $n hierarchies: $got"
	# The runtimes leave the parent they made; ours to remove.
	local d
	for d in /sys/fs/cgroup/ocirt-test-$UNIQ /sys/fs/cgroup/*/ocirt-test-$UNIQ; do
		[ ! -d "$d" ] || rmdir "$d"
	done
	assert_no_leaks
}

# hybrid_v2_mount: the cgroup2 mount point of a hybrid host (v1
# controllers beside an empty cgroup2); nothing on a pure v1 or v2 host.
hybrid_v2_mount() {
	grep -q '^0::' /proc/self/cgroup || return 0
	# A v1 hierarchy with a controller (a lone name=systemd does not count).
	grep -qE '^[0-9]+:[^:=]+:' /proc/self/cgroup || return 0
	findmnt -rn -t cgroup2 -o TARGET | head -1
}

# relative_placement RT: with the caller in a cgroup of its own in every
# hierarchy (CALLER_CG, below its cgroup there), where the init and an
# exec'd process of a container with a relative cgroupsPath (rel-UNIQ/ID)
# and the init of one with none (the id) are, per hierarchy.
relative_placement() {
	local rt=$1 id="$ID-$1" d pid
	for d in $CALLER_DIRS; do
		echo "$BASHPID" >"$d/$CALLER_CG/cgroup.procs"
	done
	echo "caller:"
	cut -d: -f2- "/proc/$BASHPID/cgroup" | sort
	make_bundle default "$TEST_TMP/$rt"
	set_args sleep 1000
	update_config 'c["linux"]["cgroupsPath"] = sys.argv[3]' "rel-$UNIQ/$id"
	"$rt" run -d --bundle "$TEST_TMP/$rt" "$id"
	assert_success
	pid=$(rt_pid "$rt" "$id")
	echo "relative init:"
	sed "s/$id/ID/g" "/proc/$pid/cgroup" | cut -d: -f2- | sort
	"$rt" exec "$id" sh -c 'cut -d: -f2- /proc/self/cgroup | sort'
	echo "relative exec:"
	sed "s/$id/ID/g" <<<"$output"
	"$rt" delete --force "$id" >&2
	make_bundle default "$TEST_TMP/$rt-default"
	set_args sleep 1000
	"$rt" run -d --bundle "$TEST_TMP/$rt-default" "$id"
	assert_success
	pid=$(rt_pid "$rt" "$id")
	echo "default init:"
	sed "s/$id/ID/g" "/proc/$pid/cgroup" | cut -d: -f2- | sort
	"$rt" delete --force "$id" >&2
	# Back where the suite was, so that CALLER_CG can be removed.
	for d in $CALLER_DIRS; do
		echo "$BASHPID" >"$d/cgroup.procs"
	done
}

@test "compat: a relative cgroupsPath on a hybrid host: below the caller's cgroup on v1, below the root on the cgroup2 (runc, ocirt)" {
	local v2 d got
	v2=$(hybrid_v2_mount)
	[ -n "$v2" ] || skip "needs a hybrid cgroup host (v1 controllers beside cgroup2)"
	# Our cgroup in each hierarchy (a symlinked mount such as cpu ->
	# cpu,cpuacct once), each given a child for the caller.
	CALLER_DIRS=$(cgroup_dirs "$BASHPID" | xargs -r realpath | sort -u)
	CALLER_CG=ocirt-test-$UNIQ-caller
	for d in $CALLER_DIRS; do
		mkdir "$d/$CALLER_CG"
		# A new v1 cpuset has no cpus or mems: nothing could join it.
		if [ -f "$d/cpuset.cpus" ]; then
			cat "$d/cpuset.cpus" >"$d/$CALLER_CG/cpuset.cpus"
			cat "$d/cpuset.mems" >"$d/$CALLER_CG/cpuset.mems"
		fi
	done
	same_as_runc relative_placement
	# Only meaningful with the caller below the root of the cgroup2 and
	# placed in every v1 hierarchy.
	grep -Eqx ":(/.*)?/$CALLER_CG" <<<"$got" || fail "the caller is not in its cgroup on the cgroup2: $got"
	grep -Eqx "memory:(/.*)?/$CALLER_CG/rel-$UNIQ/ID" <<<"$got" || fail "not below the caller's memory cgroup: $got"
	# The runtimes leave the parent they made; ours to remove, then the
	# caller's cgroups.
	for d in $CALLER_DIRS "$v2"; do
		[ ! -d "$d/$CALLER_CG/rel-$UNIQ" ] || rmdir "$d/$CALLER_CG/rel-$UNIQ"
		[ ! -d "$d/rel-$UNIQ" ] || rmdir "$d/rel-$UNIQ"
	done
	for d in $CALLER_DIRS; do
		rmdir "$d/$CALLER_CG"
	done
	assert_no_leaks
}

@test "compat: exec that cannot start its process exits 255, not a status the program could give (runc, ocirt)" {
	local rt
	for rt in ref ocirt; do
		make_bundle default "$TEST_TMP/$rt"
		set_args sleep 1000
		"$rt" run -d --bundle "$TEST_TMP/$rt" "$ID-$rt"
		assert_success
		"$rt" exec "$ID-$rt" /no/such/program
		assert_status 255
		"$rt" exec --cwd /no/such/dir "$ID-$rt" true
		assert_status 255
		"$rt" exec "$ID-$rt" sh -c 'exit 1'
		assert_status 1
		"$rt" delete --force "$ID-$rt"
		"$rt" exec "$ID-$rt" true
		assert_status 255
	done
}

# as_userns_root RUNTIME ARGS...: RUNTIME as uid 0 of a user namespace that
# maps it onto an unprivileged host uid, the way rootless podman runs a
# runtime, with XDG_RUNTIME_DIR set; sets $status and $output.
as_userns_root() {
	local rt=$1
	shift
	status=0
	output=$(timeout -k 5 "$OCIRT_CMD_TIMEOUT" setpriv --reuid 1000 --regid 1000 --clear-groups \
		unshare --user --map-root-user env "$MARK" XDG_RUNTIME_DIR="$TEST_TMP/xdg" USER=someone \
		"$rt" "$@" 2>&1 </dev/null) || status=$?
	echo "$rt $* (status=$status): $output" >&2
}

@test "compat: uid 0 in a user namespace keeps state in \$XDG_RUNTIME_DIR and runs without a cgroup it may not make, unless limits are set (runc, ocirt)" {
	requires_cmd setpriv unshare
	mkdir -p "$TEST_TMP/xdg"
	chown 1000:1000 "$TEST_TMP/xdg"
	make_bundle default
	# The namespace maps one uid and one gid: no gid=5 for devpts.
	update_config 'c["linux"]["resources"] = {}
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "user"]
for m in c["mounts"]:
	m["options"] = [o for o in m.get("options", []) if o != "gid=5"]'
	set_cmd 'echo "uid $(id -u)"; grep -c . /proc/self/cgroup >/dev/null && echo ran'
	local rt
	for rt in "$REF_RUNTIME" "$OCIRT"; do
		as_userns_root "$rt" run --bundle "$BUNDLE" "$ID"
		assert_success
		assert_output $'uid 0\nran'
		[ -d "$TEST_TMP/xdg/$(basename "$rt")" ] || fail "$rt kept no state in \$XDG_RUNTIME_DIR: $(ls "$TEST_TMP/xdg")"
	done
	# A limit needs a cgroup: that is an error, with both.
	update_config 'c["linux"]["resources"] = {"pids": {"limit": 100}}'
	for rt in "$REF_RUNTIME" "$OCIRT"; do
		as_userns_root "$rt" run --bundle "$BUNDLE" "$ID"
		assert_failure
	done
	is_runc || assert_output_contains "cgroup"
	assert_no_leaks
}

@test "compat: an unprivileged user's container with user and cgroup namespaces starts, every time (runc, ocirt)" {
	requires_cmd setpriv
	mkdir -p "$TEST_TMP/xdg"
	chown 1000:1000 "$TEST_TMP/xdg"
	make_bundle default
	# `spec --rootless` as that user (no network namespace, /sys bound), plus
	# a cgroup namespace.  The parent writes the uid_map while the init
	# waits: the init must stay dumpable until then, whatever its own
	# geteuid() says once the map is written (a race ocirt lost about one
	# time in four).
	mkdir "$TEST_TMP/spec"
	chown 1000:1000 "$TEST_TMP/spec"
	(cd "$TEST_TMP/spec" && setpriv --reuid 1000 --regid 1000 --clear-groups "$OCIRT" spec --rootless) ||
		fail "spec --rootless failed"
	cp "$TEST_TMP/spec/config.json" "$BUNDLE/config.json"
	update_config 'c["root"] = {"path": "rootfs"}
c["linux"]["namespaces"].append({"type": "cgroup"})'
	set_cmd 'echo "uid $(id -u)"'
	local rt i n
	for rt in "$REF_RUNTIME" "$OCIRT"; do
		n=30
		[ "$rt" = "$REF_RUNTIME" ] && n=3
		for ((i = 0; i < n; i++)); do
			run timeout -k 5 "$OCIRT_CMD_TIMEOUT" setpriv --reuid 1000 --regid 1000 --clear-groups \
				env XDG_RUNTIME_DIR="$TEST_TMP/xdg" "$rt" run --bundle "$BUNDLE" "$ID-$i"
			assert_success
			assert_output "uid 0"
		done
	done
	assert_no_leaks
}

@test "compat: a container without /proc runs, create and start alike (ocirt; runc 1.1.5 fails it)" {
	make_bundle default
	update_config 'c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/proc"]'
	set_cmd 'echo started; ls /proc | wc -l'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output $'started\n0'
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_success
	ocirt start "$ID"
	assert_success
	wait_for_status "$ID" stopped
	ocirt delete "$ID"
	assert_success
	assert_no_leaks
}

@test "compat: with a user namespace, a bind source only the host's root can reach is mounted (runc, ocirt)" {
	# The source sits in a directory the container's root (uid 100000 on
	# the host) may not enter: the runtime must open it on the host side.
	mkdir -p "$TEST_TMP/private/data"
	echo secret-ok >"$TEST_TMP/private/data/file"
	chmod 700 "$TEST_TMP/private"
	local rt
	for rt in ref ocirt; do
		make_bundle userns "$TEST_TMP/$rt"
		mkdir "$TEST_TMP/$rt/rootfs/data"
		update_config 'c["mounts"].append({"destination": "/data", "type": "bind", "source": sys.argv[3], "options": ["rbind", "ro"]})' "$TEST_TMP/private/data"
		set_cmd 'cat /data/file; touch /data/new 2>/dev/null || echo read-only'
		"$rt" run --bundle "$TEST_TMP/$rt" "$ID-$rt"
		assert_success
		assert_output $'secret-ok\nread-only'
	done
	assert_no_leaks
}

@test "compat: a container in the host's mount namespace runs; mounts are refused for it (ocirt)" {
	# Not run under runc: runc 1.1.5 bind-mounts the root onto itself in
	# the host's mount namespace for such a container and leaves it there
	# (and mounts config.mounts on the host too).
	is_runc && skip "runc 1.1.5 leaves mounts in the host's namespace here"
	local host_mnt
	host_mnt=$(readlink /proc/self/ns/mnt)
	make_bundle default
	# The host's own root: with no mount namespace nothing can be mounted.
	update_config 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "mount"]
c["mounts"] = []
c["root"] = {"path": "/"}
for k in ("maskedPaths", "readonlyPaths"):
	c["linux"].pop(k, None)'
	set_args /bin/sh -c 'readlink /proc/self/ns/mnt; test -d "$1" && echo sees-host' sh "$TEST_TMP"
	local before
	before=$(wc -l </proc/self/mountinfo)
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output "$host_mnt"$'\nsees-host'
	[ "$(wc -l </proc/self/mountinfo)" -eq "$before" ] || fail "the host's mount table changed"
	update_config 'c["mounts"] = [{"destination": sys.argv[3], "type": "tmpfs", "source": "tmpfs"}]' "$TEST_TMP/never"
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_failure
	is_runc || assert_output_contains "mounts: need a mount namespace"
	[ ! -e "$TEST_TMP/never" ] || fail "the mount point was made on the host"
	assert_no_leaks
}

# ignoring RT: a wrapper that starts runtime RT (ocirt or ref) with SIGPIPE
# and SIGHUP ignored, as conmon and a containerd under nohup start it.
ignoring() {
	local real=$OCIRT wrap=$TEST_TMP/ignoring-$1
	[ "$1" = ref ] && real=$REF_RUNTIME
	cat >"$wrap" <<-END
		#!/bin/sh
		exec "$PYTHON" -c 'import signal, os, sys
		signal.signal(signal.SIGPIPE, signal.SIG_IGN)
		signal.signal(signal.SIGHUP, signal.SIG_IGN)
		os.execv(sys.argv[1], sys.argv[1:])' "$real" "\$@"
	END
	chmod +x "$wrap"
	echo "$wrap"
}

# signals_seen RT: what the init and an exec'd process of a container of RT,
# started with SIGPIPE and SIGHUP ignored, see of their signal dispositions;
# `yes` must end by SIGPIPE when `head` has had enough.  An orphaned `yes`
# that did not dies with the container.  Only signals 1-31: glibc keeps 32
# and 33 for itself and lets no program change them (a test harness may
# leave them ignored; runc leaves 32 as it found it).
signals_seen() {
	local rt=$1 id=$ID-$1
	local OCIRT=$(ignoring ocirt) REF_RUNTIME=$(ignoring ref)
	make_bundle default "$TEST_TMP/$rt"
	set_args sleep 1000
	"$rt" run -d --bundle "$TEST_TMP/$rt" "$id"
	assert_success
	"$rt" exec "$id" sh -c 'for f in /proc/1/status /proc/self/status; do
			v=$(sed -n "s/^SigIgn:[[:space:]]*//p" $f)
			echo "ignored of 1-31: $((0x$v & 0x7fffffff))"
		done
		timeout 10 sh -c "yes | head -c 10485760 | wc -c"; echo "pipeline: $?"'
	assert_success
	echo "$output"
	"$rt" delete --force "$id" >&2
}

@test "compat: signals the runtime's caller ignored are not ignored by the container's processes (runc, ocirt)" {
	local got
	same_as_runc signals_seen
	[ "$(grep -c '^ignored of 1-31: 0$' <<<"$got")" -eq 2 ] || fail "ignored signals inherited: $got"
	[[ "$got" == *$'\n10485760\npipeline: 0'* ]] || fail "yes did not end on SIGPIPE: $got"
}

# session_seen RT: whether the init and a process run by exec (no terminal)
# lead their own session and process group, as read from /proc/PID/stat.
session_seen() {
	local rt=$1 id=$ID-$1
	make_bundle default "$TEST_TMP/$rt"
	set_args sleep 1000
	"$rt" run -d --bundle "$TEST_TMP/$rt" "$id"
	assert_success
	"$rt" exec "$id" sh -c 'leads() {
			read -r pid comm state ppid pgrp session rest <"$2"
			echo "$1: pgrp $([ "$pgrp" = "$pid" ] && echo own || echo "$pgrp"), session $([ "$session" = "$pid" ] && echo own || echo "$session")"
		}
		leads init /proc/1/stat; leads exec /proc/self/stat'
	assert_success
	echo "$output"
	"$rt" delete --force "$id" >&2
}

@test "compat: without a terminal the init and an exec'd process each lead a new session (runc, ocirt)" {
	local got
	same_as_runc session_seen
	[ "$got" = $'init: pgrp own, session own\nexec: pgrp own, session own' ] || fail "not session leaders: $got"
}

# What runc 1.1.5 itself does after loading a filter without
# noNewPrivileges (Go's runtime, the user and capabilities, exec.fifo, its
# LookPath and the faccessat2 of its executable check, execve), what
# busybox `true` does, and ocirt's counterparts of runc's calls (setresuid
# for setuid, sendmsg for its write to the sync pipe).  Neither
# close_range nor anything else that only ocirt would do under the filter.
AFTER_FILTER='arch_prctl brk capget capset chdir clone close epoll_ctl epoll_pwait execve exit exit_group
fchown fcntl fstat fstatfs futex getcwd getdents64 getegid geteuid getgid getgroups getpid getppid getrandom
gettid getuid madvise mmap mprotect munmap nanosleep newfstatat openat prctl prlimit64 read readlink rseq
rt_sigaction rt_sigprocmask rt_sigreturn sched_yield sendmsg set_robust_list set_tid_address setgid setgroups
setresgid setresuid setuid sigaltstack tgkill umask write'

# true_allowing RT SYSCALLS: run busybox `true` under RT with a filter that
# allows only SYSCALLS (EPERM for the rest), without noNewPrivileges.
true_allowing() {
	local rt=$1 id=$ID-$1
	make_bundle default "$TEST_TMP/$rt"
	set_args true
	update_config '
c["process"]["noNewPrivileges"] = False
c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
	"syscalls": [{"names": sys.argv[3].split(), "action": "SCMP_ACT_ALLOW"}]}' "$2"
	"$rt" run --bundle "$TEST_TMP/$rt" "$id"
}

@test "compat: without noNewPrivileges the filter needs to allow no syscall that runc does not make after it (runc, ocirt)" {
	[ "$(uname -m)" = x86_64 ] || skip "the syscall list is x86_64's"
	true_allowing ref "$AFTER_FILTER faccessat2"
	assert_success
	true_allowing ocirt "$AFTER_FILTER faccessat2"
	assert_success
}

@test "compat: without noNewPrivileges ocirt resolves args[0] before the filter: faccessat2 need not be allowed (ocirt; runc 1.1.5 needs it)" {
	[ "$(uname -m)" = x86_64 ] || skip "the syscall list is x86_64's"
	true_allowing ocirt "$AFTER_FILTER"
	assert_success
}
