/* The pure parts of runtime/cgroups*.c: mountinfo and /proc/PID/cgroup
 * parsing, path cleaning and defaults, unit conversions, device rules and
 * the v2 device program's shape. */
#include <config.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "runtime/cgroups-internal.h"
#include "inroot.h"
#include "util.h"
#include "tap.h"

/* tap.h's ok() evaluates its condition twice; these conditions have side
 * effects (parsers that write into their buffer). */
#define check(cond, ...)                                                                                     \
  do                                                                                                         \
    {                                                                                                        \
      bool check_ = (cond);                                                                                  \
      ok(check_, __VA_ARGS__);                                                                               \
    }                                                                                                        \
  while (0)

/* A mountinfo line as discovery sees it: -1 malformed, else rt_cg_mount_from. */
static int
cg_mount_of_line(const char *line, struct rt_cg_mount *m)
{
  struct oci_mountinfo mi;
  int r;

  if (!oci_mountinfo_parse_line(line, &mi))
    return -1;
  r = rt_cg_mount_from(&mi, m);
  oci_mountinfo_clear(&mi);
  return r;
}

static void
test_mountinfo(void)
{
  struct rt_cg_mount m = { 0 };

  check(cg_mount_of_line("34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n", &m)
            == 1,
        "v1 memory line is a cgroup mount");
  check(!m.v2 && strcmp(m.mount_point, "/sys/fs/cgroup/memory") == 0 && strcmp(m.root, "/") == 0
            && strcmp(m.options, "rw,memory") == 0,
        "v1 fields");
  rt_cg_mount_clear(&m);

  check(cg_mount_of_line("40 30 0:37 / /sys/fs/cgroup/unified rw,relatime shared:9 master:2 - cgroup2 cgroup2 "
                         "rw,nsdelegate",
                         &m)
            == 1,
        "cgroup2 line with optional fields");
  check(m.v2 && strcmp(m.mount_point, "/sys/fs/cgroup/unified") == 0 && strcmp(m.options, "") == 0,
        "cgroup2 fields");
  rt_cg_mount_clear(&m);

  check(cg_mount_of_line("31 30 0:28 /docker/abc /sys/fs/cgroup/cpu\\054cpuacct ro,nosuid - cgroup cgroup "
                         "rw,cpu,cpuacct",
                         &m)
            == 1,
        "escaped mount point");
  check(strcmp(m.mount_point, "/sys/fs/cgroup/cpu,cpuacct") == 0 && strcmp(m.root, "/docker/abc") == 0,
        "octal escape decoded, root kept");
  check(rt_cg_options_have(m.options, "cpu") && rt_cg_options_have(m.options, "cpuacct,cpu")
            && !rt_cg_options_have(m.options, "cpuset") && !rt_cg_options_have(m.options, ""),
        "options_have matches whole items only");
  rt_cg_mount_clear(&m);

  check(cg_mount_of_line("22 1 0:21 / /sys rw - sysfs sysfs rw\n", &m) == 0, "sysfs is not a cgroup mount");
  check(m.mount_point && strcmp(m.mount_point, "/sys") == 0,
        "but its mount point is reported (it may shadow)");
  rt_cg_mount_clear(&m);
  check(cg_mount_of_line("22 1 0:21 / /sys rw sysfs sysfs rw\n", &m) == -1, "no separator: malformed");
  rt_cg_mount_clear(&m);
  check(cg_mount_of_line("22 1", &m) == -1, "truncated: malformed");
}

static void
test_proc_cgroup(void)
{
  char l1[] = "4:memory:/process_api/abc\n";
  char l2[] = "0::/user.slice/x.scope";
  char l3[] = "1:name=systemd:/a:b";
  char bad[] = "nothing here";
  char *c, *p;

  check(rt_cg_parse_proc_cgroup_line(l1, &c, &p) == 0 && strcmp(c, "memory") == 0
            && strcmp(p, "/process_api/abc") == 0,
        "v1 line");
  check(rt_cg_parse_proc_cgroup_line(l2, &c, &p) == 0 && strcmp(c, "") == 0
            && strcmp(p, "/user.slice/x.scope") == 0,
        "v2 line");
  check(rt_cg_parse_proc_cgroup_line(l3, &c, &p) == 0 && strcmp(c, "name=systemd") == 0
            && strcmp(p, "/a:b") == 0,
        "a colon in the path is kept");
  check(rt_cg_parse_proc_cgroup_line(bad, &c, &p) == -1, "malformed line");
}

