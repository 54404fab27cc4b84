/* Mounting inside a container root (see mounts.h).
 *
 * The behaviour follows runc's libcontainer (rootfs_linux.go): tmpfs and /dev
 * are mounted read-write first and made read-only in rt_rootfs_finalize();
 * bind mounts are a bind followed by MS_REMOUNT|MS_BIND with the requested
 * flags, retried with the flags the kernel locks in a user namespace.
 * cgroup mounts are in mounts-cgroup.c. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "oci-config.h"
#include "log.h"
#include "idmap.h"
#include "inroot.h"
#include "mounts.h"
#include "mounts-internal.h"
#include "util.h"

/* statfs(2) f_flags bits (<linux/statfs.h> values, not exported by glibc). */
#define RT_ST_RDONLY 0x0001
#define RT_ST_NOSUID 0x0002
#define RT_ST_NODEV 0x0004
#define RT_ST_NOEXEC 0x0008
#define RT_ST_SYNCHRONOUS 0x0010
#define RT_ST_MANDLOCK 0x0040
#define RT_ST_NOATIME 0x0400
#define RT_ST_NODIRATIME 0x0800
#define RT_ST_RELATIME 0x1000
#define RT_ST_NOSYMFOLLOW 0x2000

#define ATIME_ENUM_FLAGS (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)
#define ATIME_FLAGS (ATIME_ENUM_FLAGS | MS_NODIRATIME)
/* What the kernel locks (MNT_LOCK_*) on mounts inherited by a less
 * privileged user namespace: a remount may not clear them. */
#define LOCKED_FLAGS (MS_RDONLY | MS_NODEV | MS_NOEXEC | MS_NOSUID | ATIME_FLAGS)

/* ---- options ---- */

struct flag_option
{
  const char *name;
  bool clear;
  unsigned long flag;
};

static const struct flag_option flag_options[] = {
  { "acl", false, MS_POSIXACL },
  { "async", true, MS_SYNCHRONOUS },
  { "atime", true, MS_NOATIME },
  { "bind", false, MS_BIND },
  { "defaults", false, 0 },
  { "dev", true, MS_NODEV },
  { "diratime", true, MS_NODIRATIME },
  { "dirsync", false, MS_DIRSYNC },
  { "exec", true, MS_NOEXEC },
  { "iversion", false, MS_I_VERSION },
  { "lazytime", false, MS_LAZYTIME },
  { "loud", true, MS_SILENT },
  { "mand", false, MS_MANDLOCK },
  { "noacl", true, MS_POSIXACL },
  { "noatime", false, MS_NOATIME },
  { "nodev", false, MS_NODEV },
  { "nodiratime", false, MS_NODIRATIME },
  { "noexec", false, MS_NOEXEC },
  { "noiversion", true, MS_I_VERSION },
  { "nolazytime", true, MS_LAZYTIME },
  { "nomand", true, MS_MANDLOCK },
  { "norelatime", true, MS_RELATIME },
  { "nostrictatime", true, MS_STRICTATIME },
  { "nosuid", false, MS_NOSUID },
  { "nosymfollow", false, MS_NOSYMFOLLOW },
  { "rbind", false, MS_BIND | MS_REC },
  { "relatime", false, MS_RELATIME },
  { "remount", false, MS_REMOUNT },
  { "ro", false, MS_RDONLY },
  { "rw", true, MS_RDONLY },
  { "silent", false, MS_SILENT },
  { "strictatime", false, MS_STRICTATIME },
  { "suid", true, MS_NOSUID },
  { "symfollow", true, MS_NOSYMFOLLOW },
  { "sync", false, MS_SYNCHRONOUS },
};

struct propagation_option
{
  const char *name;
  unsigned long flags;
};

