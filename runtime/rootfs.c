/* The container's filesystem view (see rootfs.h).
 *
 * The order is runc's (libcontainer/rootfs_linux.go and standard_init): root
 * propagation, the rootfs bound onto itself, config.mounts in order, /dev,
 * pivot_root; then, after the terminal, read-only remounts, sysctls,
 * readonlyPaths, maskedPaths. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "oci-config.h"
#include "inroot.h"
#include "cgroups.h"
#include "devices.h"
#include "log.h"
#include "mounts.h"
#include "mountinfo.h"
#include "rootfs.h"
#include "sysctl.h"
#include "util.h"

static const char *
configured_propagation(const struct oci_config *cfg)
{
  const char *p = cfg->linux_ ? cfg->linux_->rootfs_propagation : NULL;

  return p && p[0] ? p : NULL;
}

/* Is `path` equal to or below the mount point `mp`? */
static bool
path_below(const char *path, const char *mp)
{
  size_t len = strlen(mp);

  if (strcmp(mp, "/") == 0)
    return true;
  return strncmp(path, mp, len) == 0 && (path[len] == '/' || path[len] == '\0');
}

/* pivot_root refuses a shared parent of the new root, and a bind under a
 * shared mount would propagate to the host: make that parent private. */
static int
make_parent_private(const char *rootfs, const struct oci_mount_table *t, struct oci_error **err)
{
  const struct oci_mountinfo *parent = NULL;

  for (size_t i = 0; i < t->n; i++)
    if (path_below(rootfs, t->mi[i].mountpoint)
        && (parent == NULL || strlen(t->mi[i].mountpoint) >= strlen(parent->mountpoint)))
      parent = &t->mi[i];
  if (parent && strstr(parent->optional, "shared:") != NULL
      && mount(NULL, parent->mountpoint, NULL, MS_PRIVATE, NULL) < 0)
    return oci_error_errno(err, "making `%s` private", parent->mountpoint);
  return 0;
}

/* After a recursive slave or private "/" no mount is shared: there is no
 * parent to make private, and ocirt's table, read before the clone, serves
 * for what else the table is read for: the host's cgroup hierarchies, which
 * the container's setup does not change. */
static bool
unshares_all(unsigned long flags)
{
  return (flags & MS_REC) && (flags & (MS_SLAVE | MS_PRIVATE));
}

static int
prepare_root(const struct rt_context *log, const char *rootfs, const struct oci_config *cfg, bool no_pivot,
             struct oci_mount_table *t, struct oci_error **err)
{
  unsigned long flags = MS_SLAVE | MS_REC;
  const char *prop = configured_propagation(cfg);

  if (prop && rt_propagation_parse(prop, &flags, err) < 0)
    return -1;
  /* An unbindable "/" could not give the rootfs bind below: it becomes
   * unbindable only as the container's "/" (apply_root_propagation), as
   * in runc 1.2.7 and later. */
  if (flags & MS_UNBINDABLE)
    flags = MS_SLAVE | MS_REC;
  if (no_pivot && (flags & MS_PRIVATE))
    return oci_error_set(err, 0, "rootfsPropagation of [r]private is not safe without pivot_root");
  rt_debug(log, "rootfs: making the mounts of / %s in the new mount namespace", prop ? prop : "rslave");
  if (mount(NULL, "/", NULL, flags, NULL) < 0)
    return oci_error_errno(err, "setting the propagation of `/`");
  /* Otherwise the table as it is now; and when ocirt read none, on a host
   * with v1 hierarchies to bind, as it is before the rootfs bind and the
   * container's mounts add their own entries. */
  if (!unshares_all(flags))
    {
      oci_mount_table_clear(t);
      if (oci_mount_table_get(t, err) < 0 || make_parent_private(rootfs, t, err) < 0)
        return -1;
    }
  else if (!rt_cgroup_unified() && oci_mount_table_get(t, err) < 0)
    return -1;
  rt_debug(log, "rootfs: bind-mounting %s onto itself", rootfs);
  if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return oci_error_errno(err, "bind-mounting the rootfs `%s` onto itself", rootfs);
  return 0;
}

