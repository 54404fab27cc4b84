#!/usr/bin/python3
"""Build an OCI image layout whose one gzip layer holds a file of zeros.

    make-bomb.py LAYOUT_DIR SIZE

The image is tagged `bomb`; its layer is the tar of `zeros` (SIZE bytes),
compressed at gzip's best (about 1000 to 1), so a test can unpack hundreds
of megabytes from a few hundred kilobytes.  The tar is streamed, never held
in memory.  Prints the layer's digest.
"""
import gzip
import hashlib
import json
import os
import sys
import tarfile

layout, size = sys.argv[1], int(sys.argv[2])
blobs = os.path.join(layout, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)


def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return "sha256:" + d


class Zeros:
    def __init__(self, n):
        self.left = n

    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return bytes(n)


class HashingGzip:
    """The tar's sha256 (the diff_id) while gzip writes the blob."""

    def __init__(self, path):
        self.diff_id = hashlib.sha256()
        self.gz = gzip.GzipFile(path, "wb", compresslevel=9, mtime=0)

    def write(self, b):
        self.diff_id.update(b)
        return self.gz.write(b)

    def close(self):
        self.gz.close()


tmp = os.path.join(blobs, "layer.tmp")
out = HashingGzip(tmp)
with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as t:
    ti = tarfile.TarInfo("zeros")
    ti.size, ti.mode, ti.mtime = size, 0o644, 1700000000
    t.addfile(ti, Zeros(size))
out.close()
blob = hashlib.sha256()
with open(tmp, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        blob.update(chunk)
layer = "sha256:" + blob.hexdigest()
os.rename(tmp, os.path.join(blobs, blob.hexdigest()))

config = json.dumps({
    "architecture": "amd64",
    "os": "linux",
    "config": {"Cmd": ["/zeros"]},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + out.diff_id.hexdigest()]},
}).encode()
manifest = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(config),
               "size": len(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer,
                "size": os.path.getsize(os.path.join(blobs, blob.hexdigest()))}],
}).encode()
with open(os.path.join(layout, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(manifest),
        "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "bomb"}}]}, f)
with open(os.path.join(layout, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
print(layer)
