#include <config.h>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "spec/util.h"
#include "cgroups.h"
#include "child.h"
#include "container.h"
#include "exec.h"
#include "foreground.h"
#include "log.h"
#include "lsm.h"
#include "namespaces.h"
#include "process.h"
#include "cpu-affinity.h"
#include "seccomp.h"
#include "state.h"
#include "sync.h"
#include "terminal.h"

/* Everything the two forked stages need; filled by the parent before the
 * fork, so the children only use memory they inherited. */
struct exec_job
{
  const struct rt_context *ctx;
  const char *id;
  const struct rt_exec_opts *opts;
  struct oci_config *cfg;         /* the bundle's config.json */
  const struct oci_process *proc; /* what runs: opts->process or cfg->process */
  struct rt_state *st;
  struct rt_cgroup *cg;
  struct rt_cgroup_join cg_join; /* valid when cg, from spawn on */
  int dirfd;                     /* the state lock, held until the process runs */
  int pidfd;                     /* the container init */
  int rootfd;                    /* its root directory (O_PATH) */
  int ns_flags;                  /* CLONE_NEW* to join through the pidfd */
  enum rt_status status;         /* the container's, when we started */
  int sync[2];
  pid_t stage1, pid;
  int master;
  struct rt_context child_log;      /* the children's: records over sync[1] */
  struct rt_mempolicy mempolicy;    /* the container's linux.memoryPolicy */
  struct rt_seccomp_filter seccomp; /* compiled once, here */
  struct rt_cpu_affinity affinity;  /* process.execCPUAffinity */
};

static void
job_clear(struct exec_job *job)
{
  oci_config_free(job->cfg);
  rt_seccomp_filter_clear(&job->seccomp);
  rt_state_free(job->st);
  rt_cgroup_join_clear(&job->cg_join);
  rt_cgroup_free(job->cg);
  int *fds[] = { &job->dirfd, &job->pidfd, &job->rootfd, &job->sync[0], &job->sync[1], &job->master };
  for (size_t i = 0; i < OCI_ARRAY_SIZE(fds); i++)
    if (*fds[i] >= 0)
      close(*fds[i]);
}

/* ---- building the process (runc's command-line form) ---- */

static void
append_strv(char ***v, size_t *n, char *const *add, size_t n_add)
{
  *v = xrealloc(*v, (*n + n_add + 1) * sizeof **v);
  for (size_t i = 0; i < n_add; i++)
    (*v)[(*n)++] = xstrdup(add[i]);
  (*v)[*n] = NULL;
}

