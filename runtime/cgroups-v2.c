/* Cgroup v2 (unified hosts): one directory, controllers enabled in the
 * parents' cgroup.subtree_control for what the container asks, devices
 * through a BPF_PROG_TYPE_CGROUP_DEVICE program. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/bpf.h>

#include "cgroups-internal.h"
#include "log.h"
#include "namespaces.h"
#include "util.h"

/* ---- creating ---- */

static bool
memory_requested(const struct oci_memory *m)
{
  return m && (m->has_limit || m->has_reservation || m->has_swap);
}

static bool
cpu_requested(const struct oci_cpu *c)
{
  return c && (c->has_shares || c->has_quota || c->has_period || c->has_burst || c->has_idle);
}

static bool
cpuset_requested(const struct oci_cpu *c)
{
  return c && ((c->cpus && c->cpus[0]) || (c->mems && c->mems[0]));
}

static bool
io_requested(const struct oci_block_io *b)
{
  return b
         && (b->has_weight || b->weight_device_len || b->throttle_read_bps_device_len
             || b->throttle_write_bps_device_len || b->throttle_read_iops_device_len
             || b->throttle_write_iops_device_len);
}

static void
add_controller(char **list, const char *name)
{
  cleanup_free char *item = xasprintf("+%s", name);
  size_t len = strlen(item);

  for (const char *p = *list; (p = strstr(p, item)); p += len)
    if ((p == *list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
      return;
  char *n = xasprintf("%s%s%s", *list, **list ? " " : "", item);
  free(*list);
  *list = n;
}

char *
rt_cg_v2_needed_controllers(const struct oci_resources *res)
{
  char *list = xstrdup("");

  if (res == NULL)
    return list;
  if (cpu_requested(res->cpu))
    add_controller(&list, "cpu");
  if (cpuset_requested(res->cpu))
    add_controller(&list, "cpuset");
  if (memory_requested(res->memory))
    add_controller(&list, "memory");
  if (io_requested(res->block_io))
    add_controller(&list, "io");
  if (res->has_pids_limit)
    add_controller(&list, "pids");
  if (res->hugepage_limits_len)
    add_controller(&list, "hugetlb");
  if (res->rdma_len)
    add_controller(&list, "rdma");
  for (size_t i = 0; i < res->unified_len; i++)
    {
      const char *k = res->unified[i].key;
      const char *dot = k ? strchr(k, '.') : NULL;
      if (dot == NULL || dot == k || strchr(k, '/'))
        continue;
      cleanup_free char *ctrl = xstrndup(k, (size_t)(dot - k));
      if (strcmp(ctrl, "cgroup") != 0)
        add_controller(&list, ctrl);
    }
  return list;
}

/* Whether the space separated `list` holds `name`. */
static bool
word_in(const char *list, const char *name, size_t len)
{
  for (const char *p = list; *p;)
    {
      while (*p == ' ' || *p == '\n')
        p++;
      size_t w = strcspn(p, " \n");
      if (w == len && memcmp(p, name, len) == 0)
        return true;
      p += w;
    }
  return false;
}

/* Whether `dir` has processes of its own.  The kernel refuses domain
 * controllers below such a cgroup (EBUSY) but takes threaded ones (cpu,
 * cpuset, pids), which makes it a thread root: its new children are then no
 * valid domain, and joining them fails with EOPNOTSUPP.  So no controller is
 * enabled there at all.  The root is exempt from the rule. */
static bool
has_processes(const char *dir, bool root)
{
  cleanup_free char *procs = root ? NULL : rt_cg_read(dir, "cgroup.procs");

  return procs && procs[0];
}

/* Enable `controllers` ("+a +b") for the children of `dir`, writing only
 * those that are not enabled yet (an already set-up host sees no write). */
static int
enable_controllers(const struct rt_context *log, const char *dir, bool root, const char *controllers,
                   struct oci_error **err)
{
  cleanup_free char *avail = rt_cg_read(dir, "cgroup.controllers");
  cleanup_free char *enabled = rt_cg_read(dir, "cgroup.subtree_control");

  if (avail == NULL || enabled == NULL)
    return oci_error_errno(err, "reading the controllers of `%s`", dir);
  for (const char *p = controllers; *p;)
    {
      while (*p == ' ')
        p++;
      size_t w = strcspn(p, " ");
      if (w < 2)
        break;
      const char *name = p + 1;
      size_t len = w - 1;
      p += w;
      if (word_in(enabled, name, len))
        continue;
      if (!word_in(avail, name, len))
        return oci_error_set(err, 0, "not supported: the `%.*s` controller is not available in `%s`",
                             (int)len, name, dir);
      if (has_processes(dir, root))
        return oci_error_set(err, EBUSY,
                             "cannot enable the `%.*s` controller below `%s`: it has processes of its "
                             "own and cgroup v2 enables controllers only for cgroups without them",
                             (int)len, name, dir);
      cleanup_free char *item = xasprintf("+%.*s", (int)len, name);
      if (rt_cg_write(log, dir, "cgroup.subtree_control", item, err) < 0)
        {
          if ((*err)->status == EBUSY)
            return oci_error_wrap(err,
                                  "cannot enable the `%.*s` controller below `%s`: it has processes of its "
                                  "own and cgroup v2 enables controllers only for cgroups without them",
                                  (int)len, name, dir);
          return oci_error_wrap(err, "cannot enable the `%.*s` controller below `%s`", (int)len, name, dir);
        }
    }
  return 0;
}

/* Enable, where the kernel lets us, every other controller `dir` offers
 * its children, as runc does: a container made without a limit can then
 * get one through `update`, and `events --stats` reads its usage.  A parent
 * with processes of its own (the caller's cgroup, for a relative path)
 * refuses them all; that is no error here. */
static void
enable_available(const struct rt_context *log, const char *dir, bool root)
{
  if (has_processes(dir, root))
    return;

  cleanup_free char *avail = rt_cg_read(dir, "cgroup.controllers");
  cleanup_free char *enabled = rt_cg_read(dir, "cgroup.subtree_control");

  if (avail == NULL || enabled == NULL)
    return;
  for (const char *p = avail; *p;)
    {
      while (*p == ' ')
        p++;
      size_t len = strcspn(p, " ");
      if (len == 0)
        break;
      if (!word_in(enabled, p, len))
        {
          cleanup_free char *item = xasprintf("+%.*s", (int)len, p);
          struct oci_error *ignored = NULL;
          if (rt_cg_write(log, dir, "cgroup.subtree_control", item, &ignored) < 0 && ignored->status == EBUSY)
            len = strlen(p); /* processes in `dir`: every other write fails alike */
          oci_error_free(ignored);
        }
      p += len;
    }
}

int
rt_cg_v2_create_dir(const struct rt_context *log, const struct rt_cg_hier *h, const char *controllers,
                    struct oci_error **err)
{
  size_t base = strlen(h->m.mount_point);
  cleanup_free char *path = xstrdup(h->dir);

  for (char *p = path + base; p && *p;)
    {
      char *next = strchr(p + 1, '/');
      /* Enable in the parent of the level about to be made: what the
       * limits need, or fail naming it; then the rest where allowed. */
      *p = '\0';
      bool root = p == path + base && strcmp(h->m.root, "/") == 0;
      int r = controllers[0] ? enable_controllers(log, path, root, controllers, err) : 0;
      if (r == 0)
        enable_available(log, path, root);
      *p = '/';
      if (r < 0)
        return -1;
      if (next)
        *next = '\0';
      if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return oci_error_errno(err, "creating `%s`", path);
      if (next)
        *next = '/';
      p = next;
    }
  return 0;
}

/* ---- resources ---- */

static int
write_max(const struct rt_context *log, const char *dir, const char *file, int64_t v, struct oci_error **err)
{
  if (v < 0)
    return rt_cg_write(log, dir, file, "max", err);
  return rt_cg_writef(log, dir, file, err, "%" PRId64, v);
}

static int
v2_memory(const struct rt_context *log, const char *dir, const struct oci_memory *m, struct oci_error **err)
{
  int64_t limit = m->has_limit ? m->limit : 0;
  int64_t swap = 0;

  if (rt_cg_swap_to_v2(m->has_swap ? m->swap : 0, limit, &swap, err) < 0)
    return -1;
  if (m->has_check_before_update && m->check_before_update && limit > 0)
    {
      cleanup_free char *cur = rt_cg_read(dir, "memory.current");
      if (cur && strtoull(cur, NULL, 10) > (uint64_t)limit)
        return oci_error_set(err, 0,
                             "linux.resources.memory.limit %" PRId64 " is below the current usage %s "
                             "(checkBeforeUpdate)",
                             limit, cur);
    }
  if (swap != 0)
    {
      if (!rt_cg_exists(dir, "memory.swap.max"))
        return oci_error_set(err, 0,
                             "not supported: linux.resources.memory.swap (no memory.swap.max: swap "
                             "accounting is off)");
      if (write_max(log, dir, "memory.swap.max", swap, err) < 0)
        return -1;
    }
  if (limit != 0 && write_max(log, dir, "memory.max", limit, err) < 0)
    return -1;
  if (m->has_reservation && m->reservation != 0 && write_max(log, dir, "memory.low", m->reservation, err) < 0)
    return -1;
  /* kernel, kernelTCP, swappiness, disableOOMKiller and useHierarchy have no
   * v2 counterpart; runc ignores them there too. */
  return 0;
}

static int
v2_cpu(const struct rt_context *log, const char *dir, const struct oci_cpu *c, struct oci_error **err)
{
  if ((c->has_realtime_runtime && c->realtime_runtime != 0)
      || (c->has_realtime_period && c->realtime_period != 0))
    return oci_error_set(err, 0,
                         "not supported: linux.resources.cpu.realtimeRuntime/realtimePeriod on cgroup v2");
  if (c->has_shares && c->shares != 0
      && rt_cg_writef(log, dir, "cpu.weight", err, "%" PRIu64, rt_cg_shares_to_weight(c->shares)) < 0)
    return -1;
  if ((c->has_quota && c->quota != 0) || (c->has_period && c->period != 0))
    {
      char quota[24] = "max";
      if (c->has_quota && c->quota > 0)
        snprintf(quota, sizeof quota, "%" PRId64, c->quota);
      int r = c->has_period && c->period != 0
                  ? rt_cg_writef(log, dir, "cpu.max", err, "%s %" PRIu64, quota, c->period)
                  : rt_cg_write(log, dir, "cpu.max", quota, err);
      if (r < 0)
        return -1;
    }
  if (c->has_burst && rt_cg_writef(log, dir, "cpu.max.burst", err, "%" PRIu64, c->burst) < 0)
    return -1;
  if (c->has_idle && rt_cg_writef(log, dir, "cpu.idle", err, "%" PRId64, c->idle) < 0)
    return -1;
  if (c->cpus && c->cpus[0] && rt_cg_write(log, dir, "cpuset.cpus", c->cpus, err) < 0)
    return -1;
  if (c->mems && c->mems[0] && rt_cg_write(log, dir, "cpuset.mems", c->mems, err) < 0)
    return -1;
  return 0;
}

static int
write_io_max(const struct rt_context *log, const char *dir, const char *key,
             const struct oci_throttle_device *d, size_t n, struct oci_error **err)
{
  for (size_t i = 0; i < n; i++)
    {
      int r = d[i].rate == 0 ? rt_cg_writef(log, dir, "io.max", err, "%" PRId64 ":%" PRId64 " %s=max",
                                            d[i].major, d[i].minor, key)
                             : rt_cg_writef(log, dir, "io.max", err, "%" PRId64 ":%" PRId64 " %s=%" PRIu64,
                                            d[i].major, d[i].minor, key, d[i].rate);
      if (r < 0)
        return -1;
    }
  return 0;
}

static int
v2_io(const struct rt_context *log, const char *dir, const struct oci_block_io *b, struct oci_error **err)
{
  /* BFQ takes the v1 weight range as is; io.weight needs converting. */
  bool bfq = rt_cg_exists(dir, "io.bfq.weight");

  if (b->has_leaf_weight && b->leaf_weight != 0)
    return oci_error_set(err, 0, "not supported: linux.resources.blockIO.leafWeight on cgroup v2");
  if (b->has_weight && b->weight != 0)
    {
      int r = bfq ? rt_cg_writef(log, dir, "io.bfq.weight", err, "%u", (unsigned)b->weight)
                  : rt_cg_writef(log, dir, "io.weight", err, "default %" PRIu64,
                                 rt_cg_blkio_to_io_weight(b->weight));
      if (r < 0)
        return -1;
    }
  for (size_t i = 0; i < b->weight_device_len; i++)
    {
      const struct oci_weight_device *d = &b->weight_device[i];
      if (d->has_leaf_weight)
        return oci_error_set(
            err, 0, "not supported: linux.resources.blockIO.weightDevice[%zu].leafWeight on cgroup v2", i);
      if (!d->has_weight)
        continue;
      int r = bfq ? rt_cg_writef(log, dir, "io.bfq.weight", err, "%" PRId64 ":%" PRId64 " %u", d->major,
                                 d->minor, (unsigned)d->weight)
                  : rt_cg_writef(log, dir, "io.weight", err, "%" PRId64 ":%" PRId64 " %" PRIu64, d->major,
                                 d->minor, rt_cg_blkio_to_io_weight(d->weight));
      if (r < 0)
        return -1;
    }
  if (write_io_max(log, dir, "rbps", b->throttle_read_bps_device, b->throttle_read_bps_device_len, err) < 0
      || write_io_max(log, dir, "wbps", b->throttle_write_bps_device, b->throttle_write_bps_device_len, err)
             < 0
      || write_io_max(log, dir, "riops", b->throttle_read_iops_device, b->throttle_read_iops_device_len, err)
             < 0
      || write_io_max(log, dir, "wiops", b->throttle_write_iops_device, b->throttle_write_iops_device_len,
                      err)
             < 0)
    return -1;
  return 0;
}

static int
v2_misc(const struct rt_context *log, const char *dir, const struct oci_resources *res,
        struct oci_error **err)
{
  for (size_t i = 0; i < res->hugepage_limits_len; i++)
    {
      const struct oci_hugepage_limit *l = &res->hugepage_limits[i];
      cleanup_free char *file = xasprintf("hugetlb.%s.max", l->page_size ? l->page_size : "");
      if (l->page_size == NULL || strchr(l->page_size, '/') || !rt_cg_exists(dir, file))
        return oci_error_set(err, 0, "not supported: linux.resources.hugepageLimits[%zu].pageSize `%s`", i,
                             l->page_size ? l->page_size : "");
      if (rt_cg_writef(log, dir, file, err, "%" PRIu64, l->limit) < 0)
        return -1;
    }
  for (size_t i = 0; i < res->rdma_len; i++)
    {
      const struct oci_rdma *r = &res->rdma[i];
      char handles[16] = "max", objects[16] = "max";
      if (r->has_hca_handles)
        snprintf(handles, sizeof handles, "%" PRIu32, r->hca_handles);
      if (r->has_hca_objects)
        snprintf(objects, sizeof objects, "%" PRIu32, r->hca_objects);
      if (rt_cg_writef(log, dir, "rdma.max", err, "%s hca_handle=%s hca_object=%s", r->device, handles,
                       objects)
          < 0)
        return -1;
    }
  if (res->network && (res->network->has_class_id || res->network->priorities_len))
    return oci_error_set(err, 0, "not supported: linux.resources.network on cgroup v2 (no net_cls/net_prio)");
  return 0;
}

static int
v2_unified(const struct rt_context *log, const char *dir, const struct oci_kv *kv, size_t n,
           struct oci_error **err)
{
  for (size_t i = 0; i < n; i++)
    {
      const char *k = kv[i].key;
      if (k == NULL || k[0] == '\0' || k[0] == '.' || strchr(k, '/'))
        return oci_error_set(err, 0, "linux.resources.unified: `%s` is not a cgroup file name", k ? k : "");
      if (rt_cg_write(log, dir, k, kv[i].value ? kv[i].value : "", err) < 0)
        return oci_error_wrap(err, "linux.resources.unified[\"%s\"]", k);
    }
  return 0;
}

int
rt_cg_v2_apply(const struct rt_cgroup *cg, const struct rt_cg_hier *h, const struct oci_resources *res,
               struct oci_error **err)
{
  const struct rt_context *log = cg->log;
  const char *dir = h->dir;

  /* Loading a device program takes privileges a rootless runtime lacks
   * (even with a delegated subtree); runc skips the filter there too. */
  bool rootless = log && log->rootless;

  if (rootless && (cg->created || res->devices_len > 0))
    rt_debug(log, "cgroup: no device filter (rootless)");
  else if (cg->created || res->devices_len > 0)
    {
      cleanup_free struct rt_cg_dev_rule *rules = NULL;
      size_t n = 0;
      if (rt_cg_device_rules(res->devices, res->devices_len, &rules, &n, err) < 0)
        return -1;
      if (log)
        rt_debug(log, "cgroup: attaching a device filter (eBPF) of %zu rules to %s", n, dir);
      if (rt_cg_v2_devices(dir, rules, n, err) < 0)
        {
          /* uid 0 of a user namespace (rootless podman with the systemd
           * driver: not rootless by runc's rule) may not load a program
           * either; runc ignores the error there too. */
          if (!rt_ns_in_user_namespace())
            return -1;
          if (log)
            rt_debug(log, "cgroup: no device filter in a user namespace: %s", (*err)->msg);
          oci_error_free(*err);
          *err = NULL;
        }
    }
  if (memory_requested(res->memory) && v2_memory(log, dir, res->memory, err) < 0)
    return -1;
  if (res->cpu && v2_cpu(log, dir, res->cpu, err) < 0)
    return -1;
  if (res->has_pids_limit
      && write_max(log, dir, "pids.max", res->pids_limit > 0 ? res->pids_limit : -1, err) < 0)
    return -1;
  if (io_requested(res->block_io) || (res->block_io && res->block_io->has_leaf_weight))
    if (v2_io(log, dir, res->block_io, err) < 0)
      return -1;
  if (v2_misc(log, dir, res, err) < 0)
    return -1;
  /* Last, so that raw values win over the converted ones (as in runc). */
  return v2_unified(log, dir, res->unified, res->unified_len, err);
}

/* ---- freezer ---- */

int
rt_cg_v2_freeze(const struct rt_context *log, const struct rt_cg_hier *h, bool frozen, struct oci_error **err)
{
  const char *want = frozen ? "frozen 1" : "frozen 0";

  if (!rt_cg_exists(h->dir, "cgroup.freeze"))
    return oci_error_set(err, 0, "not supported: %s (no cgroup.freeze: the kernel predates 5.2)",
                         frozen ? "pause" : "resume");
  if (rt_cg_write(log, h->dir, "cgroup.freeze", frozen ? "1" : "0", err) < 0)
    return -1;
  for (unsigned attempt = 0; attempt < 60; attempt++)
    {
      cleanup_free char *events = rt_cg_read(h->dir, "cgroup.events");
      if (events == NULL)
        return oci_error_errno(err, "reading `cgroup.events`");
      for (char *l = events; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, want, strlen(want)) == 0 && (l[strlen(want)] == '\n' || l[strlen(want)] == '\0'))
          return 0;
      rt_cg_backoff(attempt);
    }
  if (frozen)
    {
      struct oci_error *ignored = NULL;
      rt_cg_write(log, h->dir, "cgroup.freeze", "0", &ignored);
      oci_error_free(ignored);
    }
  return oci_error_set(err, 0, "`cgroup.events` did not report %s", want);
}

/* ---- devices: an eBPF program (cgroup v2 has no devices files) ---- */

static struct bpf_insn
insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
  return (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
}

static int32_t
access_mask(const char *access)
{
  int32_t m = 0;
  for (const char *c = access; *c; c++)
    m |= *c == 'r' ? BPF_DEVCG_ACC_READ : *c == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
  return m;
}

int
rt_cg_v2_device_prog(const struct rt_cg_dev_rule *rules, size_t n, void **out, struct oci_error **err)
{
  /* 6 prologue + at most 8 per rule + 2 epilogue. */
  size_t cap = 6 + 8 * n + 2, k = 0;
  cleanup_free struct bpf_insn *p = xcalloc(cap, sizeof *p);
  const int32_t all = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

  if (n > 4096)
    return oci_error_set(err, 0, "linux.resources.devices: too many rules (%zu)", n);

  /* struct bpf_cgroup_dev_ctx: access_type = access << 16 | type, major, minor. */
  p[k++] = insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0);
  p[k++] = insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);
  p[k++] = insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, 0, 0);
  p[k++] = insn(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
  p[k++] = insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 4, 0);
  p[k++] = insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 8, 0);

  /* As with v1's devices files, a later rule overrides an earlier one:
   * test from the last rule back and let the first match decide. */
  for (size_t i = n; i-- > 0;)
    {
      const struct rt_cg_dev_rule *r = &rules[i];
      int32_t mask = access_mask(r->access);
      size_t len = 2 + (r->type != 'a') + (mask != all ? 3 : 0) + (r->major >= 0) + (r->minor >= 0);
      size_t start = k;
#define SKIP ((int16_t)(len - (k - start) - 1))
      if (r->type != 'a')
        {
          p[k] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0,
                      r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
          p[k].off = SKIP;
          k++;
        }
      if (mask != all)
        {
          /* Match only when every requested access is in the rule. */
          p[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
          p[k++] = insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, mask);
          p[k] = insn(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
          p[k].off = SKIP;
          k++;
        }
      if (r->major >= 0)
        {
          p[k] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int32_t)r->major);
          p[k].off = SKIP;
          k++;
        }
      if (r->minor >= 0)
        {
          p[k] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int32_t)r->minor);
          p[k].off = SKIP;
          k++;
        }
