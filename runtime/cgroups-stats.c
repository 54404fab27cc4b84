/* The "data" of `ocirt events --stats`: cpu, memory, pids and blkio read
 * from the container's cgroup files, in the JSON shape runc prints and
 * go-runc decodes (events.go: Stats). */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>

#include "spec/json.h"
#include "spec/util.h"
#include "cgroups-internal.h"

static const char *
v1_dir(const struct rt_cgroup *cg, const char *controller)
{
  for (size_t i = 0; i < cg->n; i++)
    if (!cg->h[i].m.v2 && rt_cg_options_have(cg->h[i].m.options, controller))
      return cg->h[i].dir;
  return NULL;
}

/* "max" reads as UINT64_MAX, as runc reports an unlimited v2 value. */
static bool
read_u64(const char *dir, const char *file, uint64_t *out)
{
  cleanup_free char *text = dir ? rt_cg_read(dir, file) : NULL;
  char *end;

  if (text == NULL)
    return false;
  if (strcmp(text, "max") == 0)
    {
      *out = UINT64_MAX;
      return true;
    }
  *out = strtoull(text, &end, 10);
  return end != text;
}

/* The value of `key` in a "key value" per line file (memory.stat, cpu.stat). */
static bool
keyed_u64(const char *text, const char *key, uint64_t *out)
{
  size_t klen = strlen(key);

  for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
    if (strncmp(l, key, klen) == 0 && l[klen] == ' ')
      {
        *out = strtoull(l + klen + 1, NULL, 10);
        return true;
      }
  return false;
}

/* runc leaves zero values out of these sections (omitempty). */
static void
write_nonzero(struct json_writer *w, const char *key, uint64_t v)
{
  if (v == 0)
    return;
  json_write_key(w, key);
  json_write_uint64(w, v);
}

/* Every "key value" line as an object member. */
static void
write_raw(struct json_writer *w, const char *text)
{
  json_write_key(w, "raw");
  json_write_object_begin(w);
  for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
    {
      const char *sp = strchr(l, ' '), *nl = strchr(l, '\n');
      if (sp == NULL || (nl && sp > nl))
        continue;
      cleanup_free char *key = xstrndup(l, (size_t)(sp - l));
      json_write_key(w, key);
      json_write_uint64(w, strtoull(sp + 1, NULL, 10));
    }
  json_write_object_end(w);
}

/* ---- cpu ---- */

/* A space separated list of integers as a JSON array. */
static void
write_list(struct json_writer *w, const char *key, const char *text)
{
  json_write_key(w, key);
  json_write_array_begin(w);
  for (char *p = (char *)text, *end; p && *p; p = end)
    {
      uint64_t v = strtoull(p, &end, 10);
      if (end == p)
        break;
      json_write_uint64(w, v);
    }
  json_write_array_end(w);
}

static void
write_throttling(struct json_writer *w, const char *stat, const char *time_key, uint64_t time_scale)
{
  uint64_t v;

  json_write_key(w, "throttling");
  json_write_object_begin(w);
  if (stat && keyed_u64(stat, "nr_periods", &v))
    write_nonzero(w, "periods", v);
  if (stat && keyed_u64(stat, "nr_throttled", &v))
    write_nonzero(w, "throttled_periods", v);
  if (stat && keyed_u64(stat, time_key, &v))
    write_nonzero(w, "throttled_time", v * time_scale);
  json_write_object_end(w);
}

