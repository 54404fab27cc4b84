/* The last steps of any container process, from its namespaces to execve,
 * shared by the container init (init.c, the child side of `create`) and by
 * `exec` (exec.c, after it joined the init's namespaces):
 *
 *   rt_child_begin()     -- first thing in the child: signal mask
 *   rt_child_terminal()  -- process.terminal: the pty, sent to the parent
 *   rt_child_prepare()   -- linux.seccomp (its order with noNewPrivileges),
 *                           the process settings (process.c), descriptors
 *                           marked close-on-exec, then "ready" to the parent
 *   rt_child_exec()      -- (the init: after `start`) execve
 *
 * What differs between the two is what comes before: the init creates its
 * namespaces, mounts the rootfs and runs hooks; exec joins the namespaces
 * and the root of a running init. */
#ifndef RT_CHILD_H
#define RT_CHILD_H

#include <stdbool.h>

#include "oci-config.h"
#include "context.h"
#include "error.h"
#include "cpu-affinity.h"
#include "mempolicy.h"
#include "process.h"
#include "seccomp.h"

struct rt_child
{
  const struct rt_context *log;            /* --debug records go over sync_fd until ready */
  const struct oci_config *cfg;            /* linux.seccomp */
  const struct oci_process *proc;          /* what runs */
  int sync_fd;                             /* our end of the sync socket */
  int preserve_fds;                        /* fds 3 .. 3+preserve_fds-1 reach the process */
  const struct rt_mempolicy *mempolicy;    /* linux.memoryPolicy, parsed by the parent */
  const struct rt_seccomp_filter *seccomp; /* linux.seccomp, compiled by the parent */
  const struct rt_cpu_affinity *affinity;  /* exec: process.execCPUAffinity; NULL for the init */
  bool console;                            /* the init: the pty slave is bound on /dev/console too */
  bool waits_for_start;                    /* the init: execve only after `start` */
};

/* Fork the process that is really in the pid namespace we created or
 * joined (unshare and setns of a pid namespace only apply to children), as
 * our sibling: CLONE_PARENT makes it a child of `ocirt create` or `exec`,
 * which reap it on failure and wait for it.  The new process waits until
 * its pid has been sent to the parent (RT_SYNC_PID), so that every message
 * of its own, even an error, reaches the parent after it.  Returns the pid
 * in the caller, which then has nothing left to do but _exit, and 0 in the
 * new process. */
pid_t rt_child_fork(int sync_fd, struct oci_error **err);

/* Our caller may have blocked signals (the foreground relay does) or
 * ignored some (conmon ignores SIGPIPE): the process must inherit neither.
 * Every disposition is reset here, before anything of the container runs. */
void rt_child_begin(void);

/* process.terminal: a pty from the container's /dev/ptmx becomes the
 * controlling terminal of our new session and our stdio; its master goes
 * to the parent.  Without a terminal: a new session all the same. */
int rt_child_terminal(const struct rt_child *c, struct oci_error **err);

/* Everything between "in the container's root" and "ready": the final
 * CPU affinity (exec), the memory policy, seccomp (now,
 * without noNewPrivileges: loading then needs CAP_SYS_ADMIN, which the
 * process settings may drop), rt_process_prepare(), close-on-exec on what
 * is not preserved, RT_SYNC_READY.  Fills *exec. */
int rt_child_prepare(const struct rt_child *c, struct rt_exec *exec, struct oci_error **err);

/* The filter if noNewPrivileges deferred it, then execve.  Returns only on
 * failure, with *err set. */
int rt_child_exec(const struct rt_child *c, const struct rt_exec *exec, struct oci_error **err);

#endif
