#!/usr/bin/env python3
"""Container start-up benchmark: ocirt vs runc vs crun vs the floor program.

In one interleaved run (the order of the runtimes rotates every round) it
times, for two configs (plain and realistic):
  - `run` of /bin/true (and the floor program: bare, plain config only, and
    with the kernel work each config asks for: floor.c's -w and -r);
  - the cycle containerd, podman and Kubernetes drive: `create --pid-file`,
    `start`, the wait for the init (we are its subreaper, as a shim is) and
    `delete`, each step on its own;
then each runtime's peak RSS per command, and prints medians, ratios and the
targets of issue 12.  Invoked by startup.sh, which builds the helpers and the
rootfs."""

import argparse
import ctypes
import json
import os
import signal
import statistics
import subprocess
import sys
import time

CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MNT_DETACH = 2
PR_SET_CHILD_SUBREAPER = 36
UNIFIED = "/sys/fs/cgroup/unified"

libc = ctypes.CDLL(None, use_errno=True)


def check(r, what):
    if r != 0:
        e = ctypes.get_errno()
        sys.exit("bench: %s: %s" % (what, os.strerror(e)))


def mounts():
    """{mount point: fstype} of /proc/self/mountinfo."""
    out = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            out[left.split()[4]] = right.split()[0]
    return out


class Namespaces:
    """The host's mount namespace and, on a hybrid cgroup host, a private one
    without the cgroup2 mount for crun 1.8 (which refuses a hybrid host), the
    view tests/lib/crun gives it.  We switch before spawning a crun command,
    outside the timed part, so crun pays no unshare per command."""

    def __init__(self):
        m = mounts()
        self.hybrid = m.get("/sys/fs/cgroup") == "tmpfs" and m.get(UNIFIED) == "cgroup2"
        self.host = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        self.hidden = None
        self.current = self.host
        if self.hybrid:
            check(libc.unshare(CLONE_NEWNS), "unshare")
            check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "making / private")
            check(libc.umount2(UNIFIED.encode(), MNT_DETACH), "unmounting " + UNIFIED)
            self.hidden = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
            self.current = self.hidden
            self.enter(self.host)

    def enter(self, fd):
        if fd is not None and fd != self.current:
            check(libc.setns(fd, CLONE_NEWNS), "setns")
            self.current = fd


class Runtime:
    def __init__(self, name, path, workdir, ns):
        self.name, self.path = name, path
        self.root = os.path.join(workdir, "state-" + name)
        os.makedirs(self.root, exist_ok=True)
        self.ns = ns.hidden if name == "crun" and ns.hybrid else ns.host
        self.argv = [path, "--root", self.root]

    def cmd(self, *args):
        return self.argv + list(args)


def spawn(argv):
    # The container inherits the runtime's stdio: keep it off our pipes.
    devnull = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
    return os.posix_spawn(argv[0], argv, os.environ, file_actions=devnull)


def timed(argv):
    """Run argv; return its wall time in seconds."""
    t0 = time.perf_counter()
    pid = spawn(argv)
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit("bench: %s exited %d" % (" ".join(argv), code))
    return elapsed


def wait_init(pid):
    """Wait for a container's init: we are its subreaper once create exits."""
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:  # not reparented to us: poll
        while os.path.exists("/proc/%d" % pid):
            time.sleep(0.0002)


def read_pid(path):
    with open(path) as f:
        return int(f.read())


