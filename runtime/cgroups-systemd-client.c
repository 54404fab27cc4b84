/* The systemd cgroup driver's unit operations, made by running the
 * ocirt-systemd helper (systemd-helper.c, the D-Bus half): one process per
 * call, the arguments on its command line (linux.resources as JSON), and
 * on its standard output the answer, or the one-line error it failed with. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups-systemd.h"
#include "util.h"

#define HELPER "ocirt-systemd"

extern char **environ;

bool
rt_cg_sd_available(void)
{
#ifdef HAVE_LIBSYSTEMD
  return true;
#else
  return false;
#endif
}

/* Beside ocirt's own executable first (the build tree, or a directory
 * installed as a whole), then where `make install` puts it. */
static char *
helper_path(void)
{
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  char *slash;

  if (n > 0)
    {
      self[n] = '\0';
      if ((slash = strrchr(self, '/')) != NULL)
        {
          *slash = '\0';
          char *beside = xasprintf("%s/" HELPER, self);
          if (access(beside, X_OK) == 0)
            return beside;
          free(beside);
        }
    }
  return xstrdup(PKGLIBEXECDIR "/" HELPER);
}

static char *
read_all(int fd)
{
  size_t cap = 256, n = 0;
  char *buf = xmalloc(cap);

  for (;;)
    {
      if (n + 1 >= cap)
        buf = xrealloc(buf, cap *= 2);
      ssize_t r = read(fd, buf + n, cap - n - 1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      n += (size_t)r;
    }
  while (n > 0 && buf[n - 1] == '\n')
    n--;
  buf[n] = '\0';
  return buf;
}

static pid_t
spawn_helper(const char *path, char **args, int out_fd, int *error)
{
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none, all;
  pid_t pid = -1;

  /* Our caller may block or ignore signals (a foreground `run`, conmon's
   * SIGPIPE): the helper starts from the defaults. */
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, out_fd, STDERR_FILENO);
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  *error = posix_spawn(&pid, path, &fa, &attr, args, environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  return *error ? -1 : pid;
}

/* Run the helper with `args` (args[0] is filled in); *out, when not NULL,
 * gets what it printed on success. */
static int
run_helper(const char **args, char **out, struct oci_error **err)
{
  cleanup_free char *path = helper_path();
  cleanup_free char *output = NULL;
  int pipefd[2], spawn_error, status;
  pid_t pid;

  if (pipe2(pipefd, O_CLOEXEC) < 0)
    return oci_error_errno(err, "systemd: creating a pipe for `%s`", path);
  args[0] = path;
  pid = spawn_helper(path, (char **)args, pipefd[1], &spawn_error);
  close(pipefd[1]);
  if (pid < 0)
    {
      close(pipefd[0]);
      return oci_error_set(err, spawn_error, "not supported: --systemd-cgroup (running `%s`)", path);
    }
  output = read_all(pipefd[0]);
  close(pipefd[0]);
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return oci_error_errno(err, "systemd: waiting for `%s`", path);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    {
      if (out)
        *out = steal_pointer(&output);
      return 0;
    }
  /* 127: the dynamic loader could not load it, libsystemd missing. */
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return oci_error_fail(err, 0, "not supported: --systemd-cgroup (%s)", output);
  if (output[0] == '\0')
    return oci_error_fail(err, 0, "systemd: `%s` failed (status %#x)", path, (unsigned)status);
  return oci_error_fail(err, 0, "%s", output);
}

/* The helper's options shared by the operations. */
struct helper_args
{
  const char *v[20];
  size_t n;
};

static void
add(struct helper_args *a, const char *arg)
{
  a->v[a->n++] = arg;
  a->v[a->n] = NULL;
}

static void
add_common(struct helper_args *a, const char *op, const char *unit, bool user, bool v2)
{
  a->n = 1; /* the program, set by run_helper */
  add(a, op);
  add(a, "--unit");
  add(a, unit);
  if (user)
    add(a, "--user");
  if (v2)
    add(a, "--v2");
}

static int
add_resources(struct helper_args *a, const struct oci_resources *res, char **json, struct oci_error **err)
{
  size_t len;

  if (res == NULL)
    return 0;
  if (oci_resources_emit(res, json, &len, err) < 0)
    return -1;
  add(a, "--resources");
  add(a, *json);
  return 0;
}

int
rt_cg_sd_start(const struct rt_cg_sd_unit *u, const char *description, pid_t pid, bool v2,
               const struct oci_resources *res, char **cgroup, struct oci_error **err)
{
  struct helper_args a;
  cleanup_free char *json = NULL;
  char pid_text[16];

  snprintf(pid_text, sizeof pid_text, "%d", (int)pid);
  add_common(&a, "start", u->unit, u->user, v2);
  add(&a, "--slice");
  add(&a, u->slice);
  if (u->is_slice)
    add(&a, "--is-slice");
  add(&a, "--pid");
  add(&a, pid_text);
  add(&a, "--description");
  add(&a, description);
  if (add_resources(&a, res, &json, err) < 0)
    return -1;
  return run_helper(a.v, cgroup, err);
}

int
rt_cg_sd_set(const char *unit, bool user, bool v2, const struct oci_resources *res, struct oci_error **err)
{
  struct helper_args a;
  cleanup_free char *json = NULL;

  add_common(&a, "set", unit, user, v2);
  if (add_resources(&a, res, &json, err) < 0)
    return -1;
  return run_helper(a.v, NULL, err);
}

int
rt_cg_sd_stop(const char *unit, bool user, struct oci_error **err)
{
  struct helper_args a;

  add_common(&a, "stop", unit, user, false);
  return run_helper(a.v, NULL, err);
}
