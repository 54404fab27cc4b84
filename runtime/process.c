#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/ioprio.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capabilities.h"
#include "log.h"
#include "process.h"
#include "sync.h"
#include "util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Go's wording ("no such file or directory"): runc's messages use it and
 * podman maps those phrases to exit codes 126/127. */
static const char *
errno_phrase(int errnum, char *buf, size_t len)
{
  size_t i;
  const char *s = strerror_r(errnum, buf, len);

  if (s != buf)
    snprintf(buf, len, "%s", s);
  for (i = 0; buf[i]; i++)
    buf[i] = (char)tolower((unsigned char)buf[i]);
  return buf;
}

/* ---- rlimits ---- */

struct name_value
{
  const char *name;
  int value;
};

static const struct name_value rlimit_names[] = {
  { "RLIMIT_AS", RLIMIT_AS },
  { "RLIMIT_CORE", RLIMIT_CORE },
  { "RLIMIT_CPU", RLIMIT_CPU },
  { "RLIMIT_DATA", RLIMIT_DATA },
  { "RLIMIT_FSIZE", RLIMIT_FSIZE },
  { "RLIMIT_LOCKS", RLIMIT_LOCKS },
  { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
  { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
  { "RLIMIT_NICE", RLIMIT_NICE },
  { "RLIMIT_NOFILE", RLIMIT_NOFILE },
  { "RLIMIT_NPROC", RLIMIT_NPROC },
  { "RLIMIT_RSS", RLIMIT_RSS },
  { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
  { "RLIMIT_RTTIME", RLIMIT_RTTIME },
  { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
  { "RLIMIT_STACK", RLIMIT_STACK },
};

static int
lookup_name(const struct name_value *table, size_t len, const char *name)
{
  if (name == NULL)
    return -1;
  for (size_t i = 0; i < len; i++)
    if (strcmp(table[i].name, name) == 0)
      return table[i].value;
  return -1;
}

static void
format_limit(uint64_t v, char *buf, size_t len)
{
  if (v == (uint64_t)RLIM_INFINITY)
    snprintf(buf, len, "unlimited");
  else
    snprintf(buf, len, "%" PRIu64, v);
}

int
rt_rlimit_apply(const struct oci_rlimit *rl, struct oci_error **err)
{
  int res = lookup_name(rlimit_names, OCI_ARRAY_SIZE(rlimit_names), rl->type);
  struct rlimit cur, lim = { .rlim_cur = rl->soft, .rlim_max = rl->hard };
  char soft[32], hard[32];

  if (res < 0)
    return oci_error_set(err, 0, "unknown rlimit type \"%s\"", rl->type ? rl->type : "");
  if (setrlimit(res, &lim) == 0)
    return 0;

  format_limit(rl->soft, soft, sizeof soft);
  format_limit(rl->hard, hard, sizeof hard);
  if (errno == EPERM && getrlimit(res, &cur) == 0 && lim.rlim_max > cur.rlim_max)
    {
      char now[32];
      format_limit(cur.rlim_max, now, sizeof now);
      return oci_error_errno(err,
                             "setting %s to soft %s, hard %s: the hard limit is %s and raising it "
                             "needs CAP_SYS_RESOURCE",
                             rl->type, soft, hard, now);
    }
  return oci_error_errno(err, "setting %s to soft %s, hard %s", rl->type, soft, hard);
}

static int
apply_rlimits(const struct rt_context *log, const struct oci_process *proc, struct oci_error **err)
{
  for (size_t i = 0; i < proc->rlimits_len; i++)
    {
      const struct oci_rlimit *rl = &proc->rlimits[i];

      if (log->debug)
        {
          char soft[32], hard[32];
          format_limit(rl->soft, soft, sizeof soft);
          format_limit(rl->hard, hard, sizeof hard);
          rt_debug(log, "process: rlimit %s soft %s hard %s", rl->type ? rl->type : "", soft, hard);
        }

      if (lookup_name(rlimit_names, OCI_ARRAY_SIZE(rlimit_names), rl->type) < 0)
        return oci_error_set(err, 0, "process.rlimits[%zu].type: unknown rlimit \"%s\"", i,
                             rl->type ? rl->type : "");
      if (rt_rlimit_apply(rl, err) < 0)
        return oci_error_wrap(err, "process.rlimits[%zu]", i);
    }
  return 0;
}

/* ---- oomScoreAdj, scheduler, ioPriority, personality ---- */

static int
apply_oom_score_adj(const struct oci_process *proc, struct oci_error **err)
{
  cleanup_close int fd = -1;
  char buf[16];
  int n;

  if (!proc->has_oom_score_adj)
    return 0;
  fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return oci_error_errno(err, "process.oomScoreAdj: opening /proc/self/oom_score_adj");
  n = snprintf(buf, sizeof buf, "%" PRId32, proc->oom_score_adj);
  if (oci_write_all(fd, buf, (size_t)n) < 0)
    return oci_error_errno(err, "process.oomScoreAdj: writing %s to /proc/self/oom_score_adj", buf);
  return 0;
}

/* glibc has no sched_setattr() wrapper; this is the kernel's layout. */
struct rt_sched_attr
{
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};

static const struct name_value sched_policies[] = {
  { "SCHED_OTHER", 0 }, { "SCHED_FIFO", 1 }, { "SCHED_RR", 2 },       { "SCHED_BATCH", 3 },
  { "SCHED_ISO", 4 },   { "SCHED_IDLE", 5 }, { "SCHED_DEADLINE", 6 },
};

static const struct name_value sched_flags[] = {
  { "SCHED_FLAG_RESET_ON_FORK", SCHED_FLAG_RESET_ON_FORK },
  { "SCHED_FLAG_RECLAIM", SCHED_FLAG_RECLAIM },
  { "SCHED_FLAG_DL_OVERRUN", SCHED_FLAG_DL_OVERRUN },
  { "SCHED_FLAG_KEEP_POLICY", SCHED_FLAG_KEEP_POLICY },
  { "SCHED_FLAG_KEEP_PARAMS", SCHED_FLAG_KEEP_PARAMS },
  { "SCHED_FLAG_UTIL_CLAMP_MIN", SCHED_FLAG_UTIL_CLAMP_MIN },
  { "SCHED_FLAG_UTIL_CLAMP_MAX", SCHED_FLAG_UTIL_CLAMP_MAX },
};

static int
apply_scheduler(const struct oci_scheduler *s, struct oci_error **err)
{
  struct rt_sched_attr attr = { .size = sizeof attr };
  int policy;

  if (s == NULL)
    return 0;
  policy = lookup_name(sched_policies, OCI_ARRAY_SIZE(sched_policies), s->policy);
  if (policy < 0)
    return oci_error_set(err, 0, "process.scheduler.policy: unknown policy \"%s\"",
                         s->policy ? s->policy : "");
  attr.sched_policy = (uint32_t)policy;
  for (size_t i = 0; i < s->flags_len; i++)
    {
      int f = lookup_name(sched_flags, OCI_ARRAY_SIZE(sched_flags), s->flags[i]);
      if (f < 0)
        return oci_error_set(err, 0, "process.scheduler.flags[%zu]: unknown flag \"%s\"", i, s->flags[i]);
      attr.sched_flags |= (uint64_t)f;
    }
  if (s->has_nice)
    attr.sched_nice = s->nice;
  if (s->has_priority)
    attr.sched_priority = (uint32_t)s->priority;
  if (s->has_runtime)
    attr.sched_runtime = s->runtime;
  if (s->has_deadline)
    attr.sched_deadline = s->deadline;
  if (s->has_period)
    attr.sched_period = s->period;
  if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
    return oci_error_errno(err, "process.scheduler: sched_setattr(%s)", s->policy);
  return 0;
}

static const struct name_value io_classes[] = {
  { "IOPRIO_CLASS_RT", IOPRIO_CLASS_RT },
  { "IOPRIO_CLASS_BE", IOPRIO_CLASS_BE },
  { "IOPRIO_CLASS_IDLE", IOPRIO_CLASS_IDLE },
};

static int
apply_io_priority(const struct oci_io_priority *io, struct oci_error **err)
{
  int class;

  if (io == NULL)
    return 0;
  class = lookup_name(io_classes, OCI_ARRAY_SIZE(io_classes), io->class_);
  if (class < 0)
    return oci_error_set(err, 0, "process.ioPriority.class: unknown class \"%s\"",
                         io->class_ ? io->class_ : "");
  if (io->priority < 0 || io->priority > 7)
    return oci_error_set(err, 0, "process.ioPriority.priority: %" PRId32 " is not in 0..7", io->priority);
  if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(class, io->priority)) < 0)
    return oci_error_errno(err, "process.ioPriority: ioprio_set(%s, %" PRId32 ")", io->class_, io->priority);
  return 0;
}

int
rt_personality_apply(const struct oci_personality *pers, struct oci_error **err)
{
  unsigned long domain;

  if (pers == NULL)
    return 0;
  if (pers->domain && strcmp(pers->domain, "LINUX") == 0)
    domain = PER_LINUX;
  else if (pers->domain && strcmp(pers->domain, "LINUX32") == 0)
    domain = PER_LINUX32;
  else
    return oci_error_set(err, 0, "linux.personality.domain: unknown domain \"%s\"",
                         pers->domain ? pers->domain : "");
  /* The spec defines no flag values yet. */
  if (pers->flags_len > 0)
    return oci_error_set(err, 0, "linux.personality.flags: not supported: \"%s\"", pers->flags[0]);
  if (personality(domain) < 0)
    return oci_error_errno(err, "linux.personality: personality(%s)", pers->domain);
  return 0;
}

/* ---- the user ---- */

/* Users expect to be able to reopen /dev/stdout as the container user (and
 * a pty slave belongs to root): hand stdio to the uid, as runc does.  EINVAL
 * (unmapped gid) and EPERM (owner not mapped in our user namespace) mean
 * stdio is better left alone than failing the container. */
static int
fix_stdio_owner(uid_t uid, struct oci_error **err)
{
  struct stat null_st;
  bool have_null = stat("/dev/null", &null_st) == 0 && S_ISCHR(null_st.st_mode);

  for (int fd = 0; fd <= 2; fd++)
    {
      struct stat st;

      if (fstat(fd, &st) < 0)
        continue;
      if (st.st_uid == uid)
        continue;
      if (have_null && S_ISCHR(st.st_mode) && st.st_rdev == null_st.st_rdev)
        continue;
      if (fchown(fd, uid, st.st_gid) < 0 && errno != EINVAL && errno != EPERM && errno != EROFS)
        return oci_error_errno(err, "changing the owner of fd %d to uid %u", fd, (unsigned)uid);
    }
  return 0;
}

/* setgroups() is refused in a user namespace whose setgroups file says
 * "deny" (unprivileged mappings); runc then leaves the groups alone. */
static bool
setgroups_denied(void)
{
  cleanup_close int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
  char buf[16] = { 0 };

  if (fd < 0)
    return false;
  if (read(fd, buf, sizeof buf - 1) <= 0)
    return false;
  return strncmp(buf, "deny", 4) == 0;
}

static int
set_user(const struct oci_user *user, struct oci_error **err)
{
  if (setgroups_denied())
    {
      if (user->additional_gids_len > 0)
        return oci_error_set(err, EPERM,
                             "process.user.additionalGids: setgroups is denied in this user namespace");
    }
  else if (setgroups(user->additional_gids_len, (const gid_t *)user->additional_gids) < 0)
    return oci_error_errno(err, "process.user.additionalGids: setgroups");

  if (setresgid(user->gid, user->gid, user->gid) < 0)
    return oci_error_errno(err, "process.user.gid: setresgid(%" PRIu32 ")", user->gid);
  if (rt_caps_keep_on_setuid(err) < 0)
    return -1;
  if (setresuid(user->uid, user->uid, user->uid) < 0)
    return oci_error_errno(err, "process.user.uid: setresuid(%" PRIu32 ")", user->uid);
  return 0;
}

static void
debug_user(const struct rt_context *log, const struct oci_user *user)
{
  char gids[1024] = "";
  size_t len = 0;

  for (size_t i = 0; i < user->additional_gids_len && len < sizeof gids; i++)
    len += (size_t)snprintf(gids + len, sizeof gids - len, "%s%" PRIu32, i ? " " : "",
                            user->additional_gids[i]);
  rt_debug(log, "process: user uid %" PRIu32 " gid %" PRIu32 " additional gids [%s] umask %04o", user->uid,
           user->gid, gids, user->has_umask ? (unsigned)user->umask : 0022u);
}

/* One record per set: a privileged container's five sets of ~40 names
 * would not fit in one record. */
static void
debug_caps(const struct rt_context *log, const struct oci_capabilities *c)
{
  const struct
  {
    const char *name;
    char *const *v;
    size_t n;
  } sets[] = {
    { "bounding", c ? c->bounding : NULL, c ? c->bounding_len : 0 },
    { "effective", c ? c->effective : NULL, c ? c->effective_len : 0 },
    { "permitted", c ? c->permitted : NULL, c ? c->permitted_len : 0 },
    { "inheritable", c ? c->inheritable : NULL, c ? c->inheritable_len : 0 },
    { "ambient", c ? c->ambient : NULL, c ? c->ambient_len : 0 },
  };

  for (size_t i = 0; i < OCI_ARRAY_SIZE(sets); i++)
    {
      char text[RT_SYNC_TEXT_MAX - 64] = "";
      rt_log_append_strv(text, sizeof text, sets[i].v, sets[i].n);
      rt_debug(log, "capabilities: %s %s", sets[i].name, text);
    }
}

/* ---- cwd ---- */

static int
cwd_error(const char *cwd, int errnum, struct oci_error **err)
{
  char phrase[128];

  return oci_error_set(err, 0, "chdir to cwd (\"%s\") set in config.json failed: %s", cwd,
                       errno_phrase(errnum, phrase, sizeof phrase));
}

/* ---- environment ---- */

static const char *
env_lookup(const struct oci_process *proc, const char *name)
{
  size_t n = strlen(name);
  const char *found = NULL;

  /* The last definition wins, as it would after successive setenv(). */
  for (size_t i = 0; i < proc->env_len; i++)
    if (strncmp(proc->env[i], name, n) == 0 && proc->env[i][n] == '=')
      found = proc->env[i] + n + 1;
  return found;
}

/* HOME from the container's /etc/passwd entry of `uid`, "/" without one. */
static char *
home_from_passwd(uid_t uid)
{
  cleanup_fclose FILE *f = fopen("/etc/passwd", "re");
  cleanup_free char *line = NULL;
  size_t cap = 0;

  if (f == NULL)
    return xstrdup("/");
  while (getline(&line, &cap, f) > 0)
    {
      char *fields[7];
      char *p = line;
      size_t n = 0;
      char *end;
      unsigned long id;

      line[strcspn(line, "\n")] = '\0';
      while (n < 7 && p)
        {
          fields[n++] = p;
          p = strchr(p, ':');
          if (p)
            *p++ = '\0';
        }
      if (n < 6)
        continue;
      errno = 0;
      id = strtoul(fields[2], &end, 10);
      if (errno || end == fields[2] || *end || id != uid)
        continue;
      return xstrdup(fields[5][0] ? fields[5] : "/");
    }
  return xstrdup("/");
}

/* The index in envp[0..n) of the entry that defines the same name as
 * `entry`, or n. */
static size_t
env_find(char *const *envp, size_t n, const char *entry)
{
  size_t len = strcspn(entry, "=");

  for (size_t i = 0; i < n; i++)
    if (strncmp(envp[i], entry, len) == 0 && envp[i][len] == '=')
      return i;
  return n;
}

/* A name defined twice (process.env, then `exec --env`) keeps its first
 * place and takes its last value, as successive setenv() calls leave it:
 * the program must see the value given last (runc does the same). */
static void
build_env(const struct oci_process *proc, struct rt_exec *exec)
{
  size_t n = 0;

  exec->envp = xcalloc(proc->env_len + 2, sizeof(char *));
  for (size_t i = 0; i < proc->env_len; i++)
    {
      size_t at = env_find(exec->envp, n, proc->env[i]);
      exec->envp[at] = proc->env[i];
      n += at == n;
    }
  if (env_lookup(proc, "HOME") == NULL)
    {
      cleanup_free char *home = home_from_passwd(proc->user.uid);
      exec->home_env = xasprintf("HOME=%s", home);
      exec->envp[n++] = exec->home_env;
    }
  exec->envp[n] = NULL;
}

/* ---- args[0] ---- */

static int
check_executable(const char *path)
{
  struct stat st;

  if (stat(path, &st) < 0)
    return -errno;
  if (S_ISDIR(st.st_mode))
    return -EACCES;
  /* AT_EACCESS: the check runs with the ids and capabilities execve will
   * use, which are already the container user's. */
  if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0)
    return -errno;
  return 0;
}

static int
exec_error(const char *name, int errnum, struct oci_error **err)
{
  char phrase[128];

  return oci_error_set(err, 0, "exec: \"%s\": %s", name, errno_phrase(errnum, phrase, sizeof phrase));
}

/* The lookup happens at `create` so a command that is not there fails the
 * create, not the start.  Relative PATH entries are skipped: they would
 * depend on cwd, and Go (so runc) refuses such results too. */
static int
resolve_args0(const struct oci_process *proc, char **out, struct oci_error **err)
{
  const char *name = proc->args[0];
  const char *path = env_lookup(proc, "PATH");
  cleanup_free char *copy = NULL;
  char *save = NULL;

  if (name[0] == '\0')
    return oci_error_set(err, 0, "exec: \"\": executable file not found in $PATH");
  if (strchr(name, '/'))
    {
      int r = check_executable(name);
      if (r < 0)
        return exec_error(name, -r, err);
      *out = xstrdup(name);
      return 0;
    }

  copy = xstrdup(path ? path : DEFAULT_PATH);
  for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
    {
      cleanup_free char *cand = NULL;

      if (dir[0] != '/')
        continue;
      cand = xasprintf("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name);
      if (check_executable(cand) == 0)
        {
          *out = steal_pointer(&cand);
          return 0;
        }
    }
  return oci_error_set(err, 0, "exec: \"%s\": executable file not found in $PATH", name);
}

/* ---- the whole set-up ---- */

void
rt_exec_clear(struct rt_exec *exec)
{
  if (exec == NULL)
    return;
  free(exec->path);
  free(exec->argv);
  free(exec->envp);
  free(exec->home_env);
  memset(exec, 0, sizeof *exec);
}

static void
cleanup_execp(struct rt_exec **e)
{
  if (*e)
    rt_exec_clear(*e);
}

static int
resolve(const struct rt_context *log, const struct oci_process *proc, struct rt_exec *exec,
        struct oci_error **err)
{
  exec->argv = xcalloc(proc->args_len + 1, sizeof(char *));
  memcpy(exec->argv, proc->args, proc->args_len * sizeof(char *));
  build_env(proc, exec);
  if (resolve_args0(proc, &exec->path, err) < 0)
    return -1;
  rt_debug(log, "process: args[0] %s is %s", proc->args[0], exec->path);
  return 0;
}

/* Privileged steps (oom score, rlimits, scheduling) come before the user and
 * capability change; noNewPrivileges comes last.  chdir is tried as root
 * first (a cwd only root can enter) and retried as the user on EACCES, as
 * runc does. */
int
rt_process_prepare(const struct rt_context *log, const struct oci_process *proc, struct rt_exec *exec,
                   const struct rt_process_step *before_user, struct oci_error **err)
{
  __attribute__((cleanup(cleanup_execp))) struct rt_exec *guard = exec;
  bool chdir_later = false;

  memset(exec, 0, sizeof *exec);
  if (proc->args_len == 0 || proc->args == NULL)
    return oci_error_set(err, 0, "process.args: must be a non-empty array of strings");

  if (proc->has_oom_score_adj)
    rt_debug(log, "process: oom_score_adj %" PRId32, proc->oom_score_adj);
  if (apply_oom_score_adj(proc, err) < 0 || apply_rlimits(log, proc, err) < 0)
    return -1;
  if (proc->scheduler)
    rt_debug(log, "process: scheduler policy %s", proc->scheduler->policy ? proc->scheduler->policy : "");
  if (proc->io_priority)
    rt_debug(log, "process: I/O priority %s %" PRId32,
             proc->io_priority->class_ ? proc->io_priority->class_ : "", proc->io_priority->priority);
  if (apply_scheduler(proc->scheduler, err) < 0 || apply_io_priority(proc->io_priority, err) < 0)
    return -1;

  if (proc->cwd && chdir(proc->cwd) < 0)
    {
      if (errno != EACCES && errno != EPERM)
        return cwd_error(proc->cwd, errno, err);
      chdir_later = true;
    }
  if (before_user && (resolve(log, proc, exec, err) < 0 || before_user->fn(before_user->data, err) < 0))
    return -1;

  if (log->debug)
    debug_user(log, &proc->user);
  if (fix_stdio_owner(proc->user.uid, err) < 0 || set_user(&proc->user, err) < 0)
    return -1;
  if (log->debug)
    debug_caps(log, proc->capabilities);
  if (rt_caps_apply(proc->capabilities, err) < 0)
    return -1;
  rt_debug(log, "process: cwd %s", proc->cwd ? proc->cwd : "(unchanged)");
  umask(proc->user.has_umask ? (mode_t)proc->user.umask : 0022);
  if (chdir_later && chdir(proc->cwd) < 0)
    return cwd_error(proc->cwd, errno, err);

  if (before_user == NULL && resolve(log, proc, exec, err) < 0)
    return -1;

  if (proc->no_new_privileges)
    rt_debug(log, "process: setting no_new_privs");
  if (proc->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return oci_error_errno(err, "process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS)");
  guard = NULL;
  return 0;
}

int
rt_process_exec(const struct rt_exec *exec, struct oci_error **err)
{
  execve(exec->path, exec->argv, exec->envp);
  return exec_error(exec->path, errno, err);
}

/* ---- the parent's side ---- */

void
rt_process_kill_and_reap(pid_t pid)
{
  if (pid <= 0)
    return;
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
    ;
}

int
rt_process_reap_exiting(pid_t pid, int timeout_ms, int *status)
{
  const struct timespec tick = { .tv_nsec = 1000 * 1000 };

  for (int waited = 0;; waited++)
    {
      pid_t r = waitpid(pid, status, WNOHANG);
      if (r == pid)
        return 1;
      if (r < 0 && errno != EINTR)
        return -1;
      if (waited >= timeout_ms)
        return 0;
      nanosleep(&tick, NULL);
    }
}

char *
rt_process_describe_exit(int status)
{
  if (WIFSIGNALED(status))
    {
      const char *name = sigabbrev_np(WTERMSIG(status));
      if (name)
        return xasprintf("was killed by SIG%s", name);
      return xasprintf("was killed by signal %d", WTERMSIG(status));
    }
  return xasprintf("exited with status %d", WEXITSTATUS(status));
}