static void
v1_cpu(const struct rt_cgroup *cg, struct json_writer *w)
{
  const char *acct = v1_dir(cg, "cpuacct");
  cleanup_free char *percpu = acct ? rt_cg_read(acct, "cpuacct.usage_percpu") : NULL;
  cleanup_free char *stat = acct ? rt_cg_read(acct, "cpuacct.stat") : NULL;
  cleanup_free char *percpu_sys = acct ? rt_cg_read(acct, "cpuacct.usage_percpu_sys") : NULL;
  cleanup_free char *percpu_user = acct ? rt_cg_read(acct, "cpuacct.usage_percpu_user") : NULL;
  cleanup_free char *cpu_stat = v1_dir(cg, "cpu") ? rt_cg_read(v1_dir(cg, "cpu"), "cpu.stat") : NULL;
  uint64_t total = 0, ticks, ns_per_tick = 1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK);

  json_write_key(w, "usage");
  json_write_object_begin(w);
  json_write_key(w, "total");
  json_write_uint64(w, read_u64(acct, "cpuacct.usage", &total) ? total : 0);
  write_list(w, "percpu", percpu);
  /* Kernels before 4.7 have no per-CPU split: runc leaves these out then. */
  if (percpu_sys)
    write_list(w, "percpu_kernel", percpu_sys);
  if (percpu_user)
    write_list(w, "percpu_user", percpu_user);
  json_write_key(w, "kernel");
  json_write_uint64(w, stat && keyed_u64(stat, "system", &ticks) ? ticks * ns_per_tick : 0);
  json_write_key(w, "user");
  json_write_uint64(w, stat && keyed_u64(stat, "user", &ticks) ? ticks * ns_per_tick : 0);
  json_write_object_end(w);
  write_throttling(w, cpu_stat, "throttled_time", 1);
}

static void
v2_cpu(const char *dir, struct json_writer *w)
{
  cleanup_free char *stat = rt_cg_read(dir, "cpu.stat");
  uint64_t v;

  json_write_key(w, "usage");
  json_write_object_begin(w);
  json_write_key(w, "total");
  json_write_uint64(w, stat && keyed_u64(stat, "usage_usec", &v) ? v * 1000 : 0);
  json_write_key(w, "kernel");
  json_write_uint64(w, stat && keyed_u64(stat, "system_usec", &v) ? v * 1000 : 0);
  json_write_key(w, "user");
  json_write_uint64(w, stat && keyed_u64(stat, "user_usec", &v) ? v * 1000 : 0);
  json_write_object_end(w);
  write_throttling(w, stat, "throttled_usec", 1000);
}

/* ---- memory ---- */

struct memory_entry
{
  uint64_t limit, usage, max, failcnt;
};

/* As runc's events encode a memory entry (Go): limit and failcnt always,
 * usage and max only when not zero. */
static void
write_memory_entry(struct json_writer *w, const char *key, const struct memory_entry *e)
{
  json_write_key(w, key);
  json_write_object_begin(w);
  json_write_key(w, "limit");
  json_write_uint64(w, e->limit);
  if (e->usage)
    {
      json_write_key(w, "usage");
      json_write_uint64(w, e->usage);
    }
  if (e->max)
    {
      json_write_key(w, "max");
      json_write_uint64(w, e->max);
    }
  json_write_key(w, "failcnt");
  json_write_uint64(w, e->failcnt);
  json_write_object_end(w);
}

/* <prefix>.{limit_in_bytes,usage_in_bytes,max_usage_in_bytes,failcnt};
 * a file the kernel does not have counts as 0, as with runc. */
static void
v1_memory_entry(struct json_writer *w, const char *key, const char *dir, const char *prefix)
{
  struct memory_entry e = { 0 };
  const struct
  {
    const char *file;
    uint64_t *value;
  } files[] = {
    { "limit_in_bytes", &e.limit },
    { "usage_in_bytes", &e.usage },
    { "max_usage_in_bytes", &e.max },
    { "failcnt", &e.failcnt },
  };

  for (size_t i = 0; dir && i < OCI_ARRAY_SIZE(files); i++)
    {
      cleanup_free char *file = xasprintf("%s.%s", prefix, files[i].file);
      if (!read_u64(dir, file, files[i].value))
        *files[i].value = 0;
    }
  write_memory_entry(w, key, &e);
}

static void
v1_memory(const struct rt_cgroup *cg, struct json_writer *w)
{
  const char *dir = v1_dir(cg, "memory");
  cleanup_free char *stat = dir ? rt_cg_read(dir, "memory.stat") : NULL;
  uint64_t cache;

  if (stat && keyed_u64(stat, "total_cache", &cache))
    write_nonzero(w, "cache", cache);
  v1_memory_entry(w, "usage", dir, "memory");
  v1_memory_entry(w, "swap", dir, "memory.memsw");
  v1_memory_entry(w, "kernel", dir, "memory.kmem");
  v1_memory_entry(w, "kernelTCP", dir, "memory.kmem.tcp");
  if (stat)
    write_raw(w, stat);
}