static int
mount_all(int rootfd, const struct oci_config *cfg, const struct rt_rootfs_opts *opts, struct oci_error **err)
{
  struct rt_mount_ctx ctx = {
    .log = opts->log,
    .rootfd = rootfd,
    .in_userns = opts->in_userns,
    .cgroupns = opts->cgroupns,
    .mount_label = cfg->linux_ ? cfg->linux_->mount_label : NULL,
    .host_mounts = opts->host_mounts,
  };

  for (size_t i = 0; i < cfg->mounts_len; i++)
    {
      const struct oci_mount *m = &cfg->mounts[i];
      const char *what = m->source ? m->source : m->type ? m->type : "";

      if (rt_mount_one(&ctx, m, &opts->mount_opts[i], opts->mount_source_fds ? opts->mount_source_fds[i] : -1,
                       err)
          < 0)
        return oci_error_wrap(err, "mounting `%s` on `%s`", what, m->destination ? m->destination : "");
    }
  return 0;
}

/* pivot_root(".", ".") stacks the old root on top of the new one; detach
 * it after making it rslave so the unmount stays in our namespace. */
static int
pivot(int newroot, struct oci_error **err)
{
  cleanup_close int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);

  if (oldroot < 0)
    return oci_error_errno(err, "opening the old root");
  if (fchdir(newroot) < 0)
    return oci_error_errno(err, "fchdir to the rootfs");
  if (syscall(SYS_pivot_root, ".", ".") < 0)
    return oci_error_errno(err, "pivot_root");
  if (fchdir(oldroot) < 0)
    return oci_error_errno(err, "fchdir to the old root");
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
    return oci_error_errno(err, "making the old root rslave");
  if (umount2(".", MNT_DETACH) < 0)
    return oci_error_errno(err, "unmounting the old root");
  if (chdir("/") < 0)
    return oci_error_errno(err, "chdir /");
  return 0;
}

/* With chroot the host's /proc and /sys stay in our mount namespace, and a
 * fully visible procfs lets a nested user namespace mount a new one: take
 * every full proc/sysfs mount outside the rootfs away first (as runc). */
static int
hide_host_pseudo_fs(const char *rootfs, struct oci_error **err)
{
  struct oci_mountinfo *mi = NULL;
  size_t n = 0;
  int r = 0;

  if (oci_mountinfo_read(&mi, &n, err) < 0)
    return -1;
  for (size_t i = n; r == 0 && i-- > 0;)
    {
      const char *p = mi[i].mountpoint;

      if (strcmp(mi[i].root, "/") != 0
          || (strcmp(mi[i].fstype, "proc") != 0 && strcmp(mi[i].fstype, "sysfs") != 0)
          || path_below(p, rootfs))
        continue;
      if (mount(NULL, p, NULL, MS_SLAVE | MS_REC, NULL) < 0)
        {
          if (errno == ENOENT)
            continue; /* already gone with a parent */
          r = oci_error_errno(err, "making `%s` rslave", p);
          break;
        }
      if (umount2(p, MNT_DETACH) == 0)
        continue;
      if ((errno != EINVAL && errno != EPERM) || mount("tmpfs", p, "tmpfs", 0, NULL) < 0)
        r = oci_error_errno(err, "hiding `%s`", p);
    }
  oci_mountinfo_free(mi, n);
  return r;
}

static int
move_root(const char *rootfs, int newroot, struct oci_error **err)
{
  if (hide_host_pseudo_fs(rootfs, err) < 0)
    return -1;
  if (fchdir(newroot) < 0)
    return oci_error_errno(err, "fchdir to the rootfs");
  if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
    return oci_error_errno(err, "moving the rootfs onto `/`");
  if (chroot(".") < 0)
    return oci_error_errno(err, "chroot");
  if (chdir("/") < 0)
    return oci_error_errno(err, "chdir /");
  return 0;
}

/* stdio that was the host's /dev/null becomes the container's. */
static int
reopen_dev_null(struct oci_error **err)
{
  cleanup_close int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  struct stat nst, st;

  if (null < 0 || fstat(null, &nst) < 0)
    return oci_error_errno(err, "opening the container's /dev/null");
  for (int fd = 0; fd < 3; fd++)
    if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == nst.st_rdev && dup3(null, fd, 0) < 0)
      return oci_error_errno(err, "reopening fd %d on /dev/null", fd);
  return 0;
}

