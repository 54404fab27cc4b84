/* Cgroup discovery, path computation and dispatch to the v1/v2 backends.
 *
 * The hierarchies are rediscovered from /proc/self/mountinfo on every call
 * (read once per call); only the container's path is kept in its state. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroups-internal.h"
#include "inroot.h"
#include "log.h"
#include "namespaces.h"
#include "util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* ------------------------------------------------------------------ */
/* pure helpers                                                         */
/* ------------------------------------------------------------------ */

void
rt_cg_mount_clear(struct rt_cg_mount *m)
{
  free(m->mount_point);
  free(m->root);
  free(m->options);
  m->mount_point = m->root = m->options = NULL;
}

int
rt_cg_mount_from(const struct oci_mountinfo *mi, struct rt_cg_mount *out)
{
  bool v2 = strcmp(mi->fstype, "cgroup2") == 0;

  /* The mount point of any mount matters: it may hide earlier cgroup mounts. */
  out->mount_point = xstrdup(mi->mountpoint);
  if (!v2 && strcmp(mi->fstype, "cgroup") != 0)
    return 0;
  out->v2 = v2;
  out->root = xstrdup(mi->root);
  out->options = xstrdup(v2 ? "" : mi->super_opts);
  return 1;
}

bool
rt_cg_options_have(const char *options, const char *controllers)
{
  const char *c = controllers;

  if (*c == '\0')
    return false;
  while (*c)
    {
      size_t clen = strcspn(c, ",");
      bool found = false;
      for (const char *o = options; *o;)
        {
          size_t olen = strcspn(o, ",");
          if (olen == clen && memcmp(o, c, clen) == 0)
            {
              found = true;
              break;
            }
          o += olen;
          if (*o == ',')
            o++;
        }
      if (!found)
        return false;
      c += clen;
      if (*c == ',')
        c++;
    }
  return true;
}

int
rt_cg_parse_proc_cgroup_line(char *buf, char **controllers, char **path)
{
  char *c1 = strchr(buf, ':');
  if (c1 == NULL)
    return -1;
  char *c2 = strchr(c1 + 1, ':');
  if (c2 == NULL)
    return -1;
  *c2 = '\0';
  char *nl = strchr(c2 + 1, '\n');
  if (nl)
    *nl = '\0';
  *controllers = c1 + 1;
  *path = c2 + 1;
  return 0;
}