static void
free_strv_n(char **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static void
apply_overrides(struct oci_process *p, const struct rt_exec_opts *o)
{
  free_strv_n(p->args, p->args_len);
  p->args = NULL;
  p->args_len = 0;
  append_strv(&p->args, &p->args_len, o->args, o->args_len);
  append_strv(&p->env, &p->env_len, o->env, o->env_len);
  p->terminal = o->tty;
  if (o->cwd)
    {
      free(p->cwd);
      p->cwd = xstrdup(o->cwd);
    }
  if (o->has_user)
    {
      p->user.uid = o->uid;
      p->user.gid = o->gid;
    }
  if (o->additional_gids_len)
    {
      size_t n = p->user.additional_gids_len;
      p->user.additional_gids
          = xrealloc(p->user.additional_gids, (n + o->additional_gids_len) * sizeof *p->user.additional_gids);
      memcpy(p->user.additional_gids + n, o->additional_gids,
             o->additional_gids_len * sizeof *o->additional_gids);
      p->user.additional_gids_len = n + o->additional_gids_len;
    }
  if (o->no_new_privs)
    p->no_new_privileges = true;
  if (o->apparmor)
    {
      free(p->apparmor_profile);
      p->apparmor_profile = xstrdup(o->apparmor);
    }
  if (o->process_label)
    {
      free(p->selinux_label);
      p->selinux_label = xstrdup(o->process_label);
    }
  if (o->caps_len)
    {
      struct oci_capabilities *c = p->capabilities;
      if (c == NULL)
        c = p->capabilities = xzalloc(sizeof *c);
      append_strv(&c->bounding, &c->bounding_len, o->caps, o->caps_len);
      append_strv(&c->effective, &c->effective_len, o->caps, o->caps_len);
      append_strv(&c->permitted, &c->permitted_len, o->caps, o->caps_len);
      /* Ambient needs inheritable, which --cap does not touch (runc). */
      if (c->inheritable)
        append_strv(&c->ambient, &c->ambient_len, o->caps, o->caps_len);
    }
}

/* ---- preparation in the parent ---- */

static int
open_init(struct exec_job *job, struct oci_error **err)
{
  unsigned long long now;
  char path[64];

  job->pidfd = (int)syscall(SYS_pidfd_open, job->st->pid, 0);
  /* The pidfd pins the process: after it, a start time that still matches
   * rules out a reused pid. */
  if (job->pidfd < 0 || rt_proc_start_time(job->st->pid, &now) < 0 || now != job->st->start_time)
    return oci_error_set(err, 0, "cannot exec in a stopped container: container not running");
  snprintf(path, sizeof path, "/proc/%d/root", (int)job->st->pid);
  job->rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (job->rootfd < 0)
    return oci_error_errno(err, "opening the root of the container init");
  return 0;
}

static int
load_config(struct exec_job *job, struct oci_error **err)
{
  cleanup_free char *path = xasprintf("%s/config.json", job->st->bundle);
  const struct oci_linux *lnx;

  if (oci_config_parse_file(path, &job->cfg, err) < 0)
    return -1;
  rt_debug(job->ctx, "config: read %s (ociVersion %s)", path,
           job->cfg->oci_version ? job->cfg->oci_version : "unset");
  if (job->opts->process)
    job->proc = job->opts->process;
  else
    {
      if (job->cfg->process == NULL)
        job->cfg->process = xzalloc(sizeof *job->cfg->process);
      apply_overrides(job->cfg->process, job->opts);
      job->proc = job->cfg->process;
    }
  if (oci_process_validate("process", job->proc, err) < 0
      || rt_lsm_check(job->proc, job->opts->process ? "process." : "exec: ", err) < 0)
    return -1;
  lnx = job->cfg->linux_;
  for (size_t i = 0; lnx && i < lnx->namespaces_len; i++)
    job->ns_flags |= rt_ns_flag(lnx->namespaces[i].type);
  return 0;
}

static int
check_terminal(const struct exec_job *job, struct oci_error **err)
{
  bool tty = job->proc->terminal;

  if (tty && job->opts->detach && job->opts->console_socket == NULL)
    return oci_error_set(err, 0, "cannot allocate tty if ocirt will detach without setting console socket");
  if (!tty && job->opts->console_socket)
    return oci_error_set(err, 0, "cannot use console socket if ocirt will not detach or allocate tty");
  return 0;
}

static int
job_prepare(struct exec_job *job, struct oci_error **err)
{
  enum rt_status status;

  if (rt_state_open(job->ctx->root, job->id, &job->dirfd, err) < 0
      || rt_state_load(job->dirfd, job->id, &job->st, err) < 0)
    return -1;
  status = job->status = rt_state_status(job->dirfd, job->st);
  if (status == RT_STATUS_PAUSED)
    return oci_error_set(err, 0, "cannot exec in a paused container");
  if (status != RT_STATUS_RUNNING && status != RT_STATUS_CREATED)
    return oci_error_set(err, 0, "cannot exec in a %s container: container not running",
                         rt_status_name(status));
  if (load_config(job, err) < 0 || check_terminal(job, err) < 0)
    return -1;
  if (job->st->cgroup_path)
    {
      if (rt_cgroup_open(job->st->cgroup_path, &job->cg, err) < 0)
        return -1;
      rt_cgroup_set_log(job->cg, job->ctx);
    }
  if (job->opts->cgroups_len && job->cg == NULL)
    return oci_error_set(err, 0, "not supported: --cgroup in container `%s`, which has no cgroup", job->id);
  if (rt_cgroup_check_subs(job->opts->cgroups, job->opts->cgroups_len, err) < 0)
    return -1;
  if (rt_mempolicy_parse(job->cfg->linux_ ? job->cfg->linux_->memory_policy : NULL, &job->mempolicy, err) < 0)
    return oci_error_wrap(err, "config.json");
  if (rt_seccomp_compile(job->cfg->linux_ ? job->cfg->linux_->seccomp : NULL, job->ctx->cache_dir,
                         &job->seccomp, err)
      < 0)
    return oci_error_wrap(err, "config.json");
  /* --process: the field is named as oci_process_validate names it */
  if (rt_cpu_affinity_parse(job->proc->exec_cpu_affinity, "process", &job->affinity, err) < 0)
    return job->opts->process ? -1 : oci_error_wrap(err, "config.json");
  return open_init(job, err);
}

/* ---- the children ---- */

/* In all the container's namespaces: its root, terminal, filter and the
 * process settings, then READY; execve failures still travel back. */
static _Noreturn void
stage2(struct exec_job *job)
{
  cleanup_error struct oci_error *err = NULL;
  struct rt_exec exec = { 0 };
  const struct rt_child child = {
    .log = &job->child_log,
    .cfg = job->cfg,
    .proc = job->proc,
    .sync_fd = job->sync[1],
    .preserve_fds = job->opts->preserve_fds,
    .mempolicy = &job->mempolicy,
    .seccomp = &job->seccomp,
    .affinity = &job->affinity,
  };

  /* The mount namespace's root is the rootfs only after pivot_root; with
   * --no-pivot the init chroot()ed: take its root either way. */
  rt_debug(child.log, "rootfs: entering the root of the container init (chroot)");
  if (fchdir(job->rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0)
    oci_error_errno(&err, "entering the container's root");
  else if (rt_child_terminal(&child, &err) == 0 && rt_child_prepare(&child, &exec, &err) == 0)
    rt_child_exec(&child, &exec, &err);
  rt_sync_send_error(child.sync_fd, err);
  _exit(127);
}

static int
stage1_run(struct exec_job *job, struct oci_error **err)
{
  struct rt_sync_msg msg;
  pid_t pid;

  /* The cgroup first (the parent's part of it before GO): joining the
   * cgroup namespace then makes that cgroup our root there. */
  if (rt_sync_expect(job->sync[1], RT_SYNC_GO, &msg, err) < 0
      || (job->cg && rt_cgroup_join_self(&job->cg_join, &job->child_log, err) < 0))
    return -1;
  if (job->ns_flags && job->child_log.debug)
    {
      char names[128];
      rt_ns_flag_names(job->ns_flags, names, sizeof names);
      rt_debug(&job->child_log, "namespaces: joining those of the container init (pid %d): %s",
               (int)job->st->pid, names);
    }
  if (job->ns_flags && setns(job->pidfd, job->ns_flags) < 0)
    return oci_error_errno(err, "joining the namespaces of the container init");
  pid = rt_child_fork(job->sync[1], err);
  if (pid == 0)
    stage2(job);
  return pid < 0 ? -1 : 0;
}

/* Forked by the parent: joins the namespaces, then forks once more so that
 * the process is really in the pid namespace, and reports its pid. */
static _Noreturn void
stage1(struct exec_job *job)
{
  cleanup_error struct oci_error *err = NULL;

  /* Until execve nothing in the container may open /proc/PID/exe (the
   * ocirt binary) or our descriptors (CVE-2019-5736). */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    _exit(1);
  close(job->dirfd);
  close(job->sync[0]);
  job->child_log = *job->ctx;
  job->child_log.log_sock = job->sync[1];
  rt_child_begin();
  if (stage1_run(job, &err) < 0)
    {
      rt_sync_send_error(job->sync[1], err);
      _exit(1);
    }
  _exit(0);
}

/* ---- the parent ---- */

static int
handle_terminal(struct exec_job *job, int master, struct oci_error **err)
{
  if (job->opts->console_socket)
    {
      int r = rt_console_socket_send(job->opts->console_socket, master, err);
      close(master);
      return r;
    }
  if (job->master >= 0)
    {
      close(master);
      return oci_error_set(err, 0, "unexpected second terminal from the exec'd process");
    }
  job->master = master;
  return 0;
}

/* SCMP_ACT_NOTIFY: the process's listener goes to the agent with the
 * container's state and the process's pid, then the process may go on. */
static int
send_listener(struct exec_job *job, int listener, struct oci_error **err)
{
  const struct oci_state st = {
    .oci_version = (char *)OCI_SPEC_VERSION,
    .id = (char *)job->id,
    .status = (char *)rt_status_name(job->status),
    .pid = job->st->pid,
    .bundle = job->st->bundle,
    .annotations = job->st->annotations,
    .annotations_len = job->st->annotations_len,
  };
  int r;

  r = rt_seccomp_send_listener(job->cfg->linux_ ? job->cfg->linux_->seccomp : NULL, &st, job->pid, listener,
                               err);
  close(listener);
  if (r < 0)
    return -1;
  return rt_sync_send(job->sync[0], RT_SYNC_GO, 0, -1, err);
}

/* After READY: end of stream means execve succeeded (the socket is
 * close-on-exec); a message is the error of the last steps. */
static int
wait_for_execve(struct exec_job *job, struct oci_error **err)
{
  struct rt_sync_msg msg;
  char c;
  ssize_t n;

  do
    n = recv(job->sync[0], &c, 1, MSG_PEEK);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return 0;
  if (rt_sync_recv(job->sync[0], &msg, err) < 0)
    return -1;
  if (msg.fd >= 0)
    close(msg.fd);
  return oci_error_set(err, 0, "unexpected message %d from the exec'd process", (int)msg.type);
}

static int
drive(struct exec_job *job, struct oci_error **err)
{
  struct rt_sync_msg msg;
  bool ready = false;

  /* Our set-up (joining namespaces, forking) runs on `initial`, from
   * before the cgroup; the process applies `final` once in it. */
  if (rt_cpu_affinity_initial(job->ctx, &job->affinity, job->stage1, err) < 0)
    return -1;
  if (job->cg && rt_cgroup_join_finish(&job->cg_join, job->stage1, err) < 0)
    return -1;
  if (rt_sync_send(job->sync[0], RT_SYNC_GO, 0, -1, err) < 0)
    return -1;
  while (!ready || job->pid == 0)
    {
      if (rt_sync_recv_logging(job->ctx, job->sync[0], &msg, err) < 0)
        return -1;
      switch (msg.type)
        {
        case RT_SYNC_PID:
          job->pid = (pid_t)msg.value;
          while (waitpid(job->stage1, NULL, 0) < 0 && errno == EINTR)
            ;
          job->stage1 = 0;
          break;
        case RT_SYNC_TERMINAL:
          if (handle_terminal(job, msg.fd, err) < 0)
            return -1;
          break;
        case RT_SYNC_SECCOMP:
          if (send_listener(job, msg.fd, err) < 0)
            return -1;
          break;
        case RT_SYNC_READY:
          ready = true;
          break;
        default:
          if (msg.fd >= 0)
            close(msg.fd);
          return oci_error_set(err, 0, "unexpected message %d from the exec'd process", (int)msg.type);
        }
    }
  return wait_for_execve(job, err);
}

static int
spawn(struct exec_job *job, struct oci_error **err)
{
  pid_t pid;

  if (rt_sync_pair(job->sync, err) < 0)
    return -1;
  /* execCPUAffinity.initial holds until the process joins the cgroup: the
   * parent sets it first, so the process must not be born inside. */
  if (job->cg
      && rt_cgroup_join_prepare(job->cg, job->opts->cgroups, job->opts->cgroups_len,
                                RT_CG_JOIN_SELF | (job->affinity.has_initial ? 0 : RT_CG_JOIN_CLONE_INTO),
                                &job->cg_join, err)
             < 0)
    return -1;
  pid = rt_cgroup_join_clone(job->cg ? &job->cg_join : NULL, 0);
  if (pid < 0)
    return oci_error_errno(err, "forking");
  if (pid == 0)
    stage1(job);
  job->stage1 = pid;
  close(job->sync[1]);
  job->sync[1] = -1;
  if (drive(job, err) < 0)
    {
      rt_process_kill_and_reap(job->pid);
      rt_process_kill_and_reap(job->stage1);
      job->pid = job->stage1 = 0;
      return -1;
    }
  return 0;
}

static int
exec_job_run(struct exec_job *job, int sigfd, int *exit_status, struct oci_error **err)
{
  struct rt_foreground w = { 0 };
  int r;

  if (job_prepare(job, err) < 0 || spawn(job, err) < 0)
    return -1;
  /* The process runs: other commands on the container may proceed. */
  close(job->dirfd);
  job->dirfd = -1;
  if (job->opts->pid_file && rt_write_pid_file(job->opts->pid_file, job->pid, err) < 0)
    {
      rt_process_kill_and_reap(job->pid);
      return -1;
    }
  if (job->opts->detach)
    return 0;
  w.pid = job->pid;
  r = rt_foreground_wait(&w, sigfd, job->master, err);
  if (r < 0)
    {
      rt_process_kill_and_reap(job->pid);
      return -1;
    }
  *exit_status = rt_foreground_exit_code(&w);
  return 0;
}

int
rt_container_exec(const struct rt_context *ctx, const char *id, const struct rt_exec_opts *opts,
                  int *exit_status, struct oci_error **err)
{
  struct exec_job job = {
    .ctx = ctx,
    .id = id,
    .opts = opts,
    .dirfd = -1,
    .pidfd = -1,
    .rootfd = -1,
    .sync = { -1, -1 },
    .master = -1,
    .cg_join = { .into_fd = -1 },
  };
  cleanup_close int sigfd = -1;
  sigset_t old;
  int r;

  *exit_status = 0;
  if (opts->process == NULL && opts->args_len == 0)
    return oci_error_set(err, 0, "exec: either --process or a command is required");
  if (rt_foreground_begin(opts->detach ? NULL : &sigfd, &old, err) < 0)
    return -1;
  r = exec_job_run(&job, sigfd, exit_status, err);
  rt_foreground_end(&old);
  job_clear(&job);
  if (r < 0)
    return oci_error_wrap(err, "exec failed in container `%s`", id);
  return 0;
}