/* `current` and `max` of a v2 file pair; "max" reads as UINT64_MAX. */
static struct memory_entry
v2_memory_entry(const char *dir, const char *current, const char *max)
{
  struct memory_entry e = { 0 };

  if (!read_u64(dir, max, &e.limit))
    e.limit = 0;
  if (!read_u64(dir, current, &e.usage))
    e.usage = 0;
  return e;
}

static void
v2_memory(const char *dir, struct json_writer *w)
{
  cleanup_free char *stat = rt_cg_read(dir, "memory.stat");
  struct memory_entry mem = v2_memory_entry(dir, "memory.current", "memory.max");
  struct memory_entry swap = v2_memory_entry(dir, "memory.swap.current", "memory.swap.max");
  const struct memory_entry none = { 0 };
  uint64_t cache;

  if (stat && keyed_u64(stat, "file", &cache))
    write_nonzero(w, "cache", cache);
  /* v1's memsw counts memory and swap together; runc reports v2's swap
   * that way too, so a reader written for v1 sees the same quantity. */
  swap.usage += mem.usage;
  if (swap.limit != UINT64_MAX)
    swap.limit += mem.limit;
  write_memory_entry(w, "usage", &mem);
  write_memory_entry(w, "swap", &swap);
  /* v2 has no separate kernel memory accounting: zeros, as runc. */
  write_memory_entry(w, "kernel", &none);
  write_memory_entry(w, "kernelTCP", &none);
  if (stat)
    write_raw(w, stat);
}

/* ---- pids ---- */

static void
write_pids(const char *dir, struct json_writer *w)
{
  uint64_t v;

  if (read_u64(dir, "pids.current", &v))
    {
      json_write_key(w, "current");
      json_write_uint64(w, v);
    }
  /* runc leaves out an unlimited "max". */
  if (read_u64(dir, "pids.max", &v) && v != UINT64_MAX)
    {
      json_write_key(w, "limit");
      json_write_uint64(w, v);
    }
}

/* ---- blkio ---- */

static void
blkio_entry(struct json_writer *w, unsigned major, unsigned minor, const char *op, uint64_t value)
{
  json_write_object_begin(w);
  json_write_key(w, "major");
  json_write_uint64(w, major);
  json_write_key(w, "minor");
  json_write_uint64(w, minor);
  json_write_key(w, "op");
  json_write_string(w, op);
  json_write_key(w, "value");
  json_write_uint64(w, value);
  json_write_object_end(w);
}

/* "8:0 Read 4096" lines; the "Total" summary line has no device. */
static void
v1_blkio_list(struct json_writer *w, const char *key, const char *dir, const char *file, const char *fallback)
{
  cleanup_free char *text = rt_cg_read(dir, file);

  if ((text == NULL || text[0] == '\0' || strncmp(text, "Total", 5) == 0) && fallback)
    {
      free(text);
      text = rt_cg_read(dir, fallback);
    }
  if (text == NULL)
    return;
  json_write_key(w, key);
  json_write_array_begin(w);
  for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
    {
      unsigned major, minor;
      char op[16];
      uint64_t value;
      if (sscanf(l, "%u:%u %15s %" SCNu64, &major, &minor, op, &value) == 4)
        blkio_entry(w, major, minor, op, value);
    }
  json_write_array_end(w);
}

static void
v1_blkio(const struct rt_cgroup *cg, struct json_writer *w)
{
  const char *dir = v1_dir(cg, "blkio");

  if (dir == NULL)
    return;
  v1_blkio_list(w, "ioServiceBytesRecursive", dir, "blkio.io_service_bytes_recursive",
                "blkio.throttle.io_service_bytes");
  v1_blkio_list(w, "ioServicedRecursive", dir, "blkio.io_serviced_recursive", "blkio.throttle.io_serviced");
}

