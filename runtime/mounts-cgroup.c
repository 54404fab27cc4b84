/* Mounting inside a container root (see mounts.h).
 *
 * cgroup mounts (see mounts.c for the rest): on a cgroup v2 host a cgroup2
 * mount, falling back to a bind of the host's hierarchy; on a v1 or hybrid
 * host what runc does: a tmpfs with, per v1 hierarchy, a read-only bind of
 * our own cgroup (or, with a cgroup namespace, a fresh mount of the
 * hierarchy) and symlinks for co-mounted controllers (cpu -> cpu,cpuacct). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "oci-config.h"
#include "inroot.h"
#include "mounts.h"
#include "mountinfo.h"
#include "mounts-internal.h"
#include "util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* The flags runc gives the tmpfs under a v1 cgroup mount. */
#define CGROUP_TMPFS_FLAGS (MS_NOEXEC | MS_NOSUID | MS_NODEV)

/* Is every comma-separated token of `want` among the tokens of `have`? */
static bool
tokens_subset(const char *want, const char *have)
{
  cleanup_free char *w = xstrdup(want);
  char *save = NULL;

  for (char *t = strtok_r(w, ",", &save); t; t = strtok_r(NULL, ",", &save))
    {
      size_t tl = strlen(t);
      bool found = false;

      for (const char *p = have; *p;)
        {
          const char *end = strchrnul(p, ',');
          if ((size_t)(end - p) == tl && strncmp(p, t, tl) == 0)
            found = true;
          p = *end ? end + 1 : end;
        }
      if (!found)
        return false;
    }
  return true;
}

struct cgroup_v1_bind
{
  char *source;      /* host path of our own cgroup in the hierarchy */
  char *name;        /* basename of the host mount point ("cpu,cpuacct") */
  char *controllers; /* as in /proc/self/cgroup ("cpu,cpuacct", "name=systemd") */
};

static void
cgroup_binds_free(struct cgroup_v1_bind *b, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free(b[i].source);
      free(b[i].name);
      free(b[i].controllers);
    }
  free(b);
}

/* Find our own cgroup path for the v1 hierarchy mounted with `super`. */
static char *
own_cgroup_for(const char *super, char *const *lines, size_t nlines, char **controllers)
{
  for (size_t i = 0; i < nlines; i++)
    {
      cleanup_free char *copy = xstrdup(lines[i]);
      char *c1 = strchr(copy, ':');
      char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

      if (c2 == NULL || c2 == c1 + 1)
        continue;
      *c2 = '\0';
      if (!tokens_subset(c1 + 1, super))
        continue;
      *controllers = xstrdup(c1 + 1);
      return xstrdup(c2 + 1);
    }
  return NULL;
}

static int
read_cgroup_lines(char ***lines, size_t *n, struct oci_error **err)
{
  cleanup_fclose FILE *f = fopen("/proc/self/cgroup", "re");
  cleanup_free char *line = NULL;
  size_t cap = 0;

  *lines = NULL;
  *n = 0;
  if (f == NULL)
    return oci_error_errno(err, "opening /proc/self/cgroup");
  while (getline(&line, &cap, f) > 0)
    {
      line[strcspn(line, "\n")] = '\0';
      *lines = xrealloc(*lines, (*n + 1) * sizeof(char *));
      (*lines)[(*n)++] = xstrdup(line);
    }
  return 0;
}

static void
free_lines(char **lines, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(lines[i]);
  free(lines);
}

/* Every v1 hierarchy mounted on the host, in mountinfo order, each once. */
static int
cgroup_v1_binds(const struct rt_mount_ctx *ctx, struct cgroup_v1_bind **out, size_t *nout,
                struct oci_error **err)
{
  const struct oci_mountinfo *mi;
  size_t nmi;
  bool cgroupns = ctx->cgroupns;
  char **lines = NULL;
  size_t nlines = 0;
  struct cgroup_v1_bind *b = NULL;
  size_t nb = 0;

  if (oci_mount_table_get(ctx->host_mounts, err) < 0)
    return -1;
  mi = ctx->host_mounts->mi;
  nmi = ctx->host_mounts->n;
  if (read_cgroup_lines(&lines, &nlines, err) < 0)
    return -1;
  for (size_t i = 0; i < nmi; i++)
    {
      char *controllers = NULL;
      char *own;
      size_t rootlen = strlen(mi[i].root);
      const char *rel;
      bool dup = false;

      if (strcmp(mi[i].fstype, "cgroup") != 0)
        continue;
      own = own_cgroup_for(mi[i].super_opts, lines, nlines, &controllers);
      if (own == NULL)
        continue;
      for (size_t j = 0; j < nb; j++)
        dup = dup || strcmp(b[j].controllers, controllers) == 0;
      if (strcmp(mi[i].root, "/") == 0)
        rel = own;
      else if (strncmp(own, mi[i].root, rootlen) == 0 && (own[rootlen] == '/' || own[rootlen] == '\0'))
        rel = own + rootlen;
      else if (cgroupns)
        rel = "/"; /* mounted directly: no source path needed */
      else
        rel = NULL; /* a mount of a subtree we are not in cannot show our cgroup */
      if (dup || rel == NULL)
        {
          free(own);
          free(controllers);
          continue;
        }
      b = xrealloc(b, (nb + 1) * sizeof *b);
      b[nb].source = xasprintf("%s%s", mi[i].mountpoint, strcmp(rel, "/") == 0 ? "" : rel);
      b[nb].name
          = xstrdup(strrchr(mi[i].mountpoint, '/') ? strrchr(mi[i].mountpoint, '/') + 1 : mi[i].mountpoint);
      b[nb].controllers = controllers;
      nb++;
      free(own);
    }
  free_lines(lines, nlines);
  *out = b;
  *nout = nb;
  return 0;
}

