#!/usr/bin/env bats
# The README's tutorial, as a learner types it: its commands are read from
# README.md itself, so the test and the text cannot drift apart.

load ../lib/helpers

setup() {
	setup_test
}

teardown() {
	teardown_test
}

# The tutorial's lines from `mkdir -p mycontainer` through `ocirt spec`.
tutorial_bundle_commands() {
	awk '/^## Tutorial/ { in_tutorial = 1 } /^## / && !/^## Tutorial/ { in_tutorial = 0 }
		in_tutorial && /^    mkdir -p mycontainer/ { on = 1 }
		on { sub(/^    /, ""); sub(/ +#.*$/, ""); print }
		on && /^ocirt spec/ { exit }' "$TOP_SRCDIR/README.md"
}

@test "tutorial: the README's bundle commands run without a word on stderr" {
	local script
	script=$(tutorial_bundle_commands)
	[[ "$script" == *"busybox --list"* && "$script" == *"ocirt spec"* ]] ||
		fail "tutorial commands not found in README.md: $script"
	local err=$TEST_TMP/tutorial.err
	(
		cd "$TEST_TMP" || exit 1
		ocirt() { __ocirt "$@"; }
		eval "$script"
	) 2>"$err" || fail "the tutorial's commands failed: $(cat "$err")"
	[ ! -s "$err" ] || fail "the tutorial's commands printed on stderr: $(cat "$err")"
	# What they made is a bundle that runs: sh is pid 1, busybox applets work.
	BUNDLE=$TEST_TMP/mycontainer
	update_config 'c["process"]["env"].append(sys.argv[3])' "$MARK"
	set_cmd 'echo "pid $$"; ls /bin/busybox'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output_contains "pid 1"
	assert_output_contains "/bin/busybox"
}
