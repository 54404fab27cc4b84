#!/usr/bin/env bats
# CVE-2019-5736: no process inside a container may reach the runtime's
# binary through /proc/PID/exe or a file descriptor the runtime leaked.

load ../lib/helpers

setup() {
	setup_test
}

teardown() {
	teardown_test
}

# What a process in the container tries against pid 1 (the blocked init of
# a created container, or the user program of a running one).
ATTACK='
try() { if (eval "$1") >/dev/null 2>&1; then echo "ALLOWED: $1"; else echo "denied: $1"; fi; }
[ -d /proc/1 ] || echo "NO PID 1"
echo "pidns $(readlink /proc/self/ns/pid)"
try "exec 3</proc/1/exe"
try "exec 3>/proc/1/exe"
try "exec 3<>/proc/1/exe"
try "readlink /proc/1/exe"
try "for f in /proc/1/fd/*; do readlink \$f; done | grep ."
try "cat /proc/1/environ"
try "cat /proc/1/mem"
for f in /proc/1/fd/*; do
	[ -L "$f" ] || continue
	echo "fd $f -> $(readlink "$f")"
	if [ -n "$OPEN_FDS" ]; then try "exec 3<$f"; fi
done
'

@test "a created container's init cannot be reached from its pid namespace" {
	make_bundle hello "$TEST_TMP/a"
	set_args sleep 100
	ocirt create --bundle "$TEST_TMP/a" "$ID"
	assert_success
	local pid
	pid=$(container_pid "$ID")

	# A second container in the first one's pid namespace, with the default
	# (unprivileged) capabilities, tries everything against pid 1.
	make_bundle hello "$TEST_TMP/b"
	add_namespace pid "/proc/$pid/ns/pid"
	set_args sh -c "$ATTACK"
	# Under runc 1.1 the blocked init is dumpable, so opening its exec.fifo
	# from the other container would start it: only try that on ocirt.
	is_runc || update_config 'c["process"]["env"].append("OPEN_FDS=1")'
	ocirt run --bundle "$TEST_TMP/b" "$ID-2"
	assert_success
	assert_output_contains "pidns $(readlink "/proc/$pid/ns/pid")"
	assert_output_not_contains "NO PID 1"
	# Writing the binary is refused by every runtime.
	assert_output_contains "denied: exec 3>/proc/1/exe" "denied: exec 3<>/proc/1/exe"
	local line
	for line in "${lines[@]}"; do
		if [[ "$line" == "fd "* && ("$line" == *"$OCIRT_NAME"* || "$line" == *memfd*) ]]; then
			fail "init has an fd on the runtime binary: $line"
		fi
	done
	# ocirt keeps the blocked init non-dumpable: nothing of it is reachable.
	# runc 1.1 leaves it dumpable and relies on a sealed memfd copy instead.
	if ! is_runc; then
		assert_output_not_contains "ALLOWED"
	fi

	# The init is still blocked and still starts normally afterwards.
	assert_equal "$(container_status "$ID")" created
	ocirt start "$ID"
	assert_success
	wait_for_status "$ID" running
}

@test "the blocked init holds no fd on the runtime binary" {
	make_bundle hello
	set_args sleep 100
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_success
	local pid
	pid=$(container_pid "$ID")
	local bin
	bin=$(readlink -f "$OCIRT")
	# Seen from the host (root, all capabilities), not from the container.
	local f target
	for f in /proc/"$pid"/fd/*; do
		target=$(readlink "$f") || continue
		[ "$target" != "$bin" ] || fail "init holds $bin open as $f"
		[[ "$target" != *"(deleted)"* ]] || fail "init holds a deleted file open: $f -> $target"
	done
	# No fd of the blocked init may reach a file of the runtime's own.
	local bindir
	bindir=$(dirname "$bin")
	for f in /proc/"$pid"/fd/*; do
		target=$(readlink "$f") || continue
		[[ "$target" != "$bindir"/* ]] || fail "init holds $target open as $f"
	done
}

@test "a running container's process has no fd from the runtime" {
	make_bundle hello
	set_cmd 'for f in /proc/self/fd/*; do echo "$f $(readlink $f)"; done'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	# stdio and the fd of the glob's directory listing at most.
	local line bad=""
	for line in "${lines[@]}"; do
		case "$line" in
		/proc/self/fd/[012]\ *) ;;
		/proc/self/fd/3 | /proc/self/fd/3\ | /proc/self/fd/3\ /proc/*) ;;
		/proc/self/fd/*) bad+="$line"$'\n' ;;
		esac
	done
	[ -z "$bad" ] || fail "leaked fds in the container:"$'\n'"$bad"
}

@test "the user program's /proc/self/exe is the program, not the runtime" {
	make_bundle hello
	set_cmd 'readlink /proc/self/exe; readlink /proc/1/exe'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output "/bin/busybox"$'\n'"/bin/busybox"
}

@test "a started container cannot write the runtime binary through /proc/1/exe" {
	make_bundle hello
	# Even with CAP_SYS_PTRACE, pid 1 is the user program after start.
	update_config '
for s in ("bounding", "effective", "permitted"):
    c["process"]["capabilities"][s].append("CAP_SYS_PTRACE")'
	set_cmd 'readlink /proc/1/exe; (exec 3>/proc/1/exe) 2>&1; echo rc=$?'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "/bin/busybox" "rc="
	assert_output_not_contains "rc=0"
	# The runtime binary is unchanged.
	[ -x "$OCIRT" ]
}