/* Root propagation is applied once more on the new "/" itself, or a
 * "shared" or "rslave" setting would only have affected the old root.
 * Unbindable comes last of all (`unbindable` true), once the readonly and
 * masked paths are bound: they could not be bound from under it. */
static int
apply_root_propagation(const struct rt_context *log, const struct oci_config *cfg, bool unbindable,
                       struct oci_error **err)
{
  const char *prop = configured_propagation(cfg);
  unsigned long flags;

  if (prop == NULL)
    return 0;
  if (rt_propagation_parse(prop, &flags, err) < 0)
    return -1;
  if (((flags & MS_UNBINDABLE) != 0) != unbindable)
    return 0;
  rt_debug(log, "rootfs: rootfsPropagation %s on the new /", prop);
  if (mount(NULL, "/", NULL, flags, NULL) < 0)
    return oci_error_errno(err, "applying rootfsPropagation `%s` to `/`", prop);
  return 0;
}

/* A missing process.cwd is made, owned by the container's root and 0755,
 * as runc makes it: Kubernetes' workingDir and docker's -w rely on that.
 * Anything else in the way is left to the chdir, whose error names it. */
static int
make_cwd(const struct oci_config *cfg, struct oci_error **err)
{
  const char *cwd = cfg->process ? cfg->process->cwd : NULL;
  cleanup_close int root = -1;
  cleanup_close int fd = -1;

  if (cwd == NULL || cwd[0] == '\0')
    return 0;
  root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return oci_error_errno(err, "opening `/`");
  fd = oci_root_mkdir_p(root, cwd, 0755, 0, NULL, NULL, err);
  if (fd >= 0)
    return 0;
  if ((*err)->status != ENOTDIR && (*err)->status != EEXIST)
    return oci_error_wrap(err, "creating process.cwd `%s`", cwd);
  oci_error_free(*err);
  *err = NULL;
  return 0;
}

int
rt_rootfs_enter_shared(const struct oci_config *cfg, const struct rt_rootfs_opts *opts,
                       struct oci_error **err)
{
  if (opts->before_pivot && opts->before_pivot(opts->before_pivot_data, err) < 0)
    return -1;
  rt_debug(opts->log, "rootfs: no mount namespace: chroot into %s, nothing mounted", opts->rootfs);
  if (chroot(opts->rootfs) < 0)
    return oci_error_errno(err, "chroot into `%s`", opts->rootfs);
  if (chdir("/") < 0)
    return oci_error_errno(err, "chdir /");
  return rt_sysctl_apply(cfg, err);
}

int
rt_rootfs_prepare(const struct oci_config *cfg, const struct rt_rootfs_opts *opts, struct oci_error **err)
{
  const char *rootfs = opts->rootfs;
  cleanup_close int rootfd = -1;
  cleanup_close int dirfd = -1;
  bool devices = rt_devices_needed(cfg);

  if (prepare_root(opts->log, rootfs, cfg, opts->no_pivot, opts->host_mounts, err) < 0)
    return oci_error_wrap(err, "preparing the rootfs");
  /* Opened after the bind, so that both name the bind mount. */
  rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  dirfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0 || dirfd < 0)
    return oci_error_errno(err, "opening the rootfs `%s`", rootfs);
  if (mount_all(rootfd, cfg, opts, err) < 0)
    return -1;
  if (devices)
    rt_debug(opts->log, "/dev: the default devices and the %zu of linux.devices, %s",
             cfg->linux_ ? cfg->linux_->devices_len : 0,
             opts->in_userns ? "bind-mounted from the host (no mknod in a user namespace)"
                             : "made with mknod");
  if (devices && rt_devices_setup(rootfd, cfg, opts->in_userns, err) < 0)
    return oci_error_wrap(err, "setting up /dev");
  if (opts->before_pivot && opts->before_pivot(opts->before_pivot_data, err) < 0)
    return -1;
  if (opts->no_pivot)
    rt_debug(opts->log, "rootfs: --no-pivot: moving %s onto / and chroot into it (no pivot_root)", rootfs);
  else
    rt_debug(opts->log, "rootfs: pivot_root into %s, then detaching the old root", rootfs);
  if (opts->no_pivot ? move_root(rootfs, dirfd, err) < 0 : pivot(dirfd, err) < 0)
    return oci_error_wrap(err, "entering the rootfs");
  if (apply_root_propagation(opts->log, cfg, false, err) < 0)
    return -1;
  if (make_cwd(cfg, err) < 0)
    return -1;
  if (devices && reopen_dev_null(err) < 0)
    return -1;
  return 0;
}

