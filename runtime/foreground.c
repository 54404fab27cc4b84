#include <config.h>

#include <errno.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spec/util.h"
#include "foreground.h"
#include "terminal.h"

static void
forwarded_signals(sigset_t *set)
{
  /* What a user can send us goes to the process; the synchronous faults
   * would be ocirt's own bugs, and SIGPIPE our own EPIPE on stdout (the
   * callers ignore it while they relay). */
  static const int keep[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS, SIGPIPE };

  sigfillset(set);
  for (size_t i = 0; i < OCI_ARRAY_SIZE(keep); i++)
    sigdelset(set, keep[i]);
}

int
rt_foreground_begin(int *sigfd, sigset_t *old, struct oci_error **err)
{
  sigset_t set;

  forwarded_signals(&set);
  sigprocmask(SIG_BLOCK, &set, old);
  if (sigfd == NULL)
    return 0;
  *sigfd = signalfd(-1, &set, SFD_CLOEXEC);
  if (*sigfd < 0)
    {
      int saved = errno;
      sigprocmask(SIG_SETMASK, old, NULL);
      return oci_error_set(err, saved, "creating a signalfd");
    }
  return 0;
}

void
rt_foreground_end(const sigset_t *old)
{
  sigprocmask(SIG_SETMASK, old, NULL);
}

static void
reap(struct rt_foreground *w)
{
  int status;
  pid_t p;

  while ((p = waitpid(-1, &status, WNOHANG)) > 0)
    if (p == w->pid)
      {
        w->status = status;
        w->exited = true;
      }
}

static void
relay_on_signal(int signo, void *data)
{
  struct rt_foreground *w = data;

  if (signo == SIGCHLD)
    reap(w);
  else if (!w->exited)
    kill(w->pid, signo);
}

static bool
relay_child_exited(void *data)
{
  struct rt_foreground *w = data;

  reap(w);
  return w->exited;
}

static int
wait_exit(struct rt_foreground *w, int sigfd, int master, struct oci_error **err)
{
  struct signalfd_siginfo si;
  ssize_t n;

  if (master >= 0)
    {
      struct rt_relay_hooks hooks = {
        .on_signal = relay_on_signal,
        .child_exited = relay_child_exited,
        .data = w,
      };
      if (rt_terminal_relay(master, sigfd, &hooks, err) < 0)
        return -1;
    }
  reap(w);
  while (!w->exited)
    {
      n = read(sigfd, &si, sizeof si);
      if (n < 0 && errno == EINTR)
        continue;
      if (n != sizeof si)
        return oci_error_errno(err, "reading signals");
      if (si.ssi_signo == SIGCHLD)
        reap(w);
      else if (si.ssi_signo != SIGWINCH)
        kill(w->pid, (int)si.ssi_signo);
    }
  return 0;
}

int
rt_foreground_wait(struct rt_foreground *w, int sigfd, int master, struct oci_error **err)
{
  struct sigaction ignore = { .sa_handler = SIG_IGN }, old_pipe;
  int r;

  /* The relay writes the container's terminal output to our stdout, which
   * may be a pipe whose reader is gone (`ocirt run c | head`): the write
   * must fail with EPIPE (the relay then drops the output) rather than
   * kill us and orphan the container.  Ignored only now: the process,
   * already started, keeps the caller's disposition. */
  sigaction(SIGPIPE, &ignore, &old_pipe);
  r = wait_exit(w, sigfd, master, err);
  sigaction(SIGPIPE, &old_pipe, NULL);
  return r;
}

int
rt_foreground_exit_code(const struct rt_foreground *w)
{
  return WIFSIGNALED(w->status) ? 128 + WTERMSIG(w->status) : WEXITSTATUS(w->status);
}
