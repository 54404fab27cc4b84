#!/usr/bin/env bats
# Idmapped mounts (runtime-spec 1.2: a mount's uidMappings/gidMappings and
# the idmap/ridmap options).  Debian's runc 1.1 has none; the expectations
# are the specification's, as runc 1.2 implements them.

load ../lib/helpers

setup() {
	setup_test
	make_bundle default
	mkdir -p "$TEST_TMP/src/sub" "$BUNDLE/rootfs/data"
	touch "$TEST_TMP/src/root-file"
	touch "$TEST_TMP/src/other-file"
	chown 1:1 "$TEST_TMP/src/other-file"
}

teardown() {
	teardown_test
}

@test "idmap: a mount's own mappings show the host's root files as their uid inside (no user namespace)" {
	update_config 'c["mounts"].append({"destination": "/data", "type": "bind", "source": sys.argv[3], "options": ["bind"],
	"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}],
	"gidMappings": [{"containerID": 0, "hostID": 2000, "size": 10}]})' "$TEST_TMP/src"
	set_cmd 'stat -c "%n %u:%g" /data/root-file /data/other-file'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_output $'/data/root-file 1000:2000\n/data/other-file 1001:2001'
	# On the host nothing changed.
	[ "$(stat -c %u:%g "$TEST_TMP/src/root-file")" = 0:0 ] || fail "the source's owner changed"
	assert_no_leaks
}

@test "idmap: with a user namespace, the idmap option uses its mappings: the host's root files are root's inside" {
	rm -rf "$BUNDLE"
	make_bundle userns
	mkdir -p "$BUNDLE/rootfs/data" "$BUNDLE/rootfs/plain"
	update_config 'c["mounts"] += [
	{"destination": "/data", "type": "bind", "source": sys.argv[3], "options": ["bind", "idmap"]},
	{"destination": "/plain", "type": "bind", "source": sys.argv[3], "options": ["bind"]}]' "$TEST_TMP/src"
	set_cmd 'stat -c "%n %u:%g" /data/root-file /data/other-file /plain/root-file'
	ocirt run --bundle "$BUNDLE" "$ID"
	assert_success
	# Without the idmap, the host's root is nobody in the namespace.
	assert_output $'/data/root-file 0:0\n/data/other-file 1:1\n/plain/root-file 65534:65534'
	assert_no_leaks
}

@test "idmap: ridmap maps the mounts below too; idmap only the top one" {
	mkdir -p "$TEST_TMP/inner"
	touch "$TEST_TMP/inner/f"
	mount --bind "$TEST_TMP/inner" "$TEST_TMP/src/sub"
	local opt
	for opt in ridmap idmap; do
		make_bundle default "$TEST_TMP/b-$opt"
		mkdir -p "$TEST_TMP/b-$opt/rootfs/data"
		update_config 'c["mounts"].append({"destination": "/data", "type": "bind", "source": sys.argv[3], "options": ["rbind", sys.argv[4]],
	"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}],
	"gidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}]})' "$TEST_TMP/src" "$opt"
		set_cmd 'stat -c "%n %u" /data/root-file /data/sub/f'
		ocirt run --bundle "$TEST_TMP/b-$opt" "$ID-$opt"
		assert_success
		if [ "$opt" = ridmap ]; then
			assert_output $'/data/root-file 1000\n/data/sub/f 1000'
		else
			assert_output $'/data/root-file 1000\n/data/sub/f 0'
		fi
	done
	umount "$TEST_TMP/src/sub"
	assert_no_leaks
}

@test "idmap: an idmapped mount that is not a bind mount, or one without mappings anywhere, fails create" {
	ocirt_only "message wording"
	set_args true
	update_config 'c["mounts"].append({"destination": "/data", "type": "bind", "source": sys.argv[3], "options": ["bind", "idmap"]})' "$TEST_TMP/src"
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "without mappings"
	assert_no_leaks "$ID"
	update_config 'c["mounts"][-1] = {"destination": "/data", "type": "tmpfs", "source": "tmpfs",
	"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}], "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}]}'
	ocirt create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_output_contains "not supported: idmapped mounts other than bind mounts"
	assert_no_leaks "$ID"
}
