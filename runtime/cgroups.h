/* Container cgroups on v1, v2 and hybrid hosts.
 *
 * A container's cgroup is identified by one relative path (from
 * linux.cgroupsPath, or a default derived from the id); everything else
 * (which hierarchies, where they are mounted) is rediscovered from
 * /proc/self/mountinfo, so the state file only stores that path. */
#ifndef RT_CGROUPS_H
#define RT_CGROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "oci-config.h"
#include "context.h"
#include "error.h"
#include "mountinfo.h"

struct rt_cgroup;

/* Compute the path and create the cgroup (in every v1 controller hierarchy
 * and/or the unified one).  Does not move any process. */
int rt_cgroup_create(const struct oci_config *cfg, const char *id, bool systemd, struct rt_cgroup **out,
                     struct oci_error **err);
/* rt_cgroup_create in two steps, so that the path can be recorded (for a
 * `delete --force` after a create that was killed) before anything exists:
 * plan computes the path, make creates the directories.  The hierarchies
 * come from `mounts`, which plan reads unless it is read already (NULL: a
 * table of its own). */
int rt_cgroup_plan(const struct oci_config *cfg, const char *id, bool systemd, struct oci_mount_table *mounts,
                   struct rt_cgroup **out, struct oci_error **err);
/* Which directories rt_cgroup_make creates.  A new container's init is
 * cloned into its cgroup2 directory (CLONE_INTO_CGROUP), which must exist
 * before; the v1 ones it enters itself after GO, so they can be made while
 * it creates its namespaces (container.c). */
enum rt_cg_part
{
  RT_CG_ALL,
  RT_CG_CGROUP2, /* the cgroup2 hierarchy's (unified, or hybrid's) */
  RT_CG_V1,      /* every v1 hierarchy's */
};
int rt_cgroup_make(const struct rt_cgroup *cg, const struct oci_config *cfg, enum rt_cg_part part,
                   struct oci_error **err);
/* --debug: from now on each file written (limits, cgroup.procs ...) is one
 * debug record of `log` (borrowed; it must outlive cg). */
void rt_cgroup_set_log(struct rt_cgroup *cg, const struct rt_context *log);
/* Re-open a container's cgroup from the path stored in its state. */
int rt_cgroup_open(const char *path, struct rt_cgroup **out, struct oci_error **err);
/* The stored form: one line, or several when the hierarchies differ
 * ("/common\nmemory:/other"). */
const char *rt_cgroup_path(const struct rt_cgroup *cg);
/* The same on one line, for messages ("/common; memory:/other"). */
char *rt_cgroup_display_path(const struct rt_cgroup *cg);

/* Putting a new process in the cgroup (cgroups-join.c): the parent
 * prepares before the process exists, creates it with
 * rt_cgroup_join_clone, the process calls rt_cgroup_join_self first thing
 * and the parent rt_cgroup_join_finish.  (A new container's v1 directories
 * are made after the clone: their `tasks` files go to the process through
 * rt_cgroup_join_open_tasks and rt_cgroup_join_take_tasks.)  Where the process can enter
 * itself it does, because a pid written by another process waits for the
 * kernel's global cgroup lock (an RCU grace period, milliseconds); the
 * parent writes the pid for the hierarchies where it cannot. */
enum
{
  RT_CG_JOIN_CLONE_INTO = 1, /* cgroup2: created inside, clone3(CLONE_INTO_CGROUP) */
  RT_CG_JOIN_SELF = 2,       /* v1: the process writes 0 to each hierarchy's `tasks` */
};
struct rt_cgroup_join
{
  const struct rt_cgroup *cg;
  size_t n;
  char **dirs; /* per hierarchy: the directory the process goes to */
  int *tasks;  /* per hierarchy: its `tasks`, opened for the process, or -1 */
  int into_fd; /* the cgroup2 directory for CLONE_INTO_CGROUP, or -1 */
  size_t into_index;
  bool born_inside; /* the clone went into into_fd's cgroup */
};
/* `subs` as for rt_cgroup_enter_subs; `how`: RT_CG_JOIN_* (0: the parent
 * writes every pid; always so under --systemd-cgroup). */
int rt_cgroup_join_prepare(const struct rt_cgroup *cg, char *const *subs, size_t n_subs, int how,
                           struct rt_cgroup_join *j, struct oci_error **err);
