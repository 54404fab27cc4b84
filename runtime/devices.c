/* Device nodes and the /dev links of a container (see devices.h). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "oci-config.h"
#include "inroot.h"
#include "devices.h"
#include "mounts.h"
#include "util.h"

/* runc's default devices: every container gets these, with mode 0666. */
static const struct
{
  const char *path;
  int64_t major;
  int64_t minor;
} default_devices[] = {
  { "/dev/null", 1, 3 }, { "/dev/random", 1, 8 }, { "/dev/full", 1, 7 },
  { "/dev/tty", 5, 0 },  { "/dev/zero", 1, 5 },   { "/dev/urandom", 1, 9 },
};

static const struct
{
  const char *target;
  const char *name;
} dev_links[] = {
  { "/proc/self/fd", "fd" },
  { "/proc/self/fd/0", "stdin" },
  { "/proc/self/fd/1", "stdout" },
  { "/proc/self/fd/2", "stderr" },
};

static bool
same_path(const char *a, const char *b)
{
  cleanup_free char *ca = oci_path_clean(a, 0);
  cleanup_free char *cb = oci_path_clean(b, 0);

  return strcmp(ca, cb) == 0;
}

bool
rt_devices_needed(const struct oci_config *cfg)
{
  for (size_t i = 0; i < cfg->mounts_len; i++)
    if (cfg->mounts[i].destination && same_path(cfg->mounts[i].destination, "/dev")
        && rt_mount_is_bind(&cfg->mounts[i]))
      return false;
  return true;
}

static int
device_mode(const struct oci_device *d, mode_t *mode, struct oci_error **err)
{
  const char *t = d->type ? d->type : "";

  if (strcmp(t, "c") == 0 || strcmp(t, "u") == 0)
    *mode = S_IFCHR;
  else if (strcmp(t, "b") == 0)
    *mode = S_IFBLK;
  else if (strcmp(t, "p") == 0)
    *mode = S_IFIFO;
  else
    return oci_error_set(err, 0, "`%s` is not a valid device type", t);
  *mode |= d->has_file_mode ? (d->file_mode & 07777) : 0666;
  return 0;
}

/* In a user namespace mknod is refused: bind the host's node instead.  The
 * host node must be the same device, or the container would get another. */
static int
bind_host_node(int rootfd, const struct oci_device *d, mode_t mode, struct oci_error **err)
{
  cleanup_close int fd = -1;
  char target[64];
  struct stat st;

  if (stat(d->path, &st) < 0)
    return oci_error_errno(err, "host device `%s`", d->path);
  if ((st.st_mode & S_IFMT) != (mode & S_IFMT)
      || (!S_ISFIFO(mode) && st.st_rdev != makedev((unsigned)d->major, (unsigned)d->minor)))
    return oci_error_set(err, 0, "host device `%s` is not %" PRId64 ":%" PRId64, d->path, d->major, d->minor);
  fd = oci_root_mkfile(rootfd, d->path, 0644, err);
  if (fd < 0)
    return -1;
  snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
  if (mount(d->path, target, "bind", MS_BIND, NULL) < 0)
    return oci_error_errno(err, "bind-mounting the host's `%s`", d->path);
  return 0;
}

/* The clean form clamps "/dev/x/.." to "/dev": such a path names a
 * directory, never a node, and is refused as written. */
static bool
ends_in_dotdot(const char *path)
{
  size_t len = strlen(path);

  while (len > 0 && path[len - 1] == '/')
    len--;
  return len >= 2 && path[len - 1] == '.' && path[len - 2] == '.' && (len == 2 || path[len - 3] == '/');
}