def maxrss(helper, workdir, argv):
    """Peak RSS in KiB of argv (and the children it waits for)."""
    result = os.path.join(workdir, "maxrss.out")
    code = subprocess.run([helper, result] + argv, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    if code != 0:
        raise SystemExit("bench: %s exited %d" % (" ".join(argv), code))
    with open(result) as f:
        return int(f.read())


def make_configs(args, cgroup):
    """The two configs, per runtime: the same JSON but for cgroupsPath."""
    base = json.load(open(args.base_config))
    base["root"] = {"path": args.rootfs, "readonly": True}
    base["process"]["terminal"] = False
    base["process"]["args"] = ["/bin/true"]
    masked = base["linux"].pop("maskedPaths", [])
    readonly = base["linux"].pop("readonlyPaths", [])
    plain = json.loads(json.dumps(base))
    plain["process"]["env"] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]

    real = json.loads(json.dumps(base))
    profile = json.load(open(args.seccomp))["linux"]["seccomp"]
    real["linux"]["seccomp"] = profile
    real["linux"]["maskedPaths"] = masked
    real["linux"]["readonlyPaths"] = readonly
    res = real["linux"].setdefault("resources", {})
    res["memory"] = {"limit": 256 << 20}
    res["pids"] = {"limit": 1024}
    real["process"]["env"] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                              "TERM=xterm", "HOME=/root", "container=oci"]
    names = sum(len(s["names"]) for s in profile["syscalls"])
    allow = sum(len(s["names"]) for s in profile["syscalls"]
                if s["action"] == "SCMP_ACT_ALLOW" and not s.get("args"))
    desc = {
        "plain": "/bin/true, `ocirt spec` without maskedPaths/readonlyPaths, 1 env entry, no limits, no seccomp",
        "realistic": "plus seccomp %s (%d rules, %d syscall names, %d allowed unconditionally), "
                     "memory 256 MiB and pids 1024 limits, %d maskedPaths and %d readonlyPaths, 4 env entries"
                     % (os.path.basename(args.seccomp), len(profile["syscalls"]), names, allow,
                        len(masked), len(readonly)),
    }
    return {"plain": plain, "realistic": real}, desc


def write_floor_spec(args, real):
    """floor.c's -r file for the realistic config, its seccomp program
    compiled once beforehand (a runtime's cache holds it)."""
    sc = real["linux"]["seccomp"]
    profile = os.path.join(args.workdir, "floor-profile.txt")
    bpf = os.path.join(args.workdir, "floor.bpf")
    spec = os.path.join(args.workdir, "floor-realistic.spec")
    if sc["defaultAction"] != "SCMP_ACT_ERRNO":
        raise SystemExit("bench: floor.c takes a profile whose default action is SCMP_ACT_ERRNO")
    default = sc.get("defaultErrnoRet", 1)
    with open(profile, "w") as f:
        f.write("default %d\n" % default)
        for a in sc.get("architectures", []):
            f.write("arch %s\n" % a[len("SCMP_ARCH_"):].lower())
        # Rules on arguments (5 of docker's 395 names) are left out: the
        # floor's program is that much smaller.
        for r in sc["syscalls"]:
            if r.get("args") or r["action"] not in ("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO"):
                continue
            act = "allow" if r["action"] == "SCMP_ACT_ALLOW" else str(r.get("errnoRet", default))
            f.write("%s %s\n" % (act, " ".join(r["names"])))
    code = subprocess.run([args.floor, "-c", profile, bpf]).returncode
    if code != 0:
        raise SystemExit("bench: floor -c %s exited %d" % (profile, code))
    res = real["linux"]["resources"]
    with open(spec, "w") as f:
        f.write("memory %d\npids %d\nseccomp %s\n" % (res["memory"]["limit"], res["pids"]["limit"], bpf))
        for p in real["linux"].get("maskedPaths", []):
            f.write("masked %s\n" % p)
        for p in real["linux"].get("readonlyPaths", []):
            f.write("readonly %s\n" % p)
    return spec


def write_bundles(configs, runtimes, workdir, cgroup):
    bundles = {}
    for rt in runtimes:
        for cfg, c in configs.items():
            b = os.path.join(workdir, "bundle-%s-%s" % (rt.name, cfg))
            os.makedirs(b, exist_ok=True)
            c = json.loads(json.dumps(c))
            c["linux"]["cgroupsPath"] = "/%s/%s-%s" % (cgroup, rt.name, cfg)
            with open(os.path.join(b, "config.json"), "w") as f:
                json.dump(c, f)
            bundles[rt.name, cfg] = b
    return bundles