/* RT_CG_JOIN_SELF for directories made after the clone: open the `tasks`
 * files now, for the process to receive (its copy of `j` has none).  Where
 * an open fails the parent writes the pid, as with prepare. */
void rt_cgroup_join_open_tasks(struct rt_cgroup_join *j);
/* In the process: hierarchy `index`'s `tasks`, received from the parent;
 * fd is taken (closed on failure). */
int rt_cgroup_join_take_tasks(struct rt_cgroup_join *j, int64_t index, int fd, struct oci_error **err);
/* clone(flags | SIGCHLD), into the cgroup2 cgroup where it can.  `j` may be
 * NULL. */
pid_t rt_cgroup_join_clone(struct rt_cgroup_join *j, int flags);
int rt_cgroup_join_self(struct rt_cgroup_join *j, const struct rt_context *log, struct oci_error **err);
int rt_cgroup_join_finish(struct rt_cgroup_join *j, pid_t pid, struct oci_error **err);
void rt_cgroup_join_clear(struct rt_cgroup_join *j);

int rt_cgroup_enter(const struct rt_cgroup *cg, pid_t pid, struct oci_error **err);
/* Put a new container's first process in its cgroup: rt_cgroup_join_finish
 * (rt_cgroup_enter when `j` is NULL), or with --systemd-cgroup, start the
 * unit with `pid` in it and with `res` as its properties (the path then is
 * what systemd says it is). */
int rt_cgroup_start(struct rt_cgroup *cg, const struct oci_resources *res, pid_t pid,
                    struct rt_cgroup_join *j, struct oci_error **err);
/* `exec --cgroup`: each of `subs` is "PATH" (alone: every hierarchy) or
 * "CONTROLLER[,CONTROLLER...]:PATH" (v1 hierarchies of those controllers),
 * an existing sub-cgroup of the container's; hierarchies no entry names
 * get the container's own cgroup.  Checked before anything is entered. */
int rt_cgroup_check_subs(char *const *subs, size_t n, struct oci_error **err);
int rt_cgroup_enter_subs(const struct rt_cgroup *cg, pid_t pid, char *const *subs, size_t n,
                         struct oci_error **err);
int rt_cgroup_apply(const struct rt_cgroup *cg, const struct oci_resources *res, struct oci_error **err);
/* All pids in the cgroup (recursively), for `kill --all` and `ps`. */
int rt_cgroup_pids(const struct rt_cgroup *cg, pid_t **pids, size_t *n, struct oci_error **err);
/* Freeze/thaw (pause/resume). */
int rt_cgroup_freeze(const struct rt_cgroup *cg, bool frozen, struct oci_error **err);
/* Whether the freezer holds the cgroup now (cgroups-freezer-state.c). */
bool rt_cgroup_frozen(const struct rt_cgroup *cg);
/* The "data" object of `events --stats` (cpu, memory, pids, blkio), as
 * runc prints it (cgroups-stats.c).  Unreadable files are left out. */
struct json_writer;
void rt_cgroup_write_stats(const struct rt_cgroup *cg, struct json_writer *w);
/* Whether the kernel's OOM killer has killed a process of the cgroup
 * (cgroups-stats.c). */
bool rt_cgroup_oom_killed(const struct rt_cgroup *cg);
/* The cgroup's count of OOM kills in *n; false when it cannot be read. */
bool rt_cgroup_oom_kills(const struct rt_cgroup *cg, uint64_t *n);
/* An inotify descriptor that becomes readable when the count may have
 * changed (cgroup v2's memory.events), or -1 where there is none (v1: poll
 * the count). */
int rt_cgroup_oom_watch(const struct rt_cgroup *cg);
/* Whether /sys/fs/cgroup is cgroup v2 alone (runc's IsCgroup2UnifiedMode). */
bool rt_cgroup_unified(void);
/* Remove the directories (retrying while the kernel releases them). */
int rt_cgroup_destroy(const struct rt_cgroup *cg, struct oci_error **err);
void rt_cgroup_free(struct rt_cgroup *cg);

static inline void
cleanup_cgroupp(struct rt_cgroup **cg)
{
  rt_cgroup_free(*cg);
}
#define cleanup_cgroup __attribute__((cleanup(cleanup_cgroupp)))

#endif