#undef SKIP
      p[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r->allow ? 1 : 0);
      p[k++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
      /* A rule matching everything decides alone: what precedes it is
       * unreachable, and the verifier refuses unreachable code. */
      if (len == 2)
        {
          *out = steal_pointer(&p);
          return (int)k;
        }
    }
  /* Nothing matched: deny. */
  p[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
  p[k++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  *out = steal_pointer(&p);
  return (int)k;
}

static long
sys_bpf(int cmd, union bpf_attr *attr)
{
  return syscall(__NR_bpf, cmd, attr, sizeof *attr);
}

int
rt_cg_v2_devices(const char *dir, const struct rt_cg_dev_rule *rules, size_t n, struct oci_error **err)
{
  cleanup_free struct bpf_insn *prog = NULL;
  int count = rt_cg_v2_device_prog(rules, n, (void **)&prog, err);
  cleanup_close int dirfd = -1, prog_fd = -1;
  union bpf_attr attr;
  uint32_t old_ids[64];
  uint32_t old_n = OCI_ARRAY_SIZE(old_ids);

  if (count < 0)
    return -1;
  dirfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (dirfd < 0)
    return oci_error_errno(err, "opening `%s`", dir);

  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t)(uintptr_t)prog;
  attr.insn_cnt = (uint32_t)count;
  attr.license = (uint64_t)(uintptr_t) "Apache";
  prog_fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
  if (prog_fd < 0)
    {
      int saved = errno;
      /* Load again with the verifier's log, only to explain the failure. */
      char log[4096] = "";
      attr.log_buf = (uint64_t)(uintptr_t)log;
      attr.log_size = sizeof log;
      attr.log_level = 1;
      sys_bpf(BPF_PROG_LOAD, &attr);
      log[sizeof log - 1] = '\0';
      /* The first line names the offending instruction. */
      log[strcspn(log, "\n")] = '\0';
      return oci_error_set(err, saved, "loading the device eBPF program (%d instructions)%s%s", count,
                           log[0] ? ": verifier: " : "", log);
    }

  /* Programs already attached (an update): replaced below, after the new
   * one is in, so that there is never a moment without one. */
  memset(&attr, 0, sizeof attr);
  attr.query.target_fd = (uint32_t)dirfd;
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = (uint64_t)(uintptr_t)old_ids;
  attr.query.prog_cnt = old_n;
  if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
    return oci_error_errno(err, "querying the device eBPF programs of `%s`", dir);
  old_n = attr.query.prog_cnt;

  memset(&attr, 0, sizeof attr);
  attr.target_fd = (uint32_t)dirfd;
  attr.attach_bpf_fd = (uint32_t)prog_fd;
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
    return oci_error_errno(err, "attaching the device eBPF program to `%s`", dir);

  for (uint32_t i = 0; i < old_n && i < OCI_ARRAY_SIZE(old_ids); i++)
    {
      memset(&attr, 0, sizeof attr);
      attr.prog_id = old_ids[i];
      cleanup_close int old_fd = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
      if (old_fd < 0)
        continue; /* gone already */
      memset(&attr, 0, sizeof attr);
      attr.target_fd = (uint32_t)dirfd;
      attr.attach_bpf_fd = (uint32_t)old_fd;
      attr.attach_type = BPF_CGROUP_DEVICE;
      if (sys_bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
        return oci_error_errno(err, "detaching the old device eBPF program from `%s`", dir);
    }
  return 0;
}