int
rt_cg_config_path(const char *cgroups_path, const char *id, char **out, struct oci_error **err)
{
  if (cgroups_path == NULL || cgroups_path[0] == '\0')
    {
      /* runc's default is the id, relative to the caller's cgroup; it
       * leaves no parent directory behind after delete. */
      if (id == NULL || id[0] == '\0' || strchr(id, '/') || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return oci_error_set(err, 0, "invalid container id `%s` for a cgroup name", id ? id : "");
      *out = xstrdup(id);
      return 0;
    }
  char *clean = oci_path_clean(cgroups_path, OCI_PATH_KEEP_FORM);
  if (clean[0] == '\0' || strcmp(clean, "/") == 0)
    {
      free(clean);
      return oci_error_set(err, 0, "linux.cgroupsPath `%s`: must name a cgroup below the root", cgroups_path);
    }
  *out = clean;
  return 0;
}

int
rt_cg_parse_systemd_path(const char *path, char **slice, char **prefix, char **name, struct oci_error **err)
{
  const char *c1 = path ? strchr(path, ':') : NULL;
  const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

  if (c2 == NULL || strchr(c2 + 1, ':') != NULL)
    return oci_error_set(err, 0, "linux.cgroupsPath `%s`: expected \"slice:prefix:name\" for systemd cgroups",
                         path ? path : "");
  *slice = xstrndup(path, (size_t)(c1 - path));
  *prefix = xstrndup(c1 + 1, (size_t)(c2 - c1 - 1));
  *name = xstrdup(c2 + 1);
  return 0;
}

char *
rt_cg_mount_dir(const struct rt_cg_mount *m, const char *rel)
{
  size_t rlen = strlen(m->root);

  /* A mount of a subtree (inside a container, root is e.g. "/docker/x"):
   * paths below it are shown relative to it. */
  if (rlen > 1 && strncmp(rel, m->root, rlen) == 0 && (rel[rlen] == '/' || rel[rlen] == '\0'))
    rel += rlen;
  if (rel[0] == '\0' || strcmp(rel, "/") == 0)
    return xstrdup(m->mount_point);
  return xasprintf("%s%s%s", m->mount_point, rel[0] == '/' ? "" : "/", rel);
}

/* Clamp v to [lo, hi] and map it linearly onto [1, 10000]; 0 stays 0 ("not
 * set").  cgroup v1's ranges meet v2's weight range this way in runc and
 * crun 1.8. */
static uint64_t
map_to_v2_weight(uint64_t v, uint64_t lo, uint64_t hi)
{
  if (v == 0)
    return 0;
  if (v < lo)
    v = lo;
  if (v > hi)
    v = hi;
  return 1 + ((v - lo) * 9999) / (hi - lo);
}

uint64_t
rt_cg_shares_to_weight(uint64_t shares)
{
  return map_to_v2_weight(shares, 2, 262144);
}

uint64_t
rt_cg_blkio_to_io_weight(uint64_t weight)
{
  return map_to_v2_weight(weight, 10, 1000);
}

int
rt_cg_swap_to_v2(int64_t swap, int64_t limit, int64_t *out, struct oci_error **err)
{
  /* As on v1: an unlimited memory with no swap setting means both unlimited. */
  if (limit == -1 && swap == 0)
    {
      *out = -1;
      return 0;
    }
  if (swap == -1 || swap == 0)
    {
      *out = swap;
      return 0;
    }
  if (limit == 0 || limit == -1)
    return oci_error_set(err, 0, "linux.resources.memory.swap: cannot be set without memory.limit");
  if (limit < 0 || swap < 0)
    return oci_error_set(err, 0, "linux.resources.memory: invalid limit %lld / swap %lld", (long long)limit,
                         (long long)swap);
  if (swap < limit)
    return oci_error_set(err, 0,
                         "linux.resources.memory.swap (%lld) must be >= memory.limit (%lld): it is "
                         "memory+swap",
                         (long long)swap, (long long)limit);
  *out = swap - limit;
  return 0;
}

/* runc 1.1's default allow list (libcontainer/specconv AllowedDevices):
 * mknod of anything, and the devices every container gets. */
static const struct rt_cg_dev_rule default_device_rules[] = {
  { true, 'c', -1, -1, "m" }, { true, 'b', -1, -1, "m" },    { true, 'c', 1, 3, "rwm" },
  { true, 'c', 1, 8, "rwm" }, { true, 'c', 1, 7, "rwm" },    { true, 'c', 5, 0, "rwm" },
  { true, 'c', 1, 5, "rwm" }, { true, 'c', 1, 9, "rwm" },    { true, 'c', 136, -1, "rwm" },
  { true, 'c', 5, 2, "rwm" }, { true, 'c', 10, 200, "rwm" },
};

static int
convert_device_rule(const struct oci_device_cgroup *d, size_t i, struct rt_cg_dev_rule *r,
                    struct oci_error **err)
{
  const char *t = d->type ? d->type : "a";

  if (strcmp(t, "a") != 0 && strcmp(t, "c") != 0 && strcmp(t, "b") != 0)
    return oci_error_set(err, 0, "linux.resources.devices[%zu].type: `%s` is not a, c or b", i, t);
  r->allow = d->allow;
  r->type = t[0];
  r->major = d->has_major ? d->major : -1;
  r->minor = d->has_minor ? d->minor : -1;
  if (r->major < -1 || r->minor < -1 || r->major > UINT32_MAX || r->minor > UINT32_MAX)
    return oci_error_set(err, 0, "linux.resources.devices[%zu]: major/minor out of range", i);

  const char *a = d->access && d->access[0] ? d->access : "rwm";
  bool seen[3] = { false, false, false };
  for (const char *c = a; *c; c++)
    {
      const char *pos = strchr("rwm", *c);
      if (pos == NULL)
        return oci_error_set(err, 0, "linux.resources.devices[%zu].access: `%s` is not a subset of rwm", i,
                             a);
      seen[pos - "rwm"] = true;
    }
  size_t o = 0;
  for (int k = 0; k < 3; k++)
    if (seen[k])
      r->access[o++] = "rwm"[k];
  r->access[o] = '\0';
  return 0;
}

int
rt_cg_device_rules(const struct oci_device_cgroup *devs, size_t n, struct rt_cg_dev_rule **out, size_t *n_out,
                   struct oci_error **err)
{
  size_t total = n + OCI_ARRAY_SIZE(default_device_rules);
  cleanup_free struct rt_cg_dev_rule *rules = xcalloc(total, sizeof *rules);
  size_t k = 0;

  for (size_t i = 0; i < n; i++)
    if (convert_device_rule(&devs[i], i, &rules[k++], err) < 0)
      return -1;
  for (size_t i = 0; i < OCI_ARRAY_SIZE(default_device_rules); i++)
    rules[k++] = default_device_rules[i];
  *n_out = k;
  *out = steal_pointer(&rules);
  return 0;
}

/* ------------------------------------------------------------------ */
/* files                                                                */
/* ------------------------------------------------------------------ */

int
rt_cg_write(const struct rt_context *log, const char *dir, const char *file, const char *value,
            struct oci_error **err)
{
  cleanup_free char *path = xasprintf("%s/%s", dir, file);
  cleanup_close int fd = -1;

  if (log)
    rt_debug(log, "cgroup: writing \"%s\" to %s", value, path);
  fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);

  if (fd < 0)
    return oci_error_errno(err, "writing `%s` = %s", file, value);
  /* One write: the kernel parses each write(2) as one value. */
  ssize_t r;
  do
    r = write(fd, value, strlen(value));
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return oci_error_errno(err, "writing `%s` = %s", file, value);
  return 0;
}