/* io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..." */
static void
v2_blkio_list(struct json_writer *w, const char *text, const char *key, const char *read_key,
              const char *write_key)
{
  json_write_key(w, key);
  json_write_array_begin(w);
  for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
    {
      cleanup_free char *line = strchr(l, '\n') ? xstrndup(l, (size_t)(strchr(l, '\n') - l)) : xstrdup(l);
      unsigned major, minor;
      char *r, *wr;
      if (sscanf(line, "%u:%u", &major, &minor) != 2)
        continue;
      r = strstr(line, read_key);
      wr = strstr(line, write_key);
      if (r)
        blkio_entry(w, major, minor, "Read", strtoull(r + strlen(read_key), NULL, 10));
      if (wr)
        blkio_entry(w, major, minor, "Write", strtoull(wr + strlen(write_key), NULL, 10));
    }
  json_write_array_end(w);
}

static void
v2_blkio(const char *dir, struct json_writer *w)
{
  cleanup_free char *text = rt_cg_read(dir, "io.stat");

  if (text == NULL)
    return;
  v2_blkio_list(w, text, "ioServiceBytesRecursive", " rbytes=", " wbytes=");
  v2_blkio_list(w, text, "ioServicedRecursive", " rios=", " wios=");
}

/* ---- OOM kills ---- */

/* v2's memory.events and v1's memory.oom_control count OOM kills
 * ("oom_kill N"; on v1 since Linux 4.13). */
static const char *
oom_file(const struct rt_cgroup *cg, const char **dir)
{
  bool v2 = cg->mode == RT_CG_UNIFIED;

  *dir = v2 ? (cg->n ? cg->h[0].dir : NULL) : v1_dir(cg, "memory");
  return v2 ? "memory.events" : "memory.oom_control";
}

bool
rt_cgroup_oom_kills(const struct rt_cgroup *cg, uint64_t *n)
{
  const char *dir;
  const char *file = oom_file(cg, &dir);
  cleanup_free char *text = dir ? rt_cg_read(dir, file) : NULL;

  *n = 0;
  return text && keyed_u64(text, "oom_kill", n);
}

/* Older v1 kernels only count how often the limit was hit
 * (memory.failcnt), the best evidence there. */
bool
rt_cgroup_oom_killed(const struct rt_cgroup *cg)
{
  const char *dir;
  uint64_t n = 0;

  if (rt_cgroup_oom_kills(cg, &n))
    return n > 0;
  oom_file(cg, &dir);
  return cg->mode != RT_CG_UNIFIED && read_u64(dir, "memory.failcnt", &n) && n > 0;
}

int
rt_cgroup_oom_watch(const struct rt_cgroup *cg)
{
  const char *dir;
  const char *file = oom_file(cg, &dir);

  /* The kernel notifies changes of v2's event files; v1's control files
   * never do. */
  if (cg->mode != RT_CG_UNIFIED || dir == NULL)
    return -1;
  cleanup_free char *path = xasprintf("%s/%s", dir, file);
  int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd < 0)
    return -1;
  if (inotify_add_watch(fd, path, IN_MODIFY) < 0)
    {
      close(fd);
      return -1;
    }
  return fd;
}

/* ---- the whole object ---- */

static void
section_begin(struct json_writer *w, const char *key)
{
  json_write_key(w, key);
  json_write_object_begin(w);
}

void
rt_cgroup_write_stats(const struct rt_cgroup *cg, struct json_writer *w)
{
  bool v2 = cg->mode == RT_CG_UNIFIED;
  const char *dir = v2 && cg->n ? cg->h[0].dir : NULL;

  json_write_object_begin(w);
  section_begin(w, "cpu");
  if (v2)
    v2_cpu(dir, w);
  else
    v1_cpu(cg, w);
  json_write_object_end(w);
  section_begin(w, "memory");
  if (v2)
    v2_memory(dir, w);
  else
    v1_memory(cg, w);
  json_write_object_end(w);
  section_begin(w, "pids");
  write_pids(v2 ? dir : v1_dir(cg, "pids"), w);
  json_write_object_end(w);
  section_begin(w, "blkio");
  if (v2)
    v2_blkio(dir, w);
  else
    v1_blkio(cg, w);
  json_write_object_end(w);
  json_write_object_end(w);
}