static int
clean_is(const char *in, const char *want)
{
  cleanup_free char *got = oci_path_clean(in, OCI_PATH_KEEP_FORM);
  if (strcmp(got, want) != 0)
    printf("# clean(%s) = %s, want %s\n", in, got, want);
  return strcmp(got, want) == 0;
}

static void
test_paths(void)
{
  struct oci_error *err = NULL;
  char *out = NULL;

  check(clean_is("/a//b/./c/", "/a/b/c"), "clean absolute");
  check(clean_is("/../../a/../b", "/b"), "absolute never climbs above /");
  check(clean_is("../../x", "x"), "relative never climbs above its start (runc's CleanPath)");
  check(clean_is("a/b/../../..", ""), "relative to nothing");
  check(clean_is("/", "/"), "root");

  check(rt_cg_config_path(NULL, "c1", &out, &err) == 0 && strcmp(out, "c1") == 0,
        "no cgroupsPath: the id, relative to the caller's cgroup (runc)");
  free(out);
  check(rt_cg_config_path("", "c1", &out, &err) == 0 && strcmp(out, "c1") == 0, "empty cgroupsPath too");
  free(out);
  check(rt_cg_config_path("/default/c1/", "c1", &out, &err) == 0 && strcmp(out, "/default/c1") == 0,
        "absolute cgroupsPath cleaned");
  free(out);
  check(rt_cg_config_path("/..", "c1", &out, &err) == -1 && err && strstr(err->msg, "below the root"),
        "the root itself is refused");
  oci_error_free(err);
  err = NULL;
  check(rt_cg_config_path(NULL, "a/b", &out, &err) == -1, "an id with a slash is no cgroup name");
  oci_error_free(err);
  err = NULL;

  char *slice, *prefix, *name;
  check(rt_cg_parse_systemd_path("system.slice:docker:abc", &slice, &prefix, &name, &err) == 0
            && strcmp(slice, "system.slice") == 0 && strcmp(prefix, "docker") == 0
            && strcmp(name, "abc") == 0,
        "slice:prefix:name");
  free(slice), free(prefix), free(name);
  check(rt_cg_parse_systemd_path("/a/b", &slice, &prefix, &name, &err) == -1
            && strstr(err->msg, "slice:prefix:name"),
        "a plain path is not the systemd form");
  oci_error_free(err);
  err = NULL;

  struct rt_cg_mount host = { .mount_point = "/sys/fs/cgroup/memory", .root = "/", .options = "rw,memory" };
  struct rt_cg_mount sub
      = { .mount_point = "/sys/fs/cgroup/memory", .root = "/docker/x", .options = "rw,memory" };
  cleanup_free char *d1 = rt_cg_mount_dir(&host, "/a/b");
  cleanup_free char *d2 = rt_cg_mount_dir(&sub, "/docker/x/c1");
  cleanup_free char *d3 = rt_cg_mount_dir(&sub, "/c1");
  cleanup_free char *d4 = rt_cg_mount_dir(&sub, "/docker/xy");
  check(strcmp(d1, "/sys/fs/cgroup/memory/a/b") == 0, "dir on a host mount");
  check(strcmp(d2, "/sys/fs/cgroup/memory/c1") == 0, "dir below a subtree mount drops its root");
  check(strcmp(d3, "/sys/fs/cgroup/memory/c1") == 0,
        "absolute path outside the subtree maps under the mount (runc)");
  check(strcmp(d4, "/sys/fs/cgroup/memory/docker/xy") == 0, "root prefix only at a component boundary");
}

static void
test_conversions(void)
{
  struct oci_error *err = NULL;
  int64_t v = 0;

  check(rt_cg_shares_to_weight(0) == 0, "shares 0 -> unset");
  check(rt_cg_shares_to_weight(2) == 1, "shares 2 -> weight 1");
  check(rt_cg_shares_to_weight(1024) == 39, "shares 1024 -> weight 39 (runc, crun 1.8)");
  check(rt_cg_shares_to_weight(262144) == 10000, "shares max -> weight 10000");
  check(rt_cg_shares_to_weight(1000000) == 10000, "shares above max are clamped");
  check(rt_cg_blkio_to_io_weight(10) == 1 && rt_cg_blkio_to_io_weight(1000) == 10000
            && rt_cg_blkio_to_io_weight(500) == 4950,
        "blkio weight -> io.weight");

  check(rt_cg_swap_to_v2(0, 0, &v, &err) == 0 && v == 0, "no swap, no limit: leave alone");
  check(rt_cg_swap_to_v2(0, -1, &v, &err) == 0 && v == -1, "unlimited memory, swap unset: swap unlimited");
  check(rt_cg_swap_to_v2(-1, 100, &v, &err) == 0 && v == -1, "swap -1 is max");
  check(rt_cg_swap_to_v2(300, 100, &v, &err) == 0 && v == 200,
        "memory+swap 300 with memory 100: swap.max 200");
  check(rt_cg_swap_to_v2(100, 100, &v, &err) == 0 && v == 0, "swap == limit: no swap");
  check(rt_cg_swap_to_v2(50, 100, &v, &err) == -1 && strstr(err->msg, ">= memory.limit"),
        "swap below limit refused");
  oci_error_free(err);
  err = NULL;
  check(rt_cg_swap_to_v2(50, 0, &v, &err) == -1 && strstr(err->msg, "without memory.limit"),
        "swap without a limit refused");
  oci_error_free(err);
}