int
rt_cg_writef(const struct rt_context *log, const char *dir, const char *file, struct oci_error **err,
             const char *fmt, ...)
{
  cleanup_free char *value = NULL;
  va_list ap;

  va_start(ap, fmt);
  if (vasprintf(&value, fmt, ap) < 0)
    abort();
  va_end(ap);
  return rt_cg_write(log, dir, file, value, err);
}

char *
rt_cg_read(const char *dir, const char *file)
{
  cleanup_free char *path = xasprintf("%s/%s", dir, file);
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  size_t cap = 4096, len = 0;
  cleanup_free char *buf = NULL;

  if (fd < 0)
    return NULL;
  buf = xmalloc(cap + 1);
  for (;;)
    {
      ssize_t r = oci_read_all(fd, buf + len, cap - len);
      if (r < 0)
        return NULL;
      len += (size_t)r;
      if (len < cap)
        break;
      cap *= 2;
      buf = xrealloc(buf, cap + 1);
    }
  while (len > 0 && buf[len - 1] == '\n')
    len--;
  buf[len] = '\0';
  return steal_pointer(&buf);
}

bool
rt_cg_exists(const char *dir, const char *file)
{
  cleanup_free char *path = xasprintf("%s/%s", dir, file);
  return access(path, F_OK) == 0;
}

