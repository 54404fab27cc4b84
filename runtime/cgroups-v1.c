/* Cgroup v1 (legacy and hybrid hosts): one directory per hierarchy,
 * resources written to the controller that owns them. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroups-internal.h"
#include "log.h"
#include "util.h"

static const struct rt_cg_hier *
find_v1(const struct rt_cgroup *cg, const char *controller)
{
  for (size_t i = 0; i < cg->n; i++)
    if (!cg->h[i].m.v2 && rt_cg_options_have(cg->h[i].m.options, controller))
      return &cg->h[i];
  return NULL;
}

static int
missing(const char *what, const char *controller, struct oci_error **err)
{
  return oci_error_set(err, 0, "not supported: %s (no `%s` cgroup controller is mounted)", what, controller);
}

/* A new cpuset cgroup starts with no cpus and no mems, and attaching a task
 * to it then fails with ENOSPC: inherit the parent's. */
static int
cpuset_inherit(const struct rt_context *log, const char *dir, struct oci_error **err)
{
  static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
  cleanup_free char *parent = xstrdup(dir);
  char *slash = strrchr(parent, '/');

  if (slash == NULL)
    return 0;
  *slash = '\0';
  for (size_t i = 0; i < OCI_ARRAY_SIZE(files); i++)
    {
      cleanup_free char *cur = rt_cg_read(dir, files[i]);
      if (cur == NULL)
        return oci_error_errno(err, "reading `%s/%s`", dir, files[i]);
      if (cur[0] != '\0')
        continue;
      cleanup_free char *val = rt_cg_read(parent, files[i]);
      if (val == NULL)
        return oci_error_errno(err, "reading `%s/%s`", parent, files[i]);
      if (rt_cg_write(log, dir, files[i], val, err) < 0)
        return -1;
    }
  return 0;
}

int
rt_cg_v1_create_dir(const struct rt_context *log, const struct rt_cg_hier *h, struct oci_error **err)
{
  bool cpuset = rt_cg_options_have(h->m.options, "cpuset");
  size_t base = strlen(h->m.mount_point);
  cleanup_free char *path = xstrdup(h->dir);

  /* mkdir -p below the mount point, fixing up each new cpuset level. */
  for (char *p = path + base; p && *p;)
    {
      char *next = strchr(p + 1, '/');
      if (next)
        *next = '\0';
      bool made = mkdir(path, 0755) == 0;
      if (!made && errno != EEXIST)
        return oci_error_errno(err, "creating `%s`", path);
      if (cpuset && (made || next == NULL) && cpuset_inherit(log, path, err) < 0)
        return -1;
      if (next)
        *next = '/';
      p = next;
    }
  return 0;
}

/* ---- memory ---- */

static int
write_i64(const struct rt_context *log, const char *dir, const char *file, int64_t v, struct oci_error **err)
{
  return rt_cg_writef(log, dir, file, err, "%" PRId64, v);
}

/* The kernel refuses a limit below what it can reclaim down to (EBUSY):
 * say what the usage is, as runc does, so that the user can pick a limit. */
static int
limit_below_usage(const char *dir, int64_t limit, struct oci_error **err)
{
  cleanup_free char *usage = NULL, *peak = NULL;

  if ((*err)->status != EBUSY)
    return -1;
  usage = rt_cg_read(dir, "memory.usage_in_bytes");
  peak = rt_cg_read(dir, "memory.max_usage_in_bytes");
  oci_error_free(*err);
  *err = NULL;
  return oci_error_set(err, EBUSY,
                       "linux.resources.memory.limit: unable to set memory limit to %" PRId64
                       " (current usage: %s, peak usage: %s)",
                       limit, usage ? usage : "unknown", peak ? peak : "unknown");
}