static void
test_device_rules(void)
{
  struct oci_error *err = NULL;
  struct oci_device_cgroup devs[] = {
    { .allow = false, .access = "rwm" },
    { .allow = true,
      .type = "c",
      .has_major = true,
      .major = 10,
      .has_minor = true,
      .minor = 229,
      .access = "wr" },
  };
  cleanup_free struct rt_cg_dev_rule *rules = NULL;
  size_t n = 0;

  check(rt_cg_device_rules(devs, 2, &rules, &n, &err) == 0 && n == 2 + 11, "spec rules then the 11 defaults");
  check(rules[0].type == 'a' && !rules[0].allow && rules[0].major == -1
            && strcmp(rules[0].access, "rwm") == 0,
        "deny all: type a, wildcards");
  check(rules[1].type == 'c' && rules[1].major == 10 && rules[1].minor == 229
            && strcmp(rules[1].access, "rw") == 0,
        "access normalised to rwm order");
  check(rules[2].allow && rules[2].major == -1 && strcmp(rules[2].access, "m") == 0,
        "defaults start with mknod");

  struct oci_device_cgroup bad[] = { { .allow = true, .type = "x" } };
  cleanup_free struct rt_cg_dev_rule *r2 = NULL;
  check(rt_cg_device_rules(bad, 1, &r2, &n, &err) == -1 && strstr(err->msg, "devices[0].type"),
        "bad type named");
  oci_error_free(err);
  err = NULL;
  struct oci_device_cgroup bad2[] = { { .allow = true, .access = "rwx" } };
  check(rt_cg_device_rules(bad2, 1, &r2, &n, &err) == -1 && strstr(err->msg, "devices[0].access"),
        "bad access named");
  oci_error_free(err);
  err = NULL;

  /* Program shape: 6 prologue; the catch-all deny decides alone (2
   * instructions, no epilogue after it); 2 rules with type+major+minor and
   * full access are 5 each. */
  struct rt_cg_dev_rule prog_rules[] = {
    { false, 'a', -1, -1, "rwm" },
    { true, 'c', 1, 3, "rwm" },
    { true, 'c', 1, 5, "rwm" },
  };
  cleanup_free struct bpf_insn *insns = NULL;
  int count = rt_cg_v2_device_prog(prog_rules, 3, (void **)&insns, &err);
  check(count == 6 + 5 + 5 + 2, "program length (%d)", count);
  check(insns[count - 1].code == (BPF_JMP | BPF_EXIT) && insns[count - 2].imm == 0,
        "ends in the catch-all deny");
  check(insns[6].code == (BPF_JMP | BPF_JNE | BPF_K) && insns[6].imm == BPF_DEVCG_DEV_CHAR
            && insns[6].off == 4,
        "last rule tested first; its type mismatch skips the rest of its block");
  check(insns[8].imm == 5 && insns[9].imm == 1, "block of c 1:5 returns allow");

  cleanup_free struct bpf_insn *insns2 = NULL;
  struct rt_cg_dev_rule partial[] = { { true, 'b', 8, -1, "r" } };
  count = rt_cg_v2_device_prog(partial, 1, (void **)&insns2, &err);
  check(count == 6 + 1 + 3 + 1 + 2 + 2, "type + access + major, default deny after (%d)", count);
  check(insns2[count - 2].imm == 0, "default is deny");
}

/* ---- OOM kills, from files as the kernel writes them ---- */

static void
put_file(const char *dir, const char *name, const char *text)
{
  cleanup_free char *path = xasprintf("%s/%s", dir, name);
  FILE *f = fopen(path, "w");

  if (f)
    {
      fputs(text, f);
      fclose(f);
    }
}