void
rt_cg_backoff(unsigned attempt)
{
  /* 1, 2, 4 ... 64 ms, then 100 ms steps. */
  long ms = attempt < 7 ? 1L << attempt : 100;
  struct timespec ts = { 0, ms * 1000000L };
  nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------ */
/* discovery                                                            */
/* ------------------------------------------------------------------ */

static const char *const v1_controllers[]
    = { "cpuset",  "cpu",      "cpuacct",    "blkio",   "memory", "devices", "freezer",
        "net_cls", "net_prio", "perf_event", "hugetlb", "pids",   "rdma",    "misc" };

/* The v1 hierarchies a container joins: every controller hierarchy, and
 * name=systemd as runc does (other named hierarchies are not ours). */
static bool
v1_wanted(const char *options)
{
  if (rt_cg_options_have(options, "name=systemd"))
    return true;
  for (size_t i = 0; i < OCI_ARRAY_SIZE(v1_controllers); i++)
    if (rt_cg_options_have(options, v1_controllers[i]))
      return true;
  return false;
}

static bool
v1_has_controller(const char *options)
{
  for (size_t i = 0; i < OCI_ARRAY_SIZE(v1_controllers); i++)
    if (rt_cg_options_have(options, v1_controllers[i]))
      return true;
  return false;
}

static void
cgroup_free_hiers(struct rt_cgroup *cg)
{
  for (size_t i = 0; i < cg->n; i++)
    {
      rt_cg_mount_clear(&cg->h[i].m);
      free(cg->h[i].rel);
      free(cg->h[i].dir);
    }
  free(cg->h);
  cg->h = NULL;
  cg->n = 0;
}

void
rt_cgroup_free(struct rt_cgroup *cg)
{
  if (cg == NULL)
    return;
  cgroup_free_hiers(cg);
  rt_cg_sd_unit_clear(&cg->sd);
  free(cg->sd_description);
  free(cg->path);
  free(cg);
}

static bool
path_below(const char *path, const char *dir)
{
  size_t len = strlen(dir);
  if (len == 1 && dir[0] == '/')
    return true;
  return strncmp(path, dir, len) == 0 && (path[len] == '/' || path[len] == '\0');
}

/* mountinfo lists mounts in the order they were made: a later mount on or
 * above an earlier cgroup mount hides it (a container's /sys/fs/cgroup). */
static void
hide_shadowed(struct rt_cgroup *cg, struct rt_cg_mount *v2, bool *have_v2, const char *mount_point)
{
  size_t k = 0;

  for (size_t i = 0; i < cg->n; i++)
    {
      if (path_below(cg->h[i].m.mount_point, mount_point))
        rt_cg_mount_clear(&cg->h[i].m);
      else
        cg->h[k++] = cg->h[i];
    }
  cg->n = k;
  if (*have_v2 && path_below(v2->mount_point, mount_point))
    {
      rt_cg_mount_clear(v2);
      *have_v2 = false;
    }
}

bool
rt_cgroup_unified(void)
{
  struct statfs st;
  return statfs("/sys/fs/cgroup", &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

/* A cgroup v2 host as runc and crun recognise one, cgroup2 on
 * /sys/fs/cgroup, mounted at the hierarchy's root (no cgroup.events there:
 * the kernel gives that file to every cgroup but the root): the mount table
 * could add nothing, and reading it costs about 1.5 us per mount.  Any
 * other layout (a cgroup namespace's root, a subtree bound there, v1 or
 * hybrid) is found in the mount table. */
static bool
unified_at_root(struct rt_cgroup *cg)
{
  if (!rt_cgroup_unified() || faccessat(AT_FDCWD, "/sys/fs/cgroup/cgroup.events", F_OK, AT_SYMLINK_NOFOLLOW) == 0
      || errno != ENOENT)
    return false;
  cg->h = xcalloc(1, sizeof *cg->h);
  cg->h[0].m = (struct rt_cg_mount){
    .mount_point = xstrdup("/sys/fs/cgroup"),
    .root = xstrdup("/"),
    .options = xstrdup(""),
    .v2 = true,
  };
  cg->n = 1;
  cg->mode = RT_CG_UNIFIED;
  return true;
}

/* Fill cg->h with the hierarchies to use and set cg->mode, from `mounts`
 * (read if it is not yet and needed; NULL: a table of our own). */
static int
discover(struct rt_cgroup *cg, struct oci_mount_table *mounts, struct oci_error **err)
{
  __attribute__((cleanup(oci_mount_table_clear))) struct oci_mount_table own = { 0 };
  struct oci_mountinfo *mi;
  size_t n_mi;
  struct rt_cg_mount v2 = { 0 };
  bool have_v2 = false, have_v1_ctrl = false;

  if (unified_at_root(cg))
    return 0;
  if (mounts == NULL)
    mounts = &own;
  if (oci_mount_table_get(mounts, err) < 0)
    return -1;
  mi = mounts->mi;
  n_mi = mounts->n;
  for (size_t l = 0; l < n_mi; l++)
    {
      struct rt_cg_mount m = { 0 };
      int r = rt_cg_mount_from(&mi[l], &m);
      hide_shadowed(cg, &v2, &have_v2, m.mount_point);
      if (r == 0)
        {
          rt_cg_mount_clear(&m);
          continue;
        }
      if (m.v2)
        {
          if (have_v2)
            rt_cg_mount_clear(&m);
          else
            v2 = m, have_v2 = true;
          continue;
        }
      bool dup = !v1_wanted(m.options);
      for (size_t i = 0; i < cg->n && !dup; i++)
        dup = strcmp(cg->h[i].m.options, m.options) == 0;
      if (dup)
        {
          rt_cg_mount_clear(&m);
          continue;
        }
      cg->h = xrealloc(cg->h, (cg->n + 1) * sizeof *cg->h);
      cg->h[cg->n++] = (struct rt_cg_hier){ .m = m };
    }

  for (size_t i = 0; i < cg->n; i++)
    have_v1_ctrl |= v1_has_controller(cg->h[i].m.options);
  if (!have_v1_ctrl)
    {
      /* A lone name=systemd v1 mount next to a full cgroup2 is not "hybrid". */
      cgroup_free_hiers(cg);
      if (!have_v2)
        return oci_error_set(err, 0, "not supported: no cgroup hierarchy is mounted");
      cg->mode = RT_CG_UNIFIED;
    }
  else
    cg->mode = have_v2 ? RT_CG_HYBRID : RT_CG_LEGACY;
  if (have_v2)
    {
      cg->h = xrealloc(cg->h, (cg->n + 1) * sizeof *cg->h);
      cg->h[cg->n++] = (struct rt_cg_hier){ .m = v2 };
    }
  return 0;
}

/* The key that names a hierarchy in the stored multi-line form and in
 * /proc/self/cgroup: its controllers, "" for cgroup2. */
static bool
line_matches(const struct rt_cg_mount *m, const char *controllers)
{
  if (m->v2)
    return controllers[0] == '\0';
  return controllers[0] != '\0' && rt_cg_options_have(m->options, controllers);
}

/* The base of a relative path in hierarchy `h`, given the caller's cgroup
 * there, as runc takes it:
 * - v1 hierarchies: the caller's cgroup;
 * - pure v2: its parent: the caller's own cgroup has processes, the caller
 *   among them, and cgroup v2 enables no controller below such a cgroup;
 * - the cgroup2 of a hybrid host: the hierarchy's root, whatever the
 *   caller's cgroup there (runc 1.1 joins the path to that mount point as
 *   it is, relative or not). */
static char *
relative_base(const struct rt_cgroup *cg, const struct rt_cg_hier *h, const char *own)
{
  if (cg->mode == RT_CG_HYBRID && h->m.v2)
    return xstrdup("/");
  char *base = xstrdup(own);
  char *slash = strrchr(base, '/');
  if (cg->mode == RT_CG_UNIFIED && slash)
    slash[slash == base ? 1 : 0] = '\0';
  return base;
}

static int
resolve_relative(struct rt_cgroup *cg, const char *inner, struct oci_error **err)
{
  cleanup_fclose FILE *f = fopen("/proc/self/cgroup", "re");
  cleanup_free char *line = NULL;
  size_t cap = 0;

  if (f == NULL)
    return oci_error_errno(err, "opening `/proc/self/cgroup`");
  while (getline(&line, &cap, f) > 0)
    {
      char *ctrls, *path;
      if (rt_cg_parse_proc_cgroup_line(line, &ctrls, &path) < 0)
        continue;
      for (size_t i = 0; i < cg->n; i++)
        if (cg->h[i].rel == NULL && line_matches(&cg->h[i].m, ctrls))
          {
            cleanup_free char *base = relative_base(cg, &cg->h[i], path);
            cleanup_free char *joined = xasprintf("%s/%s", base, inner);
            cg->h[i].rel = oci_path_clean(joined, OCI_PATH_KEEP_FORM);
          }
    }
  for (size_t i = 0; i < cg->n; i++)
    if (cg->h[i].rel == NULL)
      return oci_error_set(err, 0, "cannot find the caller's cgroup for the hierarchy at `%s`",
                           cg->h[i].m.mount_point);
  return 0;
}

/* The controllers part of a hierarchy's key, from its super options. */
static char *
hier_key(const struct rt_cg_mount *m)
{
  if (m->v2)
    return xstrdup("");
  cleanup_free char *key = xstrdup("");
  if (rt_cg_options_have(m->options, "name=systemd"))
    {
      free(key);
      key = xstrdup("name=systemd");
    }
  for (size_t i = 0; i < OCI_ARRAY_SIZE(v1_controllers); i++)
    if (rt_cg_options_have(m->options, v1_controllers[i]))
      {
        char *k = xasprintf("%s%s%s", key, key[0] ? "," : "", v1_controllers[i]);
        free(key);
        key = k;
      }
  return steal_pointer(&key);
}

/* The stored form: the path most hierarchies share, then a
 * "controllers:path" line for each hierarchy where it differs (a relative
 * path resolved from a caller whose cgroups differ per hierarchy). */
static char *
stored_path(const struct rt_cgroup *cg)
{
  size_t best = 0, best_count = 0;

  for (size_t i = 0; i < cg->n; i++)
    {
      size_t count = 0;
      for (size_t j = 0; j < cg->n; j++)
        count += strcmp(cg->h[i].rel, cg->h[j].rel) == 0;
      if (count > best_count)
        best = i, best_count = count;
    }
  cleanup_free char *out = xstrdup(cg->h[best].rel);
  for (size_t i = 0; i < cg->n; i++)
    {
      if (strcmp(cg->h[i].rel, cg->h[best].rel) == 0)
        continue;
      cleanup_free char *key = hier_key(&cg->h[i].m);
      char *n = xasprintf("%s\n%s:%s", out, key, cg->h[i].rel);
      free(out);
      out = n;
    }
  return steal_pointer(&out);
}

/* The stored form on one line, for messages: "/common; memory:/other". */
static char *
display_path(const char *stored)
{
  char *out = xstrdup(stored);

  for (char *p = strchr(out, '\n'); p; p = strchr(p, '\n'))
    {
      char *n = xasprintf("%.*s; %s", (int)(p - out), out, p + 1);
      p = n + (p - out) + 2;
      free(out);
      out = n;
    }
  return out;
}

/* The stored form of a --systemd-cgroup container ends in a line naming its
 * unit and the bus of its manager; "systemd" is no hierarchy's key (v1's
 * named hierarchy is "name=systemd"). */
#define SD_LINE_SYSTEM "systemd:"
#define SD_LINE_USER "systemd-user:"

static char *
stored_path_with_unit(const struct rt_cgroup *cg)
{
  cleanup_free char *base = stored_path(cg);
  return xasprintf("%s\n%s%s", base, cg->sd.user ? SD_LINE_USER : SD_LINE_SYSTEM, cg->sd.unit);
}

static bool
parse_unit_line(struct rt_cgroup *cg, const char *l)
{
  bool user = strncmp(l, SD_LINE_USER, strlen(SD_LINE_USER)) == 0;

  if (!user && strncmp(l, SD_LINE_SYSTEM, strlen(SD_LINE_SYSTEM)) != 0)
    return false;
  free(cg->sd.unit);
  cg->sd.unit = xstrdup(l + strlen(user ? SD_LINE_USER : SD_LINE_SYSTEM));
  cg->sd.user = user;
  return true;
}

static int
resolve_stored(struct rt_cgroup *cg, const char *stored, struct oci_error **err)
{
  cleanup_free char *copy = xstrdup(stored);
  const char *common = NULL;
  char *save = NULL;

  for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
    {
      if (l[0] == '/')
        {
          common = l;
          continue;
        }
      if (parse_unit_line(cg, l))
        continue;
      char *colon = strchr(l, ':');
      if (colon == NULL || colon[1] != '/')
        {
          cleanup_free char *shown = display_path(stored);
          return oci_error_set(err, 0, "invalid stored cgroup path `%s`", shown);
        }
      *colon = '\0';
      for (size_t i = 0; i < cg->n; i++)
        if (cg->h[i].rel == NULL && line_matches(&cg->h[i].m, l))
          cg->h[i].rel = xstrdup(colon + 1);
    }
  for (size_t i = 0; i < cg->n; i++)
    {
      if (cg->h[i].rel)
        continue;
      if (common == NULL)
        return oci_error_set(err, 0, "the cgroup hierarchy at `%s` is not in the stored cgroup path",
                             cg->h[i].m.mount_point);
      cg->h[i].rel = xstrdup(common);
    }
  return 0;
}

static void
fill_dirs(struct rt_cgroup *cg)
{
  for (size_t i = 0; i < cg->n; i++)
    cg->h[i].dir = rt_cg_mount_dir(&cg->h[i].m, cg->h[i].rel);
}

/* ------------------------------------------------------------------ */
/* public API                                                           */
/* ------------------------------------------------------------------ */

static bool
systemd_running(void)
{
  /* systemd's own test (sd_booted). */
  struct stat st;
  return lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

static int
rmdir_retry(const char *dir, struct oci_error **err)
{
  for (unsigned attempt = 0;; attempt++)
    {
      if (rmdir(dir) == 0 || errno == ENOENT)
        return 0;
      if (errno != EBUSY || attempt >= 12)
        return oci_error_errno(err, "removing cgroup `%s`", dir);
      rt_cg_backoff(attempt);
    }
}

/* The unit's cgroup as the system manager will place it; a user manager's
 * real path is only known once the unit runs (rt_cgroup_start). */
static int
plan_systemd(struct rt_cgroup *cg, const char *cgroups_path, const char *id, struct oci_mount_table *mounts,
             struct oci_error **err)
{
  bool user = geteuid() != 0 || rt_ns_in_user_namespace();

  if (!rt_cg_sd_available())
    return oci_error_set(err, 0, "not supported: --systemd-cgroup (built without libsystemd)");
  if (rt_cg_sd_parse(cgroups_path, id, user, &cg->sd, err) < 0)
    return -1;
  /* A scope must be made by systemd over D-Bus; directories made behind
   * its back would be fought over by it. */
  if (!systemd_running())
    return oci_error_set(err, 0, "not supported: --systemd-cgroup (systemd is not running)");
  if (discover(cg, mounts, err) < 0)
    return -1;
  for (size_t i = 0; i < cg->n; i++)
    cg->h[i].rel = xstrdup(cg->sd.path);
  fill_dirs(cg);
  cg->path = stored_path_with_unit(cg);
  cg->sd_description = xasprintf("ocirt container %s", id);
  cg->created = true;
  return 0;
}

int
rt_cgroup_plan(const struct oci_config *cfg, const char *id, bool systemd, struct oci_mount_table *mounts,
               struct rt_cgroup **out, struct oci_error **err)
{
  const struct oci_linux *l = cfg ? cfg->linux_ : NULL;
  const char *cgroups_path = l ? l->cgroups_path : NULL;
  cleanup_cgroup struct rt_cgroup *cg = xzalloc(sizeof *cg);
  cleanup_free char *inner = NULL;

  if (systemd)
    {
      if (plan_systemd(cg, cgroups_path, id, mounts, err) < 0)
        return -1;
      *out = steal_pointer(&cg);
      return 0;
    }

  if (rt_cg_config_path(cgroups_path, id, &inner, err) < 0)
    return -1;
  if (discover(cg, mounts, err) < 0)
    return -1;
  if (inner[0] == '/')
    for (size_t i = 0; i < cg->n; i++)
      cg->h[i].rel = xstrdup(inner);
  else if (resolve_relative(cg, inner, err) < 0)
    return -1;
  fill_dirs(cg);
  cg->path = stored_path(cg);
  cg->created = true;
  *out = steal_pointer(&cg);
  return 0;
}

static bool
in_part(const struct rt_cg_hier *h, enum rt_cg_part part)
{
  return part == RT_CG_ALL || (part == RT_CG_CGROUP2) == h->m.v2;
}

int
rt_cgroup_make(const struct rt_cgroup *cg, const struct oci_config *cfg, enum rt_cg_part part,
               struct oci_error **err)
{
  const struct oci_linux *l = cfg ? cfg->linux_ : NULL;
  /* systemd makes the directories when it starts the unit. */
  if (cg->sd.unit)
    return 0;
  cleanup_free char *ctrls
      = cg->mode == RT_CG_UNIFIED ? rt_cg_v2_needed_controllers(l ? l->resources : NULL) : xstrdup("");
  for (size_t i = 0; i < cg->n; i++)
    {
      if (!in_part(&cg->h[i], part))
        continue;
      int r = cg->h[i].m.v2 ? rt_cg_v2_create_dir(cg->log, &cg->h[i], ctrls, err)
                            : rt_cg_v1_create_dir(cg->log, &cg->h[i], err);
      if (r < 0)
        {
          /* Undo the leaves made so far; parents may be shared. */
          for (size_t j = 0; j < i; j++)
            if (in_part(&cg->h[j], part))
              rmdir(cg->h[j].dir);
          cleanup_free char *shown = display_path(cg->path);
          return oci_error_wrap(err, "creating cgroup `%s`", shown);
        }
    }
  return 0;
}

int
rt_cgroup_create(const struct oci_config *cfg, const char *id, bool systemd, struct rt_cgroup **out,
                 struct oci_error **err)
{
  cleanup_cgroup struct rt_cgroup *cg = NULL;

  if (rt_cgroup_plan(cfg, id, systemd, NULL, &cg, err) < 0 || rt_cgroup_make(cg, cfg, RT_CG_ALL, err) < 0)
    return -1;
  *out = steal_pointer(&cg);
  return 0;
}

int
rt_cgroup_open(const char *path, struct rt_cgroup **out, struct oci_error **err)
{
  cleanup_cgroup struct rt_cgroup *cg = xzalloc(sizeof *cg);

  if (path == NULL || path[0] == '\0')
    return oci_error_set(err, 0, "empty cgroup path");
  if (discover(cg, NULL, err) < 0)
    return -1;
  if (resolve_stored(cg, path, err) < 0)
    return -1;
  fill_dirs(cg);
  cg->path = xstrdup(path);
  *out = steal_pointer(&cg);
  return 0;
}

void
rt_cgroup_set_log(struct rt_cgroup *cg, const struct rt_context *log)
{
  cg->log = log;
}

const char *
rt_cgroup_path(const struct rt_cgroup *cg)
{
  return cg->path;
}

char *
rt_cgroup_display_path(const struct rt_cgroup *cg)
{
  return display_path(cg->path);
}

int
rt_cgroup_enter(const struct rt_cgroup *cg, pid_t pid, struct oci_error **err)
{
  return rt_cgroup_enter_subs(cg, pid, NULL, 0, err);
}

/* After systemd made the unit's cgroup: the path it chose, the controllers
 * the limits need that systemd does not enable itself (hugetlb, rdma ...),
 * the v1 hierarchies it does not manage, and the pid in all of them, as
 * runc's systemd driver does with its cgroupfs one. */
static int
join_started_unit(struct rt_cgroup *cg, const char *unit_cgroup, const struct oci_resources *res, pid_t pid,
                  struct oci_error **err)
{
  cleanup_free char *ctrls = cg->mode == RT_CG_UNIFIED ? rt_cg_v2_needed_controllers(res) : xstrdup("");

  for (size_t i = 0; i < cg->n; i++)
    {
      free(cg->h[i].rel);
      free(cg->h[i].dir);
      cg->h[i].rel = xstrdup(unit_cgroup);
    }
  fill_dirs(cg);
  free(cg->path);
  cg->path = stored_path_with_unit(cg);
  for (size_t i = 0; i < cg->n; i++)
    {
      int r = cg->h[i].m.v2 ? rt_cg_v2_create_dir(cg->log, &cg->h[i], ctrls, err)
                            : rt_cg_v1_create_dir(cg->log, &cg->h[i], err);
      if (r < 0)
        return oci_error_wrap(err, "setting up the cgroup of unit `%s`", cg->sd.unit);
    }
  return rt_cgroup_enter(cg, pid, err);
}

int
rt_cgroup_start(struct rt_cgroup *cg, const struct oci_resources *res, pid_t pid, struct rt_cgroup_join *j,
                struct oci_error **err)
{
  cleanup_free char *unit_cgroup = NULL;

  if (cg->sd.unit == NULL)
    return j ? rt_cgroup_join_finish(j, pid, err) : rt_cgroup_enter(cg, pid, err);
  if (cg->log)
    rt_debug(cg->log, "cgroup: starting the systemd unit %s with pid %d", cg->sd.unit, (int)pid);
  if (rt_cg_sd_start(&cg->sd, cg->sd_description, pid, cg->mode == RT_CG_UNIFIED, res, &unit_cgroup, err) < 0)
    return -1;
  return join_started_unit(cg, unit_cgroup, res, pid, err);
}

/* A sub-cgroup path stays below the container's cgroup: no ".." in it. */
static bool
sub_path_ok(const char *path)
{
  for (const char *p = path; *p;)
    {
      size_t len = strcspn(p, "/");
      if (len == 2 && p[0] == '.' && p[1] == '.')
        return false;
      p += len;
      p += *p == '/';
    }
  return path[0] != '\0';
}

int
rt_cgroup_check_subs(char *const *subs, size_t n, struct oci_error **err)
{
  for (size_t i = 0; i < n; i++)
    {
      const char *colon = strchr(subs[i], ':');
      const char *path = colon ? colon + 1 : subs[i];

      if (colon && (colon == subs[i] || strchr(path, ':')))
        return oci_error_set(err, 0, "invalid --cgroup `%s`: expected [CONTROLLER[,...]:]PATH", subs[i]);
      if (!colon && n > 1)
        return oci_error_set(err, 0, "invalid --cgroup `%s`: with several, each needs a CONTROLLER: prefix",
                             subs[i]);
      if (!sub_path_ok(path))
        return oci_error_set(err, 0, "invalid --cgroup `%s`: the path must be below the container's cgroup",
                             subs[i]);
    }
  return 0;
}

int
rt_cgroup_enter_subs(const struct rt_cgroup *cg, pid_t pid, char *const *subs, size_t n,
                     struct oci_error **err)
{
  struct rt_cgroup_join j;
  int r;

  if (rt_cgroup_join_prepare(cg, subs, n, 0, &j, err) < 0)
    return -1;
  r = rt_cgroup_join_finish(&j, pid, err);
  rt_cgroup_join_clear(&j);
  return r;
}

int
rt_cgroup_apply(const struct rt_cgroup *cg, const struct oci_resources *res, struct oci_error **err)
{
  static const struct oci_resources none;

  if (res == NULL)
    res = &none;
  /* `update`: systemd's copy first, or its next reload would undo the
   * files (a new unit got its properties when it started). */
  if (cg->sd.unit && !cg->created
      && rt_cg_sd_set(cg->sd.unit, cg->sd.user, cg->mode == RT_CG_UNIFIED, res, err) < 0)
    return -1;
  if (cg->mode == RT_CG_UNIFIED)
    return rt_cg_v2_apply(cg, &cg->h[0], res, err);
  return rt_cg_v1_apply(cg, res, err);
}

/* Call fn(sub, data, err) on every child cgroup directory of `dir` (the
 * cgroups a container made below its own); a `dir` removed under us has
 * none. */
static int
for_each_child_cgroup(const char *dir, int (*fn)(const char *sub, void *data, struct oci_error **err),
                      void *data, struct oci_error **err)
{
  cleanup_closedir DIR *d = opendir(dir);
  struct dirent *e;

  if (d == NULL)
    return errno == ENOENT ? 0 : oci_error_errno(err, "listing `%s`", dir);
  while ((e = readdir(d)))
    {
      if (e->d_type != DT_DIR || e->d_name[0] == '.')
        continue;
      cleanup_free char *sub = xasprintf("%s/%s", dir, e->d_name);
      if (fn(sub, data, err) < 0)
        return -1;
    }
  return 0;
}

struct pid_list
{
  pid_t *v;
  size_t n, cap;
};

static int
append_pids(const char *dir, void *data, struct oci_error **err)
{
  struct pid_list *l = data;
  cleanup_free char *procs = rt_cg_read(dir, "cgroup.procs");

  if (procs == NULL)
    {
      /* Removed under us: gone (ENOENT), or still being torn down (ENODEV),
       * as when systemd stops a scope that has emptied. */
      if (errno == ENOENT || errno == ENODEV)
        return 0;
      return oci_error_errno(err, "reading `%s/cgroup.procs`", dir);
    }
  for (char *p = procs; *p;)
    {
      char *end;
      long v = strtol(p, &end, 10);
      if (end == p)
        break;
      if (l->n == l->cap)
        {
          l->cap = l->cap ? l->cap * 2 : 16;
          l->v = xrealloc(l->v, l->cap * sizeof *l->v);
        }
      l->v[l->n++] = (pid_t)v;
      p = end;
      while (*p == '\n')
        p++;
    }
  return for_each_child_cgroup(dir, append_pids, l, err);
}

/* The hierarchy whose membership is most reliable for listing: v2 when it is
 * the only one; on v1 pids, then freezer, then memory, then any. */
static const struct rt_cg_hier *
pids_hier(const struct rt_cgroup *cg)
{
  static const char *const prefer[] = { "pids", "freezer", "memory", "devices" };

  if (cg->mode == RT_CG_UNIFIED)
    return &cg->h[0];
  for (size_t p = 0; p < OCI_ARRAY_SIZE(prefer); p++)
    for (size_t i = 0; i < cg->n; i++)
      if (!cg->h[i].m.v2 && rt_cg_options_have(cg->h[i].m.options, prefer[p]))
        return &cg->h[i];
  return cg->n ? &cg->h[0] : NULL;
}

int
rt_cgroup_pids(const struct rt_cgroup *cg, pid_t **pids, size_t *n, struct oci_error **err)
{
  const struct rt_cg_hier *h = pids_hier(cg);
  struct pid_list list = { 0 };

  if (h == NULL)
    return oci_error_set(err, 0, "no cgroup hierarchy to list processes from");
  if (append_pids(h->dir, &list, err) < 0)
    {
      free(list.v);
      return -1;
    }
  *pids = list.v;
  *n = list.n;
  return 0;
}

int
rt_cgroup_freeze(const struct rt_cgroup *cg, bool frozen, struct oci_error **err)
{
  if (cg->mode == RT_CG_UNIFIED)
    return rt_cg_v2_freeze(cg->log, &cg->h[0], frozen, err);
  return rt_cg_v1_freeze(cg, frozen, err);
}

/* Children first: a container may have made its own sub-cgroups.  The
 * directory is listed only when the plain rmdir fails, which keeps the
 * common case to one system call per hierarchy. */
static int
destroy_tree(const char *dir, void *data, struct oci_error **err)
{
  if (rmdir(dir) == 0 || errno == ENOENT)
    return 0;
  if (errno != EBUSY && errno != ENOTEMPTY)
    return oci_error_errno(err, "removing cgroup `%s`", dir);
  if (for_each_child_cgroup(dir, destroy_tree, data, err) < 0)
    return -1;
  return rmdir_retry(dir, err);
}

int
rt_cgroup_destroy(const struct rt_cgroup *cg, struct oci_error **err)
{
  int ret = 0;

  /* systemd removes the unit's cgroup as it stops it; what is left (a
   * unit that never started) the loop below removes. */
  if (cg->sd.unit && rt_cg_sd_stop(cg->sd.unit, cg->sd.user, err) < 0)
    ret = -1;
  /* Keep going after a failure so that one busy hierarchy does not leave
   * all the others behind; report the first error. */
  for (size_t i = 0; i < cg->n; i++)
    {
      struct oci_error *e = NULL;
      if (destroy_tree(cg->h[i].dir, NULL, &e) < 0)
        {
          if (ret == 0)
            {
              *err = e;
              ret = -1;
            }
          else
            oci_error_free(e);
        }
    }
  return ret;
}