static int
v1_memory(const struct rt_cgroup *cg, const struct oci_memory *m, struct oci_error **err)
{
  const struct rt_context *log = cg->log;
  const struct rt_cg_hier *h = find_v1(cg, "memory");
  int64_t limit = m->has_limit ? m->limit : 0;
  int64_t swap = m->has_swap ? m->swap : 0;

  if (h == NULL)
    return missing("linux.resources.memory", "memory", err);
  const char *dir = h->dir;

  /* memory.swap is memory+swap here (memsw), exactly the v1 file. */
  bool have_memsw = rt_cg_exists(dir, "memory.memsw.limit_in_bytes");
  if (limit == -1 && swap == 0 && have_memsw)
    swap = -1;
  if (swap != 0 && !have_memsw)
    return oci_error_set(err, 0,
                         "not supported: linux.resources.memory.swap (no memory.memsw.limit_in_bytes: swap "
                         "accounting is off)");

  /* The kernel keeps limit <= memsw at every step, so the order of the two
   * writes depends on whether the limits grow or shrink. */
  bool swap_first = false;
  if (limit != 0 && swap != 0)
    {
      cleanup_free char *cur = rt_cg_read(dir, "memory.memsw.limit_in_bytes");
      if (cur == NULL)
        return oci_error_errno(err, "reading `memory.memsw.limit_in_bytes`");
      swap_first = swap == -1 || strtoull(cur, NULL, 10) < (uint64_t)swap;
    }
  if (swap_first && write_i64(log, dir, "memory.memsw.limit_in_bytes", swap, err) < 0)
    return -1;
  if (limit != 0 && write_i64(log, dir, "memory.limit_in_bytes", limit, err) < 0)
    return limit_below_usage(dir, limit, err);
  if (!swap_first && swap != 0 && write_i64(log, dir, "memory.memsw.limit_in_bytes", swap, err) < 0)
    return -1;

  if (m->has_reservation && write_i64(log, dir, "memory.soft_limit_in_bytes", m->reservation, err) < 0)
    return -1;
  /* Kernel memory limits are deprecated by the spec and ignored by the
   * kernel since 5.16 (and by runc); write them only where the file exists. */
  if (m->has_kernel && m->kernel != 0 && rt_cg_exists(dir, "memory.kmem.limit_in_bytes")
      && write_i64(log, dir, "memory.kmem.limit_in_bytes", m->kernel, err) < 0)
    return -1;
  if (m->has_kernel_tcp && m->kernel_tcp != 0)
    {
      if (!rt_cg_exists(dir, "memory.kmem.tcp.limit_in_bytes"))
        return oci_error_set(
            err, 0, "not supported: linux.resources.memory.kernelTCP (no memory.kmem.tcp.limit_in_bytes)");
      if (write_i64(log, dir, "memory.kmem.tcp.limit_in_bytes", m->kernel_tcp, err) < 0)
        return -1;
    }
  if (m->has_swappiness)
    {
      if (m->swappiness > 100)
        return oci_error_set(err, 0, "linux.resources.memory.swappiness: %" PRIu64 " is not in 0..100",
                             m->swappiness);
      if (rt_cg_writef(log, dir, "memory.swappiness", err, "%" PRIu64, m->swappiness) < 0)
        return -1;
    }
  if (m->has_disable_oom_killer && m->disable_oom_killer
      && rt_cg_write(log, dir, "memory.oom_control", "1", err) < 0)
    return -1;
  if (m->has_use_hierarchy
      && rt_cg_write(log, dir, "memory.use_hierarchy", m->use_hierarchy ? "1" : "0", err) < 0)
    return -1;
  return 0;
}

/* ---- cpu, cpuset ---- */

static int
v1_cpu(const struct rt_cgroup *cg, const struct oci_cpu *c, struct oci_error **err)
{
  const struct rt_context *log = cg->log;
  bool want_cpu = c->has_shares || c->has_quota || c->has_period || c->has_burst || c->has_realtime_runtime
                  || c->has_realtime_period || c->has_idle;
  bool want_cpuset = (c->cpus && c->cpus[0]) || (c->mems && c->mems[0]);

  if (want_cpu)
    {
      const struct rt_cg_hier *h = find_v1(cg, "cpu");
      if (h == NULL)
        return missing("linux.resources.cpu", "cpu", err);
      const char *dir = h->dir;

      if (c->has_shares && c->shares != 0
          && rt_cg_writef(log, dir, "cpu.shares", err, "%" PRIu64, c->shares) < 0)
        return -1;
      if (c->has_period && c->period != 0)
        {
          struct oci_error *e = NULL;
          /* A shorter period can exceed the parent's quota until the new
           * quota is in: then write the quota first. */
          if (rt_cg_writef(log, dir, "cpu.cfs_period_us", &e, "%" PRIu64, c->period) < 0)
            {
              if (e->status != EINVAL || !c->has_quota)
                {
                  *err = e;
                  return -1;
                }
              oci_error_free(e);
              if (write_i64(log, dir, "cpu.cfs_quota_us", c->quota, err) < 0
                  || rt_cg_writef(log, dir, "cpu.cfs_period_us", err, "%" PRIu64, c->period) < 0)
                return -1;
            }
        }
      if (c->has_quota && c->quota != 0 && write_i64(log, dir, "cpu.cfs_quota_us", c->quota, err) < 0)
        return -1;
      if (c->has_burst)
        {
          if (!rt_cg_exists(dir, "cpu.cfs_burst_us"))
            return oci_error_set(err, 0, "not supported: linux.resources.cpu.burst (no cpu.cfs_burst_us)");
          if (rt_cg_writef(log, dir, "cpu.cfs_burst_us", err, "%" PRIu64, c->burst) < 0)
            return -1;
        }
      if (c->has_realtime_period && c->realtime_period != 0
          && rt_cg_writef(log, dir, "cpu.rt_period_us", err, "%" PRIu64, c->realtime_period) < 0)
        return -1;
      if (c->has_realtime_runtime && c->realtime_runtime != 0
          && write_i64(log, dir, "cpu.rt_runtime_us", c->realtime_runtime, err) < 0)
        return -1;
      if (c->has_idle)
        {
          if (!rt_cg_exists(dir, "cpu.idle"))
            return oci_error_set(err, 0, "not supported: linux.resources.cpu.idle (no cpu.idle)");
          if (write_i64(log, dir, "cpu.idle", c->idle, err) < 0)
            return -1;
        }
    }

  if (want_cpuset)
    {
      const struct rt_cg_hier *h = find_v1(cg, "cpuset");
      if (h == NULL)
        return missing("linux.resources.cpu.cpus/mems", "cpuset", err);
      if (c->cpus && c->cpus[0] && rt_cg_write(log, h->dir, "cpuset.cpus", c->cpus, err) < 0)
        return -1;
      if (c->mems && c->mems[0] && rt_cg_write(log, h->dir, "cpuset.mems", c->mems, err) < 0)
        return -1;
    }
  return 0;
}

