#!/usr/bin/env bats
# What a process inside the container sees.

load ../lib/helpers

setup() {
	setup_test
	make_bundle hello
}

teardown() {
	teardown_test
}

# in_container 'SHELL TEXT': run it in the bundle as it is, expect success.
in_container() {
	set_cmd "$1"
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
}

@test "ps shows only the container's processes; pid 1 is the command" {
	set_args ps -o pid,args
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_matches '^PID +COMMAND'$'\n'' +1 +ps -o pid,args$'
	assert_one_line || [ "${#lines[@]}" -eq 2 ]
}

@test "pid 1 is the shell and its children are numbered from it" {
	in_container 'sleep 10 & sleep 0.3; exec ps -o pid,ppid,args'
	[ "${#lines[@]}" -eq 3 ] || fail "expected 2 processes: $output"
	[[ "${lines[1]}" =~ ^\ +1\ +0\  ]] || fail "pid 1 has a parent: ${lines[1]}"
	[[ "${lines[2]}" =~ ^\ +[0-9]+\ +1\ +sleep\ 10$ ]] || fail "sleep is not a child of pid 1: ${lines[2]}"

}

@test "hostname comes from the config" {
	set_args hostname
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output "hello"
	update_config 'c["hostname"] = "other-name"'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_output "other-name"
}

@test "domainname comes from the config" {
	is_runc && skip "runc 1.1 ignores domainname"
	update_config 'c["domainname"] = "example.org"'
	in_container 'cat /proc/sys/kernel/domainname'
	assert_output "example.org"
}

@test "a new network namespace has only lo" {
	in_container 'ip -o link | cut -d: -f2 | tr -d " "'
	assert_output "lo"
}

@test "lo of a new network namespace is up" {
	in_container 'ip -o link show lo'
	assert_output_contains "<LOOPBACK,UP,LOWER_UP>"
}

@test "joining an existing network namespace by path" {
	make_netns
	add_namespace network "$NETNS_PATH"
	in_container 'readlink /proc/self/ns/net'
	assert_output "net:[$(stat -L -c %i "$NETNS_PATH")]"
}

@test "without a network namespace the host's interfaces are visible" {
	update_config 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]'
	in_container 'readlink /proc/self/ns/net'
	assert_output "$(readlink /proc/self/ns/net)"
}

@test "joining another container's uts namespace by path" {
	set_args sleep 100
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	local pid
	pid=$(container_pid "$ID")
	make_bundle hello "$TEST_TMP/b2"
	add_namespace uts "/proc/$pid/ns/uts"
	update_config 'c.pop("hostname", None)'
	set_args sh -c 'hostname; readlink /proc/self/ns/uts'
	ocirt run --bundle "$BUNDLE" "$ID-2"
	assert_success
	assert_output "hello"$'\n'"$(readlink "/proc/$pid/ns/uts")"
}

