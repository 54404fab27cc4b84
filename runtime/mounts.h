/* Mounting inside a container root: option parsing and one function per
 * kind of mount.
 *
 * Paths inside the root are always opened and created with spec/inroot.h
 * (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS relative to an O_PATH fd
 * of the root, shared with imgtool's layer applier); mounts land on
 * the resulting fd ("/proc/self/fd/N", or move_mount() after pivot_root when
 * the container may have no /proc). */
#ifndef RT_MOUNTS_H
#define RT_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci-config.h"
#include "context.h"
#include "error.h"

/* The parsed `options` of one mount, with runc's meaning for every name. */
struct rt_mount_options
{
  unsigned long flags;        /* MS_* to set (includes MS_BIND/MS_REC) */
  unsigned long cleared;      /* MS_* explicitly cleared ("rw", "suid", "dev", ...) */
  unsigned long *propagation; /* MS_SHARED/... in the order given */
  size_t propagation_len;
  uint64_t rec_set; /* MOUNT_ATTR_* applied recursively ("rro", "rnosuid", ...) */
  uint64_t rec_clr;
  char *data; /* the remaining options, comma separated; NULL when none */
  bool tmpcopyup;
};

int rt_mount_options_parse(char *const *options, size_t n, struct rt_mount_options *out,
                           struct oci_error **err);
void rt_mount_options_clear(struct rt_mount_options *o);
/* The options of every config.mounts entry, parsed once by create for
 * itself and the init (*out has one entry per mount; free it with
 * rt_mount_options_free_all, even after a failure). */
int rt_mount_options_parse_all(const struct oci_config *cfg, struct rt_mount_options **out,
                               struct oci_error **err);
void rt_mount_options_free_all(struct rt_mount_options *all, size_t n);

/* linux.rootfsPropagation ("rslave", "private", ...) as MS_* flags. */
int rt_propagation_parse(const char *name, unsigned long *flags, struct oci_error **err);

struct oci_mount_table;

struct rt_mount_ctx
{
  const struct rt_context *log; /* --debug: one record per mount */
  int rootfd;                   /* O_PATH fd of the container root (before pivot_root) */
  bool in_userns;               /* sysfs may have to fall back to a bind of /sys */
  bool cgroupns;                /* the container has a cgroup namespace */
  const char *mount_label;      /* linux.mountLabel (SELinux context), or NULL */
  /* The mount table from before the container's mounts (rootfs.c sees to
   * that): the host's cgroup v1 hierarchies for /sys/fs/cgroup. */
  struct oci_mount_table *host_mounts;
};

/* Whether config.mounts entry `m` is a bind mount: type "bind", or a
 * "bind"/"rbind" option whatever the type (runc; crun for the type). */
bool rt_mount_is_bind(const struct oci_mount *m);

/* Mount one entry of config.mounts inside the root (before pivot_root).
 * `o`: its options, from rt_mount_options_parse_all().  `source_fd`: for a bind mount, a detached copy of its
 * source's mount tree that the parent made on the host side (open_tree with OPEN_TREE_CLONE; a user namespace
 * may not reach the source by path), or -1. */
int rt_mount_one(const struct rt_mount_ctx *ctx, const struct oci_mount *m, const struct rt_mount_options *o,
                 int source_fd, struct oci_error **err);

/* MS_* flags of the mount that `fd` is on, as statfs(2) reports them. */
int rt_mount_flags_of_fd(int fd, unsigned long *flags, struct oci_error **err);

/* After pivot_root (rootfd is the container's "/"); these work without a
 * mounted /proc. */
/* maskedPaths entry: a directory gets a read-only tmpfs (with the context
 * `mount_label` unless NULL), anything else the container's /dev/null.  A
 * missing path is not an error. */
int rt_mount_mask_path(int rootfd, const char *path, const char *mount_label, struct oci_error **err);
/* readonlyPaths entry: a recursive bind onto itself, read-only at the top.
 * A missing path is not an error. */
int rt_mount_readonly_path(int rootfd, const char *path, struct oci_error **err);
/* Make the mount at `path` read-only, keeping its other flags. */
int rt_mount_make_readonly(int rootfd, const char *path, struct oci_error **err);

#endif