static int
mount_cgroup_v1_direct(const struct rt_mount_ctx *ctx, const char *dest, const struct cgroup_v1_bind *b,
                       const struct rt_mount_options *o, struct oci_error **err)
{
  cleanup_close int fd = oci_root_mkdir_p(ctx->rootfd, dest, 0755, 0, NULL, NULL, err);
  unsigned long flags = CGROUP_TMPFS_FLAGS | (o->flags & MS_RDONLY);
  const char *source = "cgroup";

  if (fd < 0)
    return -1;
  if (strncmp(b->controllers, "name=", 5) == 0)
    source = b->controllers + 5;
  if (rt_mount_on_fd(source, fd, "cgroup", flags, b->controllers) < 0)
    return oci_error_errno(err, "mount");
  return 0;
}

/* A symlink per controller of a co-mounted hierarchy: cpu -> cpu,cpuacct. */
static int
cgroup_v1_symlinks(int dirfd, const struct cgroup_v1_bind *b, struct oci_error **err)
{
  cleanup_free char *names = NULL;
  char *save = NULL;

  if (strchr(b->name, ',') == NULL)
    return 0;
  names = xstrdup(b->name);
  for (char *t = strtok_r(names, ",", &save); t; t = strtok_r(NULL, ",", &save))
    if (symlinkat(b->name, dirfd, t) < 0 && errno != EEXIST)
      return oci_error_errno(err, "symlink `%s` -> `%s`", t, b->name);
  return 0;
}

static int
mount_cgroup_v1(const struct rt_mount_ctx *ctx, const struct oci_mount *m, const struct rt_mount_options *o,
                struct oci_error **err)
{
  struct cgroup_v1_bind *b = NULL;
  size_t nb = 0;
  struct rt_mount_options tmpfs = { .flags = CGROUP_TMPFS_FLAGS, .data = (char *)"mode=755" };
  struct oci_mount tm = { .destination = m->destination, .source = (char *)"tmpfs", .type = (char *)"tmpfs" };
  cleanup_close int dirfd = -1;
  int r = -1;

  tmpfs.propagation = o->propagation;
  tmpfs.propagation_len = o->propagation_len;
  if (cgroup_v1_binds(ctx, &b, &nb, err) < 0)
    return -1;
  if (rt_mount_tmpfs(ctx, &tm, &tmpfs, err) < 0)
    goto out;
  /* The tmpfs just mounted: each hierarchy gets a new directory in it. */
  dirfd = oci_root_open(ctx->rootfd, m->destination, O_PATH | O_DIRECTORY, err);
  if (dirfd < 0)
    goto out;
  for (size_t i = 0; i < nb; i++)
    {
      cleanup_free char *dest = xasprintf("%s/%s", m->destination, b[i].name);
      struct rt_mount_options bind = *o;

      bind.flags = o->flags | MS_BIND | MS_REC;
      bind.data = NULL;
      bind.rec_set = bind.rec_clr = 0;
      if (ctx->cgroupns)
        r = mount_cgroup_v1_direct(ctx, dest, &b[i], o, err);
      else
        r = rt_mount_bind_dir_in(dirfd, b[i].name, b[i].source, &bind, err);
      if (r < 0)
        {
          oci_error_wrap(err, "cgroup hierarchy `%s`", b[i].name);
          goto out;
        }
    }
  r = -1;
  for (size_t i = 0; i < nb; i++)
    if (cgroup_v1_symlinks(dirfd, &b[i], err) < 0)
      goto out;
  r = 0;
out:
  cgroup_binds_free(b, nb);
  return r;
}

static int
mount_cgroup_v2(const struct rt_mount_ctx *ctx, const struct oci_mount *m, const struct rt_mount_options *o,
                struct oci_error **err)
{
  struct rt_mount_options bind;
  struct oci_mount cm = *m;

  cm.source = m->source ? m->source : (char *)"cgroup";
  if (rt_mount_fs(ctx, &cm, "cgroup2", o, err) == 0)
    return 0;
  if ((*err)->status != EPERM && (*err)->status != EBUSY)
    return -1;
  oci_error_free(*err);
  *err = NULL;
  /* A user namespace without its own cgroup namespace cannot mount cgroup2:
   * bind the host's hierarchy instead, as runc does.  (runc narrows it to
   * the container's cgroup when there is a cgroupns; from inside one our
   * host path is no longer visible.) */
  bind = *o;
  bind.flags = o->flags | MS_BIND;
  bind.data = NULL;
  return rt_mount_bind(ctx, "/sys/fs/cgroup", m->destination, &bind, err);
}

int
rt_mount_cgroup(const struct rt_mount_ctx *ctx, const struct oci_mount *m, const struct rt_mount_options *o,
                struct oci_error **err)
{
  struct statfs st;

  if (statfs("/sys/fs/cgroup", &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC)
    return mount_cgroup_v2(ctx, m, o, err);
  return mount_cgroup_v1(ctx, m, o, err);
}
