/* The systemd cgroup driver, pure part: runc's `slice:prefix:name`
 * cgroupsPath, slice expansion, and linux.resources as unit properties.
 * Talking to systemd is in cgroups-systemd-bus.c; this file has no D-Bus in
 * it so that tests/unit/test-cgroups.c can check the conversions. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cgroups-internal.h"
#include "cgroups-systemd.h"
#include "util.h"

/* ---- names and paths ---- */

/* A slice name's dashes mark its parents; runc refuses the forms systemd
 * refuses: a leading or trailing dash, or two in a row. */
static bool
slice_name_ok(const char *name, size_t len)
{
  if (len == 0 || name[0] == '-' || name[len - 1] == '-')
    return false;
  for (size_t i = 0; i + 1 < len; i++)
    if (name[i] == '-' && name[i + 1] == '-')
      return false;
  return memchr(name, '/', len) == NULL;
}

int
rt_cg_sd_expand_slice(const char *slice, char **out, struct oci_error **err)
{
  static const char suffix[] = ".slice";
  size_t len = strlen(slice), slen = sizeof suffix - 1;

  if (len <= slen || strcmp(slice + len - slen, suffix) != 0)
    return oci_error_set(err, 0, "linux.cgroupsPath: slice `%s` must end in .slice", slice);
  if (strcmp(slice, "-.slice") == 0)
    {
      *out = xstrdup("");
      return 0;
    }
  len -= slen;
  if (!slice_name_ok(slice, len))
    return oci_error_set(err, 0, "linux.cgroupsPath: invalid slice name `%s`", slice);

  /* "a-b-c.slice" lives in /a.slice/a-b.slice/a-b-c.slice. */
  cleanup_free char *path = xstrdup("");
  for (size_t i = 0; i <= len; i++)
    {
      if (i < len && slice[i] != '-')
        continue;
      char *next = xasprintf("%s/%.*s.slice", path, (int)i, slice);
      free(path);
      path = next;
    }
  *out = steal_pointer(&path);
  return 0;
}

int
rt_cg_sd_parse(const char *cgroups_path, const char *id, bool user, struct rt_cg_sd_unit *out,
               struct oci_error **err)
{
  cleanup_free char *slice = NULL, *prefix = NULL, *name = NULL;

  if (cgroups_path && cgroups_path[0])
    {
      if (rt_cg_parse_systemd_path(cgroups_path, &slice, &prefix, &name, err) < 0)
        return -1;
    }
  else
    {
      /* runc's default, so that tools which look for runc's units find ours. */
      slice = xstrdup("");
      prefix = xstrdup("runc");
      name = xstrdup(id);
    }
  if (name[0] == '\0' || strchr(name, '/'))
    return oci_error_set(err, 0, "linux.cgroupsPath `%s`: invalid unit name `%s`",
                         cgroups_path ? cgroups_path : "", name);
  if (slice[0] == '\0')
    {
      free(slice);
      slice = xstrdup(user ? "user.slice" : "system.slice");
    }
  cleanup_free char *slice_path = NULL;
  if (rt_cg_sd_expand_slice(slice, &slice_path, err) < 0)
    return -1;

  size_t nlen = strlen(name);
  bool is_slice = nlen > 6 && strcmp(name + nlen - 6, ".slice") == 0;
  out->unit = is_slice ? xstrdup(name) : xasprintf("%s-%s.scope", prefix, name);
  out->slice = steal_pointer(&slice);
  out->is_slice = is_slice;
  out->user = user;
  if (is_slice)
    {
      /* A slice's cgroup is its own expansion; its parent must be `slice`. */
      cleanup_free char *own = NULL;
      if (rt_cg_sd_expand_slice(name, &own, err) < 0)
        {
          rt_cg_sd_unit_clear(out);
          return -1;
        }
      out->path = steal_pointer(&own);
    }
  else
    out->path = xasprintf("%s/%s", slice_path, out->unit);
  return 0;
}

void
rt_cg_sd_unit_clear(struct rt_cg_sd_unit *u)
{
  free(u->unit);
  free(u->slice);
  free(u->path);
  u->unit = u->slice = u->path = NULL;
}

