#!/usr/bin/env bats
# containerd's runc v2 shim (what Kubernetes' CRI drives) running ocirt as
# its runc binary, each scenario also with Debian's runc.  The daemon is the
# file's own (tests/lib/containerd.bash).

load ../lib/helpers
load ../lib/e2e
load ../lib/containerd

setup_file() {
	containerd_start_file
}

teardown_file() {
	containerd_stop_file
}

setup() {
	setup_test
}

teardown() {
	containerd_cleanup
	teardown_test
}

@test "containerd: ctr run: output and exit status through the shim (runc, ocirt)" {
	local rt
	for rt in "$REF_RUNTIME" "$OCIRT"; do
		cctr run --rm --runc-binary "$rt" "$CTRD_IMAGE" "c-$ID" sh -c 'echo "pid $$"; exit 4'
		assert_status 4
		assert_output "pid 1"
	done
}
