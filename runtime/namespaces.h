/* linux.namespaces: which namespaces are created (and how: by clone flags
 * in the parent, or by unshare in the init) and which are joined by path;
 * uid/gid maps; time namespace offsets. */
#ifndef RT_NAMESPACES_H
#define RT_NAMESPACES_H

#include <stdbool.h>
#include <sys/types.h>

#include "oci-config.h"
#include "context.h"
#include "error.h"

#define RT_NS_MAX 8

struct rt_ns_join
{
  int type;         /* CLONE_NEW* */
  int fd;           /* opened by the parent before the clone */
  const char *path; /* linux.namespaces[].path, for messages */
};

struct rt_ns_plan
{
  int clone_flags;   /* CLONE_NEW* given to clone() by the parent */
  int unshare_flags; /* CLONE_NEW* the init unshares after joining (user ns joined
                        or namespaces joined by path: they must exist first) */
  bool new_user;     /* a new user namespace (in clone_flags or unshare_flags) */
  bool new_cgroup;   /* unshared by the init once it is inside its cgroup */
  bool new_time;     /* unshared by the init; it enters it at execve */
  bool new_net;      /* bring its loopback up */
  int late_flags;    /* unshared once we are uid 0 of a new user namespace */
  int early_flags;   /* unshared by the init first thing, while the parent
                        makes the cgroups (see namespaces.c) */
  bool pid_fork;     /* the pid namespace applies to children only: fork once more */
  bool has_pid_ns, has_mount_ns, has_uts_ns, has_user_ns, has_cgroup_ns; /* new or joined */
  struct rt_ns_join join[RT_NS_MAX];                                     /* user first */
  int join_len;
};

/* CLONE_NEW* for an OCI type name, 0 when unknown. */
int rt_ns_flag(const char *type);

/* Compute the plan and open every linux.namespaces[].path.  On failure
 * every fd opened so far is closed. */
int rt_ns_plan_init(const struct oci_config *cfg, struct rt_ns_plan *plan, struct oci_error **err);
void rt_ns_plan_clear(struct rt_ns_plan *plan);

/* "pid mount network" for CLONE_NEW* flags, into buf (never allocates). */
void rt_ns_flag_names(int flags, char *buf, size_t size);

/* --debug, in the parent: which namespaces the clone of `pid` created. */
void rt_ns_debug_clone(const struct rt_context *log, const struct rt_ns_plan *plan, pid_t pid);

/* In the init: setns() into every joined namespace (user first), closing
 * the fds. */
int rt_ns_join_all(const struct rt_context *log, struct rt_ns_plan *plan, struct oci_error **err);

/* `lo` up in a new network namespace, as runc does: through `sock`, an
 * AF_INET socket made in that namespace, which need not be ours (the init
 * made it and ocirt brings `lo` up while the init makes its mounts); -1
 * makes one in the caller's namespace. */
int rt_ns_loopback_up(int sock, struct oci_error **err);

/* Whether we run in a user namespace other than the initial one (whose
 * uid_map maps all of 0..4294967294 onto itself). */
bool rt_ns_in_user_namespace(void);

/* In the parent: write /proc/PID/{uid_map,setgroups,gid_map}. */
int rt_ns_write_id_maps(const struct rt_context *log, pid_t pid, const struct oci_linux *lnx,
                        struct oci_error **err);

/* In the init, after unshare(CLONE_NEWTIME): /proc/self/timens_offsets. */
int rt_ns_write_time_offsets(const struct oci_linux *lnx, struct oci_error **err);

#endif