/* ---- values ---- */

uint64_t
rt_cg_sd_quota_per_sec(int64_t quota, uint64_t period)
{
  if (quota <= 0)
    return UINT64_MAX; /* -1: no limit */
  if (period == 0)
    period = 100000;
  uint64_t v = (uint64_t)quota * 1000000 / period;
  /* systemd keeps CPUQuota in whole percent (10 ms per second): round up,
   * so that the cgroup gets at least the quota asked for. */
  if (v % 10000)
    v = (v / 10000 + 1) * 10000;
  return v;
}

int
rt_cg_sd_cpu_mask(const char *list, const char *field, uint8_t **bytes, size_t *n, struct oci_error **err)
{
  cleanup_free uint8_t *mask = NULL;
  size_t len = 0;

  for (const char *p = list; *p;)
    {
      char *end;
      errno = 0;
      unsigned long lo = strtoul(p, &end, 10), hi;
      if (end == p || errno || lo > 65535)
        return oci_error_set(err, 0, "%s `%s`: not a cpu list", field, list);
      hi = lo;
      if (*end == '-')
        {
          p = end + 1;
          hi = strtoul(p, &end, 10);
          if (end == p || errno || hi > 65535 || hi < lo)
            return oci_error_set(err, 0, "%s `%s`: not a cpu list", field, list);
        }
      if (hi / 8 + 1 > len)
        {
          mask = xrealloc(mask, hi / 8 + 1);
          memset(mask + len, 0, hi / 8 + 1 - len);
          len = hi / 8 + 1;
        }
      for (unsigned long c = lo; c <= hi; c++)
        mask[c / 8] |= (uint8_t)(1u << (c % 8));
      p = end;
      if (*p == ',')
        p++;
      else if (*p)
        return oci_error_set(err, 0, "%s `%s`: not a cpu list", field, list);
    }
  *bytes = steal_pointer(&mask);
  *n = len;
  return 0;
}

/* ---- property lists ---- */

static struct rt_sd_prop *
add(struct rt_sd_props *p, const char *name, enum rt_sd_type type)
{
  p->v = xrealloc(p->v, (p->n + 1) * sizeof *p->v);
  struct rt_sd_prop *e = &p->v[p->n++];
  memset(e, 0, sizeof *e);
  e->name = xstrdup(name);
  e->type = type;
  return e;
}

void
rt_sd_props_bool(struct rt_sd_props *p, const char *name, bool v)
{
  add(p, name, RT_SD_BOOL)->b = v;
}

void
rt_sd_props_u64(struct rt_sd_props *p, const char *name, uint64_t v)
{
  add(p, name, RT_SD_U64)->u = v;
}

void
rt_sd_props_str(struct rt_sd_props *p, const char *name, const char *v)
{
  add(p, name, RT_SD_STR)->s = xstrdup(v);
}

static void
add_pair(struct rt_sd_prop *e, const char *s, const char *s2, uint64_t u)
{
  e->pairs = xrealloc(e->pairs, (e->n + 1) * sizeof *e->pairs);
  e->pairs[e->n].s = xstrdup(s);
  e->pairs[e->n].s2 = s2 ? xstrdup(s2) : NULL;
  e->pairs[e->n].u = u;
  e->n++;
}

void
rt_sd_props_pid(struct rt_sd_props *p, uint32_t pid)
{
  add_pair(add(p, "PIDs", RT_SD_PIDS), "", NULL, pid);
}

void
rt_sd_props_clear(struct rt_sd_props *p)
{
  for (size_t i = 0; i < p->n; i++)
    {
      struct rt_sd_prop *e = &p->v[i];
      free(e->name);
      free(e->s);
      free(e->bytes);
      if (e->pairs)
        for (size_t k = 0; k < e->n; k++)
          {
            free(e->pairs[k].s);
            free(e->pairs[k].s2);
          }
      free(e->pairs);
    }
  free(p->v);
  p->v = NULL;
  p->n = 0;
}