static bool
is_dev(const char *path)
{
  size_t len = path ? strlen(path) : 0;

  while (len > 1 && path[len - 1] == '/')
    len--;
  return len == 4 && strncmp(path, "/dev", 4) == 0;
}

static int
remount_readonly_mounts(const struct rt_context *log, int rootfd, const struct oci_config *cfg,
                        const struct rt_mount_options *mount_opts, struct oci_error **err)
{
  for (size_t i = 0; i < cfg->mounts_len; i++)
    {
      const struct oci_mount *m = &cfg->mounts[i];
      const struct rt_mount_options *o = &mount_opts[i];
      bool ro, deferred;
      int r = 0;

      ro = (o->flags & MS_RDONLY) != 0;
      /* Those mounted read-write first (see mounts.c): tmpfs and /dev. */
      deferred = !(o->flags & MS_BIND) && m->type && strcmp(m->type, "bind") != 0
                 && (strcmp(m->type, "tmpfs") == 0 || is_dev(m->destination));
      if (ro && deferred)
        {
          rt_debug(log, "mount: remounting %s read-only, now that it is filled", m->destination);
          r = rt_mount_make_readonly(rootfd, m->destination, err);
        }
      if (r < 0)
        return -1;
    }
  return 0;
}

/* MS_REMOUNT|MS_BIND|MS_RDONLY on "/", keeping the flags the kernel locks
 * in a user namespace when the plain remount is refused. */
static int
make_root_readonly(struct oci_error **err)
{
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
  unsigned long have;
  cleanup_close int root = -1;

  if (mount(NULL, "/", NULL, flags, NULL) == 0)
    return 0;
  root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0 || rt_mount_flags_of_fd(root, &have, err) < 0)
    return oci_error_errno(err, "remounting `/` read-only");
  if (mount(NULL, "/", NULL, flags | have, NULL) < 0)
    return oci_error_errno(err, "remounting `/` read-only");
  return 0;
}

int
rt_rootfs_finalize(const struct oci_config *cfg, const struct rt_rootfs_opts *opts, struct oci_error **err)
{
  const struct oci_linux *l = cfg->linux_;
  cleanup_close int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

  if (root < 0)
    return oci_error_errno(err, "opening `/`");
  if (remount_readonly_mounts(opts->log, root, cfg, opts->mount_opts, err) < 0)
    return -1;
  if (cfg->root && cfg->root->readonly)
    rt_debug(opts->log, "rootfs: remounting / read-only (root.readonly)");
  if (cfg->root && cfg->root->readonly && make_root_readonly(err) < 0)
    return -1;
  for (size_t i = 0; l && i < l->sysctl_len; i++)
    rt_debug(opts->log, "sysctl: %s = %s", l->sysctl[i].key ? l->sysctl[i].key : "",
             l->sysctl[i].value ? l->sysctl[i].value : "");
  if (rt_sysctl_apply(cfg, err) < 0)
    return -1;
  for (size_t i = 0; l && i < l->readonly_paths_len; i++)
    {
      rt_debug(opts->log, "readonlyPaths: making %s read-only (if it exists)", l->readonly_paths[i]);
      if (rt_mount_readonly_path(root, l->readonly_paths[i], err) < 0)
        return oci_error_wrap(err, "making `%s` read-only", l->readonly_paths[i]);
    }
  for (size_t i = 0; l && i < l->masked_paths_len; i++)
    {
      rt_debug(opts->log, "maskedPaths: masking %s (if it exists)", l->masked_paths[i]);
      if (rt_mount_mask_path(root, l->masked_paths[i], l->mount_label, err) < 0)
        return oci_error_wrap(err, "masking `%s`", l->masked_paths[i]);
    }
  return apply_root_propagation(opts->log, cfg, true, err);
}
