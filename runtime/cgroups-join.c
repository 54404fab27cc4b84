/* How a new process gets into its cgroup (see cgroups.h, struct
 * rt_cgroup_join).
 *
 * A pid written to cgroup.procs by another process is a migration under the
 * kernel's global threadgroup lock, whose write side first waits for an RCU
 * grace period unless another writer took it moments before: 5 to 20 ms on
 * an idle host, more than the rest of a container's start.  Two ways in take
 * no such lock: a process created inside the cgroup (clone3 with
 * CLONE_INTO_CGROUP, cgroup2 hierarchies only), and a thread moving itself
 * (writing "0" to a v1 hierarchy's `tasks`, which the kernel does without
 * the global lock since 6.0; on older kernels it costs what a pid written
 * by the parent costs, and does the same).  Our processes are single
 * threaded until execve, so moving the thread moves the process. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spec/util.h"
#include "cgroups-internal.h"
#include "log.h"

/* The entry of `subs` for hierarchy `m`, or NULL. */
static const char *
sub_for(const struct rt_cg_mount *m, char *const *subs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      const char *colon = strchr(subs[i], ':');
      if (colon == NULL)
        return subs[i];
      if (m->v2)
        continue;
      cleanup_free char *ctrls = xstrndup(subs[i], (size_t)(colon - subs[i]));
      char *save = NULL;
      for (char *c = strtok_r(ctrls, ",", &save); c; c = strtok_r(NULL, ",", &save))
        if (rt_cg_options_have(m->options, c))
          return colon + 1;
    }
  return NULL;
}

/* The directory of hierarchy `i` the process goes to: the container's
 * cgroup, or the existing sub-cgroup `subs` names for it. */
static int
target_dir(const struct rt_cgroup *cg, size_t i, char *const *subs, size_t n, char **out,
           struct oci_error **err)
{
  const char *sub = sub_for(&cg->h[i].m, subs, n);
  struct stat st;

  if (sub == NULL)
    {
      *out = xstrdup(cg->h[i].dir);
      return 0;
    }
  *out = xasprintf("%s/%s", cg->h[i].dir, sub);
  if (stat(*out, &st) < 0 || !S_ISDIR(st.st_mode))
    {
      oci_error_errno(err, "sub-cgroup `%s` (%s)", sub, *out);
      free(*out);
      *out = NULL;
      return -1;
    }
  return 0;
}

void
rt_cgroup_join_clear(struct rt_cgroup_join *j)
{
  for (size_t i = 0; j->dirs && i < j->n; i++)
    {
      free(j->dirs[i]);
      if (j->tasks[i] >= 0)
        close(j->tasks[i]);
    }
  free(j->dirs);
  free(j->tasks);
  if (j->into_fd >= 0)
    close(j->into_fd);
  memset(j, 0, sizeof *j);
  j->into_fd = -1;
}

/* Open what the child needs to enter hierarchy `i` itself; where that
 * fails, the parent writes the pid and meets the error, if any, there. */
