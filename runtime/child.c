#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spec/util.h"
#include "child.h"
#include "log.h"
#include "lsm.h"
#include "seccomp.h"
#include "sync.h"
#include "terminal.h"

static const struct oci_seccomp *
seccomp_of(const struct rt_child *c)
{
  return c->cfg->linux_ ? c->cfg->linux_->seccomp : NULL;
}

pid_t
rt_child_fork(int sync_fd, struct oci_error **err)
{
  pid_t pid;
  int gate[2];
  char c;

  if (pipe2(gate, O_CLOEXEC) < 0)
    return oci_error_errno(err, "creating a pipe");
  pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0)
    return oci_error_errno(err, "forking into the pid namespace");
  if (pid == 0)
    {
      /* The gate opens when our forker exits: end of file. */
      close(gate[1]);
      while (read(gate[0], &c, 1) < 0 && errno == EINTR)
        ;
      close(gate[0]);
      return 0;
    }
  close(gate[0]);
  if (rt_sync_send(sync_fd, RT_SYNC_PID, pid, -1, err) < 0)
    return -1;
  return pid;
}

void
rt_child_begin(void)
{
  /* The kernel's struct sigaction with SIG_DFL (0), no flags, an empty
   * mask: all zero whatever the architecture's field order. */
  const unsigned long dfl[8] = { 0 };
  sigset_t none;

  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* execve resets handled signals but keeps ignored ones: a caller with
   * SIGPIPE ignored (conmon) or SIGHUP (nohup) must not pass that on.  The
   * raw syscall, because glibc refuses the signals it reserves (32 and 33),
   * which a caller may have ignored too.  8: the kernel's sigset size. */
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      syscall(SYS_rt_sigaction, sig, dfl, NULL, 8);
}

int
rt_child_terminal(const struct rt_child *c, struct oci_error **err)
{
  cleanup_close int master = -1;

  /* A session of its own either way, as under runc: the process is not in
   * the foreground process group of our caller's terminal. */
  if (!c->proc->terminal)
    return setsid() < 0 ? oci_error_errno(err, "setsid") : 0;
  rt_debug(c->log, "terminal: opening a pty in the container; it becomes the process's stdio");
  if (rt_terminal_setup_in_container(c->proc, c->console, &master, err) < 0)
    return -1;
  return rt_sync_send(c->sync_fd, RT_SYNC_TERMINAL, 0, master, err);
}

static void
debug_ready(const struct rt_child *c, const struct rt_exec *exec)
{
  char args[RT_SYNC_TEXT_MAX - 128] = "";

  if (!c->log->debug)
    return;
  rt_log_append_strv(args, sizeof args, exec->argv, c->proc->args_len);
  rt_debug(c->log, "ready: %s %s with args %s", c->waits_for_start ? "on start, exec" : "exec", exec->path,
           args);
}

/* With SCMP_ACT_NOTIFY rules the listener goes to the parent, which
 * hands it to the agent at linux.seccomp.listenerPath; we go on only once
 * the agent has it, so that a notified syscall of ours always has someone
 * to answer it. */
static int
load_seccomp(void *data, struct oci_error **err)
{
  const struct rt_child *c = data;
  cleanup_close int listener = -1;
  struct rt_sync_msg msg;

  if (rt_seccomp_load(c->seccomp, &listener, err) < 0)
    return -1;
  if (listener < 0)
    return 0;
  if (rt_sync_send(c->sync_fd, RT_SYNC_SECCOMP, 0, listener, err) < 0
      || rt_sync_expect(c->sync_fd, RT_SYNC_GO, &msg, err) < 0)
    return oci_error_wrap(err, "linux.seccomp: handing over the notify listener");
  return 0;
}

static bool
has_filter(const struct rt_child *c)
{
  return c->seccomp && c->seccomp->insns;
}

/* With noNewPrivileges the filter goes on last, in rt_child_exec(); but a
 * listener must reach the parent, which is gone by then for the init
 * (`create` has returned): such a filter goes on right before "ready"
 * instead, as runc loads it before it closes its sync pipe. */
static bool
loads_before_ready(const struct rt_child *c)
{
  return c->proc->no_new_privileges && has_filter(c) && c->seccomp->notify;
}

int
rt_child_prepare(const struct rt_child *c, struct rt_exec *exec, struct oci_error **err)
{
  const struct oci_seccomp *sc = seccomp_of(c);
  bool nnp = c->proc->no_new_privileges;
  /* Without no_new_privs only CAP_SYS_ADMIN may load a filter: it goes on
   * right before the user and capabilities change, after args[0] has been
   * resolved, so that the profile need not allow what only ocirt does
   * (faccessat2, close_range).  The user change, the "ready" and execve
   * then run under it, as under runc. */
  const struct rt_process_step before_user = { .fn = load_seccomp, .data = (void *)c };

  rt_seccomp_debug(c->log, sc,
                   !nnp                    ? "now"
                   : loads_before_ready(c) ? "before ready (after no_new_privs), to hand over its listener"
                   : c->waits_for_start    ? "at start, right before exec (after no_new_privs)"
                                           : "right before exec (after no_new_privs)");
  /* Everything we open is close-on-exec; also whatever our caller leaked
   * beyond the preserved range, so the container gets no host fds. */
  if (syscall(SYS_close_range, 3 + c->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    return oci_error_errno(err, "marking descriptors close-on-exec");
  /* The parent moved us into the cgroup, which may have changed our CPUs. */
  if (c->affinity && rt_cpu_affinity_final(c->affinity, err) < 0)
    return -1;
  if (c->mempolicy && rt_mempolicy_apply(c->mempolicy, err) < 0)
    return -1;
  if (rt_lsm_apply(c->proc, err) < 0)
    return -1;
  if (rt_process_prepare(c->log, c->proc, exec, !nnp && has_filter(c) ? &before_user : NULL, err) < 0)
    return -1;
  debug_ready(c, exec);
  if (loads_before_ready(c) && load_seccomp((void *)c, err) < 0)
    return -1;
  return rt_sync_send(c->sync_fd, RT_SYNC_READY, 0, -1, err);
}

int
rt_child_exec(const struct rt_child *c, const struct rt_exec *exec, struct oci_error **err)
{
  /* With no_new_privs the filter goes on last, so that only execve itself
   * has to be allowed by the profile (runc's order). */
  cleanup_close int none = -1;

  if (c->proc->no_new_privileges && has_filter(c) && !loads_before_ready(c)
      && rt_seccomp_load(c->seccomp, &none, err) < 0)
    return -1;
  return rt_process_exec(exec, err);
}
