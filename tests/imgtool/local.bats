#!/usr/bin/env bats
# imgtool with local sources (oci:DIR, oci-archive:FILE) and a store that is
# filled without a registry: unpacking, config conversion, hostile layers,
# end-to-end runs under runc (and ocirt when built), store commands.
#
# The images are built once per file by make-images.py from busybox-static;
# every test works in its own directory and removes it.

bats_require_minimum_version 1.5.0

TESTS_DIR=$(dirname "$(readlink -f "$BATS_TEST_FILENAME")")
: "${IMGTOOL:=${TOP_BUILDDIR:-$TESTS_DIR/../..}/imgtool/imgtool}"
: "${OCIRT:=${TOP_BUILDDIR:-$TESTS_DIR/../..}/ocirt}"
RUNC=${RUNC:-$(command -v runc || echo /usr/sbin/runc)}
CRUN=${CRUN:-$(command -v crun || true)}
export CRUN
BUSYBOX=${BUSYBOX:-/bin/busybox}
PYTHON=/usr/bin/python3

setup_file() {
	[ -x "$IMGTOOL" ] || skip "imgtool not built: $IMGTOOL"
	[ -x "$BUSYBOX" ] || skip "needs busybox-static"
	# World-traversable, so the unprivileged tests can read the images.
	FILE_TMP=$(mktemp -d /tmp/imgtool-test.XXXXXX)
	chmod 755 "$FILE_TMP"
	mkdir -m 755 "$FILE_TMP/outside"
	"$PYTHON" "$TESTS_DIR/make-images.py" "$FILE_TMP/layout" "$BUSYBOX" "$FILE_TMP/outside"
	chmod -R a+rX "$FILE_TMP/layout"
	tar -C "$FILE_TMP/layout" -cf "$FILE_TMP/image.tar" .
	export FILE_TMP
}

teardown_file() {
	[ -n "${FILE_TMP:-}" ] && rm -rf "$FILE_TMP"
}

setup() {
	[ -n "${FILE_TMP:-}" ] || skip "no test images"
	WORK=$(mktemp -d "$FILE_TMP/work.XXXXXX")
	chmod 777 "$WORK"
	LAYOUT="$FILE_TMP/layout"
	OUTSIDE="$FILE_TMP/outside"
	STORE="$WORK/store"
	CID="imgtool-$$-$BATS_TEST_NUMBER"
	RUNC_ROOT="$WORK/runc-root"
	OCIRT_ROOT="$WORK/ocirt-root"
}

teardown() {
	[ -n "${WORK:-}" ] || return 0
	"$RUNC" --root "$RUNC_ROOT" delete -f "$CID" >/dev/null 2>&1 || true
	[ -z "$CRUN" ] || "$TESTS_DIR/../lib/crun" --root "$WORK/crun-root" delete -f "$CID" >/dev/null 2>&1 || true
	[ -x "$OCIRT" ] && "$OCIRT" --root "$OCIRT_ROOT" delete -f "$CID" >/dev/null 2>&1 || true
	chmod -R u+w "$WORK" 2>/dev/null || true
	rm -rf "$WORK"
}

imgtool() {
	"$IMGTOOL" --store "$STORE" "$@"
}

# Nothing but what the test meant to create may exist next to the bundle.
assert_no_bundle() {
	local dir=$1
	[ ! -e "$dir" ]
	run compgen -G "$dir.tmp-*"
	[ "$status" -ne 0 ]
	run ls -A "$OUTSIDE"
	[ -z "$output" ]
}

config_get() {
	"$PYTHON" -c 'import json,sys; c=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1/config.json" "$2"
}