# mounts_seen: "mountpoint fstype ro|rw" for each mount, from mountinfo.
mounts_cmd='while read -r id parent dev root mp opts rest; do
	fstype=${rest#*- }; fstype=${fstype%% *}; echo "$mp $fstype ${opts%%,*}"; done < /proc/self/mountinfo'

@test "the default mounts: /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys read-only" {
	in_container "$mounts_cmd"
	assert_output_contains $'\n/proc proc rw' $'\n/dev tmpfs rw' $'\n/dev/pts devpts rw' \
		$'\n/dev/shm tmpfs rw' $'\n/dev/mqueue mqueue rw' $'\n/sys sysfs ro'
	assert_output_matches '^/ [a-z0-9]+ ro'
}

@test "mount options: nosuid, noexec, nodev and size reach the kernel" {
	in_container 'grep " /dev/shm " /proc/self/mountinfo; df -k /dev/shm | tail -1'
	assert_output_matches ' /dev/shm [^ ]*nosuid,nodev,noexec'
	assert_output_matches ' 65536 '
}

@test "a read-only bind mount of a host directory" {
	mkdir -p "$TEST_TMP/data"
	echo payload >"$TEST_TMP/data/file"
	update_config 'c["mounts"].append({"destination": "/data", "type": "bind", "source": sys.argv[3], "options": ["rbind", "ro"]})' "$TEST_TMP/data"
	in_container 'cat /data/file; touch /data/new 2>&1; echo rc=$?'
	assert_output_contains "payload" "Read-only file system" "rc=1"
	[ ! -e "$TEST_TMP/data/new" ]
}

@test "a mount destination missing in the rootfs is created inside it" {
	update_config 'c["mounts"].append({"destination": "/new/deep/dir", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]})'
	update_config 'c["root"]["readonly"] = False'
	in_container 'grep -c " /new/deep/dir " /proc/self/mountinfo'
	assert_output "1"
	[ -d "$BUNDLE/rootfs/new/deep/dir" ] || fail "not created in the rootfs"
}

@test "a mount destination symlink cannot escape the rootfs" {
	mkdir -p "$TEST_TMP/outside"
	ln -s "$TEST_TMP/outside" "$BUNDLE/rootfs/escape"
	update_config 'c["mounts"].append({"destination": "/escape/x", "type": "tmpfs", "source": "tmpfs"})'
	update_config 'c["root"]["readonly"] = False'
	ocirt run --bundle "$BUNDLE" "$ID"
	[ ! -e "$TEST_TMP/outside/x" ] || fail "created a directory outside the rootfs"
	assert_equal "$(leaked_mounts)" ""
}

@test "masked paths are unreadable" {
	# Masked files read as empty, masked directories list as empty.
	local f files=()
	for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do
		[ -e "$f" ] && files+=("$f")
	done
	[ -n "$(ls -A /sys/firmware)" ] || skip "host /sys/firmware is empty"
	update_config 'c["linux"]["maskedPaths"].append("/etc/group")'
	in_container "for f in ${files[*]} /etc/group; do echo \$f \$(cat \$f | wc -c); done; ls -A /sys/firmware | wc -l"
	local want=""
	for f in "${files[@]}" /etc/group; do
		want+="$f 0"$'\n'
	done
	assert_output "${want}0"
}

@test "readonly paths are read-only" {
	update_config 'c["root"]["readonly"] = False; c["linux"]["readonlyPaths"].append("/home")'
	in_container 'touch /home/x 2>/dev/null; echo rc=$?; (echo 1 > /proc/sys/kernel/ns_last_pid) 2>/dev/null; echo rc=$?
		touch /y; echo rc=$?; grep -E " /(home|proc/sys) " /proc/self/mountinfo | cut -d" " -f5,6 | cut -d, -f1 | sort'
	assert_output "rc=1
rc=1
rc=0
/home ro
/proc/sys ro"
}

@test "root.readonly makes / read-only; false leaves it writable" {
	in_container 'touch /x 2>&1; echo rc=$?'
	assert_output_contains "Read-only file system" "rc=1"
	update_config 'c["root"]["readonly"] = False'
	in_container 'touch /x; echo rc=$?'
	assert_output "rc=0"
	[ -e "$BUNDLE/rootfs/x" ]
}

@test "env and cwd come from the config" {
	update_config 'c["process"]["env"] += ["GREETING=hi there", "EMPTY="]; c["process"]["cwd"] = "/tmp"'
	in_container 'echo "$GREETING"; echo "[$EMPTY]"; pwd; echo "$PATH"'
	assert_output "hi there"$'\n'"[]"$'\n'"/tmp"$'\n'"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
}

@test "PATH lookup happens inside the container" {
	mkdir -p "$BUNDLE/rootfs/opt/tools"
	printf '#!/bin/sh\necho from-opt\n' >"$BUNDLE/rootfs/opt/tools/only-in-container"
	chmod 755 "$BUNDLE/rootfs/opt/tools/only-in-container"
	update_config 'c["process"]["env"] = [e for e in c["process"]["env"] if not e.startswith("PATH=")] + ["PATH=/opt/tools:/bin"]'
	set_args only-in-container
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output "from-opt"
}

@test "user uid, gid, additionalGids and umask" {
	rm -rf "$BUNDLE"
	make_bundle nonroot
	set_cmd 'grep -E "^(Uid|Gid|Groups|Umask):" /proc/self/status; touch /tmp/f; stat -c %a /tmp/f'
	update_config 'c["root"]["readonly"] = False'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output $'Umask:\t0027\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nGroups:\t10 100 \n640'
}

@test "a non-root user gets no effective capabilities unless ambient" {
	rm -rf "$BUNDLE"
	make_bundle nonroot
	set_cmd 'grep -E "^Cap(Eff|Prm|Amb)" /proc/self/status'
	update_config 'c["process"]["capabilities"]["ambient"] = []'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output $'CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapAmb:\t0000000000000000'
	update_config 'c["process"]["capabilities"]["ambient"] = ["CAP_KILL"]; c["process"]["capabilities"]["inheritable"] = ["CAP_KILL"]'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output $'CapPrm:\t0000000000000020\nCapEff:\t0000000000000020\nCapAmb:\t0000000000000020'
}

@test "capabilities: the five sets land in CapInh/CapPrm/CapEff/CapBnd/CapAmb" {
	update_config '
caps = c["process"]["capabilities"]
caps["bounding"] = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"]
caps["permitted"] = ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"]
caps["effective"] = ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"]
caps["inheritable"] = ["CAP_KILL", "CAP_AUDIT_WRITE"]
caps["ambient"] = ["CAP_KILL"]'
	in_container 'grep ^Cap /proc/self/status'
	assert_output $'CapInh:\t0000000020000020\nCapPrm:\t0000000020000420\nCapEff:\t0000000020000420\nCapBnd:\t0000000020000421\nCapAmb:\t0000000000000020'
}

@test "without CAP_CHOWN the container cannot chown" {
	update_config 'c["root"]["readonly"] = False'
	in_container 'touch /tmp/f; chown 1:1 /tmp/f 2>&1; echo rc=$?'
	assert_output_contains "Operation not permitted" "rc=1"
}

@test "noNewPrivileges sets NoNewPrivs" {
	in_container 'grep ^NoNewPrivs /proc/self/status'
	assert_output $'NoNewPrivs:\t1'
	update_config 'c["process"]["noNewPrivileges"] = False'
	in_container 'grep ^NoNewPrivs /proc/self/status'
	assert_output $'NoNewPrivs:\t0'
}

@test "rlimits are applied (at or below the host's hard limits)" {
	local nproc
	nproc=$(ulimit -Hu)
	[ "$nproc" = unlimited ] && nproc=4096
	((nproc > 4096)) && nproc=4096
	update_config 'c["process"]["rlimits"] = [
	{"type": "RLIMIT_NOFILE", "soft": 256, "hard": 512},
	{"type": "RLIMIT_NPROC", "soft": int(sys.argv[3]) - 1, "hard": int(sys.argv[3])},
	{"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
	{"type": "RLIMIT_MSGQUEUE", "soft": 4096, "hard": 8192}]' "$nproc"
	in_container 'grep -E "^Max (open files|processes|core file size|msgqueue size)" /proc/self/limits | tr -s " " | sed "s/ *$//"'
	assert_output "Max core file size 0 0 bytes
Max processes $((nproc - 1)) $nproc processes
Max open files 256 512 files
Max msgqueue size 4096 8192 bytes"
}

@test "oomScoreAdj is applied" {
	update_config 'c["process"]["oomScoreAdj"] = 123'
	in_container 'cat /proc/self/oom_score_adj'
	assert_output "123"
}

@test "a user namespace: uid_map and gid_map from the config" {
	rm -rf "$BUNDLE"
	make_bundle userns
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_matches '^ +0 +100000 +65536'$'\n'' +0 +100000 +65536$'
}

@test "a user namespace: root inside is an unprivileged uid outside" {
	rm -rf "$BUNDLE"
	make_bundle userns
	set_cmd 'id -u; grep ^CapEff /proc/self/status; sleep 100'
	ocirt run -d --bundle "$BUNDLE" "$ID"
	assert_success
	local pid
	pid=$(container_pid "$ID")
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q CapEff "$OUT_FILE" && break
		sleep 0.05
	done
	assert_equal "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" 100000
	grep -q '^0$' "$OUT_FILE" || fail "not root inside: $(cat "$OUT_FILE")"
	assert_equal "$(readlink "/proc/$pid/ns/user")" "$(readlink "/proc/$pid/ns/user")"
	[ "$(readlink "/proc/$pid/ns/user")" != "$(readlink /proc/self/ns/user)" ] || fail "no new user ns"
}

@test "default devices exist with the right numbers; /dev symlinks" {
	in_container 'for d in null zero full random urandom tty; do stat -c "%n %F %t:%T %a" /dev/$d; done
		for l in ptmx fd stdin stdout stderr; do readlink /dev/$l; done
		echo x > /dev/null && head -c 4 /dev/zero | wc -c'
	assert_output "/dev/null character special file 1:3 666
/dev/zero character special file 1:5 666
/dev/full character special file 1:7 666
/dev/random character special file 1:8 666
/dev/urandom character special file 1:9 666
/dev/tty character special file 5:0 666
pts/ptmx
/proc/self/fd
/proc/self/fd/0
/proc/self/fd/1
/proc/self/fd/2
4"
}

@test "linux.devices adds device nodes with mode and owner" {
	update_config 'c["linux"]["devices"] = [
	{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 416, "uid": 12, "gid": 34},
	{"path": "/dev/sub/myzero", "type": "c", "major": 1, "minor": 5, "fileMode": 438, "uid": 0, "gid": 0}]
c["linux"]["resources"]["devices"].append({"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"})'
	in_container 'stat -c "%n %F %t:%T %a %u:%g" /dev/mynull /dev/sub/myzero; head -c 3 /dev/sub/myzero | wc -c'
	assert_output "/dev/mynull character special file 1:3 640 12:34
/dev/sub/myzero character special file 1:5 666 0:0
3"
}

