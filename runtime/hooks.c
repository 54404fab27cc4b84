#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spec/util.h"
#include "hooks.h"

#define HOOKS_FILE "hooks.json"
/* How much of a failed hook's output goes into the error message. */
#define OUTPUT_MAX 1024

extern char **environ;

static const char *const kind_names[] = {
  [RT_HOOK_PRESTART] = "prestart",
  [RT_HOOK_CREATE_RUNTIME] = "createRuntime",
  [RT_HOOK_CREATE_CONTAINER] = "createContainer",
  [RT_HOOK_START_CONTAINER] = "startContainer",
  [RT_HOOK_POSTSTART] = "poststart",
  [RT_HOOK_POSTSTOP] = "poststop",
};

const char *
rt_hook_kind_name(enum rt_hook_kind kind)
{
  return kind_names[kind];
}

static const struct oci_hook *
hooks_of(const struct oci_hooks *h, enum rt_hook_kind kind, size_t *n)
{
  *n = 0;
  if (h == NULL)
    return NULL;
  switch (kind)
    {
    case RT_HOOK_PRESTART:
      *n = h->prestart_len;
      return h->prestart;
    case RT_HOOK_CREATE_RUNTIME:
      *n = h->create_runtime_len;
      return h->create_runtime;
    case RT_HOOK_CREATE_CONTAINER:
      *n = h->create_container_len;
      return h->create_container;
    case RT_HOOK_START_CONTAINER:
      *n = h->start_container_len;
      return h->start_container;
    case RT_HOOK_POSTSTART:
      *n = h->poststart_len;
      return h->poststart;
    case RT_HOOK_POSTSTOP:
      *n = h->poststop_len;
      return h->poststop;
    }
  return NULL;
}

size_t
rt_hooks_count(const struct oci_hooks *h, enum rt_hook_kind kind)
{
  size_t n;

  hooks_of(h, kind, &n);
  return n;
}

/* ---- one hook ---- */

static _Noreturn void
hook_failed(const char *what)
{
  dprintf(STDERR_FILENO, "%s: %s", what, strerror(errno));
  _exit(127);
}