static const struct propagation_option propagation_options[] = {
  { "private", MS_PRIVATE },       { "rprivate", MS_PRIVATE | MS_REC },
  { "shared", MS_SHARED },         { "rshared", MS_SHARED | MS_REC },
  { "slave", MS_SLAVE },           { "rslave", MS_SLAVE | MS_REC },
  { "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

struct rec_option
{
  const char *name;
  bool clear;
  uint64_t attr;
};

static const struct rec_option rec_options[] = {
  { "rro", false, MOUNT_ATTR_RDONLY },
  { "rrw", true, MOUNT_ATTR_RDONLY },
  { "rnosuid", false, MOUNT_ATTR_NOSUID },
  { "rsuid", true, MOUNT_ATTR_NOSUID },
  { "rnodev", false, MOUNT_ATTR_NODEV },
  { "rdev", true, MOUNT_ATTR_NODEV },
  { "rnoexec", false, MOUNT_ATTR_NOEXEC },
  { "rexec", true, MOUNT_ATTR_NOEXEC },
  { "rnodiratime", false, MOUNT_ATTR_NODIRATIME },
  { "rdiratime", true, MOUNT_ATTR_NODIRATIME },
  { "rrelatime", false, MOUNT_ATTR_RELATIME },
  { "rnorelatime", true, MOUNT_ATTR_RELATIME },
  { "rnoatime", false, MOUNT_ATTR_NOATIME },
  { "ratime", true, MOUNT_ATTR_NOATIME },
  { "rstrictatime", false, MOUNT_ATTR_STRICTATIME },
  { "rnostrictatime", true, MOUNT_ATTR_STRICTATIME },
  { "rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW },
  { "rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW },
};

static bool
parse_flag_option(const char *opt, struct rt_mount_options *out)
{
  for (size_t i = 0; i < OCI_ARRAY_SIZE(flag_options); i++)
    {
      const struct flag_option *f = &flag_options[i];
      if (strcmp(opt, f->name) != 0)
        continue;
      if (f->clear)
        {
          out->flags &= ~f->flag;
          out->cleared |= f->flag;
        }
      else
        {
          out->flags |= f->flag;
          out->cleared &= ~f->flag;
        }
      return true;
    }
  return false;
}

static bool
parse_propagation_option(const char *opt, struct rt_mount_options *out)
{
  for (size_t i = 0; i < OCI_ARRAY_SIZE(propagation_options); i++)
    {
      if (strcmp(opt, propagation_options[i].name) != 0)
        continue;
      out->propagation = xrealloc(out->propagation, (out->propagation_len + 1) * sizeof(unsigned long));
      out->propagation[out->propagation_len++] = propagation_options[i].flags;
      return true;
    }
  return false;
}

static bool
parse_rec_option(const char *opt, struct rt_mount_options *out)
{
  for (size_t i = 0; i < OCI_ARRAY_SIZE(rec_options); i++)
    {
      const struct rec_option *r = &rec_options[i];
      if (strcmp(opt, r->name) != 0)
        continue;
      /* The atime modes are an enum inside MOUNT_ATTR__ATIME: setting one
       * means clearing the field first. */
      if ((r->attr & MOUNT_ATTR__ATIME) == r->attr)
        {
          out->rec_clr |= MOUNT_ATTR__ATIME;
          out->rec_set &= ~(uint64_t)MOUNT_ATTR__ATIME;
          if (!r->clear)
            out->rec_set |= r->attr;
        }
      else if (r->clear)
        {
          out->rec_clr |= r->attr;
          out->rec_set &= ~r->attr;
        }
      else
        {
          out->rec_set |= r->attr;
          out->rec_clr &= ~r->attr;
        }
      return true;
    }
  return false;
}

static void
append_data(char **data, const char *opt)
{
  char *s;

  if (*data == NULL)
    {
      *data = xstrdup(opt);
      return;
    }
  s = xasprintf("%s,%s", *data, opt);
  free(*data);
  *data = s;
}

int
rt_mount_options_parse(char *const *options, size_t n, struct rt_mount_options *out, struct oci_error **err)
{
  *out = (struct rt_mount_options){ 0 };
  for (size_t i = 0; i < n; i++)
    {
      const char *opt = options[i];

      if (parse_flag_option(opt, out) || parse_propagation_option(opt, out) || parse_rec_option(opt, out))
        continue;
      if (strcmp(opt, "tmpcopyup") == 0)
        {
          out->tmpcopyup = true;
          continue;
        }
      /* Done by the parent on the source's tree (idmap.c). */
      if (strcmp(opt, "idmap") == 0 || strcmp(opt, "ridmap") == 0)
        continue;
      append_data(&out->data, opt);
    }
  return 0;
}

void
rt_mount_options_clear(struct rt_mount_options *o)
{
  free(o->propagation);
  free(o->data);
  *o = (struct rt_mount_options){ 0 };
}

int
rt_mount_options_parse_all(const struct oci_config *cfg, struct rt_mount_options **out,
                           struct oci_error **err)
{
  *out = xcalloc(cfg->mounts_len ? cfg->mounts_len : 1, sizeof **out);
  for (size_t i = 0; i < cfg->mounts_len; i++)
    if (rt_mount_options_parse(cfg->mounts[i].options, cfg->mounts[i].options_len, &(*out)[i], err) < 0)
      return oci_error_wrap(err, "mounts[%zu].options", i);
  return 0;
}

void
rt_mount_options_free_all(struct rt_mount_options *all, size_t n)
{
  for (size_t i = 0; all && i < n; i++)
    rt_mount_options_clear(&all[i]);
  free(all);
}

int
rt_propagation_parse(const char *name, unsigned long *flags, struct oci_error **err)
{
  for (size_t i = 0; i < OCI_ARRAY_SIZE(propagation_options); i++)
    if (strcmp(name, propagation_options[i].name) == 0)
      {
        *flags = propagation_options[i].flags;
        return 0;
      }
  return oci_error_set(err, 0, "linux.rootfsPropagation: `%s` is not supported", name);
}

/* ---- mounting onto fds ---- */

int
rt_mount_on_fd(const char *source, int fd, const char *type, unsigned long flags, const char *data)
{
  char target[64];

  snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
  return mount(source, target, type, flags, data);
}

static unsigned long
statfs_to_ms_flags(unsigned long f)
{
  static const struct
  {
    unsigned long st, ms;
  } map[] = {
    { RT_ST_RDONLY, MS_RDONLY },     { RT_ST_NOSUID, MS_NOSUID },
    { RT_ST_NODEV, MS_NODEV },       { RT_ST_NOEXEC, MS_NOEXEC },
    { RT_ST_MANDLOCK, MS_MANDLOCK }, { RT_ST_SYNCHRONOUS, MS_SYNCHRONOUS },
    { RT_ST_NOATIME, MS_NOATIME },   { RT_ST_NODIRATIME, MS_NODIRATIME },
    { RT_ST_RELATIME, MS_RELATIME }, { RT_ST_NOSYMFOLLOW, MS_NOSYMFOLLOW },
  };
  unsigned long flags = 0;

  for (size_t i = 0; i < OCI_ARRAY_SIZE(map); i++)
    if (f & map[i].st)
      flags |= map[i].ms;
  /* MS_STRICTATIME is not stored: a mount without the others is strictatime. */
  if ((flags & ATIME_ENUM_FLAGS) == 0)
    flags |= MS_STRICTATIME;
  return flags;
}

int
rt_mount_flags_of_fd(int fd, unsigned long *flags, struct oci_error **err)
{
  struct statfs st;

  if (fstatfs(fd, &st) < 0)
    return oci_error_errno(err, "statfs");
  *flags = statfs_to_ms_flags((unsigned long)st.f_flags);
  return 0;
}

static int
apply_propagation(int fd, const struct rt_mount_options *o, struct oci_error **err)
{
  for (size_t i = 0; i < o->propagation_len; i++)
    if (rt_mount_on_fd(NULL, fd, NULL, o->propagation[i], NULL) < 0)
      return oci_error_errno(err, "setting propagation 0x%lx", o->propagation[i]);
  return 0;
}

static int
apply_rec_attrs(int fd, const struct rt_mount_options *o, struct oci_error **err)
{
  struct mount_attr attr = { .attr_set = o->rec_set, .attr_clr = o->rec_clr };

  if (o->rec_set == 0 && o->rec_clr == 0)
    return 0;
  if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
    return oci_error_errno(err, "mount_setattr (recursive options)");
  return 0;
}

/* After the first mount, the fd we mounted on still names the covered
 * directory: reopen the path to reach the new mount. */
static int
reopen_dest(const struct rt_mount_ctx *ctx, const char *dest, struct oci_error **err)
{
  return oci_root_open(ctx->rootfd, dest, O_PATH, err);
}

/* Propagation and recursive attributes, common to every kind of mount. */
static int
finish_mount(const struct rt_mount_ctx *ctx, const char *dest, const struct rt_mount_options *o,
             struct oci_error **err)
{
  cleanup_close int fd = -1;

  if (o->propagation_len == 0 && o->rec_set == 0 && o->rec_clr == 0)
    return 0;
  fd = reopen_dest(ctx, dest, err);
  if (fd < 0)
    return -1;
  if (apply_propagation(fd, o, err) < 0)
    return -1;
  return apply_rec_attrs(fd, o, err);
}

static char *
flag_names(unsigned long flags)
{
  static const struct
  {
    unsigned long flag;
    const char *name;
  } names[] = {
    { MS_RDONLY, "ro" },         { MS_NOSUID, "nosuid" },           { MS_NODEV, "nodev" },
    { MS_NOEXEC, "noexec" },     { MS_NOATIME, "noatime" },         { MS_NODIRATIME, "nodiratime" },
    { MS_RELATIME, "relatime" }, { MS_STRICTATIME, "strictatime" }, { MS_NOSYMFOLLOW, "nosymfollow" },
  };
  char *s = xstrdup("");

  for (size_t i = 0; i < OCI_ARRAY_SIZE(names); i++)
    if (flags & names[i].flag)
      {
        char *t = xasprintf("%s%s%s", s, s[0] ? "," : "", names[i].name);
        free(s);
        s = t;
      }
  return s;
}

/* MS_REMOUNT|MS_BIND with the requested flags.  When the kernel refuses
 * because the source mount has locked flags (user namespace), retry with
 * those flags kept, unless the config explicitly asked to clear one or
 * asked for another atime mode than the locked one. */
static int
remount_bind(int fd, unsigned long flags, unsigned long cleared, struct oci_error **err)
{
  unsigned long want = flags | MS_BIND | MS_REMOUNT;
  unsigned long have, locked;
  int saved;

  if (rt_mount_on_fd(NULL, fd, NULL, want, NULL) == 0)
    return 0;
  saved = errno;
  if (saved != EPERM || rt_mount_flags_of_fd(fd, &have, err) < 0)
    return oci_error_set(err, saved, "remounting the bind mount");
  locked = have & LOCKED_FLAGS;
  if ((locked & cleared) != 0
      || ((flags & ATIME_FLAGS) != 0 && (flags & ATIME_FLAGS) != (have & ATIME_FLAGS)))
    {
      cleanup_free char *names = flag_names(locked);
      return oci_error_set(
          err, saved,
          "remounting the bind mount: the source mount has locked flags (%s) that the options change", names);
    }
  if (rt_mount_on_fd(NULL, fd, NULL, want | locked, NULL) < 0)
    return oci_error_errno(err, "remounting the bind mount");
  return 0;
}

/* runc refuses mounts inside /proc except over the files lxcfs emulates; a
 * mount on /proc itself must be a procfs. */
static const char *const proc_allowed[] = {
  "/proc/cpuinfo",
  "/proc/diskstats",
  "/proc/meminfo",
  "/proc/stat",
  "/proc/swaps",
  "/proc/uptime",
  "/proc/loadavg",
  "/proc/slabinfo",
  "/proc/net/dev",
  "/proc/sys/kernel/ns_last_pid",
  "/proc/sys/crypto/fips_enabled",
};

static bool
proc_allowed_path(const char *clean)
{
  for (size_t i = 0; i < OCI_ARRAY_SIZE(proc_allowed); i++)
    if (strcmp(clean, proc_allowed[i]) == 0)
      return true;
  return false;
}

/* Before anything is created: a destination spelled inside /proc. */
static int
check_proc_path(const char *dest, struct oci_error **err)
{
  cleanup_free char *clean = oci_path_clean(dest, 0);

  if (strncmp(clean, "/proc/", 6) == 0 && !proc_allowed_path(clean))
    return oci_error_set(err, 0, "`%s` cannot be mounted because it is inside /proc", dest);
  return 0;
}

static bool
fd_is_procfs(int fd)
{
  struct statfs st;

  return fstatfs(fd, &st) == 0 && st.f_type == PROC_SUPER_MAGIC;
}

static int
check_proc_dest(int destfd, const char *dest, const char *type, const char *bind_source,
                struct oci_error **err)
{
  cleanup_free char *clean = oci_path_clean(dest, 0);

  if (strcmp(clean, "/proc") == 0)
    {
      struct statfs st;

      if (bind_source == NULL)
        return strcmp(type, "proc") == 0
                   ? 0
                   : oci_error_set(err, 0, "`%s` cannot be mounted because it is not of type proc", dest);
      if (statfs(bind_source, &st) == 0 && st.f_type == PROC_SUPER_MAGIC)
        return 0;
      return oci_error_set(err, 0, "`%s` cannot be mounted because it is not of type proc", dest);
    }
  /* Reached through symlinks, /proc may hide behind another name. */
  if (!fd_is_procfs(destfd) || proc_allowed_path(clean))
    return 0;
  return oci_error_set(err, 0, "`%s` cannot be mounted because it is inside /proc", dest);
}

/* ---- tmpcopyup ---- */

static int copy_tree(int srcdir, int dstdir, struct oci_error **err);

static int
copy_regular(int srcdir, int dstdir, const char *name, const struct stat *st, struct oci_error **err)
{
  cleanup_close int in = openat(srcdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_close int out = -1;
  char buf[65536];
  ssize_t n;

  if (in < 0)
    return oci_error_errno(err, "opening `%s`", name);
  out = openat(dstdir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 07777);
  if (out < 0)
    return oci_error_errno(err, "creating `%s`", name);
  while ((n = read(in, buf, sizeof buf)) > 0)
    if (oci_write_all(out, buf, (size_t)n) < 0)
      return oci_error_errno(err, "writing `%s`", name);
  if (n < 0)
    return oci_error_errno(err, "reading `%s`", name);
  if (fchown(out, st->st_uid, st->st_gid) < 0 || fchmod(out, st->st_mode & 07777) < 0)
    return oci_error_errno(err, "setting owner of `%s`", name);
  return 0;
}

static int
copy_entry(int srcdir, int dstdir, const char *name, struct oci_error **err)
{
  struct stat st;
  struct timespec times[2];

  if (fstatat(srcdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return oci_error_errno(err, "stat `%s`", name);
  switch (st.st_mode & S_IFMT)
    {
    case S_IFDIR:
      {
        cleanup_close int s = -1;
        cleanup_close int d = -1;

        if (mkdirat(dstdir, name, st.st_mode & 07777) < 0)
          return oci_error_errno(err, "creating `%s`", name);
        s = openat(srcdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        d = openat(dstdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s < 0 || d < 0)
          return oci_error_errno(err, "opening `%s`", name);
        if (copy_tree(s, d, err) < 0)
          return oci_error_wrap(err, "%s", name);
        if (fchown(d, st.st_uid, st.st_gid) < 0 || fchmod(d, st.st_mode & 07777) < 0)
          return oci_error_errno(err, "setting owner of `%s`", name);
        break;
      }
    case S_IFREG:
      if (copy_regular(srcdir, dstdir, name, &st, err) < 0)
        return -1;
      break;
    case S_IFLNK:
      {
        cleanup_free char *target = oci_readlinkat(srcdir, name);
        if (target == NULL || symlinkat(target, dstdir, name) < 0)
          return oci_error_errno(err, "copying symlink `%s`", name);
        break;
      }
    default:
      if (mknodat(dstdir, name, st.st_mode, st.st_rdev) < 0)
        return oci_error_errno(err, "creating `%s`", name);
      break;
    }
  if (fchownat(dstdir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
    return oci_error_errno(err, "setting owner of `%s`", name);
  times[0] = st.st_atim;
  times[1] = st.st_mtim;
  utimensat(dstdir, name, times, AT_SYMLINK_NOFOLLOW);
  return 0;
}

static int
copy_tree(int srcdir, int dstdir, struct oci_error **err)
{
  cleanup_closedir DIR *d = NULL;
  int fd = dup(srcdir);
  struct dirent *de;

  if (fd < 0 || (d = fdopendir(fd)) == NULL)
    {
      if (fd >= 0)
        close(fd);
      return oci_error_errno(err, "reading directory");
    }
  while ((errno = 0, de = readdir(d)) != NULL)
    {
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
        continue;
      if (copy_entry(srcdir, dstdir, de->d_name, err) < 0)
        return -1;
    }
  if (errno != 0)
    return oci_error_errno(err, "reading directory");
  return 0;
}

/* ---- linux.mountLabel ---- */

/* Which mounts get linux.mountLabel, as runc 1.1 (rootfs_linux.go) gives
 * it: every filesystem mounted with data (tmpfs, devpts, the tmpfs of v1
 * cgroups, any other type), but not proc and sysfs (SELinux cannot label
 * them), nor the cgroup2 of a "cgroup" mount, nor a bind (a bind takes no
 * mount data).  mqueue gets it on its root directory instead. */
static bool
takes_context_option(const char *config_type)
{
  static const char *const without[] = { "proc", "sysfs", "mqueue", "cgroup" };

  for (size_t i = 0; i < OCI_ARRAY_SIZE(without); i++)
    if (config_type && strcmp(config_type, without[i]) == 0)
      return false;
  return true;
}

/* The mount data with context="LABEL" after the rest, as go-selinux's
 * FormatMountLabel writes it (quoted: an MCS label has commas); NULL
 * without a label. */
static char *
data_with_label(const struct rt_mount_ctx *ctx, const char *data)
{
  const char *label = ctx->mount_label;

  if (label == NULL || label[0] == '\0')
    return NULL;
  return data && data[0] ? xasprintf("%s,context=\"%s\"", data, label) : xasprintf("context=\"%s\"", label);
}

/* runc mounts mqueue as it is and sets the label on its root directory
 * (an mqueue filesystem labels its files from the policy, not from a
 * context= option). */
static int
label_mount_root(const struct rt_mount_ctx *ctx, const char *dest, struct oci_error **err)
{
  cleanup_close int fd = -1;
  char path[64];

  if (ctx->mount_label == NULL || ctx->mount_label[0] == '\0')
    return 0;
  fd = reopen_dest(ctx, dest, err);
  if (fd < 0)
    return -1;
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  if (setxattr(path, "security.selinux", ctx->mount_label, strlen(ctx->mount_label), 0) < 0)
    return oci_error_errno(err, "linux.mountLabel: labeling `%s`", dest);
  return 0;
}

/* ---- one function per kind of mount ---- */

int
rt_mount_fs(const struct rt_mount_ctx *ctx, const struct oci_mount *m, const char *type,
            const struct rt_mount_options *o, struct oci_error **err)
{
  cleanup_close int fd = -1;
  cleanup_free char *labeled = takes_context_option(m->type) ? data_with_label(ctx, o->data) : NULL;
  const char *data = labeled ? labeled : o->data;
  unsigned long flags = o->flags & ~(MS_REMOUNT | MS_BIND | MS_REC);
  bool strict = strcmp(type, "proc") == 0 || strcmp(type, "sysfs") == 0;

  /* runc refuses to mount proc or sysfs through any symlink. */
  fd = oci_root_mkdir_p(ctx->rootfd, m->destination, 0755, strict ? OCI_ROOT_NO_SYMLINKS : 0, NULL, NULL,
                        err);
  if (fd < 0)
    {
      if (strict && ((*err)->status == ENOTDIR || (*err)->status == ELOOP))
        {
          oci_error_free(*err);
          *err = NULL;
          return oci_error_set(err, 0, "filesystem `%s` must be mounted on ordinary directory", type);
        }
      return -1;
    }
  if (check_proc_dest(fd, m->destination, type, NULL, err) < 0)
    return -1;
  if (rt_mount_on_fd(m->source ? m->source : type, fd, type, flags, data) < 0)
    return oci_error_errno(err, "mount (type `%s`, data `%s`)", type, data ? data : "");
  if (strcmp(type, "mqueue") == 0 && label_mount_root(ctx, m->destination, err) < 0)
    return -1;
  return finish_mount(ctx, m->destination, o, err);
}

static bool
path_is_dev(const char *dest)
{
  cleanup_free char *clean = oci_path_clean(dest, 0);
  return strcmp(clean, "/dev") == 0;
}

/* Whether the comma-separated mount data sets `key` ("mode"). */
static bool
data_has_option(const char *data, const char *key)
{
  size_t n = strlen(key);

  for (const char *p = data; p != NULL;)
    {
      if (strncmp(p, key, n) == 0 && p[n] == '=')
        return true;
      p = strchr(p, ',');
      if (p)
        p++;
    }
  return false;
}

int
rt_mount_tmpfs(const struct rt_mount_ctx *ctx, const struct oci_mount *m, const struct rt_mount_options *o,
               struct oci_error **err)
{
  cleanup_close int fd = -1;
  cleanup_close int olddir = -1;
  cleanup_close int newdir = -1;
  cleanup_free char *with_mode = NULL;
  cleanup_free char *labeled = data_with_label(ctx, o->data);
  const char *data = labeled ? labeled : o->data;
  struct stat st;
  bool existed;
  /* Read-only comes in rt_rootfs_finalize(): files are created in it first. */
  unsigned long flags = o->flags & ~(MS_REMOUNT | MS_BIND | MS_REC | MS_RDONLY);

  fd = oci_root_openat(ctx->rootfd, m->destination, O_PATH | O_DIRECTORY, 0);
  existed = fd >= 0;
  if (!existed)
    fd = oci_root_mkdir_p(ctx->rootfd, m->destination, 0755, 0, NULL, NULL, err);
  if (fd < 0)
    return -1;
  if (check_proc_dest(fd, m->destination, "tmpfs", NULL, err) < 0)
    return -1;
  if (existed && fstat(fd, &st) < 0)
    return oci_error_errno(err, "stat");
  if (o->tmpcopyup)
    {
      olddir = oci_root_open(ctx->rootfd, m->destination, O_RDONLY | O_DIRECTORY, err);
      if (olddir < 0)
        return -1;
    }
  /* The tmpfs takes the mode of the directory it covers, unless the mount
   * gives its own mode= (runc 1.1.8 and later; 1.1.5 let the covered
   * directory win even then). */
  if (existed && !data_has_option(data, "mode"))
    {
      with_mode = data ? xasprintf("mode=%o,%s", st.st_mode & 07777, data)
                       : xasprintf("mode=%o", st.st_mode & 07777);
      data = with_mode;
    }
  if (rt_mount_on_fd(m->source ? m->source : "tmpfs", fd, "tmpfs", flags, data) < 0)
    return oci_error_errno(err, "mount (type `tmpfs`, data `%s`)", data ? data : "");
  if (o->tmpcopyup)
    {
      /* olddir still reaches the covered directory. */
      newdir = oci_root_open(ctx->rootfd, m->destination, O_RDONLY | O_DIRECTORY, err);
      if (newdir < 0)
        return -1;
      if (copy_tree(olddir, newdir, err) < 0)
        return oci_error_wrap(err, "tmpcopyup");
    }
  return finish_mount(ctx, m->destination, o, err);
}

/* What the config asks of a bind mount, reached by `top`: its propagation,
 * and a remount with its flags (a bind keeps the source's), then the
 * recursive attributes. */
static int
finish_bind(int top, const struct rt_mount_options *o, struct oci_error **err)
{
  if (apply_propagation(top, o, err) < 0)
    return -1;
  if ((o->flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) != 0 || o->cleared != 0)
    if (remount_bind(top, o->flags & ~MS_REC, o->cleared, err) < 0)
      return -1;
  return apply_rec_attrs(top, o, err);
}

int
rt_mount_bind(const struct rt_mount_ctx *ctx, const char *source, const char *dest,
              const struct rt_mount_options *o, struct oci_error **err)
{
  return rt_mount_bind_fd(ctx, source, -1, dest, o, err);
}

int
rt_mount_bind_fd(const struct rt_mount_ctx *ctx, const char *source, int source_fd, const char *dest,
                 const struct rt_mount_options *o, struct oci_error **err)
{
  cleanup_close int fd = -1;
  cleanup_close int top = -1;
  struct stat st;

  if (source_fd >= 0)
    {
      if (fstat(source_fd, &st) < 0)
        return oci_error_errno(err, "bind source `%s`", source);
    }
  else if (stat(source, &st) < 0)
    return oci_error_errno(err, "bind source `%s`", source);
  if (S_ISDIR(st.st_mode))
    fd = oci_root_mkdir_p(ctx->rootfd, dest, 0755, 0, NULL, NULL, err);
  else
    fd = oci_root_mkfile(ctx->rootfd, dest, 0755, err);
  if (fd < 0)
    return -1;
  if (check_proc_dest(fd, dest, "bind", source, err) < 0)
    return -1;
  if (source_fd >= 0)
    {
      if (move_mount(source_fd, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return oci_error_errno(err, "bind mount (attaching the tree opened on the host side)");
    }
  else if (rt_mount_on_fd(source, fd, NULL, MS_BIND | (o->flags & MS_REC), NULL) < 0)
    return oci_error_errno(err, "bind mount");
  top = reopen_dest(ctx, dest, err);
  if (top < 0)
    return -1;
  return finish_bind(top, o, err);
}

int
rt_mount_bind_dir_in(int dirfd, const char *name, const char *source, const struct rt_mount_options *o,
                     struct oci_error **err)
{
  cleanup_close int fd = oci_dir_mkdir_open(dirfd, name, 0755, err);
  cleanup_close int top = -1;

  if (fd < 0)
    return -1;
  if (rt_mount_on_fd(source, fd, NULL, MS_BIND | (o->flags & MS_REC), NULL) < 0)
    return oci_error_errno(err, "bind mount of `%s`", source);
  top = oci_dir_open(dirfd, name, O_PATH, err);
  if (top < 0)
    return -1;
  return finish_bind(top, o, err);
}

static int
mount_sysfs(const struct rt_mount_ctx *ctx, const struct oci_mount *m, const struct rt_mount_options *o,
            struct oci_error **err)
{
  struct rt_mount_options bind;

  if (rt_mount_fs(ctx, m, "sysfs", o, err) == 0)
    return 0;
  /* Without its own network namespace a user namespace may not mount sysfs;
   * like crun (and newer runc) fall back to the host's /sys. */
  if (!ctx->in_userns || (*err)->status != EPERM)
    return -1;
  oci_error_free(*err);
  *err = NULL;
  bind = *o;
  bind.flags = o->flags | MS_BIND | MS_REC;
  bind.data = NULL;
  return rt_mount_bind(ctx, "/sys", m->destination, &bind, err);
}

/* "ro,nosuid,bind,rec" for a learner reading --debug output. */
static void
describe_flags(unsigned long flags, char *buf, size_t size)
{
  static const struct
  {
    unsigned long flag;
    const char *name;
  } names[] = {
    { MS_RDONLY, "ro" },
    { MS_NOSUID, "nosuid" },
    { MS_NODEV, "nodev" },
    { MS_NOEXEC, "noexec" },
    { MS_SYNCHRONOUS, "sync" },
    { MS_DIRSYNC, "dirsync" },
    { MS_NOATIME, "noatime" },
    { MS_NODIRATIME, "nodiratime" },
    { MS_RELATIME, "relatime" },
    { MS_STRICTATIME, "strictatime" },
    { MS_MANDLOCK, "mand" },
    { MS_BIND, "bind" },
    { MS_REC, "rec" },
    { MS_SHARED, "shared" },
    { MS_SLAVE, "slave" },
    { MS_PRIVATE, "private" },
    { MS_UNBINDABLE, "unbindable" },
  };
  size_t len = 0;

  buf[0] = '\0';
  for (size_t i = 0; i < OCI_ARRAY_SIZE(names) && len < size; i++)
    if (flags & names[i].flag)
      len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "," : "", names[i].name);
  if (len == 0)
    snprintf(buf, size, "none");
}

static void
debug_mount(const struct rt_context *log, const struct oci_mount *m, const struct rt_mount_options *o)
{
  char flags[256], options[1024] = "";

  describe_flags(o->flags, flags, sizeof flags);
  rt_log_append_strv(options, sizeof options, m->options, m->options_len);
  rt_debug(log, "mount: %s on %s type %s flags %s data %s (options %s)", m->source ? m->source : "none",
           m->destination, m->type ? m->type : "none", flags, o->data ? o->data : "none", options);
}

bool
rt_mount_is_bind(const struct oci_mount *m)
{
  if (m->type && strcmp(m->type, "bind") == 0)
    return true;
  for (size_t i = 0; i < m->options_len; i++)
    if (strcmp(m->options[i], "bind") == 0 || strcmp(m->options[i], "rbind") == 0)
      return true;
  return false;
}

int
rt_mount_one(const struct rt_mount_ctx *ctx, const struct oci_mount *m, const struct rt_mount_options *parsed,
             int source_fd, struct oci_error **err)
{
  struct rt_mount_options o = *parsed; /* flags adjusted below; the strings stay the caller's */
  const char *type = m->type;
  int r;

  if (m->destination == NULL || m->destination[0] != '/')
    return oci_error_set(err, 0, "destination must be an absolute path");
  if (rt_mount_is_idmapped(m) && source_fd < 0)
    return oci_error_set(err, 0, "not supported: idmapped mounts other than bind mounts");
  if (check_proc_path(m->destination, err) < 0)
    return -1;

  /* Whatever the type says, "bind"/"rbind" make it a bind mount (runc);
   * type "bind" alone does too (crun). */
  if (type != NULL && strcmp(type, "bind") == 0)
    o.flags |= MS_BIND;
  if (ctx->log && ctx->log->debug)
    debug_mount(ctx->log, m, &o);
  if (o.flags & MS_BIND)
    {
      if (m->source == NULL)
        r = oci_error_set(err, 0, "bind mount without a source");
      else
        r = rt_mount_bind_fd(ctx, m->source, source_fd, m->destination, &o, err);
    }
  else if (type == NULL || type[0] == '\0')
    r = oci_error_set(err, 0, "mount type not specified");
  else if (strcmp(type, "tmpfs") == 0)
    r = rt_mount_tmpfs(ctx, m, &o, err);
  else if (strcmp(type, "sysfs") == 0)
    r = mount_sysfs(ctx, m, &o, err);
  else if (strcmp(type, "cgroup") == 0)
    r = rt_mount_cgroup(ctx, m, &o, err);
  else
    {
      /* /dev may be any filesystem; it is made read-only only at the end. */
      if (path_is_dev(m->destination))
        o.flags &= ~MS_RDONLY;
      r = rt_mount_fs(ctx, m, type, &o, err);
    }
  return r;
}

/* ---- after pivot_root ---- */

static int
move_onto(int treefd, int destfd, struct oci_error **err)
{
  if (move_mount(treefd, "", destfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return oci_error_errno(err, "move_mount");
  return 0;
}

static int
open_null_tree(int rootfd, struct oci_error **err)
{
  cleanup_close int null = oci_root_open(rootfd, "/dev/null", O_PATH, err);
  struct stat st;
  int tree;

  if (null < 0)
    return -1;
  /* Masking with anything but the null device would expose that file. */
  if (fstat(null, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
    return oci_error_set(err, 0, "the container's /dev/null is not the null device");
  tree = open_tree(null, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (tree < 0)
    return oci_error_errno(err, "open_tree /dev/null");
  return tree;
}

/* The masking tmpfs of a directory; runc gives it the mount label too.
 * fsconfig takes the context as it is: no quotes. */
static int
open_ro_tmpfs(const char *mount_label, struct oci_error **err)
{
  cleanup_close int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
  int mnt;

  if (fs < 0)
    return oci_error_errno(err, "fsopen tmpfs");
  if (fsconfig(fs, FSCONFIG_SET_STRING, "source", "tmpfs", 0) < 0
      || fsconfig(fs, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0)
    return oci_error_errno(err, "creating a tmpfs");
  if (mount_label && mount_label[0] && fsconfig(fs, FSCONFIG_SET_STRING, "context", mount_label, 0) < 0)
    return oci_error_errno(err, "linux.mountLabel: `%s` on a masking tmpfs", mount_label);
  if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return oci_error_errno(err, "creating a tmpfs");
  mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
  if (mnt < 0)
    return oci_error_errno(err, "fsmount tmpfs");
  return mnt;
}

int
rt_mount_mask_path(int rootfd, const char *path, const char *mount_label, struct oci_error **err)
{
  cleanup_close int dest = oci_root_openat(rootfd, path, O_PATH, 0);
  cleanup_close int tree = -1;
  struct stat st;

  if (dest < 0 && errno == ENOENT)
    return 0;
  if (dest < 0 || fstat(dest, &st) < 0)
    return oci_error_errno(err, "opening `%s`", path);
  tree = S_ISDIR(st.st_mode) ? open_ro_tmpfs(mount_label, err) : open_null_tree(rootfd, err);
  if (tree < 0)
    return -1;
  return move_onto(tree, dest, err);
}

int
rt_mount_readonly_path(int rootfd, const char *path, struct oci_error **err)
{
  cleanup_close int dest = oci_root_openat(rootfd, path, O_PATH, 0);
  cleanup_close int tree = -1;
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

  if (dest < 0 && errno == ENOENT)
    return 0;
  if (dest < 0)
    return oci_error_errno(err, "opening `%s`", path);
  tree = open_tree(dest, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
  if (tree < 0)
    return oci_error_errno(err, "open_tree");
  /* Only the top is read-only, as with runc's MS_REMOUNT|MS_BIND|MS_RDONLY;
   * attributes not named stay as they are, locked ones included. */
  if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
    return oci_error_errno(err, "mount_setattr read-only");
  return move_onto(tree, dest, err);
}

int
rt_mount_make_readonly(int rootfd, const char *path, struct oci_error **err)
{
  cleanup_close int fd = oci_root_open(rootfd, path, O_PATH, err);
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

  if (fd < 0)
    return -1;
  for (int i = 0; i < 5; i++)
    {
      if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof attr) == 0)
        return 0;
      if (errno != EBUSY)
        break;
      usleep(100 * 1000);
    }
  return oci_error_errno(err, "remounting `%s` read-only", path);
}