@test "bundle oci:DIR:tag applies every layer as a changeset" {
	requires_root
	run imgtool bundle "oci:$LAYOUT:good" "$WORK/b"
	[ "$status" -eq 0 ]
	local r="$WORK/b/rootfs"
	[ -x "$r/bin/busybox" ]
	# whiteouts: a lower dir and file gone, the whiteout files hidden
	[ ! -e "$r/gone" ] && [ ! -e "$r/gone-file" ] && [ ! -e "$r/.wh.gone" ]
	[ -e "$r/kept" ]
	# opaque dir: lower content hidden, this layer's file (listed first) kept
	[ "$(ls -A "$r/opaque")" = "new" ]
	# hardlink shares the inode; symlinks verbatim
	[ "$(stat -c %i "$r/bin/busybox")" = "$(stat -c %i "$r/bin/hardlink")" ]
	[ "$(readlink "$r/bin/abs-link")" = "/bin/busybox" ]
	[ "$(readlink "$r/bin/sh")" = "busybox" ]
	# modes, setuid/setgid kept after chown, ownership, sticky
	[ "$(stat -c %a "$r/usr/bin/setuid")" = "4755" ]
	[ "$(stat -c %a "$r/usr/bin/setgid")" = "2755" ]
	[ "$(stat -c %u:%g:%a "$r/home/alice/owned")" = "1000:1000:600" ]
	[ "$(stat -c %u:%g:%a "$r/home/alice")" = "1000:1000:750" ]
	[ "$(stat -c %a "$r/tmp")" = "1777" ]
	[ "$(stat -c %Y "$r/kept")" = "1700000000" ]
	# a device node, as root
	[ -c "$r/dev/null" ]
	# the zstd (or gzip) third layer
	[ "$(cat "$r/etc/motd")" = "third layer" ]
}

requires_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

@test "config.json follows the image config (conversion.md)" {
	run imgtool bundle "oci:$LAYOUT:good" "$WORK/b"
	[ "$status" -eq 0 ]
	[ "$(config_get "$WORK/b" 'c["process"]["args"]')" = "['/bin/sh', '-c', 'echo hello-from-image; id -u; id -g; pwd; echo \"FOO=\$FOO\"; cat /etc/motd']" ]
	# image Env first; defaults only for names it does not set; no TERM without -t
	[ "$(config_get "$WORK/b" 'c["process"]["env"]')" = "['FOO=bar', 'PATH=/bin']" ]
	[ "$(config_get "$WORK/b" 'c["process"]["cwd"]')" = "/home/alice" ]
	[ "$(config_get "$WORK/b" 'c["process"]["user"]')" = "{'uid': 1000, 'gid': 1000, 'additionalGids': [50, 10]}" ]
	[ "$(config_get "$WORK/b" 'c["process"].get("terminal", False)')" = "False" ]
	[ "$(config_get "$WORK/b" 'c["annotations"]["org.opencontainers.image.exposedPorts"]')" = "80/tcp,53/udp" ]
	[ "$(config_get "$WORK/b" 'c["annotations"]["org.opencontainers.image.stopSignal"]')" = "SIGQUIT" ]
	[ "$(config_get "$WORK/b" 'c["annotations"]["org.opencontainers.image.architecture"]')" = "amd64" ]
	[ "$(config_get "$WORK/b" 'c["annotations"]["org.example.label"]')" = "yes" ]
	# a label wins over the value derived from the config's author field
	[ "$(config_get "$WORK/b" 'c["annotations"]["org.opencontainers.image.author"]')" = "label-wins" ]
	[ "$(config_get "$WORK/b" '[m["type"] for m in c["mounts"] if m["destination"] == "/data"]')" = "['tmpfs']" ]
	[ "$(config_get "$WORK/b" 'c["root"]')" = "{'path': 'rootfs'}" ]

	run imgtool bundle -t "oci:$LAYOUT:good" "$WORK/t"
	[ "$status" -eq 0 ]
	[ "$(config_get "$WORK/t" 'c["process"]["terminal"]')" = "True" ]
	[ "$(config_get "$WORK/t" '[e for e in c["process"]["env"] if e.startswith("TERM=")]')" = "['TERM=xterm']" ]
}

