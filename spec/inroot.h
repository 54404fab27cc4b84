/* Paths inside a root directory: the one place both programs open, create
 * and walk paths in a container rootfs (ocirt's mounts, devices, masked
 * paths and cwd; imgtool's layer applier and bundle).
 *
 * One policy, the kernel's openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
 * relative to an fd of the root:
 * - `..` is clamped at the root: "/../../etc" is the root's /etc;
 * - symlinks are followed, absolute ones starting over at the root, so a
 *   link never leads out of it;
 * - magic links (/proc/self/root, /proc/self/fd/N) are refused (ELOOP);
 * - openat2 fails with EAGAIN when a rename raced the lookup: retried a
 *   bounded number of times, then the error is the caller's;
 * - a symlink loop, or a chain of dangling links longer than the kernel
 *   would follow, is ELOOP.
 * There is no fallback without openat2 (Linux 5.6): both programs need it.
 *
 * Paths given to these functions may be absolute or relative: both name
 * the same place, under the root. */
#ifndef OCI_INROOT_H
#define OCI_INROOT_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* `how` bits of the functions below. */
enum
{
  /* Refuse any symlink on the way (ELOOP): runc mounts proc and sysfs only
   * on ordinary directories. */
  OCI_ROOT_NO_SYMLINKS = 1u << 0,
  /* mkdir -p: a dangling symlink on the way is an error (ENOENT) instead of
   * a place to create its target.  An image layer's entries name the
   * directories they mean; one under a dangling link is refused, not
   * materialised somewhere else. */
  OCI_ROOT_NO_DANGLING = 1u << 1,
};

/* openat2(rootfd, path, flags | O_CLOEXEC) under the policy above.  Returns
 * the fd, or -1 with errno set and no message: for callers on a hot path
 * that test errno (ENOENT is normal for them). */
int oci_root_openat(int rootfd, const char *path, int flags, unsigned how);

/* The same with *err set on failure (its status is the errno). */
int oci_root_open(int rootfd, const char *path, int flags, struct oci_error **err);

/* Hears of each directory oci_root_mkdir_p creates, by its path relative
 * to the root as the walk spelled it ("a/b"). */
typedef void (*oci_root_created_fn)(void *data, const char *path);

/* mkdir -p inside the root, each new directory with `mode`; returns an
 * O_PATH fd of the directory.  A dangling symlink on the way is resolved
 * inside the root and its target created, as a lookup through it would
 * (unless OCI_ROOT_NO_DANGLING).  `created` may be NULL. */
int oci_root_mkdir_p(int rootfd, const char *path, mode_t mode, unsigned how, oci_root_created_fn created,
                     void *data, struct oci_error **err);

/* Create `path` as an empty file of `mode` (parents as directories of
 * 0755) unless something exists there; returns an O_PATH fd of what is
 * there now.  A dangling symlink at the last component is followed inside
 * the root, never written through. */
int oci_root_mkfile(int rootfd, const char *path, mode_t mode, struct oci_error **err);

/* One entry `name` (a single component: no `/`, not `.` or `..`) of the
 * directory `dirfd`, never through a symlink: for a tree we have just made
 * ourselves (a fresh tmpfs), where there is nothing to resolve.  mkdir_open
 * creates it (it must not exist) and opens it O_PATH. */
int oci_dir_open(int dirfd, const char *name, int flags, struct oci_error **err);
int oci_dir_mkdir_open(int dirfd, const char *name, mode_t mode, struct oci_error **err);

/* The target of the symlink dirfd/name, newly allocated, or NULL with
 * errno: EINVAL when it is no symlink (any more), ENAMETOOLONG rather than
 * a truncated target. */
char *oci_readlinkat(int dirfd, const char *name);

/* ---- the one path normaliser ----
 *
 * Drops empty and `.` components and trailing slashes; `..` removes the
 * component before it and is clamped at the start ("/../a" is "/a",
 * "../a" is "a"), the lexical form of RESOLVE_IN_ROOT and of runc's
 * CleanPath.  It does not look at the filesystem: where a symlink may
 * stand before a `..`, resolve with oci_root_openat instead. */
enum
{
  /* The result has no leading `/`; the root is "" (tar member names). */
  OCI_PATH_RELATIVE = 1u << 0,
  /* The result is absolute exactly when the input is (cgroup paths, where
   * a relative path means "below the caller's cgroup"). */
  OCI_PATH_KEEP_FORM = 1u << 1,
  /* Refuse `..` instead of clamping it: an image layer that names one is
   * hostile, whatever it would resolve to. */
  OCI_PATH_NO_DOTDOT = 1u << 2,
};
/* Without either form bit the result is absolute ("/" for the root). */

/* Write the clean form of `in` into out[outlen].  -1 with *err set when
 * OCI_PATH_NO_DOTDOT refuses ("path has a `..` component") or the result
 * does not fit ("path is too long"). */
int oci_path_clean_into(const char *in, unsigned flags, char *out, size_t outlen, struct oci_error **err);

/* The clean form of `path`, newly allocated; NULL only when
 * OCI_PATH_NO_DOTDOT refuses it. */
char *oci_path_clean(const char *path, unsigned flags);

#endif