# bats test_tags=vm
@test "the device cgroup denies a device that is not allowed" {
	update_config 'c["linux"]["devices"] = [{"path": "/dev/kmsg-copy", "type": "c", "major": 1, "minor": 11, "fileMode": 420}]'
	in_container 'head -c 1 /dev/kmsg-copy >/dev/null 2>&1; echo rc=$?'
	assert_output "rc=1"
}

@test "time namespace offsets" {
	is_runc && skip "runc 1.1 has no time namespace support"
	[ -e /proc/self/ns/time ] || skip "kernel without time namespaces"
	rm -rf "$BUNDLE"
	make_bundle timens
	set_cmd 'cat /proc/self/timens_offsets; cut -d" " -f1 /proc/uptime'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_matches '^monotonic +86400 +0'$'\n''boottime +172800 +0'$'\n''[0-9]+'
	local up host_up
	up=${lines[2]%.*}
	host_up=$(cut -d. -f1 /proc/uptime)
	((up >= host_up + 172800 - 5)) || fail "uptime $up is not offset from $host_up"
}

@test "--no-pivot runs the container in its rootfs" {
	set_cmd 'ls /; hostname'
	ocirt run --no-pivot --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains $'bin\n' $'proc\n' "hello"
	assert_output_not_contains "ocirt-test"
}

@test "an ipc namespace: a fresh message queue namespace" {
	in_container 'readlink /proc/self/ns/ipc'
	[ "$output" != "$(readlink /proc/self/ns/ipc)" ] || fail "shares the host ipc namespace"
}

# bats test_tags=vm
@test "a cgroup namespace: the container's cgroup is its root" {
	add_namespace cgroup
	in_container 'cat /proc/self/cgroup'
	assert_output_matches '(^|'$'\n'')0::/$'
}

@test "no new mount namespace leak: host mounts are not visible inside" {
	mkdir -p "$TEST_TMP/hostonly"
	mount -t tmpfs hostonly "$TEST_TMP/hostonly"
	in_container 'grep -c hostonly /proc/self/mountinfo || true'
	umount "$TEST_TMP/hostonly"
	assert_output "0"
}

@test "stdio: the container writes to the runtime's stdout and stderr" {
	set_cmd 'echo to-out; echo to-err >&2'
	run --separate-stderr __ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output "to-out"
	assert_equal "$stderr" "to-err"
}

@test "stdin is passed through in the foreground" {
	set_args cat
	local out
	out=$(echo "piped input" | __ocirt run --bundle "$BUNDLE" "$ID")
	assert_equal "$out" "piped input"
}