const struct rt_sd_prop *
rt_sd_props_find(const struct rt_sd_props *p, const char *name)
{
  for (size_t i = p->n; i > 0; i--)
    if (strcmp(p->v[i - 1].name, name) == 0)
      return &p->v[i - 1];
  return NULL;
}

/* ---- resources ---- */

static int
memory_props(const struct oci_memory *m, bool v2, struct rt_sd_props *p, struct oci_error **err)
{
  int64_t limit = m->has_limit ? m->limit : 0;

  if (limit != 0)
    rt_sd_props_u64(p, v2 ? "MemoryMax" : "MemoryLimit", limit < 0 ? UINT64_MAX : (uint64_t)limit);
  if (!v2)
    return 0;
  if (m->has_reservation && m->reservation != 0)
    rt_sd_props_u64(p, "MemoryLow", m->reservation < 0 ? UINT64_MAX : (uint64_t)m->reservation);
  int64_t swap = 0;
  if (rt_cg_swap_to_v2(m->has_swap ? m->swap : 0, limit, &swap, err) < 0)
    return -1;
  /* Only when asked for: an unlimited memory alone leaves swap as it is. */
  if (m->has_swap && swap != 0)
    rt_sd_props_u64(p, "MemorySwapMax", swap < 0 ? UINT64_MAX : (uint64_t)swap);
  return 0;
}

static int
cpu_props(const struct oci_cpu *c, bool v2, unsigned version, struct rt_sd_props *p, struct oci_error **err)
{
  if (c->has_shares && c->shares != 0)
    {
      if (v2)
        rt_sd_props_u64(p, "CPUWeight", rt_cg_shares_to_weight(c->shares));
      else
        rt_sd_props_u64(p, "CPUShares", c->shares);
    }
  uint64_t period = c->has_period ? c->period : 0;
  int64_t quota = c->has_quota ? c->quota : 0;
  if (period != 0 && version >= 242)
    rt_sd_props_u64(p, "CPUQuotaPeriodUSec", period);
  if (quota != 0 || period != 0)
    rt_sd_props_u64(p, "CPUQuotaPerSecUSec", rt_cg_sd_quota_per_sec(quota, period));

  /* The cpuset controller is systemd's on v2 only, from v244. */
  if (!v2 || version < 244)
    return 0;
  static const char *const names[] = { "AllowedCPUs", "AllowedMemoryNodes" };
  const char *lists[] = { c->cpus, c->mems };
  static const char *const fields[] = { "linux.resources.cpu.cpus", "linux.resources.cpu.mems" };
  for (int i = 0; i < 2; i++)
    {
      if (lists[i] == NULL || lists[i][0] == '\0')
        continue;
      struct rt_sd_prop *e = add(p, names[i], RT_SD_BYTES);
      if (rt_cg_sd_cpu_mask(lists[i], fields[i], &e->bytes, &e->n, err) < 0)
        return -1;
    }
  return 0;
}

static void
throttle_props(struct rt_sd_props *p, const char *name, const struct oci_throttle_device *d, size_t n)
{
  if (n == 0)
    return;
  struct rt_sd_prop *e = add(p, name, RT_SD_PAIRS_ST);
  for (size_t i = 0; i < n; i++)
    {
      /* systemd parses /dev/block/M:m itself: no udev needed. */
      cleanup_free char *dev
          = xasprintf("/dev/block/%lld:%lld", (long long)d[i].major, (long long)d[i].minor);
      add_pair(e, dev, NULL, d[i].rate);
    }
}

static void
io_props(const struct oci_block_io *b, bool v2, struct rt_sd_props *p)
{
  if (b->has_weight && b->weight)
    {
      if (v2)
        rt_sd_props_u64(p, "IOWeight", rt_cg_blkio_to_io_weight(b->weight));
      else
        rt_sd_props_u64(p, "BlockIOWeight", b->weight);
    }
  if (!v2)
    return;
  throttle_props(p, "IOReadBandwidthMax", b->throttle_read_bps_device, b->throttle_read_bps_device_len);
  throttle_props(p, "IOWriteBandwidthMax", b->throttle_write_bps_device, b->throttle_write_bps_device_len);
  throttle_props(p, "IOReadIOPSMax", b->throttle_read_iops_device, b->throttle_read_iops_device_len);
  throttle_props(p, "IOWriteIOPSMax", b->throttle_write_iops_device, b->throttle_write_iops_device_len);
}

