#!/usr/bin/env python3
"""Container start-up benchmark: ocirt vs runc vs crun vs the floor program.

Runs, interleaved (the order rotates every round), N sequential `run` of
/bin/true per runtime plus the create / start / delete split, and prints
medians, peak RSS and ratios.  Invoked by startup.sh, which prepares the bundle
and the mount namespace crun 1.8 needs on a hybrid cgroup host."""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time


def timed(argv):
    """Run argv; return its wall time in seconds."""
    # The container inherits the runtime's stdio: keep it off our pipes.
    devnull = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=devnull)
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit("bench: %s exited %d" % (" ".join(argv), code))
    return elapsed


def maxrss(helper, workdir, argv):
    """Peak RSS in KiB of argv (and the children it waits for)."""
    result = os.path.join(workdir, "maxrss.out")
    code = subprocess.run([helper, result] + argv, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    if code != 0:
        sys.exit("bench: %s exited %d" % (" ".join(argv), code))
    with open(result) as f:
        return int(f.read())


def wait_stopped(rt, cid):
    for _ in range(2000):
        out = subprocess.run(rt + ["state", cid], capture_output=True, text=True)
        if '"stopped"' in out.stdout or out.returncode != 0:
            return
        time.sleep(0.001)
    sys.exit("bench: %s never stopped" % cid)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--floor", required=True)
    ap.add_argument("--maxrss", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("runtime", nargs="+", help="name=/path/to/binary")
    args = ap.parse_args()

    runtimes = {}
    for spec in args.runtime:
        name, path = spec.split("=", 1)
        root = os.path.join(args.workdir, "root-" + name)
        os.makedirs(root, exist_ok=True)
        runtimes[name] = [path, "--root", root]

    rootfs = os.path.join(args.bundle, "rootfs")
    run_t = {n: [] for n in list(runtimes) + ["floor"]}
    split = {n: {"create": [], "start": [], "delete": []} for n in runtimes}

    names = list(run_t)
    for i in range(args.n):
        k = i % len(names)
        for name in names[k:] + names[:k]:
            if name == "floor":
                t = timed([args.floor, rootfs, "/bin/true"])
            else:
                t = timed(runtimes[name] + ["run", "-b", args.bundle, "b%d" % i])
            run_t[name].append(t)
        for name in names[k:] + names[:k]:
            if name == "floor":
                continue
            rt, cid = runtimes[name], "s%d" % i
            split[name]["create"].append(timed(rt + ["create", "-b", args.bundle, cid]))
            split[name]["start"].append(timed(rt + ["start", cid]))
            wait_stopped(rt, cid)
            split[name]["delete"].append(timed(rt + ["delete", cid]))

    # Peak RSS, measured apart from the timings: `create` alone (the
    # container's init is not waited for by it) and a whole `run`.
    run_rss, create_rss = {}, {}
    for name, rt in runtimes.items():
        samples = []
        for j in range(5):
            samples.append(maxrss(args.maxrss, args.workdir, rt + ["create", "-b", args.bundle, "m%d" % j]))
            timed(rt + ["delete", "--force", "m%d" % j])
        create_rss[name] = max(samples)
        run_rss[name] = max(maxrss(args.maxrss, args.workdir, rt + ["run", "-b", args.bundle, "r%d" % j])
                            for j in range(5))
    run_rss["floor"] = max(maxrss(args.maxrss, args.workdir, [args.floor, rootfs, "/bin/true"]) for _ in range(5))

    ms = lambda xs: statistics.median(xs) * 1000.0
    print("# %d rounds, interleaved; medians in ms; peak RSS in KiB (max of 5)" % args.n)
    print("%-8s %8s %8s %8s %8s %8s %10s %10s" %
          ("runtime", "run", "create", "start", "delete", "c+s+d", "rss(run)", "rss(create)"))
    med = {}
    for name in names:
        med[name] = ms(run_t[name])
        if name == "floor":
            print("%-8s %8.2f %8s %8s %8s %8s %10d %10s" %
                  (name, med[name], "-", "-", "-", "-", run_rss[name], "-"))
            continue
        c, s, d = (ms(split[name][p]) for p in ("create", "start", "delete"))
        print("%-8s %8.2f %8.2f %8.2f %8.2f %8.2f %10d %10d" %
              (name, med[name], c, s, d, c + s + d, run_rss[name], create_rss[name]))

    if "ocirt" in med:
        print("# ratios of ocirt's median run time")
        for other in names:
            if other != "ocirt":
                print("ocirt/%-6s %6.2fx" % (other, med["ocirt"] / med[other]))
        targets = []
        if "crun" in med:
            targets.append(("run time <= 0.6x crun", med["ocirt"] <= 0.6 * med["crun"]))
            targets.append(("peak RSS (create) < crun's", create_rss["ocirt"] < create_rss["crun"]))
        targets.append(("run time <= 2x floor", med["ocirt"] <= 2 * med["floor"]))
        for what, met in targets:
            print("target %-28s %s" % (what, "met" if met else "MISSED"))


if __name__ == "__main__":
    main()
