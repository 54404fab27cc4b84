/* Shared between mounts.c and mounts-cgroup.c; not for other modules. */
#ifndef RT_MOUNTS_INTERNAL_H
#define RT_MOUNTS_INTERNAL_H

#include "oci-config.h"
#include "error.h"
#include "mounts.h"

/* mount(2) onto the directory (or file) open as `fd`, through its
 * /proc/self/fd entry: the target is what we resolved, not a path again. */
int rt_mount_on_fd(const char *source, int fd, const char *type, unsigned long flags, const char *data);

/* A filesystem of `type` on m->destination (created if missing). */
int rt_mount_fs(const struct rt_mount_ctx *ctx, const struct oci_mount *m, const char *type,
                const struct rt_mount_options *o, struct oci_error **err);
/* A tmpfs, read-write until rt_rootfs_finalize(); honours tmpcopyup. */
int rt_mount_tmpfs(const struct rt_mount_ctx *ctx, const struct oci_mount *m,
                   const struct rt_mount_options *o, struct oci_error **err);
/* A bind of the host path `source`, then the remount that applies o->flags. */
int rt_mount_bind(const struct rt_mount_ctx *ctx, const char *source, const char *dest,
                  const struct rt_mount_options *o, struct oci_error **err);
/* The same from a detached copy of the source's mount tree when
 * source_fd >= 0 (open_tree(OPEN_TREE_CLONE) in the parent; `source` then
 * only names it in messages). */
int rt_mount_bind_fd(const struct rt_mount_ctx *ctx, const char *source, int source_fd, const char *dest,
                     const struct rt_mount_options *o, struct oci_error **err);
/* A bind of the host directory `source` on a new directory `name` of
 * `dirfd`, a tree we have just made (the tmpfs of a v1 /sys/fs/cgroup):
 * nothing to resolve on the way, nothing there yet. */
int rt_mount_bind_dir_in(int dirfd, const char *name, const char *source, const struct rt_mount_options *o,
                         struct oci_error **err);
/* type "cgroup" (mounts-cgroup.c). */
int rt_mount_cgroup(const struct rt_mount_ctx *ctx, const struct oci_mount *m,
                    const struct rt_mount_options *o, struct oci_error **err);

#endif