static int
create_device(int rootfd, const struct oci_device *spec, bool in_userns, struct oci_error **err)
{
  cleanup_free char *dir = NULL;
  cleanup_free char *path = NULL;
  cleanup_close int dirfd = -1;
  struct oci_device cleaned = *spec;
  const struct oci_device *d = &cleaned;
  const char *base;
  mode_t mode = 0;

  if (spec->path == NULL || spec->path[0] != '/')
    return oci_error_set(err, 0, "device path must be absolute");
  /* "/dev/x/" and "/dev//x" name /dev/x, as for runc. */
  cleaned.path = path = oci_path_clean(spec->path, 0);
  if (device_mode(d, &mode, err) < 0)
    return -1;
  if (in_userns)
    return bind_host_node(rootfd, d, mode, err);

  base = strrchr(d->path, '/') + 1;
  if (*base == '\0' || ends_in_dotdot(spec->path))
    return oci_error_set(err, 0, "`%s` does not name a device", spec->path);
  dir = xstrndup(d->path, (size_t)(base - d->path));
  dirfd = oci_root_mkdir_p(rootfd, dir, 0755, 0, NULL, NULL, err);
  if (dirfd < 0)
    return -1;
  if (mknodat(dirfd, base, mode, makedev((unsigned)d->major, (unsigned)d->minor)) < 0)
    {
      if (errno == EEXIST)
        return 0; /* as runc: what the image or a mount already has stays */
      if (errno == EPERM)
        return bind_host_node(rootfd, d, mode, err);
      return oci_error_errno(err, "mknod");
    }
  /* The node is ours and fresh: the mode must not depend on the umask. */
  if (fchmodat(dirfd, base, mode & 07777, 0) < 0)
    return oci_error_errno(err, "chmod");
  if (fchownat(dirfd, base, d->has_uid ? d->uid : 0, d->has_gid ? d->gid : 0, AT_SYMLINK_NOFOLLOW) < 0)
    return oci_error_errno(err, "chown");
  return 0;
}

static bool
config_has_device(const struct oci_config *cfg, const char *path)
{
  const struct oci_linux *l = cfg->linux_;

  for (size_t i = 0; l && i < l->devices_len; i++)
    if (l->devices[i].path && same_path(l->devices[i].path, path))
      return true;
  return false;
}

static int
create_devices(int rootfd, const struct oci_config *cfg, bool in_userns, struct oci_error **err)
{
  const struct oci_linux *l = cfg->linux_;

  for (size_t i = 0; l && i < l->devices_len; i++)
    {
      const struct oci_device *d = &l->devices[i];
      /* /dev/ptmx is always the link to the container's devpts. */
      if (d->path && same_path(d->path, "/dev/ptmx"))
        continue;
      if (create_device(rootfd, d, in_userns, err) < 0)
        return oci_error_wrap(err, "creating device `%s`", d->path ? d->path : "");
    }
  for (size_t i = 0; i < OCI_ARRAY_SIZE(default_devices); i++)
    {
      struct oci_device d = {
        .type = (char *)"c",
        .path = (char *)default_devices[i].path,
        .major = default_devices[i].major,
        .minor = default_devices[i].minor,
      };
      if (config_has_device(cfg, d.path))
        continue;
      if (create_device(rootfd, &d, in_userns, err) < 0)
        return oci_error_wrap(err, "creating device `%s`", d.path);
    }
  return 0;
}

static int
create_links(int devfd, struct oci_error **err)
{
  struct stat st;

  for (size_t i = 0; i < OCI_ARRAY_SIZE(dev_links); i++)
    if (symlinkat(dev_links[i].target, devfd, dev_links[i].name) < 0 && errno != EEXIST)
      return oci_error_errno(err, "symlink /dev/%s", dev_links[i].name);
  /* Only when the kernel has /proc/kcore (CONFIG_PROC_KCORE). */
  if (stat("/proc/kcore", &st) == 0 && symlinkat("/proc/kcore", devfd, "core") < 0 && errno != EEXIST)
    return oci_error_errno(err, "symlink /dev/core");
  if (unlinkat(devfd, "ptmx", 0) < 0 && errno != ENOENT)
    return oci_error_errno(err, "removing /dev/ptmx");
  if (symlinkat("pts/ptmx", devfd, "ptmx") < 0)
    return oci_error_errno(err, "symlink /dev/ptmx");
  return 0;
}

int
rt_devices_setup(int rootfd, const struct oci_config *cfg, bool in_userns, struct oci_error **err)
{
  cleanup_close int devfd = -1;

  if (create_devices(rootfd, cfg, in_userns, err) < 0)
    return -1;
  devfd = oci_root_mkdir_p(rootfd, "/dev", 0755, 0, NULL, NULL, err);
  if (devfd < 0)
    return -1;
  return create_links(devfd, err);
}