static bool
oom_killed(enum rt_cg_mode mode, const char *dir)
{
  struct rt_cg_hier h
      = { .m = { .options = (char *)(mode == RT_CG_UNIFIED ? "" : "rw,memory"), .v2 = mode == RT_CG_UNIFIED },
          .dir = (char *)dir };
  struct rt_cgroup cg = { .mode = mode, .h = &h, .n = 1 };

  return rt_cgroup_oom_killed(&cg);
}

static void
test_oom_killed(void)
{
  char v1[] = "/tmp/test-cgroups.XXXXXX", v2[] = "/tmp/test-cgroups.XXXXXX",
       old[] = "/tmp/test-cgroups.XXXXXX";

  if (!mkdtemp(v1) || !mkdtemp(v2) || !mkdtemp(old))
    {
      tap_skip(6, "no temporary directory");
      return;
    }
  put_file(v2, "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\noom_group_kill 0\n");
  check(!oom_killed(RT_CG_UNIFIED, v2), "v2: an OOM without a kill is no kill");
  put_file(v2, "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n");
  check(oom_killed(RT_CG_UNIFIED, v2), "v2: memory.events oom_kill 1");
  put_file(v1, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
  put_file(v1, "memory.failcnt", "12\n");
  check(!oom_killed(RT_CG_HYBRID, v1),
        "v1: oom_kill 0 wins over a failcnt (the limit was hit, nothing killed)");
  put_file(v1, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  check(oom_killed(RT_CG_LEGACY, v1), "v1: memory.oom_control oom_kill 2");
  /* Linux < 4.13: no oom_kill line */
  put_file(old, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n");
  put_file(old, "memory.failcnt", "0\n");
  check(!oom_killed(RT_CG_LEGACY, old), "old v1: failcnt 0");
  put_file(old, "memory.failcnt", "5\n");
  check(oom_killed(RT_CG_LEGACY, old), "old v1: the limit was hit (failcnt 5)");
  for (char *d[] = { v1, v2, old }, **p = d; p < d + 3; p++)
    {
      for (const char *const *f
           = (const char *const[]){ "memory.events", "memory.oom_control", "memory.failcnt", NULL };
           *f; f++)
        {
          cleanup_free char *path = xasprintf("%s/%s", *p, *f);
          (void)unlink(path);
        }
      (void)rmdir(*p);
    }
}

static void
test_systemd(void)
{
  struct oci_error *err = NULL;
  struct rt_cg_sd_unit u = { 0 };
  char *out = NULL;

  check(rt_cg_sd_expand_slice("a-b-c.slice", &out, &err) == 0
            && strcmp(out, "/a.slice/a-b.slice/a-b-c.slice") == 0,
        "nested slice expanded");
  free(out);
  check(rt_cg_sd_expand_slice("machine.slice", &out, &err) == 0 && strcmp(out, "/machine.slice") == 0,
        "plain slice");
  free(out);
  check(rt_cg_sd_expand_slice("-.slice", &out, &err) == 0 && strcmp(out, "") == 0, "root slice");
  free(out);
  static const char *const bad[] = { "a", "a--b.slice", "-a.slice", "a-.slice", "a/b.slice", ".slice" };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      check(rt_cg_sd_expand_slice(bad[i], &out, &err) == -1 && err && strstr(err->msg, "slice"),
            "bad slice refused: %s", bad[i]);
      oci_error_free(err);
      err = NULL;
    }

  check(rt_cg_sd_parse(NULL, "c1", false, &u, &err) == 0 && strcmp(u.unit, "runc-c1.scope") == 0
            && strcmp(u.slice, "system.slice") == 0 && strcmp(u.path, "/system.slice/runc-c1.scope") == 0,
        "empty cgroupsPath: runc's :runc:<id> in system.slice");
  rt_cg_sd_unit_clear(&u);
  check(rt_cg_sd_parse("", "c1", true, &u, &err) == 0 && strcmp(u.slice, "user.slice") == 0 && u.user,
        "the user's manager defaults to user.slice");
  rt_cg_sd_unit_clear(&u);
  check(rt_cg_sd_parse("machine-x.slice:docker:abc", "c1", false, &u, &err) == 0
            && strcmp(u.unit, "docker-abc.scope") == 0
            && strcmp(u.path, "/machine.slice/machine-x.slice/docker-abc.scope") == 0,
        "slice:prefix:name");
  rt_cg_sd_unit_clear(&u);
  check(rt_cg_sd_parse("system.slice:ignored:my-c.slice", "c1", false, &u, &err) == 0
            && strcmp(u.unit, "my-c.slice") == 0 && u.is_slice && strcmp(u.path, "/my.slice/my-c.slice") == 0,
        "a name ending in .slice is that slice");
  rt_cg_sd_unit_clear(&u);
  check(rt_cg_sd_parse("a/b.slice:p:n", "c1", false, &u, &err) == -1 && err,
        "a slash in the slice is refused");
  oci_error_free(err);
  err = NULL;

  check(rt_cg_sd_quota_per_sec(50000, 100000) == 500000, "quota 50000/100000 is 0.5 s per s");
  check(rt_cg_sd_quota_per_sec(1234, 100000) == 20000, "quota rounded up to 10 ms");
  check(rt_cg_sd_quota_per_sec(-1, 100000) == UINT64_MAX, "quota -1 is infinity");
  check(rt_cg_sd_quota_per_sec(20000, 0) == 200000, "default period 100 ms");

  uint8_t *mask = NULL;
  size_t n = 0;
  check(rt_cg_sd_cpu_mask("0-2,9", "f", &mask, &n, &err) == 0 && n == 2 && mask[0] == 0x07 && mask[1] == 0x02,
        "cpu list as a bitmask");
  free(mask);
  check(rt_cg_sd_cpu_mask("1-x", "linux.resources.cpu.cpus", &mask, &n, &err) == -1
            && strstr(err->msg, "linux.resources.cpu.cpus"),
        "a bad cpu list names the field");
  oci_error_free(err);
  err = NULL;

  struct oci_memory mem = { .has_limit = true, .limit = 64 << 20, .has_swap = true, .swap = 128 << 20 };
  struct oci_cpu cpu = { .has_shares = true,
                         .shares = 1024,
                         .has_quota = true,
                         .quota = 50000,
                         .has_period = true,
                         .period = 100000,
                         .cpus = (char *)"0" };
  struct oci_device_cgroup devs[] = { { .allow = false, .access = (char *)"rwm" } };
  struct oci_resources res = {
    .memory = &mem, .cpu = &cpu, .has_pids_limit = true, .pids_limit = 100, .devices = devs, .devices_len = 1
  };
  struct rt_sd_props p = { 0 };
  const struct rt_sd_prop *e;
  check(rt_cg_sd_resource_props(&res, true, 252, true, &p, &err) == 0, "resources as properties");
  check((e = rt_sd_props_find(&p, "MemoryMax")) && e->u == 64 << 20, "MemoryMax");
  check((e = rt_sd_props_find(&p, "MemorySwapMax")) && e->u == 64 << 20, "MemorySwapMax is swap - limit");
  check((e = rt_sd_props_find(&p, "CPUWeight")) && e->u == rt_cg_shares_to_weight(1024),
        "CPUWeight from shares");
  check((e = rt_sd_props_find(&p, "CPUQuotaPerSecUSec")) && e->u == 500000, "CPUQuotaPerSecUSec");
  check((e = rt_sd_props_find(&p, "AllowedCPUs")) && e->n == 1 && e->bytes[0] == 1, "AllowedCPUs");
  check((e = rt_sd_props_find(&p, "TasksMax")) && e->u == 100, "TasksMax");
  check((e = rt_sd_props_find(&p, "DevicePolicy")) && strcmp(e->s, "strict") == 0, "DevicePolicy strict");
  check((e = rt_sd_props_find(&p, "DeviceAllow")) && e->n >= 3 && strcmp(e->pairs[0].s, "char-*") == 0
            && strcmp(e->pairs[0].s2, "m") == 0,
        "DeviceAllow from the default allow list");
  rt_sd_props_clear(&p);
  check(rt_cg_sd_resource_props(&res, true, 243, false, &p, &err) == 0
            && !rt_sd_props_find(&p, "AllowedCPUs"),
        "no AllowedCPUs before systemd 244");
  rt_sd_props_clear(&p);
  struct oci_device_cgroup mixed[] = { { .allow = true,
                                         .type = (char *)"c",
                                         .has_major = true,
                                         .major = 1,
                                         .has_minor = true,
                                         .minor = 3,
                                         .access = (char *)"rw" },
                                       { .allow = false,
                                         .type = (char *)"c",
                                         .has_major = true,
                                         .major = 1,
                                         .has_minor = true,
                                         .minor = 3,
                                         .access = (char *)"w" } };
  struct oci_resources res2 = { .devices = mixed, .devices_len = 2 };
  check(rt_cg_sd_resource_props(&res2, true, 252, true, &p, &err) == 0
            && !rt_sd_props_find(&p, "DeviceAllow"),
        "a deny after an allow is left to the eBPF program");
  rt_sd_props_clear(&p);
}

int
main(void)
{
  test_mountinfo();
  test_proc_cgroup();
  test_paths();
  test_conversions();
  test_device_rules();
  test_oom_killed();
  test_systemd();
  return tap_done();
}