static _Noreturn void
exec_hook(const struct oci_hook *hk, int state_fd, int out_fd, const char *cwd, char *const *default_env)
{
  char *default_argv[] = { hk->path, NULL };
  char *const *argv = hk->args_len ? hk->args : default_argv;
  char *const *envp = hk->env ? hk->env : default_env ? default_env : environ;
  sigset_t none;

  /* Our callers block signals (run) and ignore SIGPIPE: the hook must not
   * inherit either.  Its own process group lets a timeout kill all of it. */
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  setpgid(0, 0);
  if (dup2(state_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0)
    hook_failed("dup2");
  /* Only stdio: not our lock, sync socket or preserved descriptors. */
  syscall(SYS_close_range, 3, ~0U, 0);
  if (cwd && chdir(cwd) < 0)
    hook_failed("chdir");
  execve(hk->path, argv, envp);
  hook_failed("exec");
}

/* Wait for `pid`, at most timeout_s seconds (0: no limit).  On expiry the
 * process group is killed and *timed_out set. */
static int
wait_hook(pid_t pid, int timeout_s, int *status, bool *timed_out)
{
  *timed_out = false;
  if (timeout_s > 0)
    {
      cleanup_close int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
      struct pollfd p = { .fd = pidfd, .events = POLLIN };
      int r;

      if (pidfd < 0)
        return -1;
      do
        r = poll(&p, 1, timeout_s * 1000);
      while (r < 0 && errno == EINTR);
      if (r == 0)
        {
          *timed_out = true;
          kill(-pid, SIGKILL);
          kill(pid, SIGKILL);
        }
    }
  while (waitpid(pid, status, 0) < 0)
    if (errno != EINTR)
      return -1;
  return 0;
}

/* The hook's output, on one line, for the error message. */
static char *
read_output(int fd)
{
  char buf[OUTPUT_MAX + 1];
  ssize_t n = pread(fd, buf, OUTPUT_MAX, 0);
  size_t len = n > 0 ? (size_t)n : 0;

  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
    len--;
  buf[len] = '\0';
  for (size_t i = 0; i < len; i++)
    if (buf[i] == '\n' || buf[i] == '\r')
      buf[i] = ' ';
  return xstrdup(buf);
}

static int
run_one(const struct oci_hook *hk, const char *label, int state_fd, const char *cwd, char *const *default_env,
        struct oci_error **err)
{
  cleanup_close int out = memfd_create("ocirt-hook-output", MFD_CLOEXEC);
  cleanup_free char *output = NULL;
  int timeout = hk->has_timeout ? hk->timeout : 0;
  bool timed_out;
  int status;
  pid_t pid;

  if (out < 0)
    return oci_error_errno(err, "%s: creating the output buffer", label);
  /* The child shares the offset: every hook reads the state from its start. */
  if (lseek(state_fd, 0, SEEK_SET) < 0)
    return oci_error_errno(err, "%s: rewinding the state", label);
  pid = fork();
  if (pid < 0)
    return oci_error_errno(err, "%s: fork", label);
  if (pid == 0)
    exec_hook(hk, state_fd, out, cwd, default_env);
  if (wait_hook(pid, timeout, &status, &timed_out) < 0)
    {
      int saved = errno;
      kill(pid, SIGKILL);
      errno = saved;
      return oci_error_errno(err, "%s: waiting for it", label);
    }
  if (timed_out)
    return oci_error_set(err, ETIMEDOUT, "%s: timed out after %d s (killed)", label, timeout);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return 0;
  output = read_output(out);
  if (WIFSIGNALED(status))
    return oci_error_set(err, 0, "%s: killed by signal %d%s%s", label, WTERMSIG(status),
                         output[0] ? ": " : "", output);
  return oci_error_set(err, 0, "%s: exit status %d%s%s", label, WEXITSTATUS(status), output[0] ? ": " : "",
                       output);
}

/* The state goes through a memfd, not a pipe: a hook that never reads its
 * stdin cannot make us block, and a large state cannot either. */
static int
state_memfd(const struct oci_state *st, int *out, struct oci_error **err)
{
  cleanup_free char *text = NULL;
  cleanup_close int fd = -1;
  size_t len;

  if (oci_state_emit(st, false, &text, &len, err) < 0)
    return -1;
  fd = memfd_create("ocirt-hook-state", MFD_CLOEXEC);
  if (fd < 0)
    return oci_error_errno(err, "creating the hook state buffer");
  if (oci_write_all(fd, text, len) < 0)
    return oci_error_errno(err, "writing the hook state");
  *out = steal_fd(&fd);
  return 0;
}

/* runtime-spec "Lifecycle": a failing poststart or poststop hook is only
 * warned about; the remaining hooks and the lifecycle go on. */
static bool
keeps_going(enum rt_hook_kind kind)
{
  return kind == RT_HOOK_POSTSTART || kind == RT_HOOK_POSTSTOP;
}

/* One error for all the hooks that failed: "<first>; <second>". */
static void
add_failure(struct oci_error **all, struct oci_error *e)
{
  cleanup_free char *text = oci_error_string(e);

  if (*all == NULL)
    {
      *all = e;
      return;
    }
  oci_error_free(e);
  cleanup_free char *before = oci_error_string(*all);
  oci_error_free(*all);
  *all = NULL;
  oci_error_set(all, 0, "%s; %s", before, text);
}

int
rt_hooks_run(const struct oci_hooks *h, enum rt_hook_kind kind, const struct oci_state *st, const char *cwd,
             char *const *default_env, struct oci_error **err)
{
  cleanup_close int state_fd = -1;
  const struct oci_hook *list;
  size_t n;

  list = hooks_of(h, kind, &n);
  if (n == 0)
    return 0;
  if (state_memfd(st, &state_fd, err) < 0)
    return oci_error_wrap(err, "%s hooks", kind_names[kind]);
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *label = xasprintf("%s hook #%zu `%s`", kind_names[kind], i, list[i].path);
      struct oci_error *e = NULL;

      if (run_one(&list[i], label, state_fd, cwd, default_env, &e) == 0)
        continue;
      if (!keeps_going(kind))
        {
          *err = e;
          return -1;
        }
      add_failure(err, e);
    }
  return *err ? -1 : 0;
}

/* ---- kept in the state directory ---- */

int
rt_hooks_save(int dirfd, const struct oci_hooks *h, struct oci_error **err)
{
  struct oci_hooks later = { 0 };
  struct oci_config doc = { .oci_version = (char *)OCI_SPEC_VERSION, .hooks = &later };
  cleanup_free char *text = NULL;
  cleanup_close int fd = -1;
  size_t len;

  if (rt_hooks_count(h, RT_HOOK_POSTSTART) == 0 && rt_hooks_count(h, RT_HOOK_POSTSTOP) == 0)
    return 0;
  later.poststart = h->poststart;
  later.poststart_len = h->poststart_len;
  later.poststop = h->poststop;
  later.poststop_len = h->poststop_len;
  if (oci_config_emit(&doc, false, &text, &len, err) < 0)
    return oci_error_wrap(err, "encoding " HOOKS_FILE);
  fd = openat(dirfd, HOOKS_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return oci_error_errno(err, "creating " HOOKS_FILE);
  if (oci_write_all(fd, text, len) < 0)
    return oci_error_errno(err, "writing " HOOKS_FILE);
  return 0;
}

int
rt_hooks_load(int dirfd, struct oci_config **out, struct oci_error **err)
{
  cleanup_close int fd = openat(dirfd, HOOKS_FILE, O_RDONLY | O_CLOEXEC);
  cleanup_free char *text = NULL;
  struct stat st;
  ssize_t n;

  *out = NULL;
  if (fd < 0)
    return errno == ENOENT ? 0 : oci_error_errno(err, "opening " HOOKS_FILE);
  if (fstat(fd, &st) < 0)
    return oci_error_errno(err, "stat of " HOOKS_FILE);
  text = xmalloc((size_t)st.st_size + 1);
  n = oci_read_all(fd, text, (size_t)st.st_size);
  if (n < 0)
    return oci_error_errno(err, "reading " HOOKS_FILE);
  text[n] = '\0';
  return oci_config_parse(HOOKS_FILE, text, (size_t)n, out, err);
}