/* The name of a major number in /proc/devices ("pts" for char 136). */
static char *
device_group(char type, int64_t major)
{
  cleanup_fclose FILE *f = fopen("/proc/devices", "re");
  char line[256];
  bool in = false;

  if (f == NULL)
    return NULL;
  while (fgets(line, sizeof line, f))
    {
      if (strncmp(line, "Character", 9) == 0 || strncmp(line, "Block", 5) == 0)
        {
          in = (line[0] == 'C') == (type == 'c');
          continue;
        }
      long long m;
      char name[128];
      if (in && sscanf(line, "%lld %127s", &m, name) == 2 && m == major)
        return xasprintf("%s-%s", type == 'c' ? "char" : "block", name);
    }
  return NULL;
}

/* DevicePolicy=strict with a DeviceAllow list, when the rules are an allow
 * list after an optional deny-all (what runtimes and clients write).  Any
 * other shape (a deny after an allow, allow-all) is left to the eBPF
 * program that the cgroup code attaches anyway: systemd cannot say it. */
static void
device_props(const struct oci_device_cgroup *devs, size_t ndevs, struct rt_sd_props *p)
{
  cleanup_free struct rt_cg_dev_rule *rules = NULL;
  struct oci_error *ignored = NULL;
  size_t n = 0;

  if (rt_cg_device_rules(devs, ndevs, &rules, &n, &ignored) < 0)
    {
      oci_error_free(ignored); /* the cgroup code reports it */
      return;
    }
  bool seen_allow = false;
  for (size_t i = 0; i < n; i++)
    {
      const struct rt_cg_dev_rule *r = &rules[i];
      if (!r->allow)
        {
          if (seen_allow || r->type != 'a')
            return;
          continue;
        }
      if (r->type == 'a')
        return;
      seen_allow = true;
    }

  struct rt_sd_props list = { 0 };
  struct rt_sd_prop *e = add(&list, "DeviceAllow", RT_SD_PAIRS_SS);
  for (size_t i = 0; i < n; i++)
    {
      const struct rt_cg_dev_rule *r = &rules[i];
      cleanup_free char *what = NULL;
      if (!r->allow)
        continue;
      if (r->major < 0)
        what = xasprintf("%s-*", r->type == 'c' ? "char" : "block");
      else if (r->minor < 0)
        what = device_group(r->type, r->major);
      else
        what = xasprintf("/dev/%s/%lld:%lld", r->type == 'c' ? "char" : "block", (long long)r->major,
                         (long long)r->minor);
      if (what == NULL)
        {
          rt_sd_props_clear(&list);
          return;
        }
      add_pair(e, what, r->access, 0);
    }
  rt_sd_props_str(p, "DevicePolicy", "strict");
  /* Hand the list over. */
  p->v = xrealloc(p->v, (p->n + 1) * sizeof *p->v);
  p->v[p->n++] = list.v[0];
  free(list.v);
}

int
rt_cg_sd_resource_props(const struct oci_resources *res, bool v2, unsigned version, bool with_devices,
                        struct rt_sd_props *p, struct oci_error **err)
{
  if (res == NULL)
    return with_devices ? (device_props(NULL, 0, p), 0) : 0;
  if (res->memory && memory_props(res->memory, v2, p, err) < 0)
    return -1;
  if (res->cpu && cpu_props(res->cpu, v2, version, p, err) < 0)
    return -1;
  if (res->has_pids_limit && (res->pids_limit > 0 || res->pids_limit == -1))
    rt_sd_props_u64(p, "TasksMax", res->pids_limit > 0 ? (uint64_t)res->pids_limit : UINT64_MAX);
  if (res->block_io)
    io_props(res->block_io, v2, p);
  if (with_devices || res->devices_len)
    device_props(res->devices, res->devices_len, p);
  return 0;
}