@test "an unknown Config.User is an error and leaves no bundle" {
	run imgtool bundle "oci:$LAYOUT:no-user" "$WORK/b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"unknown user \`mallory\` (not in the image's /etc/passwd)"* ]]
	assert_no_bundle "$WORK/b"
}

@test "runc runs the bundle and prints what the image prints" {
	requires_root
	run imgtool bundle "oci:$LAYOUT:good" "$WORK/b"
	[ "$status" -eq 0 ]
	run "$RUNC" --root "$RUNC_ROOT" run -b "$WORK/b" "$CID"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'hello-from-image\n1000\n1000\n/home/alice\nFOO=bar\nthird layer')" ]
}

@test "ocirt runs the same bundle with the same output as runc" {
	requires_root
	[ -x "$OCIRT" ] || skip "ocirt not built"
	run imgtool bundle "oci:$LAYOUT:good" "$WORK/b"
	[ "$status" -eq 0 ]
	run "$RUNC" --root "$RUNC_ROOT" run -b "$WORK/b" "$CID"
	[ "$status" -eq 0 ]
	local expected=$output
	run "$OCIRT" --root "$OCIRT_ROOT" run -b "$WORK/b" "$CID"
	[ "$status" -eq 0 ]
	[ "$output" = "$expected" ]
}

@test "crun 1.8 runs the bundle unchanged: ociVersion is the lowest that covers the config" {
	requires_root
	[ -n "$CRUN" ] || skip "needs crun"
	run imgtool bundle "oci:$LAYOUT:good" "$WORK/b"
	[ "$status" -eq 0 ]
	# user, env, cwd, annotations, tmpfs volumes: all runtime-spec 1.0.0
	[ "$(config_get "$WORK/b" 'c["ociVersion"]')" = "1.0.0" ]
	run "$TESTS_DIR/../lib/crun" --root "$WORK/crun-root" run -b "$WORK/b" "$CID"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'hello-from-image\n1000\n1000\n/home/alice\nFOO=bar\nthird layer')" ]
}

@test "oci-archive: source; the unpacked archive is removed afterwards" {
	requires_root
	mkdir "$WORK/tmp"
	TMPDIR="$WORK/tmp" run imgtool bundle "oci-archive:$FILE_TMP/image.tar:root" "$WORK/b"
	[ "$status" -eq 0 ]
	[ -z "$(ls -A "$WORK/tmp")" ]
	run "$RUNC" --root "$RUNC_ROOT" run -b "$WORK/b" "$CID"
	[ "$status" -eq 0 ]
	[ "$output" = "root-image" ]
}

@test "an index: host platform chosen, attestations skipped, --platform selects" {
	[ "$(uname -m)" = x86_64 ] || skip "the test index has amd64 and arm64"
	run imgtool bundle "oci:$LAYOUT:multi" "$WORK/host"
	[ "$status" -eq 0 ]
	[ "$(config_get "$WORK/host" 'c["process"]["args"]')" = "['/bin/busybox', 'echo', 'amd64-image']" ]
	run imgtool bundle --platform linux/arm64 "oci:$LAYOUT:multi" "$WORK/arm"
	[ "$status" -eq 0 ]
	[ "$(cat "$WORK/arm/rootfs/arch")" = arm64 ]
	[ "$(config_get "$WORK/arm" 'c["annotations"]["org.opencontainers.image.architecture"]')" = "arm64" ]
	run imgtool bundle --platform linux/s390x "oci:$LAYOUT:multi" "$WORK/none"
	[ "$status" -eq 1 ]
	[[ "$output" == *"linux/arm64"*"linux/amd64"* ]]
	[[ "$output" != *unknown* ]]
	assert_no_bundle "$WORK/none"
	# a single-platform image for another architecture is refused
	run imgtool bundle "oci:$LAYOUT:arm-only" "$WORK/x"
	[ "$status" -eq 1 ]
}

@test "an image built by umoci bundles and runs" {
	requires_root
	command -v umoci >/dev/null || skip "needs umoci"
	cd "$WORK"
	umoci init --layout u
	umoci new --image u:t
	umoci unpack --rootless --image u:t ub >/dev/null
	mkdir -p ub/rootfs/bin
	cp "$BUSYBOX" ub/rootfs/bin/busybox
	umoci repack --image u:t ub
	umoci config --image u:t --os linux --architecture amd64 --config.entrypoint /bin/busybox \
		--config.cmd echo --config.cmd umoci-image
	run imgtool bundle "oci:$WORK/u:t" "$WORK/b"
	[ "$status" -eq 0 ]
	run "$RUNC" --root "$RUNC_ROOT" run -b "$WORK/b" "$CID"
	[ "$status" -eq 0 ]
	[ "$output" = "umoci-image" ]
}

@test "a WorkingDir no layer creates is made in the bundle, and ocirt starts there" {
	requires_root
	command -v umoci >/dev/null || skip "needs umoci"
	[ -x "$OCIRT" ] || skip "ocirt not built"
	cd "$WORK"
	umoci init --layout u
	umoci new --image u:t
	umoci unpack --rootless --image u:t ub >/dev/null
	mkdir -p ub/rootfs/bin
	cp "$BUSYBOX" ub/rootfs/bin/busybox
	umoci repack --image u:t ub
	umoci config --image u:t --os linux --architecture amd64 --config.workingdir /srv/app \
		--config.entrypoint /bin/busybox --config.cmd pwd
	run imgtool bundle "oci:$WORK/u:t" "$WORK/b"
	[ "$status" -eq 0 ]
	[ -d "$WORK/b/rootfs/srv/app" ]
	run "$OCIRT" --root "$OCIRT_ROOT" run -b "$WORK/b" "$CID"
	[ "$status" -eq 0 ]
	[ "$output" = "/srv/app" ]
}

# ---- hostile input: refused, named, nothing outside, no DIR left ----

hostile() {
	run imgtool bundle "oci:$LAYOUT:$1" "$WORK/b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$2"* ]]
	assert_no_bundle "$WORK/b"
}

@test "hostile: a ../ path is refused naming the entry" {
	hostile traversal "entry \`../../../../escaped-by-dotdot\`: path has a \`..\` component"
	[ ! -e /escaped-by-dotdot ] && [ ! -e "$FILE_TMP/escaped-by-dotdot" ] && [ ! -e "$WORK/escaped-by-dotdot" ]
}

@test "hostile: an absolute symlink then a file through it stays in the rootfs" {
	hostile symlink-escape "entry \`evil/pwned\`"
}

@test "hostile: a hardlink to a host file is refused" {
	hostile hardlink-host "entry \`passwd-link\`: hardlink target \`/etc/shadow\` is not in the rootfs"
}

@test "hostile: a corrupt gzip stream is refused" {
	hostile corrupt-gzip "gzip decompression failed"
}

@test "hostile: a blob whose digest does not match is refused" {
	hostile digest-mismatch "digest mismatch: expected sha256:"
}

@test "hostile: a truncated blob is refused" {
	hostile truncated "bytes, the manifest says"
}

@test "hostile: a wrong diff_id is refused" {
	hostile diffid-mismatch "diff_id mismatch: expected sha256:0000000000000000"
}

# ---- decompression bombs: a layer may not unpack past a limit ----

# 100 MB of zeros in a gzip layer of about 100 kB; prints the layer's digest.
make_bomb() {
	"$PYTHON" "$TESTS_DIR/make-bomb.py" "$WORK/bomb" 100000000
}

@test "a layer unpacking past --max-unpacked-size is refused naming its digest; a larger limit unpacks it" {
	local digest
	digest=$(make_bomb)
	run imgtool bundle --max-unpacked-size 50M "oci:$WORK/bomb:bomb" "$WORK/b"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"layer $digest: unpacks to more than 50.0 MiB (--max-unpacked-size)" ]]
	assert_no_bundle "$WORK/b"

	run imgtool bundle --max-unpacked-size=200M "oci:$WORK/bomb:bomb" "$WORK/b"
	[ "$status" -eq 0 ]
	[ "$(stat -c %s "$WORK/b/rootfs/zeros")" = 100000000 ]
}

@test "by default a layer unpacking to 1000 times its size is refused; unlimited lifts the limit" {
	local digest
	digest=$(make_bomb)
	run imgtool bundle "oci:$WORK/bomb:bomb" "$WORK/b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"layer $digest: unpacks to more than 64.0 MiB (the default limit: 100 times the compressed size, at least 64 MiB; see --max-unpacked-size)" ]]
	assert_no_bundle "$WORK/b"

	run imgtool bundle --max-unpacked-size unlimited "oci:$WORK/bomb:bomb" "$WORK/b"
	[ "$status" -eq 0 ]
	[ "$(stat -c %s "$WORK/b/rootfs/zeros")" = 100000000 ]
}

@test "by default a layer may not take the free space of the bundle's filesystem" {
	requires_root
	command -v unshare >/dev/null || skip "needs unshare"
	local digest
	digest=$(make_bomb)
	mkdir "$WORK/small"
	# a 48 MiB tmpfs, private to this command: the default limit is its
	# free space less 5% (the 64 MiB floor is larger)
	run unshare -m sh -c 'mount -t tmpfs -o size=48m tmpfs "$1" || exit 99
		"$2" --store "$3" bundle "$4" "$1/b"; echo "rc=$?"; ls -A "$1"
		head -c 46M /dev/zero >"$1/fill"
		"$2" --store "$3" bundle "$4" "$1/b"; echo "rc=$?"; ls -A "$1"' \
		sh "$WORK/small" "$IMGTOOL" "$STORE" "oci:$WORK/bomb:bomb"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"layer $digest: unpacks to more than "*" MiB (the default limit: the free space of the bundle's filesystem, less 2.4 MiB; see --max-unpacked-size)" ]]
	# the error, then rc=1, then nothing left in the filesystem
	[ "${lines[1]}" = "rc=1" ]
	# with less than the reserve free, no layer starts
	[[ "${lines[2]}" == *"layer $digest: the bundle's filesystem has 2.0 MiB free, less than the 2.4 MiB the default limit keeps (see --max-unpacked-size)" ]]
	[ "${lines[3]}" = "rc=1" ]
	[ "${lines[4]}" = "fill" ]
	[ "${#lines[@]}" -eq 5 ]
}

@test "--max-unpacked-size refuses what is not a size" {
	for bad in 0 12Q 1KK abc -5 ""; do
		run imgtool bundle --max-unpacked-size "$bad" "oci:$LAYOUT:root" "$WORK/b"
		[ "$status" -ne 0 ]
		[[ "$output" == *"--max-unpacked-size: \`$bad\` is not a size (NUMBER[K|M|G|T] or \`unlimited\`)"* ]]
		[ ! -e "$WORK/b" ]
	done
}

@test "an existing DIR is refused and left untouched" {
	mkdir "$WORK/b"
	touch "$WORK/b/mine"
	run imgtool bundle "oci:$LAYOUT:root" "$WORK/b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"bundle \`$WORK/b\` already exists"* ]]
	[ "$(ls -A "$WORK/b")" = mine ]
}

@test "an interrupted bundle leaves nothing behind" {
	"$PYTHON" - "$WORK/big" "$BUSYBOX" <<-'EOF'
		import gzip, hashlib, io, json, os, sys, tarfile
		d = sys.argv[1]; os.makedirs(d + "/blobs/sha256")
		def put(b):
		    h = hashlib.sha256(b).hexdigest(); open(d + "/blobs/sha256/" + h, "wb").write(b); return "sha256:" + h
		buf = io.BytesIO()
		with tarfile.open(fileobj=buf, mode="w") as t:
		    for i in range(40000):
		        ti = tarfile.TarInfo("d%03d/f%05d" % (i % 100, i)); ti.size = 3
		        t.addfile(ti, io.BytesIO(b"abc"))
		raw = buf.getvalue(); blob = gzip.compress(raw, 1)
		cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/d000/f00000"]},
		                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]}}).encode()
		m = json.dumps({"schemaVersion": 2, "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
		                "digest": put(cfg), "size": len(cfg)}, "layers": [{"mediaType":
		                "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(blob), "size": len(blob)}]}).encode()
		json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
		           "digest": put(m), "size": len(m)}]}, open(d + "/index.json", "w"))
		open(d + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
	EOF
	"$IMGTOOL" --store "$STORE" bundle "oci:$WORK/big" "$WORK/b" 2>"$WORK/err" &
	local pid=$!
	# wait until unpacking has begun, then interrupt
	for _ in $(seq 200); do
		compgen -G "$WORK/b.tmp-*/rootfs/d0*" >/dev/null && break
		sleep 0.01
	done
	kill -INT "$pid"
	local rc=0
	wait "$pid" || rc=$?
	if [ "$rc" -eq 0 ]; then
		skip "the bundle finished before the interrupt"
	fi
	# blocked while unpacking, SIGINT is delivered once the tree is gone
	[ "$rc" -eq 130 ]
	assert_no_bundle "$WORK/b"
}

@test "rootless: an unprivileged user bundles with --rootless" {
	requires_root
	command -v setpriv >/dev/null || skip "needs setpriv"
	run setpriv --reuid 1000 --regid 1000 --clear-groups env HOME="$WORK" \
		"$IMGTOOL" --store "$WORK/store" bundle --rootless "oci:$LAYOUT:good" "$WORK/rl"
	[ "$status" -eq 0 ]
	[[ "$output" == *"warning: \`dev/null\`: device node skipped"* ]]
	[ ! -e "$WORK/rl/rootfs/dev/null" ]
	# owned by the caller, modes kept
	[ "$(stat -c %u "$WORK/rl/rootfs/usr/bin/setuid")" = 1000 ]
	[ "$(stat -c %a "$WORK/rl/rootfs/usr/bin/setuid")" = 4755 ]
	[ "$(config_get "$WORK/rl" 'c["linux"]["uidMappings"]')" = "[{'containerID': 0, 'hostID': 1000, 'size': 1}]" ]
	[ "$(config_get "$WORK/rl" '[n["type"] for n in c["linux"]["namespaces"] if n["type"] == "user"]')" = "['user']" ]
	[[ "$output" == *"--rootless maps only root"* ]]
	# and an unprivileged failure cleans up its read-only directories too
	run setpriv --reuid 1000 --regid 1000 --clear-groups "$IMGTOOL" --store "$WORK/store" bundle --rootless \
		"oci:$LAYOUT:diffid-mismatch" "$WORK/rl2"
	[ "$status" -eq 1 ]
	assert_no_bundle "$WORK/rl2"
}

# ---- the store, filled without a registry (it is an OCI layout too) ----

# Copy the test layout into $STORE with registry-style names.
fill_store() {
	mkdir -p "$STORE"
	cp -r "$LAYOUT/." "$STORE/"
	"$PYTHON" - "$STORE/index.json" <<-'EOF'
		import json, sys
		p = sys.argv[1]; x = json.load(open(p))
		keep = {"good": "example.com/test/good:v1", "root": "example.com/test/root:v1"}
		out = []
		for m in x["manifests"]:
		    n = m["annotations"]["org.opencontainers.image.ref.name"]
		    if n in keep:
		        m["annotations"]["org.opencontainers.image.ref.name"] = keep[n]; out.append(m)
		x["manifests"] = out; json.dump(x, open(p, "w"))
	EOF
}

@test "images, inspect, bundle from the store without a registry" {
	fill_store
	run imgtool images
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == REPOSITORY*TAG*DIGEST*SIZE*PULLED ]]
	[[ "$output" == *"example.com/test/good"*"v1"*"sha256:"* ]]
	run imgtool images -q
	[ "$output" = "$(printf 'example.com/test/good:v1\nexample.com/test/root:v1')" ]

	run --separate-stderr imgtool inspect example.com/test/root:v1
	[ "$status" -eq 0 ]
	[ "$("$PYTHON" -c 'import json,sys; j=json.loads(sys.argv[1]); print(j["config"]["Cmd"], j["architecture"], len(j["layers"]))' "$output")" = "['echo', 'root-image'] amd64 1" ]

	# in the store: no network needed (the registry host does not exist)
	run imgtool bundle example.com/test/root:v1 "$WORK/b"
	[ "$status" -eq 0 ]
	[ -x "$WORK/b/rootfs/bin/busybox" ]
}

@test "a store entry without platform info is for its config's platform; another platform is added beside it" {
	[ "$(uname -m)" = x86_64 ] || skip "the test images are amd64 and arm64"
	# as the store was written before platforms were recorded: no platform field
	fill_store
	"$PYTHON" - "$STORE/index.json" "$LAYOUT/index.json" <<-'EOF'
		import json, sys
		x = json.load(open(sys.argv[1])); src = json.load(open(sys.argv[2]))
		arm = [m for m in src["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == "arm-only"][0]
		arm["annotations"]["org.opencontainers.image.ref.name"] = "example.com/test/arm:v1"
		x["manifests"].append(arm)
		assert not any("platform" in m for m in x["manifests"])
		json.dump(x, open(sys.argv[1], "w"))
	EOF
	run -0 imgtool images
	[[ "$output" == *"example.com/test/arm "*"v1 "*"linux/arm64 "* ]]
	[[ "$output" == *"example.com/test/root "*"v1 "*"linux/amd64 "* ]]
	run -1 imgtool inspect example.com/test/arm:v1
	[[ "$output" == *"image \`example.com/test/arm:v1\` for linux/amd64 not found"*"it is there for linux/arm64 (choose with --platform)"* ]]
	run -0 --separate-stderr imgtool inspect --platform linux/arm64 example.com/test/arm:v1
	[ "$(jq -r .architecture <<<"$output")" = arm64 ]

	# the arm64 image of an index under the old amd64 entry's name: added beside it
	local idx arm root
	idx=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "multi") | .digest' "$LAYOUT/index.json")
	arm=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "arm-only") | .digest' "$LAYOUT/index.json")
	root=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "root") | .digest' "$LAYOUT/index.json")
	run -0 imgtool pull --platform linux/arm64 --name example.com/test/root:v1 "oci:$LAYOUT:multi"
	[ "$output" = "example.com/test/root:v1: $idx (linux/arm64 manifest $arm)" ]
	run -0 --separate-stderr imgtool inspect example.com/test/root:v1
	[ "$(jq -r '.architecture + " " + .digest' <<<"$output")" = "amd64 $root" ]
	run -0 --separate-stderr imgtool inspect --platform linux/arm64 example.com/test/root:v1
	[ "$(jq -r '.architecture + " " + .digest + " " + .manifestDigest' <<<"$output")" = "arm64 $idx $arm" ]
	run -0 imgtool bundle example.com/test/root:v1 "$WORK/b"
	[ "$(config_get "$WORK/b" 'c["process"]["args"]')" = "['/bin/busybox', 'echo', 'root-image']" ]
}

@test "images: a digest name of an image a tag names is no second row" {
	# as earlier versions wrote a pull by digest after a pull of the tag
	fill_store
	"$PYTHON" - "$STORE/index.json" <<-'EOF'
		import json, sys
		x = json.load(open(sys.argv[1]))
		m = dict(x["manifests"][0]); m["annotations"] = dict(m["annotations"])
		name = m["annotations"]["org.opencontainers.image.ref.name"]
		m["annotations"]["org.opencontainers.image.ref.name"] = name.rsplit(":", 1)[0] + "@" + m["digest"]
		x["manifests"].append(m); json.dump(x, open(sys.argv[1], "w"))
	EOF
	run -0 imgtool images
	[ "${#lines[@]}" -eq 3 ]
	[[ "$output" != *"<none>"* ]]
	run -0 imgtool images -q
	[ "$output" = "$(printf 'example.com/test/good:v1\nexample.com/test/root:v1')" ]
	# it is still a name: rm by digest takes both
	local d
	d=$(jq -r '.manifests[0].digest' "$STORE/index.json")
	run -0 imgtool rm "example.com/test/good@$d"
	run -0 imgtool images -q
	[ "$output" = "example.com/test/root:v1" ]
	[ "$(jq '.manifests | length' "$STORE/index.json")" -eq 1 ]
}

@test "rm and gc drop an image's blobs and keep the others'" {
	fill_store
	local before
	before=$(ls "$STORE/blobs/sha256" | wc -l)
	run imgtool rm example.com/test/good:v1
	[ "$status" -eq 0 ]
	[ "$output" = "Untagged: example.com/test/good:v1" ]
	run imgtool rm example.com/test/good:v1
	[ "$status" -eq 1 ]
	[[ "$output" == *"not found"* ]]
	run imgtool gc
	[ "$status" -eq 0 ]
	[[ "$output" == "Deleted "*" blobs, freed "* ]]
	[ "$(ls "$STORE/blobs/sha256" | wc -l)" -lt "$before" ]
	# what root:v1 needs survived
	run imgtool bundle example.com/test/root:v1 "$WORK/b"
	[ "$status" -eq 0 ]
	run imgtool gc
	[ "$output" = "Deleted 0 blobs, freed 0 B" ]
}

@test "every command has --help; wrong usage exits 2 or 1 with a hint" {
	for c in pull bundle images inspect rm gc; do
		run "$IMGTOOL" "$c" --help
		[ "$status" -eq 0 ]
		[[ "$output" == "Usage: imgtool $c"* ]]
	done
	run "$IMGTOOL" --help
	[ "$status" -eq 0 ]
	run "$IMGTOOL" frobnicate
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown command \`frobnicate\`"* ]]
	run "$IMGTOOL" bundle onlyone
	[ "$status" -eq 2 ]
	[[ "$output" == *"expected IMAGE and DIR (see \`imgtool bundle --help\`)"* ]]
}

# ---- pull from local sources into the store ----

@test "pull oci:DIR:tag copies the image into the store, verified, and it bundles from there" {
	run -0 imgtool pull "oci:$LAYOUT:root"
	[[ "$output" == "localhost/layout:root: sha256:"* ]]
	run -0 imgtool images -q
	[ "$output" = "localhost/layout:root" ]
	# every blob the manifest names, and only those, is in the store
	local m
	m=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "root") | .digest' \
		"$LAYOUT/index.json")
	[ "$(ls "$STORE/blobs/sha256" | sort)" = "$( (echo "${m#sha256:}"
		jq -r '.config.digest, .layers[].digest' "$LAYOUT/blobs/sha256/${m#sha256:}" | sed 's/^sha256://') | sort)" ]
	# the layout is no longer needed
	cp -r "$LAYOUT" "$WORK/gone"
	run -0 imgtool bundle localhost/layout:root "$WORK/b"
	[ -x "$WORK/b/rootfs/bin/busybox" ]
	# pulling again copies nothing and keeps one name
	run -0 imgtool -q pull "oci:$LAYOUT:root"
	[ "$output" = "$m" ] # the digest alone
	run -0 imgtool images -q
	[ "$output" = "localhost/layout:root" ]
}

@test "a layer's diff_id is hashed until one bundle confirms it; its digest is checked every time" {
	run -0 imgtool pull "oci:$LAYOUT:root"
	local m cfg layer diff_id xattr
	m=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "root") | .digest' \
		"$LAYOUT/index.json")
	layer=$(jq -r '.layers[0].digest' "$STORE/blobs/sha256/${m#sha256:}")
	cfg=$(jq -r '.config.digest' "$STORE/blobs/sha256/${m#sha256:}")
	diff_id=$(jq -r '.rootfs.diff_ids[0]' "$STORE/blobs/sha256/${cfg#sha256:}")
	xattr() { "$PYTHON" -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.imgtool.diff_id").decode())' "$@"; }
	set_xattr() { "$PYTHON" -c 'import os,sys; os.setxattr(sys.argv[1], "user.imgtool.diff_id", sys.argv[2].encode())' "$@"; }
	blob=$STORE/blobs/sha256/${layer#sha256:}
	run xattr "$blob"
	[ "$status" -ne 0 ] # a pull alone confirms nothing about the tar

	run -0 imgtool bundle localhost/layout:root "$WORK/b1"
	run -0 xattr "$blob"
	[ "$output" = "$diff_id" ]

	# A remembered diff_id that is not the config's is no confirmation.
	set_xattr "$blob" "sha256:$(printf '%064d' 0)"
	run -0 imgtool bundle localhost/layout:root "$WORK/b2"
	run -0 xattr "$blob"
	[ "$output" = "$diff_id" ]

	# With the diff_id confirmed, a changed blob is still caught by its digest.
	chmod u+w "$blob"
	"$PYTHON" -c 'import sys; f=open(sys.argv[1], "r+b"); f.seek(-1, 2); b=f.read(1); f.seek(-1, 2); f.write(bytes([b[0] ^ 1]))' "$blob"
	run imgtool bundle localhost/layout:root "$WORK/b3"
	[ "$status" -ne 0 ]
	[[ "$output" == *"digest mismatch: expected $layer"* ]]
	assert_no_bundle "$WORK/b3"
}

@test "pull oci-archive: and --name; an index is narrowed to one platform" {
	[ "$(uname -m)" = x86_64 ] || skip "the test index has amd64 and arm64"
	run -0 imgtool pull --name example.org/me/app:7 "oci-archive:$FILE_TMP/image.tar:good"
	[[ "$output" == "example.org/me/app:7: sha256:"* ]]
	run -0 imgtool pull --platform linux/arm64 "oci:$LAYOUT:multi"
	run -0 imgtool images -q
	[ "$output" = "$(printf 'example.org/me/app:7\nlocalhost/layout:multi')" ]
	run -0 --separate-stderr imgtool inspect --platform linux/arm64 localhost/layout:multi
	[ "$(jq -r .architecture <<<"$output")" = arm64 ]
	run -2 imgtool pull --name 'Bad Name' "oci:$LAYOUT:root"
	[[ "$output" == *"--name: invalid reference \`Bad Name\`"* ]]
	run -2 imgtool pull --name x@sha256:0000000000000000000000000000000000000000000000000000000000000000 "oci:$LAYOUT:root"
	[[ "$output" == *"a store name is NAME[:TAG]"* ]]
}

@test "pull oci: of a hostile layout stores no unverified blob and no name" {
	for tag in digest-mismatch truncated; do
		run -1 imgtool pull "oci:$LAYOUT:$tag"
		[[ "$output" == *"oci:$LAYOUT:$tag: copying into the store as localhost/layout:$tag"* ]]
		[[ "$output" == *"digest mismatch"* ]] || [[ "$output" == *"the descriptor says"* ]]
	done
	run -0 imgtool images -q
	[ "$output" = "" ]
	# whatever is in blobs/ hashes to its name
	for f in "$STORE"/blobs/sha256/*; do
		[ -e "$f" ] || continue
		[ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$(basename "$f")" ]
	done
}