static void
open_for_child(struct rt_cgroup_join *j, size_t i, bool v2, int how)
{
  if (v2 && (how & RT_CG_JOIN_CLONE_INTO) && j->into_fd < 0)
    {
      j->into_fd = open(j->dirs[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
      j->into_index = i;
    }
  else if (!v2 && (how & RT_CG_JOIN_SELF) && j->tasks[i] < 0)
    {
      cleanup_free char *path = xasprintf("%s/tasks", j->dirs[i]);
      j->tasks[i] = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    }
}

/* A new systemd unit's cgroup exists only once systemd started it with
 * the pid in it (rt_cgroup_start); an existing unit's is like any. */
static bool
parent_writes_all(const struct rt_cgroup *cg)
{
  return cg->sd.unit && cg->created;
}

void
rt_cgroup_join_open_tasks(struct rt_cgroup_join *j)
{
  if (parent_writes_all(j->cg))
    return;
  for (size_t i = 0; i < j->n; i++)
    open_for_child(j, i, j->cg->h[i].m.v2, RT_CG_JOIN_SELF);
}

int
rt_cgroup_join_take_tasks(struct rt_cgroup_join *j, int64_t index, int fd, struct oci_error **err)
{
  if (fd < 0 || index < 0 || (uint64_t)index >= j->n || j->tasks[index] >= 0)
    {
      if (fd >= 0)
        close(fd);
      return oci_error_set(err, 0, "unexpected cgroup descriptor %" PRId64 " from ocirt", index);
    }
  j->tasks[index] = fd;
  return 0;
}

int
rt_cgroup_join_prepare(const struct rt_cgroup *cg, char *const *subs, size_t n_subs, int how,
                       struct rt_cgroup_join *j, struct oci_error **err)
{
  memset(j, 0, sizeof *j);
  j->into_fd = -1;
  j->cg = cg;
  j->n = cg->n;
  j->dirs = xcalloc(cg->n ? cg->n : 1, sizeof *j->dirs);
  j->tasks = xcalloc(cg->n ? cg->n : 1, sizeof *j->tasks);
  for (size_t i = 0; i < cg->n; i++)
    j->tasks[i] = -1;
  if (parent_writes_all(cg))
    how = 0;
  for (size_t i = 0; i < cg->n; i++)
    {
      if (target_dir(cg, i, subs, n_subs, &j->dirs[i], err) < 0)
        {
          rt_cgroup_join_clear(j);
          return -1;
        }
      open_for_child(j, i, cg->h[i].m.v2, how);
    }
  return 0;
}

pid_t
rt_cgroup_join_clone(struct rt_cgroup_join *j, int flags)
{
  if (j && j->into_fd >= 0)
    {
      struct clone_args args = {
        .flags = (uint64_t)(unsigned)flags | CLONE_INTO_CGROUP,
        .exit_signal = SIGCHLD,
        .cgroup = (uint64_t)j->into_fd,
      };
      pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);

      if (pid >= 0)
        {
          j->born_inside = true;
          return pid;
        }
      /* No clone3 or CLONE_INTO_CGROUP (before 5.7), or the kernel will
       * not put a process there: the parent's write then says why. */
    }
  return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

int
rt_cgroup_join_self(struct rt_cgroup_join *j, const struct rt_context *log, struct oci_error **err)
{
  /* Our copy: nothing of the host's cgroup tree stays open in here. */
  if (j->into_fd >= 0)
    {
      close(j->into_fd);
      j->into_fd = -1;
    }
  for (size_t i = 0; i < j->n; i++)
    {
      ssize_t r;

      if (j->tasks[i] < 0)
        continue;
      if (log)
        rt_debug(log, "cgroup: writing \"0\" to %s/tasks (the process moves itself)", j->dirs[i]);
      do
        r = write(j->tasks[i], "0", 1);
      while (r < 0 && errno == EINTR);
      if (r < 0)
        return oci_error_errno(err, "joining cgroup `%s`", j->dirs[i]);
      close(j->tasks[i]);
      j->tasks[i] = -1;
    }
  return 0;
}

int
rt_cgroup_join_finish(struct rt_cgroup_join *j, pid_t pid, struct oci_error **err)
{
  char buf[32];

  snprintf(buf, sizeof buf, "%d", (int)pid);
  for (size_t i = 0; i < j->n; i++)
    {
      if (j->tasks[i] >= 0)
        {
          /* The process writes its own copy (rt_cgroup_join_self). */
          close(j->tasks[i]);
          j->tasks[i] = -1;
          continue;
        }
      if (j->born_inside && i == j->into_index)
        {
          if (j->cg->log)
            rt_debug(j->cg->log, "cgroup: pid %d was created in %s (CLONE_INTO_CGROUP)", (int)pid,
                     j->dirs[i]);
          continue;
        }
      if (rt_cg_write(j->cg->log, j->dirs[i], "cgroup.procs", buf, err) < 0)
        return oci_error_wrap(err, "joining cgroup `%s`", j->dirs[i]);
    }
  return 0;
}
