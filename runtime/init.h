/* The container init: the child side of `create`, from clone() to execve. */
#ifndef RT_INIT_H
#define RT_INIT_H

#include <stdbool.h>
#include <sys/types.h>

#include "oci-config.h"
#include "mempolicy.h"
#include "mounts.h"
#include "seccomp.h"
#include "context.h"
#include "cgroups.h"
#include "namespaces.h"

struct rt_init_args
{
  const struct oci_config *cfg;
  struct rt_ns_plan *ns;
  const char *id;
  const char *rootfs;      /* absolute host path, as `state` shows it (the hooks') */
  const char *rootfs_real; /* the same, symlinks resolved by create: what we mount */
  const char *bundle;      /* absolute; for the hooks' state */
  const char *created;     /* RFC 3339; for the hooks' state */
  pid_t host_pid;          /* our pid as `state` shows it: set by the hooks sync */
  bool no_pivot;
  bool no_new_keyring;
  /* The parent is not root and must write our uid_map itself, so we stay
   * dumpable until it has.  Decided by the parent before the clone: our
   * own geteuid() turns 0 the moment the map is written. */
  bool maps_by_unprivileged_parent;
  int preserve_fds;                          /* fds 3 .. 3+preserve_fds-1 reach the container */
  int sync_fd;                               /* our end of the sync socket */
  int fifo_fd;                               /* O_PATH descriptor of exec.fifo, opened by the parent */
  const int *mount_source_fds;               /* bind sources the parent opened (rt_mount_one), or NULL */
  const struct rt_mount_options *mount_opts; /* per config.mounts entry, parsed by the parent */
  const struct rt_mempolicy *mempolicy;      /* linux.memoryPolicy, parsed */
  const struct rt_seccomp_filter *seccomp;   /* linux.seccomp, compiled */
  int fd_dir;                                /* our /proc/self/fd, opened before pivot_root to reopen
                                                fifo_fd by (the container may have no /proc); set by
                                                rt_init_main */
  struct rt_cgroup_join *cgroup_join;        /* the cgroups we enter ourselves, or NULL */
  /* ocirt's mount table (read for its cgroups, or not yet) when our mount
   * namespace is a new copy of ocirt's; NULL when we join one. */
  struct oci_mount_table *host_mounts;
  int log_fd;                                /* --log file for errors after the parent is gone, or -1 */
  bool log_json;
  struct rt_context log; /* the parent's, with log_sock = sync_fd: --debug
                            records go to the parent until "ready" */
  int parent_fds[4];     /* the parent's descriptors we must not keep (the state
                            lock!), -1 terminated or unused */
};

/* Longest "E<message>" the init writes to exec.fifo (< PIPE_BUF). */
#define RT_START_ERROR_MAX 4000

/* Never returns: execs the container process or _exits. */
_Noreturn void rt_init_main(struct rt_init_args *a);

#endif
