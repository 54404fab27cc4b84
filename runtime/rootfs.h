/* Building the container's filesystem view, inside its mount namespace.
 *
 * Called by the container init (init.c) in this order:
 *   rt_rootfs_prepare()  -- propagation, rootfs bind, config mounts, devices,
 *                           /dev symlinks, ptmx, pivot_root (or move+chroot);
 *                           returns with "/" being the container root and cwd "/".
 *   (terminal set-up happens here: it needs the container's /dev/pts)
 *   rt_rootfs_finalize() -- sysctl, maskedPaths, readonlyPaths, root.readonly,
 *                           final rootfsPropagation.
 * Every mount destination is resolved inside the rootfs (openat2
 * RESOLVE_IN_ROOT), never by string concatenation. */
#ifndef RT_ROOTFS_H
#define RT_ROOTFS_H

#include <stdbool.h>

#include "oci-config.h"
#include "context.h"
#include "mounts.h"
#include "error.h"

struct rt_rootfs_opts
{
  const struct rt_context *log;              /* --debug records of each mount and step */
  const char *rootfs;                        /* absolute host path of root.path, symlinks resolved */
  bool no_pivot;                             /* --no-pivot: MS_MOVE + chroot instead of pivot_root */
  bool in_userns;                            /* mknod is not allowed: bind-mount host device nodes */
  bool cgroupns;                             /* linux.namespaces has a cgroup namespace (new or joined) */
  const int *mount_source_fds;               /* per config.mounts entry: see rt_mount_one(); NULL: none */
  const struct rt_mount_options *mount_opts; /* per config.mounts entry, parsed */
  /* The mount table of the namespace we were copied from, as ocirt read it
   * before the clone, or not read yet: read after "/" got its propagation
   * when it is not, or when that propagation may leave mounts shared. */
  struct oci_mount_table *host_mounts;
  /* Called once the mounts and /dev are ready, right before pivot_root
   * (the createRuntime and createContainer hooks); may be NULL. */
  int (*before_pivot)(void *data, struct oci_error **err);
  void *before_pivot_data;
};

int rt_rootfs_prepare(const struct oci_config *cfg, const struct rt_rootfs_opts *opts,
                      struct oci_error **err);
/* A container in the runtime's mount namespace (linux.namespaces has no
 * "mount"): nothing is mounted; the hooks run, then a chroot into the
 * rootfs and the sysctls.  create refuses mounts, masked and read-only
 * paths and a read-only root for such a container: they would be made in
 * the host's namespace. */
int rt_rootfs_enter_shared(const struct oci_config *cfg, const struct rt_rootfs_opts *opts,
                           struct oci_error **err);
int rt_rootfs_finalize(const struct oci_config *cfg, const struct rt_rootfs_opts *opts,
                       struct oci_error **err);

#endif
