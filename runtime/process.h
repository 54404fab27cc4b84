/* The container process: everything between "filesystem ready" and execve.
 *
 * The container init (init.c) calls, after rt_rootfs_finalize():
 *   rt_process_prepare()   -- before blocking on exec.fifo: oomScoreAdj,
 *                             rlimits, scheduler/ioPriority/personality,
 *                             user (additionalGids, gid, uid, umask) with
 *                             capabilities kept across setuid and then set
 *                             to the five configured sets, noNewPrivileges,
 *                             chdir(cwd), and the PATH lookup of args[0]
 *                             inside the container.  Failures here fail
 *                             `create` (missing cwd, command not found).
 *   rt_process_exec()      -- after `start`: execve, nothing else.
 * The strerror phrases ("no such file or directory", "permission denied")
 * and "executable file not found in $PATH" are kept: podman maps them to
 * exit codes 127/126. */
#ifndef RT_PROCESS_H
#define RT_PROCESS_H

#include <sys/types.h>

#include "oci-config.h"
#include "context.h"
#include "error.h"

struct rt_exec
{
  char *path;     /* resolved absolute path of args[0] inside the container */
  char **argv;    /* NULL terminated array (owned), strings borrowed */
  char **envp;    /* NULL terminated array (owned), strings borrowed */
  char *home_env; /* owned "HOME=..." appended to envp when process.env has
                     no HOME, as runc does (from the container's /etc/passwd) */
};

/* A step the caller runs inside rt_process_prepare(). */
struct rt_process_step
{
  int (*fn)(void *data, struct oci_error **err);
  void *data;
};

/* `log`: --debug records of each step (rlimits, user, capabilities ...).
 * `before_user` (or NULL): args[0] is then resolved before the user and
 * capabilities change (still as root: a file only root may execute fails
 * at execve, not here), and the step runs right after that, while we are
 * still root with all our capabilities (seccomp without no_new_privs). */
int rt_process_prepare(const struct rt_context *log, const struct oci_process *proc, struct rt_exec *exec,
                       const struct rt_process_step *before_user, struct oci_error **err);
int rt_process_exec(const struct rt_exec *exec, struct oci_error **err);
void rt_exec_clear(struct rt_exec *exec);

/* linux.personality: the init calls it before rt_process_prepare() (the
 * personality lives in cfg->linux_, not in the process).  NULL: nothing. */
int rt_personality_apply(const struct oci_personality *pers, struct oci_error **err);

/* Set one rlimit by its OCI name ("RLIMIT_NOFILE"). */
int rt_rlimit_apply(const struct oci_rlimit *rl, struct oci_error **err);

/* In the parent, when create or exec fails half-way: SIGKILL our child
 * `pid` and wait for it, so that nothing outlives the failed command.
 * pid <= 0 (never forked, or already reaped): nothing. */
void rt_process_kill_and_reap(pid_t pid);
/* Reap our child `pid`, which is on its way out (it closed its end of a
 * socket), waiting at most `timeout_ms`: 1 with its wait status in *status,
 * 0 when it is still running, -1 when it is not ours to wait for. */
int rt_process_reap_exiting(pid_t pid, int timeout_ms, int *status);
/* A wait status in words: "was killed by SIGKILL", "exited with status 3";
 * newly allocated. */
char *rt_process_describe_exit(int status);

#endif
