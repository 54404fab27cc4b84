#!/usr/bin/env python3
"""imgtool benchmark helper, driven by imgtool.sh.

  imgtool.py image ROOTFS.tar LAYOUT TAG
      Split a rootfs tarball into three gzip layers (usr/ without usr/share,
      usr/share, the rest) and write an OCI image layout.  Deterministic
      (gzip mtime 0), so a cached layout is the same image every time.

  imgtool.py run --imgtool BIN --ref REF --ca CA --certs DIR --work DIR -n N
      The interleaved rounds (the order rotates every round):
        imgtool cold        imgtool bundle REF with an empty store
        skopeo+umoci cold   skopeo copy docker://REF oci:FRESH:tag (with an
                            empty blob-info cache) + umoci unpack of it
        imgtool warm        imgtool bundle REF, the image already in the store
        umoci unpack warm   umoci unpack from an existing layout
        gzip -dc | tar -x   of every layer, in order, into an empty dir
      and prints medians (wall and CPU time), unpack throughput, and the
      issue's targets as met/MISSED.  imgtool runs with -v: its per-layer
      lines give the time spent unpacking alone.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tarfile
import time
import zlib

# ------------------------------------------------------------------ image


def layer_of(name):
    p = name[2:] if name.startswith("./") else name.lstrip("/")
    p = p.rstrip("/")
    if p in ("", ".") or p == "usr":
        return 0
    if p == "usr/share" or p.startswith("usr/share/"):
        return 1
    if p.startswith("usr/"):
        return 0
    return 2


class HashingWriter(io.RawIOBase):
    """A file object that hashes and counts what is written through it."""

    def __init__(self, f):
        self.f, self.h, self.n = f, hashlib.sha256(), 0

    def writable(self):
        return True

    def write(self, b):
        self.h.update(b)
        self.n += len(b)
        return self.f.write(b)


def put_blob(layout, data):
    hexd = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", hexd), "wb") as f:
        f.write(data)
    return "sha256:" + hexd, len(data)


def make_image(rootfs_tar, layout, tag):
    os.makedirs(os.path.join(layout, "blobs", "sha256"))
    blobs = os.path.join(layout, "blobs", "sha256")
    outs = []
    for i in range(3):
        raw = open(os.path.join(blobs, "layer%d.tmp" % i), "wb")
        gz = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0)
        diff = HashingWriter(gz)
        outs.append((raw, gz, diff, tarfile.open(fileobj=diff, mode="w|", format=tarfile.PAX_FORMAT)))
    with tarfile.open(rootfs_tar) as src:
        for m in src:
            t = outs[layer_of(m.name)][3]
            t.addfile(m, src.extractfile(m) if m.isreg() else None)
    layers, diff_ids = [], []
    for i, (raw, gz, diff, t) in enumerate(outs):
        t.close()
        gz.close()
        raw.close()
        path = raw.name
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        os.rename(path, os.path.join(blobs, h.hexdigest()))
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": "sha256:" + h.hexdigest(), "size": os.path.getsize(os.path.join(blobs, h.hexdigest()))})
        diff_ids.append("sha256:" + diff.h.hexdigest())
    config = {
        "architecture": "amd64", "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["/bin/bash"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    cdig, csize = put_blob(layout, json.dumps(config, sort_keys=True).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdig, "size": csize},
                "layers": layers}
    mdig, msize = put_blob(layout, json.dumps(manifest, sort_keys=True).encode())
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdig, "size": msize,
        "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)


# ------------------------------------------------------------------ rounds


class Bench:
    def __init__(self, args):
        self.a = args
        self.work = args.work
        self.seq = 0
        self.trash = os.path.join(self.work, "trash")
        os.makedirs(self.trash, exist_ok=True)

    def path(self, what):
        self.seq += 1
        return os.path.join(self.work, "%s.%d" % (what, self.seq))

    def run(self, argv, log=None):
        """Run argv; return (wall seconds, CPU seconds of it and of the
        children it waited for).  Output goes to `log` (or nowhere)."""
        out = open(log, "w") if log else subprocess.DEVNULL
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if log:
            out.close()
        if p.returncode != 0:
            detail = open(log).read()[-2000:] if log else ""
            sys.exit("bench: %s exited %d\n%s" % (" ".join(argv), p.returncode, detail))
        return wall, ru.ru_utime + ru.ru_stime

    def settle(self, *paths):
        """Untimed: remove what a task left (or, with --keep-outputs, set it
        aside) and write back dirty pages, so that no task pays for the
        previous one's writeback.  Outputs are kept on a filesystem where a
        deletion slows later creates: ext4 without a journal skips inodes
        freed in the last minutes when it allocates new ones
        (recently_deleted()), so a tree of 6,000 files deleted just before
        slows down the next task for reasons that have nothing to do with
        it.  Elsewhere they go: kept, they would fill the page cache with
        pages no task reads, and each round would write into fresh memory."""
        for p in paths:
            if not os.path.lexists(p):
                continue
            if self.a.keep_outputs:
                os.rename(p, os.path.join(self.trash, os.path.basename(p)))
            else:
                subprocess.run(["rm", "-rf", p], check=True)
        os.sync()

    def imgtool(self, store, *argv):
        return [self.a.imgtool, "--store", store, "--ca-file", self.a.ca, "-v"] + list(argv)

    def skopeo_copy(self, layout):
        """skopeo copy with an empty blob-info cache of its own: a private
        mount namespace puts a fresh directory over the system one."""
        cache = "/var/lib/containers/cache"
        fresh = self.path("skopeo-cache")
        os.makedirs(fresh)
        os.makedirs(cache, exist_ok=True)
        script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
        return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", fresh, cache,
                "skopeo", "copy", "-q", "--src-cert-dir", self.a.certs,
                "docker://" + self.a.ref, "oci:%s:%s" % (layout, self.a.tag)], fresh

    # The tasks: each returns {metric: (wall seconds, CPU seconds or None)}.

    def t_imgtool_cold(self):
        store, bundle, log = self.path("store"), self.path("bundle"), self.path("imgtool-cold.log")
        self.settle()
        res = {"imgtool cold": self.run(self.imgtool(store, "bundle", self.a.ref, bundle), log)}
        res.update(self.unpack_from_log(log, "  its layer unpack"))
        self.settle(bundle, store)
        return res

    def t_skopeo_umoci(self):
        layout, bundle = self.path("layout"), self.path("bundle")
        argv, cache = self.skopeo_copy(layout)
        self.settle()
        copy = self.run(argv, self.path("skopeo.log"))
        unpack = self.run(["umoci", "unpack", "--image", "%s:%s" % (layout, self.a.tag), bundle],
                          self.path("umoci.log"))
        self.settle(bundle, layout, cache)
        return {"skopeo+umoci cold": (copy[0] + unpack[0], copy[1] + unpack[1]),
                "  skopeo copy": copy, "  umoci unpack": unpack}

    def t_imgtool_warm(self):
        bundle, log = self.path("bundle"), self.path("imgtool-warm.log")
        self.settle()
        res = {"imgtool warm": self.run(self.imgtool(self.warm_store, "bundle", self.a.ref, bundle), log)}
        res.update(self.unpack_from_log(log, "  its layer unpack "))
        self.settle(bundle)
        return res

    def t_umoci_warm(self):
        bundle = self.path("bundle")
        self.settle()
        res = {"umoci unpack warm": self.run(
            ["umoci", "unpack", "--image", "%s:%s" % (self.warm_layout, self.a.tag), bundle],
            self.path("umoci.log"))}
        self.settle(bundle)
        return res

    def t_gzip_tar(self):
        root = self.path("rootfs")
        os.makedirs(root)
        script = 'd=$1; shift; for l; do gzip -dc "$l" | tar --numeric-owner -xf - -C "$d" || exit 1; done'
        self.settle()
        res = {"gzip -dc | tar -x": self.run(["sh", "-c", script, "sh", root] + self.layer_files)}
        self.settle(root)
        return res

    @staticmethod
    def unpack_from_log(log, key):
        """imgtool -v logs `layer i/n sha256:...: E entries, X MB in S s` per layer."""
        secs = [float(m.group(1)) for m in re.finditer(
            r"^layer \d+/\d+ \S+: \d+ entries, [\d.]+ MB in ([\d.]+) s$", open(log).read(), re.M)]
        return {key: (sum(secs), None)} if secs else {}

    def prepare(self):
        """The warm store and layout, and the image's sizes."""
        self.warm_store = os.path.join(self.work, "warm-store")
        self.warm_layout = os.path.join(self.work, "warm-layout")
        self.run(self.imgtool(self.warm_store, "pull", self.a.ref), self.path("imgtool-pull.log"))
        argv, cache = self.skopeo_copy(self.warm_layout)
        self.run(argv, self.path("skopeo.log"))
        with open(os.path.join(self.warm_layout, "index.json")) as f:
            mdig = json.load(f)["manifests"][0]["digest"]
        with open(self.blob(self.warm_layout, mdig)) as f:
            manifest = json.load(f)
        self.layer_files = [self.blob(self.warm_layout, l["digest"]) for l in manifest["layers"]]
        self.compressed = sum(l["size"] for l in manifest["layers"])
        self.uncompressed = 0
        for path in self.layer_files:
            d = zlib.decompressobj(wbits=31)
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    self.uncompressed += len(d.decompress(chunk))
        self.layers = len(manifest["layers"])

    def check_space(self, rounds):
        # Per round: four rootfs trees, a store and a layout, kept to the end
        # with --keep-outputs; otherwise one task's at a time.
        need = (rounds if self.a.keep_outputs else 1) * (4 * self.uncompressed + 2 * self.compressed) * 1.2
        st = os.statvfs(self.work)
        if st.f_bavail * st.f_frsize < need:
            sys.exit("bench: %d rounds keep about %.1f GB under %s until the end; not that much is free"
                     % (rounds, need / 1e9, self.work))

    @staticmethod
    def blob(layout, digest):
        alg, hexd = digest.split(":", 1)
        return os.path.join(layout, "blobs", alg, hexd)


