#!/usr/bin/env bats
# A containerd started with SIGHUP and SIGPIPE ignored, as under nohup or
# from a service manager that set them so: ignored dispositions survive
# execve, and the runtime must not hand them on to the containers.

load ../lib/helpers
load ../lib/e2e
load ../lib/containerd

setup_file() {
	containerd_start_file SIGHUP SIGPIPE
}

teardown_file() {
	containerd_stop
}

setup() {
	setup_test
}

teardown() {
	containerd_cleanup
	teardown_test
}

# hup_seen RUNTIME: a container that traps SIGHUP, sent one through the
# shim; prints what it wrote and its SigIgn.
hup_seen() {
	local rt=$1 c="h-$ID" i
	# Signals 1-31: runc does not reset the two glibc reserves (32, 33).
	cctr run -d --runc-binary "$rt" "$CTRD_IMAGE" "$c" sh -c \
		'trap "echo got-hup > /tmp/hup" HUP; v=$(sed -n "s/^SigIgn:[[:space:]]*//p" /proc/self/status)
echo "ignored of 1-31: $((0x$v & 0x7fffffff))" > /tmp/sigign; while sleep 0.1; do :; done'
	[ "$status" -eq 0 ] || return 1
	for ((i = 0; i < 50; i++)); do
		ctrd task exec --exec-id "x$i" "$c" test -s /tmp/sigign >/dev/null 2>&1 && break
		sleep 0.1
	done
	ctrd task kill --signal SIGHUP "$c" >/dev/null
	for ((i = 0; i < 50; i++)); do
		ctrd task exec --exec-id "y$i" "$c" test -s /tmp/hup >/dev/null 2>&1 && break
		sleep 0.1
	done
	ctrd task exec --exec-id r "$c" cat /tmp/sigign /tmp/hup 2>&1
	ctrd task kill --signal SIGKILL "$c" >/dev/null 2>&1
	ctrd task delete --force "$c" >/dev/null 2>&1
	ctrd containers delete "$c" >/dev/null 2>&1
}

@test "containerd with SIGHUP and SIGPIPE ignored: a container traps SIGHUP, and ignores nothing (runc, ocirt)" {
	local want got
	want=$(hup_seen "$REF_RUNTIME")
	got=$(hup_seen "$OCIRT")
	[ "$got" = "$want" ] || fail $'ocirt:\n'"$got"$'\nrunc:\n'"$want"
	[[ "$got" == *"got-hup"* ]] || fail "the container did not get SIGHUP: $got"
	[[ "$got" == *"ignored of 1-31: 0"* ]] || fail "the container ignores signals: $got"
}