/* ---- block I/O ---- */

static int
write_throttle(const struct rt_context *log, const char *dir, const char *file,
               const struct oci_throttle_device *d, size_t n, struct oci_error **err)
{
  for (size_t i = 0; i < n; i++)
    if (rt_cg_writef(log, dir, file, err, "%" PRId64 ":%" PRId64 " %" PRIu64, d[i].major, d[i].minor,
                     d[i].rate)
        < 0)
      return -1;
  return 0;
}

static int
v1_blkio(const struct rt_cgroup *cg, const struct oci_block_io *b, struct oci_error **err)
{
  const struct rt_context *log = cg->log;
  const struct rt_cg_hier *h = find_v1(cg, "blkio");

  if (h == NULL)
    return missing("linux.resources.blockIO", "blkio", err);
  const char *dir = h->dir;
  /* With BFQ as the only proportional scheduler (CFQ is gone), the weight
   * files carry a bfq. prefix. */
  bool plain = rt_cg_exists(dir, "blkio.weight");
  const char *weight = plain ? "blkio.weight" : "blkio.bfq.weight";
  const char *weight_dev = plain ? "blkio.weight_device" : "blkio.bfq.weight_device";

  if (b->has_weight && b->weight != 0 && rt_cg_writef(log, dir, weight, err, "%u", (unsigned)b->weight) < 0)
    return -1;
  if (b->has_leaf_weight && b->leaf_weight != 0)
    {
      if (!rt_cg_exists(dir, "blkio.leaf_weight"))
        return oci_error_set(err, 0,
                             "not supported: linux.resources.blockIO.leafWeight (no blkio.leaf_weight)");
      if (rt_cg_writef(log, dir, "blkio.leaf_weight", err, "%u", (unsigned)b->leaf_weight) < 0)
        return -1;
    }
  for (size_t i = 0; i < b->weight_device_len; i++)
    {
      const struct oci_weight_device *d = &b->weight_device[i];
      if (d->has_weight
          && rt_cg_writef(log, dir, weight_dev, err, "%" PRId64 ":%" PRId64 " %u", d->major, d->minor,
                          (unsigned)d->weight)
                 < 0)
        return -1;
      if (d->has_leaf_weight)
        {
          if (!rt_cg_exists(dir, "blkio.leaf_weight_device"))
            return oci_error_set(err, 0,
                                 "not supported: linux.resources.blockIO.weightDevice[].leafWeight (no "
                                 "blkio.leaf_weight_device)");
          if (rt_cg_writef(log, dir, "blkio.leaf_weight_device", err, "%" PRId64 ":%" PRId64 " %u", d->major,
                           d->minor, (unsigned)d->leaf_weight)
              < 0)
            return -1;
        }
    }
  if (write_throttle(log, dir, "blkio.throttle.read_bps_device", b->throttle_read_bps_device,
                     b->throttle_read_bps_device_len, err)
          < 0
      || write_throttle(log, dir, "blkio.throttle.write_bps_device", b->throttle_write_bps_device,
                        b->throttle_write_bps_device_len, err)
             < 0
      || write_throttle(log, dir, "blkio.throttle.read_iops_device", b->throttle_read_iops_device,
                        b->throttle_read_iops_device_len, err)
             < 0
      || write_throttle(log, dir, "blkio.throttle.write_iops_device", b->throttle_write_iops_device,
                        b->throttle_write_iops_device_len, err)
             < 0)
    return -1;
  return 0;
}