def cleanup(runtimes, ns, cgroup):
    """Delete what an interrupted run left, then the cgroup directories."""
    for rt in runtimes:
        ns.enter(rt.ns)
        try:
            left = os.listdir(rt.root)
        except OSError:
            left = []
        for cid in left:
            subprocess.run(rt.cmd("delete", "--force", cid), stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ns.enter(ns.host)
    while True:  # reap the inits of deleted containers
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break
    for hier in os.listdir("/sys/fs/cgroup"):
        top = os.path.join("/sys/fs/cgroup", hier, cgroup)
        for dirpath, _, _ in sorted(os.walk(top), key=lambda w: -len(w[0])):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def version(argv):
    try:
        out = subprocess.run(argv + ["--version"], capture_output=True, text=True).stdout
    except OSError:
        return "?"
    return out.splitlines()[0] if out else "?"


STEPS = ("create", "start", "wait", "delete")


def bench(args, runtimes, ns, bundles):
    t = {}  # (runtime, config, measure) -> [seconds]
    add = lambda k, v: t.setdefault(k, []).append(v)
    for i in range(args.n):
        k = i % len(runtimes)
        order = runtimes[k:] + runtimes[:k]
        for cfg in ("plain", "realistic"):
            if cfg == "plain":
                add(("floor", cfg, "run"), timed([args.floor, args.rootfs, "/bin/true"]))
            add(("floor+work", cfg, "run"), timed([args.floor, "-w", args.floor_cgroup] +
                                                  (["-r", args.floor_spec] if cfg == "realistic" else []) +
                                                  [args.rootfs, "/bin/true"]))
            for rt in order:
                ns.enter(rt.ns)
                time.sleep(args.gap / 1000.0)
                add((rt.name, cfg, "run"), timed(rt.cmd("run", "-b", bundles[rt.name, cfg], "r%d%s" % (i, cfg[0]))))
            for rt in order:
                ns.enter(rt.ns)
                b, cid = bundles[rt.name, cfg], "c%d%s" % (i, cfg[0])
                pidfile = os.path.join(b, "init.pid")
                time.sleep(args.gap / 1000.0)
                add((rt.name, cfg, "create"), timed(rt.cmd("create", "-b", b, "--pid-file", pidfile, cid)))
                pid = read_pid(pidfile)
                add((rt.name, cfg, "start"), timed(rt.cmd("start", cid)))
                t0 = time.perf_counter()
                wait_init(pid)
                add((rt.name, cfg, "wait"), time.perf_counter() - t0)
                add((rt.name, cfg, "delete"), timed(rt.cmd("delete", cid)))
                os.unlink(pidfile)
        ns.enter(ns.host)
    return t


def measure_rss(args, runtimes, ns, bundles):
    """Peak RSS in KiB, max of 5, per runtime, config and command."""
    rss = {}
    for rt in runtimes:
        ns.enter(rt.ns)
        for cfg in ("plain", "realistic"):
            b = bundles[rt.name, cfg]
            pidfile = os.path.join(b, "init.pid")
            for j in range(5):
                cid = "m%d%s" % (j, cfg[0])
                for cmd, argv in (("create", rt.cmd("create", "-b", b, "--pid-file", pidfile, cid)),
                                  ("start", rt.cmd("start", cid))):
                    v = maxrss(args.maxrss, args.workdir, argv)
                    rss[rt.name, cfg, cmd] = max(v, rss.get((rt.name, cfg, cmd), 0))
                wait_init(read_pid(pidfile))
                os.unlink(pidfile)
                v = maxrss(args.maxrss, args.workdir, rt.cmd("delete", cid))
                rss[rt.name, cfg, "delete"] = max(v, rss.get((rt.name, cfg, "delete"), 0))
                v = maxrss(args.maxrss, args.workdir, rt.cmd("run", "-b", b, "q%d%s" % (j, cfg[0])))
                rss[rt.name, cfg, "run"] = max(v, rss.get((rt.name, cfg, "run"), 0))
    ns.enter(ns.host)
    rss["floor", "plain", "run"] = max(maxrss(args.maxrss, args.workdir, [args.floor, args.rootfs, "/bin/true"])
                                       for _ in range(5))
    return rss


def report(args, t, rss, runtimes, ns, desc, load0):
    ms = lambda k: statistics.median(t[k]) * 1000.0
    names = [rt.name for rt in runtimes]
    for rt in runtimes:
        print("# %-6s %s: %s" % (rt.name, rt.path, version([rt.path])))
    print("# %d rounds, interleaved (the runtimes' order rotates every round); medians in ms" % args.n)
    if args.gap:
        print("# %.0f ms of idle before each timed run and create: the first cgroup migration after an idle" % args.gap)
        print("#   spell waits for an RCU grace period (cgroup_threadgroup_rwsem), as on a node's sparse creates")
    if ns.hybrid:
        print("# hybrid cgroup host: crun 1.8 refuses it, so crun's commands run in a private mount namespace")
        print("#   without the cgroup2 mount at %s (as tests/lib/crun does); ocirt and runc see the" % UNIFIED)
        print("#   host's view and also create a directory in it (10 hierarchies instead of crun's 9)")
    fs = subprocess.run(["stat", "-f", "-c", "%T", args.workdir], capture_output=True, text=True).stdout.strip()
    print("# work files (state roots, bundles, pid files) under %s (%s)" % (args.workdir, fs or "?"))
    for cfg in ("plain", "realistic"):
        print("# %-9s %s" % (cfg, desc[cfg]))
    print()
    hdr = "%-10s %-7s %8s %8s %8s %8s %8s %8s" % ("config", "runtime", "run", "create", "start", "wait", "delete", "cycle")
    print(hdr)
    cycle = {}
    for cfg in ("plain", "realistic"):
        for n in names:
            steps = [ms((n, cfg, s)) for s in STEPS]
            # The cycle is the median of the per-round sums, not the sum of medians.
            sums = [sum(x) for x in zip(*(t[n, cfg, s] for s in STEPS))]
            cycle[n, cfg] = statistics.median(sums) * 1000.0
            print("%-10s %-7s %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f" %
                  ((cfg, n, ms((n, cfg, "run"))) + tuple(steps) + (cycle[n, cfg],)))
        if cfg == "plain":
            print("%-10s %-7s %8.2f" % (cfg, "floor", ms(("floor", cfg, "run"))))
        print("%-10s %-7s %8.2f   (floor + the kernel work the config asks for: cgroups, mounts, %s)" %
              (cfg, "floor+w", ms(("floor+work", cfg, "run")),
               "devices, lo" if cfg == "plain" else "limits, masked paths, seccomp"))
    print()
    print("# ratios: ocirt / other (below 1 = ocirt faster)")
    print("%-10s %-13s %7s %7s %7s %7s %7s %7s" % ("config", "ratio", "run", "create", "start", "wait", "delete", "cycle"))
    for cfg in ("plain", "realistic"):
        for other in names:
            if other == "ocirt":
                continue
            r = [ms(("ocirt", cfg, m)) / ms((other, cfg, m)) for m in ("run",) + STEPS]
            r.append(cycle["ocirt", cfg] / cycle[other, cfg])
            print("%-10s %-13s %6.2fx %6.2fx %6.2fx %6.2fx %6.2fx %6.2fx" % ((cfg, "ocirt/" + other) + tuple(r)))
    for n in names:
        print("%-10s %-13s %6.2fx" % ("plain", n + "/floor", ms((n, "plain", "run")) / ms(("floor", "plain", "run"))))
    for n in names:
        print("%-10s %-13s %6.2fx" % ("plain", n + "/floor+w",
                                      ms((n, "plain", "run")) / ms(("floor+work", "plain", "run"))))
    print()
    print("# realistic / plain, per runtime")
    print("%-8s %7s %7s" % ("runtime", "run", "cycle"))
    for n in names:
        print("%-8s %6.2fx %6.2fx" % (n, ms((n, "realistic", "run")) / ms((n, "plain", "run")),
                                      cycle[n, "realistic"] / cycle[n, "plain"]))
    print("%-8s %6.2fx          (the kernel's part alone)" %
          ("floor+w", ms(("floor+work", "realistic", "run")) / ms(("floor+work", "plain", "run"))))
    print()
    print("# peak RSS in KiB (max of 5 per command; `run` includes the container's init)")
    print("%-10s %-7s %8s %8s %8s %8s %8s" % ("config", "runtime", "run", "create", "start", "delete", "peak"))
    peak = {}
    for cfg in ("plain", "realistic"):
        for n in names:
            v = [rss[n, cfg, c] for c in ("run", "create", "start", "delete")]
            peak[n, cfg] = max(v)
            print("%-10s %-7s %8d %8d %8d %8d %8d" % ((cfg, n) + tuple(v) + (peak[n, cfg],)))
    print("%-10s %-7s %8d" % ("plain", "floor", rss["floor", "plain", "run"]))
    print()

    if "ocirt" not in names or "crun" not in names:
        return
    print("# targets of issue 12 (ocirt)")
    mark = lambda ok: "met" if ok else "MISSED"
    for cfg in ("plain", "realistic"):
        o = lambda m: ms(("ocirt", cfg, m))
        c = lambda m: ms(("crun", cfg, m))
        print("%-10s run <= 0.5x crun: %.2fx  %s" % (cfg, o("run") / c("run"), mark(o("run") <= 0.5 * c("run"))))
        if cfg == "plain":
            f = ms(("floor", cfg, "run"))
            print("%-10s run <= 1.5x floor: %.2fx  %s" % (cfg, o("run") / f, mark(o("run") <= 1.5 * f)))
            fw = ms(("floor+work", cfg, "run"))
            print("%-10s   (floor+w, the config's kernel work alone, is %.2fx the floor; ocirt is %.2fx floor+w)" %
                  ("", fw / f, o("run") / fw))
        r = cycle["ocirt", cfg] / cycle["crun", cfg]
        print("%-10s create+start+wait+delete <= 0.6x crun: %.2fx  %s" % (cfg, r, mark(r <= 0.6)))
        slow = [s for s in STEPS if o(s) > c(s)]
        print("%-10s no step slower than crun's: %s  %s" %
              (cfg, ", ".join("%s %.2fx" % (s, o(s) / c(s)) for s in STEPS), mark(not slow)))
        r = peak["ocirt", cfg] / peak["crun", cfg]
        print("%-10s peak RSS <= 0.6x crun: %d / %d KiB = %.2fx  %s" %
              (cfg, peak["ocirt", cfg], peak["crun", cfg], r, mark(r <= 0.6)))
    for m in ("run", "cycle"):
        if m == "run":
            r = ms(("ocirt", "realistic", "run")) / ms(("ocirt", "plain", "run"))
        else:
            r = cycle["ocirt", "realistic"] / cycle["ocirt", "plain"]
        print("%-10s realistic within 15%% of plain (%s): %.2fx  %s" % ("", m, r, mark(r <= 1.15)))
    print()
    load1 = loadavg()
    print("# load average at start: %s; at end: %s (%d CPUs)" % (load0, load1, os.cpu_count()))
    if max(float(load0.split()[0]), float(load1.split()[0])) > os.cpu_count():
        print("# the load was above the CPU count: other work shared the CPUs, the ratios are noisy")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rootfs", required=True)
    ap.add_argument("--base-config", required=True)
    ap.add_argument("--seccomp", required=True)
    ap.add_argument("--floor", required=True)
    ap.add_argument("--maxrss", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--gap", type=float, default=0.0,
                    help="ms to sleep before each timed run and create (a node's sparse creates)")
    ap.add_argument("runtime", nargs="+", help="name=/path/to/binary")
    args = ap.parse_args()

    load0 = loadavg()
    # Clean up on Ctrl-C and SIGTERM, even when started with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    check(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "PR_SET_CHILD_SUBREAPER")
    ns = Namespaces()
    cgroup = "ocirt-bench-" + os.path.basename(args.workdir).split(".")[-1]
    runtimes = [Runtime(*spec.split("=", 1), args.workdir, ns) for spec in args.runtime]
    configs, desc = make_configs(args, cgroup)
    bundles = write_bundles(configs, runtimes, args.workdir, cgroup)
    args.floor_cgroup = cgroup + "/floor"
    args.floor_spec = write_floor_spec(args, configs["realistic"])
    try:
        t = bench(args, runtimes, ns, bundles)
        rss = measure_rss(args, runtimes, ns, bundles)
    finally:
        cleanup(runtimes, ns, cgroup)
    report(args, t, rss, runtimes, ns, desc, load0)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("bench: interrupted; containers and cgroups removed")