def main_run(args):
    b = Bench(args)
    b.prepare()
    b.check_space(args.n)
    tasks = [b.t_imgtool_cold, b.t_skopeo_umoci, b.t_imgtool_warm, b.t_umoci_warm, b.t_gzip_tar]
    samples = {}
    print("image %s: %d layers, %.1f MB compressed, %.1f MB uncompressed; %d rounds"
          % (args.ref, b.layers, b.compressed / 1e6, b.uncompressed / 1e6, args.n), flush=True)
    for r in range(args.n):
        order = tasks[r % len(tasks):] + tasks[:r % len(tasks)]
        line = []
        for t in order:
            for k, v in t().items():
                samples.setdefault(k, []).append(v)
                if not k.startswith(" "):
                    line.append("%s %.2f" % (k, v[0]))
        print("round %d: %s" % (r + 1, ", ".join(line)), flush=True)

    wall = {k: statistics.median(w for w, _ in v) for k, v in samples.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in samples.items() if v[0][1] is not None}
    print()
    print("%-22s %8s %8s %8s %9s" % ("seconds, %d rounds" % args.n, "median", "min", "max", "CPU med"))
    for k in ["imgtool cold", "  its layer unpack", "skopeo+umoci cold", "  skopeo copy", "  umoci unpack",
              "imgtool warm", "  its layer unpack ", "umoci unpack warm", "gzip -dc | tar -x"]:
        if k in samples:
            w = [x for x, _ in samples[k]]
            print("%-22s %8.2f %8.2f %8.2f %9s" % (k, wall[k], min(w), max(w),
                                                     "%.2f" % cpu[k] if k in cpu else "-"))
    mb = b.uncompressed / 1e6
    tp = {}
    print()
    print("unpack throughput, MB/s of uncompressed tar (median wall time):")
    for k, label in [("  its layer unpack ", "imgtool layer unpack (its -v timings, warm)"),
                     ("imgtool warm", "imgtool bundle, warm, whole command"),
                     ("umoci unpack warm", "umoci unpack, warm"),
                     ("gzip -dc | tar -x", "gzip -dc | tar -x (two processes)")]:
        if k in wall:
            tp[k] = mb / wall[k]
            print("  %-46s %7.1f" % (label, tp[k]))

    def verdict(ok):
        return "met" if ok else "MISSED"

    cold = wall["imgtool cold"] / wall["skopeo+umoci cold"]
    warm = wall["imgtool warm"] / wall["umoci unpack warm"]
    unpack_key = "  its layer unpack " if "  its layer unpack " in tp else "imgtool warm"
    unp = tp[unpack_key] / tp["gzip -dc | tar -x"]
    print()
    print("targets (median wall times; warm page cache for every tool alike):")
    # Issue 12's targets: cold bundle <= 0.3x skopeo+umoci, copy-mode warm
    # bundle <= 0.15x umoci unpack.
    print("  cold   imgtool / (skopeo+umoci)      = %.2f  (target <= 0.30, CPU %.2f)  %s"
          % (cold, cpu["imgtool cold"] / cpu["skopeo+umoci cold"], verdict(cold <= 0.3)))
    print("  warm   imgtool / umoci unpack        = %.2f  (target <= 0.15, CPU %.2f)  %s"
          % (warm, cpu["imgtool warm"] / cpu["umoci unpack warm"], verdict(warm <= 0.15)))
    print("  unpack imgtool MB/s / gzip|tar MB/s  = %.2f  (target >= 1.00)            %s"
          % (unp, verdict(unp >= 1.0)))
    load = os.getloadavg()
    print("load average at the end: %.2f %.2f %.2f on %d CPUs (other work on the machine shows up as noise)"
          % (load[0], load[1], load[2], os.cpu_count()))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    im = sub.add_parser("image")
    im.add_argument("rootfs")
    im.add_argument("layout")
    im.add_argument("tag")
    ru = sub.add_parser("run")
    ru.add_argument("--imgtool", required=True)
    ru.add_argument("--ref", required=True, help="registry/repo:tag")
    ru.add_argument("--ca", required=True, help="CA file for imgtool --ca-file")
    ru.add_argument("--certs", required=True, help="cert dir for skopeo --src-cert-dir")
    ru.add_argument("--work", required=True)
    ru.add_argument("--keep-outputs", action="store_true",
                    help="keep every task's output until the end (for an ext4 without a journal)")
    ru.add_argument("-n", type=int, default=5)
    args = ap.parse_args()
    if args.cmd == "image":
        make_image(args.rootfs, args.layout, args.tag)
    else:
        args.tag = args.ref.rsplit(":", 1)[1]
        main_run(args)


if __name__ == "__main__":
    main()