/* ---- the rest ---- */

static int
v1_hugetlb(const struct rt_cgroup *cg, const struct oci_resources *res, struct oci_error **err)
{
  const struct rt_context *log = cg->log;
  const struct rt_cg_hier *h = find_v1(cg, "hugetlb");

  if (h == NULL)
    return missing("linux.resources.hugepageLimits", "hugetlb", err);
  for (size_t i = 0; i < res->hugepage_limits_len; i++)
    {
      const struct oci_hugepage_limit *l = &res->hugepage_limits[i];
      cleanup_free char *file = xasprintf("hugetlb.%s.limit_in_bytes", l->page_size ? l->page_size : "");
      if (l->page_size == NULL || strchr(l->page_size, '/') || !rt_cg_exists(h->dir, file))
        return oci_error_set(err, 0, "not supported: linux.resources.hugepageLimits[%zu].pageSize `%s`", i,
                             l->page_size ? l->page_size : "");
      if (rt_cg_writef(log, h->dir, file, err, "%" PRIu64, l->limit) < 0)
        return -1;
    }
  return 0;
}

static int
v1_network(const struct rt_cgroup *cg, const struct oci_network *n, struct oci_error **err)
{
  const struct rt_context *log = cg->log;
  if (n->has_class_id)
    {
      const struct rt_cg_hier *h = find_v1(cg, "net_cls");
      if (h == NULL)
        return missing("linux.resources.network.classID", "net_cls", err);
      if (rt_cg_writef(log, h->dir, "net_cls.classid", err, "%" PRIu32, n->class_id) < 0)
        return -1;
    }
  if (n->priorities_len > 0)
    {
      const struct rt_cg_hier *h = find_v1(cg, "net_prio");
      if (h == NULL)
        return missing("linux.resources.network.priorities", "net_prio", err);
      for (size_t i = 0; i < n->priorities_len; i++)
        if (rt_cg_writef(log, h->dir, "net_prio.ifpriomap", err, "%s %" PRIu32, n->priorities[i].name,
                         n->priorities[i].priority)
            < 0)
          return -1;
    }
  return 0;
}

static int
write_rdma(const struct rt_context *log, const char *dir, const struct oci_rdma *r, size_t n,
           struct oci_error **err)
{
  for (size_t i = 0; i < n; i++)
    {
      char handles[16] = "max", objects[16] = "max";
      if (r[i].has_hca_handles)
        snprintf(handles, sizeof handles, "%" PRIu32, r[i].hca_handles);
      if (r[i].has_hca_objects)
        snprintf(objects, sizeof objects, "%" PRIu32, r[i].hca_objects);
      if (rt_cg_writef(log, dir, "rdma.max", err, "%s hca_handle=%s hca_object=%s", r[i].device, handles,
                       objects)
          < 0)
        return -1;
    }
  return 0;
}

static int
write_rule(const struct rt_context *log, int fd, const char *file, const char *rule, struct oci_error **err)
{
  ssize_t r;

  if (log)
    rt_debug(log, "cgroup: writing \"%s\" to %s", rule, file);
  do
    r = write(fd, rule, strlen(rule));
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return oci_error_errno(err, "writing `%s` = %s", file, rule);
  return 0;
}

