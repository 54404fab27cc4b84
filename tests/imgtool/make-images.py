#!/usr/bin/python3
"""Build the OCI image layout the imgtool tests use, from busybox-static.

    make-images.py LAYOUT_DIR BUSYBOX OUTSIDE_DIR

Tags written (org.opencontainers.image.ref.name):
  good            three layers (gzip, plain, zstd when the zstd tool exists):
                  whiteouts, an opaque dir listed after a file of the same
                  layer, hardlinks, symlinks, a setuid file, a file owned by
                  1000:1000; a config with Entrypoint, Cmd, Env, WorkingDir,
                  User, Labels, ExposedPorts, Volumes
  root            the same base, running as root, printing its id
  multi           an index with amd64 and arm64 manifests (arm64 says so)
                  and an attestation entry
  arm-only        the arm64 manifest alone
  traversal       a layer with ../ entries
  symlink-escape  an absolute symlink to OUTSIDE_DIR, then a file through it
  hardlink-host   a hardlink to /etc/passwd (not in the rootfs)
  corrupt-gzip    a layer whose deflate stream is damaged (digest matches)
  digest-mismatch a blob whose bytes do not match its digest
  truncated       a blob cut short (size and digest no longer match)
  diffid-mismatch a config whose diff_id is wrong
  no-user         User names someone not in /etc/passwd
  overlay         good's layers plus one with xattrs (user.*, and a
                  trusted.overlay.opaque on bin/ that must not reach overlayfs), a
                  hardlink within the layer, a whiteout of a file two layers
                  down and an opaque dir over a dir of the layer below

Layers are crafted with tarfile because umoci cannot express hostile
entries; the layout format is plain image-spec.
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

layout, busybox, outside = sys.argv[1], sys.argv[2], sys.argv[3]
blobs = os.path.join(layout, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)
with open(os.path.join(layout, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
index = []


def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return "sha256:" + d


def entry(name, kind=tarfile.REGTYPE, data=b"", mode=0o644, uid=0, gid=0, link=""):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.uid, ti.gid = uid, gid
    ti.mtime = 1700000000
    ti.linkname = link
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    return ti, (io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for ti, data in entries:
            t.addfile(ti, data)
    return buf.getvalue()


def layer(entries, compression="gzip"):
    raw = tar(entries)
    diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    if compression == "gzip":
        blob, mt = gzip.compress(raw, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
    elif compression == "zstd":
        blob = subprocess.run(["zstd", "-q", "-c"], input=raw, stdout=subprocess.PIPE, check=True).stdout
        mt = "application/vnd.oci.image.layer.v1.tar+zstd"
    else:
        blob, mt = raw, "application/vnd.oci.image.layer.v1.tar"
    return {"blob": blob, "mediaType": mt, "diff_id": diff_id}


def image(tag, layers, cfg, arch="amd64", add_to_index=True, tamper=None):
    descs = []
    for l in layers:
        d = put(l["blob"])
        descs.append({"mediaType": l["mediaType"], "digest": d, "size": len(l["blob"])})
    config = {
        "created": "2024-01-01T00:00:00Z",
        "author": "imgtool tests",
        "architecture": arch,
        "os": "linux",
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": [l["diff_id"] for l in layers]},
    }
    if tamper:
        tamper(config, descs)
    cbytes = json.dumps(config).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cbytes),
                   "size": len(cbytes)},
        "layers": descs,
    }
    mbytes = json.dumps(manifest).encode()
    desc = {"mediaType": manifest["mediaType"], "digest": put(mbytes), "size": len(mbytes)}
    if add_to_index:
        index.append(dict(desc, annotations={"org.opencontainers.image.ref.name": tag}))
    return desc


with open(busybox, "rb") as f:
    bb = f.read()
passwd = b"root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
group = b"root:x:0:\nalice:x:1000:\nstaff:x:50:alice\nwheel:x:10:bob,alice\n"
base = layer([
    entry("bin", tarfile.DIRTYPE, mode=0o755),
    entry("bin/busybox", data=bb, mode=0o755),
    entry("bin/sh", tarfile.SYMTYPE, link="busybox"),
    entry("etc", tarfile.DIRTYPE, mode=0o755),
    entry("etc/passwd", data=passwd),
    entry("etc/group", data=group),
    entry("tmp", tarfile.DIRTYPE, mode=0o1777),
    entry("opaque", tarfile.DIRTYPE, mode=0o755),
    entry("opaque/lower1", data=b"lower\n"),
    entry("opaque/sub/lower2", data=b"lower\n"),
    entry("gone", tarfile.DIRTYPE, mode=0o755),
    entry("gone/file", data=b"x\n"),
    entry("gone-file", data=b"x\n"),
    entry("kept", data=b"kept\n"),
])
changes = layer([
    entry("opaque/new", data=b"new\n"),  # before the opaque marker, same layer: survives
    entry("opaque/.wh..wh..opq"),
    entry(".wh.gone"),
    entry(".wh.gone-file"),
    entry("bin/hardlink", tarfile.LNKTYPE, link="bin/busybox"),
    entry("bin/abs-link", tarfile.SYMTYPE, link="/bin/busybox"),
    entry("usr/bin/setuid", data=b"#!/bin/sh\n", mode=0o4755),
    entry("usr/bin/setgid", data=b"#!/bin/sh\n", mode=0o2755),
    entry("home/alice", tarfile.DIRTYPE, mode=0o750, uid=1000, gid=1000),
    entry("home/alice/owned", data=b"mine\n", mode=0o600, uid=1000, gid=1000),
    entry("dev/null", tarfile.CHRTYPE, mode=0o666),
], "none")
have_zstd = shutil.which("zstd") is not None
extra = layer([entry("etc/motd", data=b"third layer\n")], "zstd" if have_zstd else "gzip")
good_cfg = {
    "User": "alice",
    "Env": ["FOO=bar", "PATH=/bin"],
    "Entrypoint": ["/bin/sh", "-c"],
    "Cmd": ['echo hello-from-image; id -u; id -g; pwd; echo "FOO=$FOO"; cat /etc/motd'],
    "WorkingDir": "/home/alice",
    "Labels": {"org.example.label": "yes", "org.opencontainers.image.author": "label-wins"},
    "ExposedPorts": {"80/tcp": {}, "53/udp": {}},
    "Volumes": {"/data": {}},
    "StopSignal": "SIGQUIT",
}
image("good", [base, changes, extra], good_cfg)
image("root", [base], {"Entrypoint": ["/bin/busybox"], "Cmd": ["echo", "root-image"], "User": "0"})

# multi-platform index
amd = image("amd64", [base], {"Cmd": ["/bin/busybox", "echo", "amd64-image"]}, add_to_index=False)
arm = image("arm-only", [layer([entry("arch", data=b"arm64\n")])], {"Cmd": ["/arch"]}, arch="arm64")
idx = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [
        dict(arm, platform={"architecture": "arm64", "os": "linux"}),
        dict(amd, platform={"architecture": "amd64", "os": "linux"}),
        dict(amd, platform={"architecture": "unknown", "os": "unknown"},
             annotations={"vnd.docker.reference.type": "attestation-manifest"}),
    ],
}
ib = json.dumps(idx).encode()
index.append({"mediaType": idx["mediaType"], "digest": put(ib), "size": len(ib),
              "annotations": {"org.opencontainers.image.ref.name": "multi"}})

run = {"Cmd": ["/bin/busybox", "true"]}
image("traversal", [base, layer([entry("../../../../escaped-by-dotdot", data=b"x")])], run)
image("symlink-escape", [base, layer([
    entry("evil", tarfile.SYMTYPE, link=outside),
    entry("evil/pwned", data=b"pwned\n"),
])], run)
image("hardlink-host", [base, layer([entry("passwd-link", tarfile.LNKTYPE, link="/etc/shadow")])], run)

bad = layer([entry("f", data=os.urandom(4096) * 4)])
raw = bytearray(bad["blob"])
for i in range(30, len(raw) - 30):
    raw[i] ^= 0x55
bad["blob"] = bytes(raw)
image("corrupt-gzip", [base, bad], run)


def mismatch(config, descs):
    path = os.path.join(blobs, descs[-1]["digest"][7:])
    with open(path, "r+b") as f:
        data = f.read()
        f.seek(0)
        f.write(gzip.compress(data[:0] + b"not the layer"))
        f.truncate()
    descs[-1]["size"] = os.path.getsize(path)


image("digest-mismatch", [base, layer([entry("mm", data=b"mismatch layer\n")])], run, tamper=mismatch)


def truncate(config, descs):
    path = os.path.join(blobs, descs[-1]["digest"][7:])
    with open(path, "r+b") as f:
        f.truncate(descs[-1]["size"] // 2)


image("truncated", [base, layer([entry("big", data=os.urandom(65536))])], run, tamper=truncate)


def wrong_diff_id(config, descs):
    config["rootfs"]["diff_ids"][-1] = "sha256:" + "0" * 64


image("diffid-mismatch", [base, layer([entry("d", data=b"d\n")])], run, tamper=wrong_diff_id)
image("no-user", [base], {"Cmd": ["/bin/busybox", "true"], "User": "mallory"})


def with_xattrs(ti, xattrs):
    ti.pax_headers.update({"SCHILY.xattr." + k: v for k, v in xattrs.items()})
    return ti


xa = entry("etc/xattr-file", data=b"x\n")
xd = entry("bin", tarfile.DIRTYPE, mode=0o755)
top = layer([
    (with_xattrs(xa[0], {"user.color": "blue"}), xa[1]),
    (with_xattrs(xd[0], {"trusted.overlay.opaque": "y"}), None),
    entry("etc/link-in-layer", tarfile.LNKTYPE, link="etc/xattr-file"),
    entry(".wh.kept"),
    entry("home/alice", tarfile.DIRTYPE, mode=0o750, uid=1000, gid=1000),
    entry("home/alice/.wh..wh..opq"),
    entry("home/alice/fresh", data=b"fresh\n", uid=1000, gid=1000),
])
image("overlay", [base, changes, extra, top], dict(good_cfg, Cmd=["ls -A /home/alice; cat /etc/xattr-file"]))

with open(os.path.join(layout, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": index}, f)