static int
v1_devices(const struct rt_cgroup *cg, const struct oci_resources *res, struct oci_error **err)
{
  const struct rt_context *log = cg->log;
  const struct rt_cg_hier *h = find_v1(cg, "devices");
  cleanup_free struct rt_cg_dev_rule *rules = NULL;
  size_t n = 0;

  if (rt_cg_device_rules(res->devices, res->devices_len, &rules, &n, err) < 0)
    return -1;
  if (h == NULL)
    return missing("linux.resources.devices", "devices", err);
  /* One open per file: each write(2) is parsed as one rule. */
  cleanup_free char *allow_path = xasprintf("%s/devices.allow", h->dir);
  cleanup_free char *deny_path = xasprintf("%s/devices.deny", h->dir);
  cleanup_close int allow_fd = open(allow_path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  cleanup_close int deny_fd = open(deny_path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (allow_fd < 0 || deny_fd < 0)
    return oci_error_errno(err, "opening `%s`", allow_fd < 0 ? "devices.allow" : "devices.deny");

  /* Start from nothing: a new cgroup inherits its parent's (usually
   * "a *:* rwm"), and the rules then add and remove in order. */
  if (write_rule(log, deny_fd, "devices.deny", "a", err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      const struct rt_cg_dev_rule *r = &rules[i];
      char maj[24] = "*", min[24] = "*", rule[64];
      if (r->major >= 0)
        snprintf(maj, sizeof maj, "%" PRId64, r->major);
      if (r->minor >= 0)
        snprintf(min, sizeof min, "%" PRId64, r->minor);
      if (r->type == 'a' && r->major < 0 && r->minor < 0 && strcmp(r->access, "rwm") == 0)
        snprintf(rule, sizeof rule, "a");
      else
        snprintf(rule, sizeof rule, "%c %s:%s %s", r->type, maj, min, r->access);
      if (write_rule(log, r->allow ? allow_fd : deny_fd, r->allow ? "devices.allow" : "devices.deny", rule,
                     err)
          < 0)
        return -1;
    }
  return 0;
}

static bool
memory_requested(const struct oci_memory *m)
{
  return m
         && (m->has_limit || m->has_reservation || m->has_swap || m->has_kernel || m->has_kernel_tcp
             || m->has_swappiness || m->has_disable_oom_killer || m->has_use_hierarchy);
}

int
rt_cg_v1_apply(const struct rt_cgroup *cg, const struct oci_resources *res, struct oci_error **err)
{
  const struct rt_context *log = cg->log;
  /* Refuse before writing anything. */
  if (res->unified_len > 0)
    return oci_error_set(err, 0, "not supported: linux.resources.unified[\"%s\"] on cgroup v1",
                         res->unified[0].key);

  /* Always restrict devices for a new container, as runc and crun do; an
   * update touches them only when asked. */
  if ((cg->created || res->devices_len > 0) && v1_devices(cg, res, err) < 0)
    return -1;
  if (memory_requested(res->memory) && v1_memory(cg, res->memory, err) < 0)
    return -1;
  if (res->cpu && v1_cpu(cg, res->cpu, err) < 0)
    return -1;
  if (res->has_pids_limit)
    {
      const struct rt_cg_hier *h = find_v1(cg, "pids");
      if (h == NULL)
        return missing("linux.resources.pids", "pids", err);
      int r = res->pids_limit > 0 ? write_i64(log, h->dir, "pids.max", res->pids_limit, err)
                                  : rt_cg_write(log, h->dir, "pids.max", "max", err);
      if (r < 0)
        return -1;
    }
  if (res->block_io && v1_blkio(cg, res->block_io, err) < 0)
    return -1;
  if (res->hugepage_limits_len > 0 && v1_hugetlb(cg, res, err) < 0)
    return -1;
  if (res->network && v1_network(cg, res->network, err) < 0)
    return -1;
  if (res->rdma_len > 0)
    {
      const struct rt_cg_hier *h = find_v1(cg, "rdma");
      if (h == NULL)
        return missing("linux.resources.rdma", "rdma", err);
      if (write_rdma(log, h->dir, res->rdma, res->rdma_len, err) < 0)
        return -1;
    }
  return 0;
}

int
rt_cg_v1_freeze(const struct rt_cgroup *cg, bool frozen, struct oci_error **err)
{
  const struct rt_context *log = cg->log;
  const struct rt_cg_hier *h = find_v1(cg, "freezer");
  const char *want = frozen ? "FROZEN" : "THAWED";

  if (h == NULL)
    return missing(frozen ? "pause" : "resume", "freezer", err);
  /* FREEZING can last while tasks are in uninterruptible sleep; writing
   * again retries the ones that were missed. */
  for (unsigned attempt = 0; attempt < 60; attempt++)
    {
      if (attempt % 4 == 0 && rt_cg_write(log, h->dir, "freezer.state", want, err) < 0)
        return -1;
      cleanup_free char *state = rt_cg_read(h->dir, "freezer.state");
      if (state == NULL)
        return oci_error_errno(err, "reading `freezer.state`");
      if (strcmp(state, want) == 0)
        return 0;
      rt_cg_backoff(attempt);
    }
  if (frozen)
    {
      /* Do not leave it half frozen. */
      struct oci_error *ignored = NULL;
      rt_cg_write(log, h->dir, "freezer.state", "THAWED", &ignored);
      oci_error_free(ignored);
    }
  return oci_error_set(err, 0, "`freezer.state` did not become %s", want);
}
