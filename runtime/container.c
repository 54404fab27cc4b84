#include <config.h>

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci-config.h"
#include "spec/atomic-file.h"
#include "spec/config-fields.h"
#include "spec/fields.h"
#include "spec/util.h"
#include "cgroups.h"
#include "container.h"
#include "foreground.h"
#include "hooks.h"
#include "idmap.h"
#include "init.h"
#include "log.h"
#include "manage.h"
#include "mounts.h"
#include "namespaces.h"
#include "netdev.h"
#include "process.h"
#include "cpu-affinity.h"
#include "seccomp.h"
#include "state.h"
#include "support.h"
#include "sync.h"
#include "terminal.h"

/* ---- small helpers ---- */

static int
pidfd_open_checked(pid_t pid, unsigned long long start_time, int *out)
{
  unsigned long long now;
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);

  if (fd < 0)
    return -1;
  /* The pid could have been reused between reading the state and opening the
   * pidfd; the pidfd pins the process, so one more check settles it. */
  if (rt_proc_start_time(pid, &now) < 0 || now != start_time)
    {
      close(fd);
      errno = ESRCH;
      return -1;
    }
  *out = fd;
  return 0;
}

/* Wait until the process behind `pidfd` is gone, at most timeout_ms. */
static int
pidfd_wait(int pidfd, int timeout_ms)
{
  struct pollfd p = { .fd = pidfd, .events = POLLIN };
  int r;

  do
    r = poll(&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  return r > 0 ? 0 : -1;
}

int
rt_write_pid_file(const char *path, pid_t pid, struct oci_error **err)
{
  char text[32];
  int n = snprintf(text, sizeof text, "%d", (int)pid);

  /* The shim reads the pid file as soon as we exit: it must appear whole.
   * Durable contents, as runc's O_SYNC write gives. */
  if (oci_write_file_atomic(AT_FDCWD, path, text, (size_t)n, 0666, OCI_DURABLE_CONTENTS, err) < 0)
    return oci_error_wrap(err, "writing pid file `%s`", path);
  return 0;
}

/* ---- create ---- */

struct create_job
{
  const struct rt_context *ctx;
  const char *id;
  const struct rt_create_opts *opts;
  bool keep_master; /* foreground run with a terminal: we relay the pty */

  struct oci_config *cfg;
  char *bundle;
  char *rootfs;      /* root.path joined to the bundle: what `state` shows */
  char *rootfs_real; /* the same, symlinks resolved: what the init mounts */
  int dirfd;
  int fifo_fd;
  int *bind_fds;                       /* with a new user namespace: see open_bind_sources() */
  struct rt_mount_options *mount_opts; /* one per cfg->mounts, parsed once */
  struct rt_mempolicy mempolicy;
  struct rt_seccomp_filter seccomp; /* compiled once, here: the init only loads it */
  struct rt_cgroup *cg;
  struct rt_cgroup_join cg_join; /* valid when cg, from job_spawn on */
  struct rt_ns_plan ns;
  struct oci_mount_table host_mounts; /* read once, for the cgroups and the init's mounts */
  int sync[2];
  int lo_sock; /* RT_SYNC_NS_MADE's socket in the init's new network namespace */
  struct rt_state state; /* what job_save_state saved; its strings are the job's */
  pid_t stage1;          /* the process we cloned; it is the init unless it forks */
  pid_t init;
  int master;
  char created[64]; /* RFC 3339 with nanoseconds */
};

static void
job_init(struct create_job *job, const struct rt_context *ctx, const char *id,
         const struct rt_create_opts *opts, bool keep_master)
{
  memset(job, 0, sizeof *job);
  job->ctx = ctx;
  job->id = id;
  job->opts = opts;
  job->keep_master = keep_master;
  job->dirfd = job->fifo_fd = job->master = -1;
  job->sync[0] = job->sync[1] = job->lo_sock = -1;
  job->cg_join.into_fd = -1;
}

static void
close_bind_sources(struct create_job *job)
{
  for (size_t i = 0; job->bind_fds && i < job->cfg->mounts_len; i++)
    if (job->bind_fds[i] >= 0)
      close(job->bind_fds[i]);
  free(job->bind_fds);
  job->bind_fds = NULL;
}

static bool
has_idmapped_mounts(const struct oci_config *cfg)
{
  for (size_t i = 0; i < cfg->mounts_len; i++)
    if (rt_mount_is_idmapped(&cfg->mounts[i]))
      return true;
  return false;
}

/* In a new user namespace the init's root may not reach a bind source
 * (a directory only the host's root may enter), and an idmapped mount needs
 * privileges there: we clone those sources' mount trees here, on the host
 * side (idmapping them), and the init attaches the copies, as runc mounts
 * such sources.  A mount of another namespace could not be bound there, a
 * detached copy can.  A plain source we cannot open either is left to the
 * init's error. */
static int
open_bind_sources(struct create_job *job, struct oci_error **err)
{
  job->bind_fds = xcalloc(job->cfg->mounts_len ? job->cfg->mounts_len : 1, sizeof *job->bind_fds);
  for (size_t i = 0; i < job->cfg->mounts_len; i++)
    job->bind_fds[i] = -1;
  for (size_t i = 0; i < job->cfg->mounts_len; i++)
    {
      const struct oci_mount *m = &job->cfg->mounts[i];
      bool idmapped = rt_mount_is_idmapped(m);
      bool rec = (job->mount_opts[i].flags & MS_REC) != 0;

      if (m->source == NULL || !rt_mount_is_bind(m) || (!job->ns.new_user && !idmapped))
        continue;
      job->bind_fds[i]
          = open_tree(AT_FDCWD, m->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rec ? AT_RECURSIVE : 0));
      if (!idmapped)
        continue;
      if (job->bind_fds[i] < 0)
        return oci_error_errno(err, "mounts[%zu]: idmapped mount source `%s`", i, m->source);
      if (rt_idmap_tree(job->bind_fds[i], m, job->cfg, err) < 0)
        return oci_error_wrap(err, "mounts[%zu] (`%s`)", i, m->destination ? m->destination : "");
    }
  return 0;
}

static void
job_clear(struct create_job *job)
{
  rt_mount_options_free_all(job->mount_opts, job->cfg ? job->cfg->mounts_len : 0);
  oci_config_free(job->cfg);
  free(job->bundle);
  free(job->rootfs);
  free(job->rootfs_real);
  rt_cgroup_join_clear(&job->cg_join);
  rt_cgroup_free(job->cg);
  rt_seccomp_filter_clear(&job->seccomp);
  rt_ns_plan_clear(&job->ns);
  oci_mount_table_clear(&job->host_mounts);
  for (int i = 0; i < 2; i++)
    if (job->sync[i] >= 0)
      close(job->sync[i]);
  if (job->fifo_fd >= 0)
    close(job->fifo_fd);
  if (job->lo_sock >= 0)
    close(job->lo_sock);
  close_bind_sources(job);
  if (job->dirfd >= 0)
    close(job->dirfd);
  if (job->master >= 0)
    close(job->master);
}

/* A warning goes to the log; without one, to stderr, as runc's logger. */
static void
warn_error(const struct rt_context *ctx, const struct oci_error *e)
{
  cleanup_free char *msg = oci_error_string(e);

  rt_log(ctx, RT_LOG_WARNING, "%s", msg);
  if (ctx->log_fd < 0)
    rt_log_write_fd(STDERR_FILENO, false, RT_LOG_WARNING, msg);
}

static struct oci_state
job_hook_state(const struct create_job *job, const char *status)
{
  return (struct oci_state){
    .oci_version = (char *)OCI_SPEC_VERSION,
    .id = (char *)job->id,
    .status = (char *)status,
    .pid = job->init,
    .bundle = job->bundle,
    .rootfs = job->rootfs,
    .created = (char *)job->created,
    .owner = (char *)"",
    .annotations = job->cfg->annotations,
    .annotations_len = job->cfg->annotations_len,
  };
}

/* poststop of a create that failed: the spec continues the lifecycle at
 * "destroy" and then runs them, as runc does. */
static void
job_poststop(struct create_job *job)
{
  cleanup_error struct oci_error *e = NULL;
  struct oci_state st;

  if (job->cfg == NULL || rt_hooks_count(job->cfg->hooks, RT_HOOK_POSTSTOP) == 0)
    return;
  st = job_hook_state(job, "stopped");
  st.pid = 0;
  if (rt_hooks_run(job->cfg->hooks, RT_HOOK_POSTSTOP, &st, job->bundle, NULL, &e) < 0)
    warn_error(job->ctx, e);
}

/* Undo everything: the environment must look as if create never ran. */
static void
job_rollback(struct create_job *job)
{
  cleanup_error struct oci_error *ignored = NULL;

  if (job->init != job->stage1)
    rt_process_kill_and_reap(job->init);
  rt_process_kill_and_reap(job->stage1);
  job->init = job->stage1 = 0;
  if (job->cg && rt_cgroup_destroy(job->cg, &ignored) < 0)
    {
      cleanup_free char *shown = rt_cgroup_display_path(job->cg);
      rt_log(job->ctx, RT_LOG_WARNING, "removing the cgroup `%s` of `%s` failed: %s", shown, job->id,
             ignored->msg);
    }
  if (job->dirfd >= 0)
    {
      oci_error_free(ignored);
      ignored = NULL;
      (void)rt_state_remove(job->ctx->root, job->id, job->dirfd, &ignored);
      job_poststop(job);
    }
}

/* Without a mount namespace anything mounted would be mounted on the host
 * and stay there (runc does mount it); what needs mounts is refused. */
static int
check_shared_mount_ns(const struct oci_config *cfg, struct oci_error **err)
{
  const struct oci_linux *l = cfg->linux_;
  const char *why = "a mount namespace (linux.namespaces has none: it would be made on the host)";

  if (cfg->mounts_len)
    return oci_error_set(err, 0, "config.json: mounts: need %s", why);
  if (l && (l->masked_paths_len || l->readonly_paths_len))
    return oci_error_set(err, 0, "config.json: linux.%s: need %s",
                         l->masked_paths_len ? "maskedPaths" : "readonlyPaths", why);
  if (cfg->root && cfg->root->readonly)
    return oci_error_set(err, 0, "config.json: root.readonly: needs %s", why);
  if (l && l->rootfs_propagation && l->rootfs_propagation[0])
    return oci_error_set(err, 0, "config.json: linux.rootfsPropagation: needs %s", why);
  return 0;
}

/* root.path, joined to the bundle as `state` shows it, and resolved once
 * here for the init, which mounts it. */
static int
job_find_rootfs(struct create_job *job, struct oci_error **err)
{
  const char *root_path = job->cfg->root->path;
  struct stat st;

  job->rootfs = root_path[0] == '/' ? xstrdup(root_path) : xasprintf("%s/%s", job->bundle, root_path);
  job->rootfs_real = realpath(job->rootfs, NULL);
  if (job->rootfs_real == NULL)
    {
      if (errno == ENOENT)
        return oci_error_set(err, 0, "rootfs `%s` does not exist", job->rootfs);
      return oci_error_errno(err, "rootfs `%s`", job->rootfs);
    }
  if (stat(job->rootfs_real, &st) < 0)
    return oci_error_errno(err, "rootfs `%s`", job->rootfs);
  if (!S_ISDIR(st.st_mode))
    return oci_error_set(err, 0, "rootfs `%s` is not a directory", job->rootfs);
  return 0;
}

/* Everything the config can be refused for, before anything exists that
 * would have to be rolled back: oci_config_validate() has checked the
 * fields (process and root.path are there, a hostname has its UTS
 * namespace); what follows is what this runtime, this host or these
 * options refuse. */
static int
job_load_config(struct create_job *job, struct oci_error **err)
{
  const char *bundle = job->opts->bundle ? job->opts->bundle : ".";
  cleanup_free char *config_path = NULL;
  struct rt_cpu_affinity affinity;

  job->bundle = realpath(bundle, NULL);
  if (job->bundle == NULL)
    return oci_error_errno(err, "bundle `%s`", bundle);
  config_path = xasprintf("%s/config.json", job->bundle);
  if (oci_config_parse_file(config_path, &job->cfg, err) < 0)
    return -1;
  rt_debug(job->ctx, "config: read %s (ociVersion %s)", config_path,
           job->cfg->oci_version ? job->cfg->oci_version : "unset");
  if (oci_config_validate("config.json", job->cfg, err) < 0 || rt_config_check_support(job->cfg, err) < 0)
    return -1;
  if (rt_mempolicy_parse(job->cfg->linux_ ? job->cfg->linux_->memory_policy : NULL, &job->mempolicy, err) < 0)
    return oci_error_wrap(err, "config.json");
  if (job_find_rootfs(job, err) < 0)
    return -1;
  if (rt_ns_plan_init(job->cfg, &job->ns, err) < 0)
    return -1;
  if (!job->ns.has_mount_ns && check_shared_mount_ns(job->cfg, err) < 0)
    return -1;
  if (job->cfg->process->terminal && job->opts->console_socket == NULL && !job->keep_master)
    return oci_error_set(err, 0, "cannot allocate tty if ocirt will detach without setting console socket");
  if (!job->cfg->process->terminal && job->opts->console_socket)
    return oci_error_set(err, 0, "cannot use console socket if ocirt will not detach or allocate tty");
  if (rt_mount_options_parse_all(job->cfg, &job->mount_opts, err) < 0)
    return oci_error_wrap(err, "config.json");
  /* Not for the init (runtime-spec): checked here for `exec`'s sake. */
  if (rt_cpu_affinity_parse(job->cfg->process->exec_cpu_affinity, "process", &affinity, err) < 0)
    return oci_error_wrap(err, "config.json");
  /* Before anything exists that would have to be rolled back. */
  if (rt_seccomp_compile(job->cfg->linux_ ? job->cfg->linux_->seccomp : NULL, job->ctx->cache_dir,
                         &job->seccomp, err)
      < 0)
    return oci_error_wrap(err, "config.json");
  return 0;
}

static int
job_make_state_dir(struct create_job *job, struct oci_error **err)
{
  if (rt_state_create(job->ctx->root, job->id, &job->dirfd, err) < 0)
    return -1;
  if (mkfifoat(job->dirfd, RT_EXEC_FIFO, 0622) < 0)
    return oci_error_errno(err, "creating " RT_EXEC_FIFO);
  /* The container process may run as any uid: it must be able to open the
   * fifo for writing whatever our umask says. */
  if (fchmodat(job->dirfd, RT_EXEC_FIFO, 0622, 0) < 0)
    return oci_error_errno(err, "chmod of " RT_EXEC_FIFO);
  job->fifo_fd = openat(job->dirfd, RT_EXEC_FIFO, O_PATH | O_CLOEXEC);
  if (job->fifo_fd < 0)
    return oci_error_errno(err, "opening " RT_EXEC_FIFO);
  return 0;
}

/* systemd socket activation: the LISTEN_FDS descriptors after 3 belong to
 * the container too (as crun does). */
static int
listen_fds(void)
{
  const char *v = getenv("LISTEN_FDS");
  int n = v ? atoi(v) : 0;

  return n > 0 ? n : 0;
}

static int
job_spawn(struct create_job *job, struct oci_error **err)
{
  struct rt_init_args args;
  pid_t pid;

  if (rt_sync_pair(job->sync, err) < 0)
    return -1;
  if ((job->ns.new_user || has_idmapped_mounts(job->cfg)) && open_bind_sources(job, err) < 0)
    return -1;
  /* The init gets its `tasks` files by message (job_make_cgroup_rest). */
  if (job->cg && rt_cgroup_join_prepare(job->cg, NULL, 0, RT_CG_JOIN_CLONE_INTO, &job->cg_join, err) < 0)
    return -1;

  args = (struct rt_init_args){
    .cfg = job->cfg,
    .ns = &job->ns,
    .id = job->id,
    .rootfs = job->rootfs,
    .rootfs_real = job->rootfs_real,
    .bundle = job->bundle,
    .created = job->created,
    .no_pivot = job->opts->no_pivot,
    .no_new_keyring = job->opts->no_new_keyring,
    .maps_by_unprivileged_parent = job->ns.new_user && geteuid() != 0,
    .preserve_fds = job->opts->preserve_fds + listen_fds(),
    .sync_fd = job->sync[1],
    .fifo_fd = job->fifo_fd,
    .mount_source_fds = job->bind_fds,
    .mount_opts = job->mount_opts,
    .mempolicy = &job->mempolicy,
    .seccomp = &job->seccomp,
    .log_fd = job->ctx->log_fd,
    .log_json = job->ctx->log_json,
    .cgroup_join = job->cg ? &job->cg_join : NULL,
    .host_mounts = ((job->ns.clone_flags | job->ns.unshare_flags) & CLONE_NEWNS) ? &job->host_mounts : NULL,
    .parent_fds = { job->dirfd, job->sync[0], -1, -1 },
    .log = *job->ctx,
  };
  args.log.log_sock = job->sync[1];
  /* A fork, not a re-exec: the init runs the code below with the parsed
   * config already in memory. */
  pid = rt_cgroup_join_clone(job->cg ? &job->cg_join : NULL, job->ns.clone_flags);
  if (pid < 0)
    return oci_error_errno(err, "cloning the container init");
  if (pid == 0)
    rt_init_main(&args);
  if (job->ctx->debug)
    rt_ns_debug_clone(job->ctx, &job->ns, pid);
  job->stage1 = job->init = pid;
  close_bind_sources(job);
  close(job->sync[1]);
  job->sync[1] = -1;
  rt_ns_plan_clear(&job->ns);
  return 0;
}

static int
job_handle_terminal(struct create_job *job, int master, struct oci_error **err)
{
  if (job->opts->console_socket)
    {
      int r = rt_console_socket_send(job->opts->console_socket, master, err);
      close(master);
      return r;
    }
  if (job->keep_master && job->master < 0)
    {
      job->master = master;
      return 0;
    }
  close(master);
  return oci_error_set(err, 0, "unexpected terminal from the container init");
}

/* prestart (deprecated, same point) and createRuntime: in our namespaces,
 * the init waiting between its mounts and pivot_root. */
static int
job_create_hooks(struct create_job *job, struct oci_error **err)
{
  struct oci_state st = job_hook_state(job, "creating");

  /* Before the hooks: a prestart hook sees the interfaces in place. */
  if (rt_netdev_move_all(job->ctx, job->cfg->linux_, job->init, err) < 0)
    return -1;

  rt_debug(job->ctx,
           "hooks: running %zu prestart and %zu createRuntime hooks (the init waits before pivot_root)",
           rt_hooks_count(job->cfg->hooks, RT_HOOK_PRESTART),
           rt_hooks_count(job->cfg->hooks, RT_HOOK_CREATE_RUNTIME));
  if (rt_hooks_run(job->cfg->hooks, RT_HOOK_PRESTART, &st, job->bundle, NULL, err) < 0
      || rt_hooks_run(job->cfg->hooks, RT_HOOK_CREATE_RUNTIME, &st, job->bundle, NULL, err) < 0)
    return -1;
  return 0;
}

/* The init died before it was ready, the sync socket's end of stream tells
 * no more.  Say how it died; when the memory controller killed it, say that
 * the memory limit is too small (runc fails to set such a limit on its
 * already running init; ours is set before the init allocates more than
 * its network and IPC namespaces). */
static int
job_init_died(struct create_job *job, struct oci_error **err)
{
  const struct oci_resources *res = job->cfg->linux_ ? job->cfg->linux_->resources : NULL;
  const struct oci_memory *mem = res ? res->memory : NULL;
  cleanup_free char *how = NULL, *shown = NULL;
  int status;

  if (job->init != job->stage1 || rt_process_reap_exiting(job->init, 1000, &status) <= 0)
    return -1;
  /* reaped: the rollback must not signal a pid the kernel may reuse */
  job->init = job->stage1 = 0;
  oci_error_free(*err);
  *err = NULL;
  if (!WIFSIGNALED(status) || job->cg == NULL || !rt_cgroup_oom_killed(job->cg))
    {
      how = rt_process_describe_exit(status);
      return oci_error_set(err, 0, "container init %s before it was ready", how);
    }
  shown = rt_cgroup_display_path(job->cg);
  if (mem && mem->has_limit && mem->limit > 0)
    return oci_error_set(err, 0,
                         "container init was killed by the OOM killer: memory limit %" PRId64
                         " bytes (linux.resources.memory.limit) is too small (cgroup `%s`)",
                         mem->limit, shown);
  return oci_error_set(err, 0, "container init was killed by the OOM killer (cgroup `%s`)", shown);
}

static int
job_recv(struct create_job *job, struct rt_sync_msg *msg, struct oci_error **err)
{
  if (rt_sync_recv_logging(job->ctx, job->sync[0], msg, err) == 0)
    return 0;
  return msg->type == RT_SYNC_EOF ? job_init_died(job, err) : -1;
}

/* The init made its early namespaces (RT_SYNC_NS_MADE): keep the socket
 * of a new network namespace for bring_up_loopback. */
static int
job_expect_namespaces(struct create_job *job, struct oci_error **err)
{
  struct rt_sync_msg msg;

  if (job_recv(job, &msg, err) < 0)
    return -1;
  if (msg.type != RT_SYNC_NS_MADE)
    {
      if (msg.fd >= 0)
        close(msg.fd);
      return oci_error_set(err, 0, "unexpected message %d from the container init (expected %d)", (int)msg.type,
                           (int)RT_SYNC_NS_MADE);
    }
  job->lo_sock = msg.fd;
  return 0;
}

/* EPIPE: the init is gone, say how. */
static int
job_send(struct create_job *job, enum rt_sync_type type, int64_t value, int fd, struct oci_error **err)
{
  if (rt_sync_send(job->sync[0], type, value, fd, err) == 0)
    return 0;
  return (*err)->status == EPIPE ? job_init_died(job, err) : -1;
}

static int
job_go(struct create_job *job, int64_t value, struct oci_error **err)
{
  return job_send(job, RT_SYNC_GO, value, -1, err);
}

/* SCMP_ACT_NOTIFY: the init's listener goes to the agent with the state
 * "creating" (runc's), then the init may go on. */
static int
job_send_listener(struct create_job *job, int listener, struct oci_error **err)
{
  struct oci_state st = job_hook_state(job, "creating");
  int r;

  r = rt_seccomp_send_listener(job->cfg->linux_ ? job->cfg->linux_->seccomp : NULL, &st, job->init, listener,
                               err);
  close(listener);
  if (r < 0)
    return -1;
  return job_go(job, 0, err);
}

/* Whether linux.resources sets any limit.  Device rules do not count: a
 * rootless runtime cannot apply them, and runc ignores them there. */
static bool
has_limits(const struct oci_config *cfg)
{
  const struct oci_resources *r = cfg->linux_ ? cfg->linux_->resources : NULL;
  struct oci_resources limits;

  if (r == NULL)
    return false;
  limits = *r;
  limits.devices = NULL;
  limits.devices_len = 0;
  return !oci_fields_all_empty(oci_resources_fields, &limits);
}

/* Whether job_make_cgroup leaves the v1 directories for after the clone:
 * not when a refusal there means running without a cgroup, which is
 * decided before the init exists. */
static bool
v1_after_clone(const struct create_job *job)
{
  return !job->ctx->rootless;
}

/* The v1 directories job_make_cgroup left for later. */
static int
job_make_cgroup_v1(struct create_job *job, struct oci_error **err)
{
  return v1_after_clone(job) ? rt_cgroup_make(job->cg, job->cfg, RT_CG_V1, err) : 0;
}

/* After the clone, while the init creates its network and IPC namespaces
 * (rt_ns_plan.early_flags): the v1 directories, unless job_make_cgroup made
 * them, and the `tasks` files through which the init enters them. */
static int
job_make_cgroup_rest(struct create_job *job, struct oci_error **err)
{
  struct rt_cgroup_join *j = &job->cg_join;

  if (job_make_cgroup_v1(job, err) < 0)
    return -1;
  rt_cgroup_join_open_tasks(j);
  for (size_t i = 0; i < j->n; i++)
    if (j->tasks[i] >= 0 && job_send(job, RT_SYNC_CGROUP, (int64_t)i, j->tasks[i], err) < 0)
      return -1;
  return 0;
}

/* `lo` of the init's new network namespace, while the init makes its
 * mounts: before any hook can look (we answer RT_SYNC_HOOKS after this). */
static int
bring_up_loopback(struct create_job *job, struct oci_error **err)
{
  int r;

  rt_debug(job->ctx, "network: bringing up lo in the new network namespace");
  r = rt_ns_loopback_up(job->lo_sock, err);
  close(job->lo_sock);
  job->lo_sock = -1;
  return r;
}

/* state.json (staged: see rt_state_stage) and the hooks, as soon as the
 * init's pid is final: written while the init makes its mounts, not after
 * it is ready. */
static int
job_save_state(struct create_job *job, struct oci_error **err)
{
  struct rt_state *st = &job->state;

  *st = (struct rt_state){
    .id = (char *)job->id,
    .pid = job->init,
    .bundle = job->bundle,
    .rootfs = job->rootfs,
    .created = job->created,
    .cgroup_path = job->cg ? (char *)rt_cgroup_path(job->cg) : NULL,
    .owner = geteuid(),
    .annotations = job->cfg->annotations,
    .annotations_len = job->cfg->annotations_len,
  };

  if (rt_proc_start_time(job->init, &st->start_time) < 0)
    return oci_error_set(err, 0, "container init exited unexpectedly");
  return rt_hooks_save(job->dirfd, job->cfg->hooks, err) < 0 || rt_state_stage(job->dirfd, st, err) < 0 ? -1 : 0;
}

/* The parent's half of the protocol, until the init reports "ready". */
static int
job_drive(struct create_job *job, struct oci_error **err)
{
  const struct oci_linux *lnx = job->cfg->linux_;
  struct rt_sync_msg msg;

  /* The limits count what the init's early namespaces took: where there
   * are limits they are written once those exist, so that one too small
   * fails the same way every time (an OOM kill: job_init_died). */
  bool wait_namespaces = job->ns.early_flags != 0;
  bool limits = has_limits(job->cfg);

  if (job->cg && job_make_cgroup_rest(job, err) < 0)
    return -1;
  if (wait_namespaces && limits && job_expect_namespaces(job, err) < 0)
    return -1;
  if ((job->ns.clone_flags & CLONE_NEWUSER) && rt_ns_write_id_maps(job->ctx, job->stage1, lnx, err) < 0)
    return -1;
  if (job->cg)
    {
      if (rt_cgroup_start(job->cg, lnx ? lnx->resources : NULL, job->stage1, &job->cg_join, err) < 0)
        return -1;
      if (lnx && lnx->resources && rt_cgroup_apply(job->cg, lnx->resources, err) < 0)
        return -1;
    }
  if (wait_namespaces && !limits && job_expect_namespaces(job, err) < 0)
    return -1;
  if (job_go(job, 0, err) < 0)
    return -1;
  if (job->lo_sock >= 0 && bring_up_loopback(job, err) < 0)
    return -1;
  if (!job->ns.pid_fork && job_save_state(job, err) < 0)
    return -1;

  for (;;)
    {
      if (job_recv(job, &msg, err) < 0)
        return -1;
      switch (msg.type)
        {
        case RT_SYNC_USERNS:
          if (rt_ns_write_id_maps(job->ctx, job->stage1, lnx, err) < 0 || job_go(job, 0, err) < 0)
            return -1;
          break;
        case RT_SYNC_PID:
          job->init = (pid_t)msg.value;
          while (waitpid(job->stage1, NULL, 0) < 0 && errno == EINTR)
            ;
          job->stage1 = job->init;
          if (job_save_state(job, err) < 0)
            return -1;
          break;
        case RT_SYNC_TERMINAL:
          if (job_handle_terminal(job, msg.fd, err) < 0)
            return -1;
          break;
        case RT_SYNC_HOOKS:
          if (job_create_hooks(job, err) < 0 || job_go(job, job->init, err) < 0)
            return -1;
          break;
        case RT_SYNC_SECCOMP:
          if (job_send_listener(job, msg.fd, err) < 0)
            return -1;
          break;
        case RT_SYNC_READY:
          return 0;
        default:
          if (msg.fd >= 0)
            close(msg.fd);
          return oci_error_set(err, 0, "unexpected message %d from the container init", (int)msg.type);
        }
    }
}

/* The init is ready: state.json shows it, then the pid file, last, so
 * that a client that reads it once create returns finds the container
 * complete. */
static int
job_commit(struct create_job *job, struct oci_error **err)
{
  if (rt_state_publish(job->dirfd, err) < 0)
    return -1;
  if (job->opts->pid_file && rt_write_pid_file(job->opts->pid_file, job->init, err) < 0)
    return -1;
  return 0;
}

/* <root>/<id>/cgroup: the cgroup path of a container whose create has not
 * written state.json yet (or was killed before it could). */
#define RT_CGROUP_RECORD "cgroup"

/* Whole or absent (a rename): a truncated path could name someone else's
 * cgroup, which `delete --force` would then empty and remove. */
static int
write_cgroup_record(int dirfd, const char *path, struct oci_error **err)
{
  /* Not durable: the state dir is on tmpfs (/run), gone with a crash. */
  if (oci_write_file_atomic(dirfd, RT_CGROUP_RECORD, path, strlen(path), 0600, OCI_NOT_DURABLE, err) < 0)
    return oci_error_wrap(err, "recording the cgroup path");
  return 0;
}

/* Like runc, a rootless runtime (an unprivileged user, or uid 0 in a user
 * namespace) without delegated cgroups runs the container without one,
 * unless the config asks for resource limits. */
static int
job_make_cgroup(struct create_job *job, struct oci_error **err)
{
  cleanup_cgroup struct rt_cgroup *cg = NULL;

  /* The path is on disk before the directories exist: a create killed
   * from here on leaves a state dir that names its cgroup. */
  if (rt_cgroup_plan(job->cfg, job->id, job->ctx->systemd_cgroup, &job->host_mounts, &cg, err) < 0)
    return -1;
  rt_cgroup_set_log(cg, job->ctx);
  if (job->ctx->debug)
    {
      cleanup_free char *shown = rt_cgroup_display_path(cg);
      rt_debug(job->ctx, "cgroup: %s", shown);
    }
  if (write_cgroup_record(job->dirfd, rt_cgroup_path(cg), err) < 0)
    return -1;
  if (rt_cgroup_make(cg, job->cfg, v1_after_clone(job) ? RT_CG_CGROUP2 : RT_CG_ALL, err) == 0)
    {
      job->cg = steal_pointer(&cg);
      return 0;
    }
  (void)unlinkat(job->dirfd, RT_CGROUP_RECORD, 0);
  if (!job->ctx->rootless || has_limits(job->cfg)
      || ((*err)->status != EACCES && (*err)->status != EPERM && (*err)->status != EROFS))
    return -1;
  rt_log(job->ctx, RT_LOG_WARNING, "running `%s` without a cgroup: %s", job->id, (*err)->msg);
  oci_error_free(*err);
  *err = NULL;
  return 0;
}

static int
job_run(struct create_job *job, struct oci_error **err)
{
  rt_time_rfc3339(job->created, sizeof job->created, true);
  if (job_load_config(job, err) < 0)
    return -1;
  if (job_make_state_dir(job, err) < 0)
    return -1;
  if (!job->ctx->cgroups_disabled && job_make_cgroup(job, err) < 0)
    return -1;
  if (job_spawn(job, err) < 0 || job_drive(job, err) < 0 || job_commit(job, err) < 0)
    return -1;
  return 0;
}

/* Create into *job, which the caller clears; on failure nothing is left
 * (and the job is cleared already). */
static int
create_container(struct create_job *job, const struct rt_context *ctx, const char *id,
                 const struct rt_create_opts *opts, bool keep_master, struct oci_error **err)
{
  job_init(job, ctx, id, opts, keep_master);
  if (job_run(job, err) == 0)
    return 0;
  job_rollback(job);
  oci_error_wrap(err, "creating container `%s`", id);
  job_clear(job);
  return -1;
}

int
rt_container_create(const struct rt_context *ctx, const char *id, const struct rt_create_opts *opts,
                    struct oci_error **err)
{
  struct create_job job;

  if (create_container(&job, ctx, id, opts, false, err) < 0)
    return -1;
  job_clear(&job);
  return 0;
}

/* ---- saved hooks: poststart, poststop ---- */

static struct oci_state *to_oci_state(const struct rt_state *st, enum rt_status status);

/* Failures are warnings only (runtime.md lifecycle steps 9 and 13). */
static void
run_saved_hooks(const struct rt_context *ctx, const struct oci_config *saved, const struct rt_state *st,
                enum rt_hook_kind kind, enum rt_status status)
{
  cleanup_error struct oci_error *e = NULL;
  struct oci_state *os;

  if (saved == NULL || rt_hooks_count(saved->hooks, kind) == 0)
    return;
  os = to_oci_state(st, status);
  if (rt_hooks_run(saved->hooks, kind, os, st->bundle, NULL, &e) < 0)
    warn_error(ctx, e);
  oci_state_free(os);
}

static void
load_saved_hooks(const struct rt_context *ctx, int dirfd, struct oci_config **saved)
{
  cleanup_error struct oci_error *e = NULL;

  if (rt_hooks_load(dirfd, saved, &e) < 0)
    {
      oci_error_wrap(&e, "the poststart/poststop hooks are not run");
      warn_error(ctx, e);
    }
}

/* ---- start ---- */

/* Unblock the init waiting in open(exec.fifo, O_WRONLY).  Opening our end
 * without O_NONBLOCK would hang forever if the init died; the pidfd tells us
 * that instead. */
/* Wait for exec.fifo's writer, the init, to go: its execve closes it. */
static void
wait_fifo_end(int fifo, int pidfd)
{
  struct pollfd p[2] = { { .fd = fifo, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
  char c;

  for (;;)
    {
      ssize_t n = read(fifo, &c, 1);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        return;
      if (n < 0 && poll(p, 2, -1) < 0 && errno != EINTR)
        return;
      /* Exited: the kernel closed its end as well. */
      if (p[1].revents & POLLIN)
        return;
    }
}

static int
release_exec_fifo(int dirfd, const struct rt_state *st, struct oci_error **err)
{
  cleanup_close int fifo = -1;
  cleanup_close int pidfd = -1;
  struct pollfd p[2];
  char buf[RT_START_ERROR_MAX + 1];
  ssize_t n;
  int r;

  /* Pin the init first: once the fifo is open it may exec and exit at once. */
  if (pidfd_open_checked(st->pid, st->start_time, &pidfd) < 0)
    return oci_error_set(err, 0, "cannot start a container that has stopped");
  fifo = openat(dirfd, RT_EXEC_FIFO, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fifo < 0)
    return oci_error_errno(err, "opening " RT_EXEC_FIFO);
  p[0] = (struct pollfd){ .fd = fifo, .events = POLLIN };
  p[1] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
  do
    r = poll(p, 2, -1);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return oci_error_errno(err, "waiting on " RT_EXEC_FIFO);
  n = read(fifo, buf, sizeof buf - 1);
  if (n > 0 && buf[0] != '0')
    {
      (void)unlinkat(dirfd, RT_EXEC_FIFO, 0);
      return oci_error_set(err, 0, "%.*s", (int)n - 1, buf + 1);
    }
  if (n <= 0)
    /* The init died in between, or a startContainer hook failed (the init
     * logged why and exited). */
    return oci_error_set(err, 0,
                         "cannot start a container that has stopped (its init exited before "
                         "executing the process)");
  wait_fifo_end(fifo, pidfd);
  if (unlinkat(dirfd, RT_EXEC_FIFO, 0) < 0)
    return oci_error_errno(err, "removing " RT_EXEC_FIFO);
  return 0;
}

/* `hooks`: the config whose poststart hooks run (NULL: none). */
static int
start_created(const struct rt_context *ctx, int dirfd, const struct rt_state *st,
              const struct oci_config *hooks, struct oci_error **err)
{
  rt_debug(ctx, "start: opening exec.fifo of `%s`: its init (pid %d) then execs the process", st->id,
           (int)st->pid);
  if (release_exec_fifo(dirfd, st, err) < 0)
    return -1;
  run_saved_hooks(ctx, hooks, st, RT_HOOK_POSTSTART, RT_STATUS_RUNNING);
  return 0;
}

int
rt_container_start(const struct rt_context *ctx, const char *id, struct oci_error **err)
{
  cleanup_close int dirfd = -1;
  cleanup_rt_state struct rt_state *st = NULL;

  if (rt_state_open(ctx->root, id, &dirfd, err) < 0 || rt_state_load(dirfd, id, &st, err) < 0)
    return -1;
  switch (rt_state_status(dirfd, st))
    {
    case RT_STATUS_CREATED:
      {
        cleanup_config struct oci_config *saved = NULL;

        load_saved_hooks(ctx, dirfd, &saved);
        return start_created(ctx, dirfd, st, saved, err);
      }
    case RT_STATUS_STOPPED:
      return oci_error_set(err, 0, "cannot start a container that has stopped");
    case RT_STATUS_RUNNING:
      return oci_error_set(err, 0, "cannot start an already running container");
    default:
      return oci_error_set(err, 0, "cannot start a container in the %s state",
                           rt_status_name(rt_state_status(dirfd, st)));
    }
}

/* ---- state, list ---- */

static char *
owner_name(uid_t uid)
{
  cleanup_fclose FILE *f = NULL;
  struct passwd *pw;

  /* runc reports root as "" in `state`. */
  if (uid == 0)
    return xstrdup("");
  /* /etc/passwd itself, not getpwuid: ocirt is linked statically, and NSS
   * would load the shared modules of whatever glibc the host has. */
  f = fopen("/etc/passwd", "re");
  while (f && (pw = fgetpwent(f)) != NULL)
    if (pw->pw_uid == uid)
      return xstrdup(pw->pw_name);
  return xasprintf("#%u", (unsigned)uid);
}

static struct oci_state *
to_oci_state(const struct rt_state *st, enum rt_status status)
{
  struct oci_state *out = xzalloc(sizeof *out);

  out->oci_version = xstrdup(OCI_SPEC_VERSION);
  out->id = xstrdup(st->id);
  out->status = xstrdup(rt_status_name(status));
  out->pid = status == RT_STATUS_STOPPED ? 0 : st->pid;
  out->bundle = xstrdup(st->bundle);
  out->rootfs = xstrdup(st->rootfs);
  out->created = xstrdup(st->created);
  out->owner = owner_name(st->owner);
  if (st->annotations_len)
    {
      out->annotations = xcalloc(st->annotations_len, sizeof *out->annotations);
      for (size_t i = 0; i < st->annotations_len; i++)
        {
          out->annotations[i].key = xstrdup(st->annotations[i].key);
          out->annotations[i].value = xstrdup(st->annotations[i].value);
        }
      out->annotations_len = st->annotations_len;
    }
  return out;
}

int
rt_container_state(const struct rt_context *ctx, const char *id, struct oci_state **out,
                   struct oci_error **err)
{
  cleanup_close int dirfd = -1;
  cleanup_rt_state struct rt_state *st = NULL;

  if (rt_state_open(ctx->root, id, &dirfd, err) < 0 || rt_state_load(dirfd, id, &st, err) < 0)
    return -1;
  *out = to_oci_state(st, rt_state_status(dirfd, st));
  return 0;
}

int
rt_container_list(const struct rt_context *ctx, struct oci_state ***states, size_t *n, struct oci_error **err)
{
  cleanup_strv char **ids = NULL;
  struct oci_state **out;
  size_t len, count = 0;

  if (rt_state_list(ctx->root, &ids, &len, err) < 0)
    return -1;
  out = xcalloc(len + 1, sizeof *out);
  for (size_t i = 0; i < len; i++)
    {
      cleanup_free char *dir = xasprintf("%s/%s", ctx->root, ids[i]);
      cleanup_close int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      cleanup_rt_state struct rt_state *st = NULL;
      cleanup_error struct oci_error *ignored = NULL;

      /* No lock: state.json is replaced atomically, and a container being
       * created (no state.json yet) is simply not listed. */
      if (dirfd < 0 || rt_state_load(dirfd, ids[i], &st, &ignored) < 0)
        continue;
      out[count++] = to_oci_state(st, rt_state_status(dirfd, st));
    }
  *states = out;
  *n = count;
  return 0;
}

void
rt_container_list_free(struct oci_state **states, size_t n)
{
  for (size_t i = 0; i < n; i++)
    oci_state_free(states[i]);
  free(states);
}

/* ---- kill, delete ---- */

static int
signal_init(const struct rt_state *st, int signo, struct oci_error **err)
{
  cleanup_close int pidfd = -1;

  if (pidfd_open_checked(st->pid, st->start_time, &pidfd) < 0)
    return oci_error_set(err, 0, "container not running");
  if (syscall(SYS_pidfd_send_signal, pidfd, signo, NULL, 0) < 0)
    {
      if (errno == ESRCH)
        return oci_error_set(err, 0, "container not running");
      return oci_error_errno(err, "sending signal %d", signo);
    }
  return 0;
}

/* Every process in the cgroup, whatever the container's state. */
static int
signal_cgroup_members(const struct rt_cgroup *cg, int signo, struct oci_error **err)
{
  cleanup_free pid_t *pids = NULL;
  size_t n;

  if (rt_cgroup_pids(cg, &pids, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (kill(pids[i], signo) < 0 && errno != ESRCH)
      return oci_error_errno(err, "sending signal %d to %d", signo, (int)pids[i]);
  return 0;
}

static int
signal_cgroup(const struct rt_state *st, int signo, struct oci_error **err)
{
  cleanup_cgroup struct rt_cgroup *cg = NULL;

  if (st->cgroup_path == NULL)
    return signal_init(st, signo, err);
  if (rt_cgroup_open(st->cgroup_path, &cg, err) < 0)
    return -1;
  return signal_cgroup_members(cg, signo, err);
}

int
rt_container_kill(const struct rt_context *ctx, const char *id, int signo, bool all, struct oci_error **err)
{
  cleanup_close int dirfd = -1;
  cleanup_rt_state struct rt_state *st = NULL;
  enum rt_status status;

  if (rt_state_open(ctx->root, id, &dirfd, err) < 0 || rt_state_load(dirfd, id, &st, err) < 0)
    return -1;
  status = rt_state_status(dirfd, st);
  /* `kill --all` after the init exited is how a shim clears what is left
   * in a container that shares another's pid namespace: the kernel killed
   * nothing when the init died, so its children live on in the cgroup. */
  if (status == RT_STATUS_STOPPED && all && st->cgroup_path)
    return signal_cgroup(st, signo, err);
  if (status != RT_STATUS_CREATED && status != RT_STATUS_RUNNING && status != RT_STATUS_PAUSED)
    return oci_error_set(err, 0, "container not running");
  if ((all ? signal_cgroup(st, signo, err) : signal_init(st, signo, err)) < 0)
    return -1;
  /* A v1 freezer holds even SIGKILL: thaw so that it is delivered (runc). */
  if (status == RT_STATUS_PAUSED && signo == SIGKILL)
    return rt_container_thaw(st, err);
  return 0;
}

/* SIGKILL the container and wait until its init is gone (a pid namespace
 * init exits last, so its death means the namespace is empty). */
static int
kill_and_wait(const struct rt_state *st, bool all, struct oci_error **err)
{
  cleanup_close int pidfd = -1;

  if (pidfd_open_checked(st->pid, st->start_time, &pidfd) < 0)
    return 0;
  if (all && signal_cgroup(st, SIGKILL, err) < 0)
    return -1;
  if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
    return oci_error_errno(err, "killing the container init");
  if (pidfd_wait(pidfd, 10000) < 0)
    return oci_error_set(err, 0, "container init %d did not exit after SIGKILL", (int)st->pid);
  return 0;
}

/* `cg`: the container's cgroup if it is open already (NULL: opened from
 * the state's path).  Then the poststop hooks of `hooks` (NULL: none). */
static int
remove_stopped(const struct rt_context *ctx, int dirfd, const struct rt_state *st, const struct rt_cgroup *cg,
               const struct oci_config *hooks, struct oci_error **err)
{
  cleanup_cgroup struct rt_cgroup *opened = NULL;

  rt_debug(ctx, "delete: removing the cgroup and the state of `%s`", st->id);
  if (cg == NULL && st->cgroup_path && rt_cgroup_open(st->cgroup_path, &opened, err) < 0)
    return -1;
  if (cg == NULL)
    cg = opened;
  /* The init is gone, but a container that shares another's pid namespace
   * may have left children in its cgroup, which then could not be removed
   * (runc kills them too). */
  if (cg && (signal_cgroup_members(cg, SIGKILL, err) < 0 || rt_cgroup_destroy(cg, err) < 0))
    return -1;
  if (rt_state_remove(ctx->root, st->id, dirfd, err) < 0)
    return -1;
  run_saved_hooks(ctx, hooks, st, RT_HOOK_POSTSTOP, RT_STATUS_STOPPED);
  return 0;
}

static int
destroy_recorded_cgroup(int dirfd, struct oci_error **err)
{
  cleanup_close int fd = openat(dirfd, RT_CGROUP_RECORD, O_RDONLY | O_CLOEXEC);
  cleanup_cgroup struct rt_cgroup *cg = NULL;
  char path[PATH_MAX * 2];
  ssize_t n;

  if (fd < 0)
    return errno == ENOENT ? 0 : oci_error_errno(err, "opening the cgroup record");
  n = oci_read_all(fd, path, sizeof path - 1);
  if (n < 0)
    return oci_error_errno(err, "reading the cgroup record");
  path[n] = '\0';
  if (rt_cgroup_open(path, &cg, err) < 0)
    return -1;
  if (signal_cgroup_members(cg, SIGKILL, err) < 0)
    return -1;
  return rt_cgroup_destroy(cg, err);
}

int
rt_container_delete(const struct rt_context *ctx, const char *id, bool force, struct oci_error **err)
{
  cleanup_close int dirfd = -1;
  cleanup_rt_state struct rt_state *st = NULL;
  cleanup_config struct oci_config *saved = NULL;
  enum rt_status status;

  if (rt_state_open(ctx->root, id, &dirfd, err) < 0)
    {
      /* `delete --force` of a container that is already gone succeeds (runc). */
      if (force && (*err)->status == 0 && strstr((*err)->msg, "does not exist"))
        {
          oci_error_free(*err);
          *err = NULL;
          return 0;
        }
      return -1;
    }
  if (rt_state_load(dirfd, id, &st, err) < 0)
    {
      cleanup_error struct oci_error *ignored = NULL;
      /* The remains of a create that died before writing its state: its
       * cgroup (and whatever still runs in it) first. */
      if (destroy_recorded_cgroup(dirfd, &ignored) < 0)
        {
          oci_error_free(*err);
          *err = steal_pointer(&ignored);
          return oci_error_wrap(err, "removing the remains of container `%s`", id);
        }
      (void)rt_state_remove(ctx->root, id, dirfd, &ignored);
      if (force)
        {
          oci_error_free(*err);
          *err = NULL;
          return 0;
        }
      return -1;
    }
  status = rt_state_status(dirfd, st);
  if ((status == RT_STATUS_RUNNING || status == RT_STATUS_PAUSED) && !force)
    return oci_error_set(err, 0, "cannot delete container %s that is not stopped: %s", id,
                         rt_status_name(status));
  if (status == RT_STATUS_PAUSED && rt_container_kill_paused(st, err) < 0)
    return -1;
  if (status != RT_STATUS_STOPPED && kill_and_wait(st, force, err) < 0)
    return -1;
  load_saved_hooks(ctx, dirfd, &saved);
  return remove_stopped(ctx, dirfd, st, NULL, saved, err);
}

/* ---- run ---- */

/* `delete --force` of what `run` created, unless a delete came first. */
static int
remove_after_run(struct create_job *job, struct oci_error **err)
{
  int gone = rt_state_relock(job->dirfd, job->id, err);

  if (gone != 0)
    return gone < 0 ? -1 : 0;
  return remove_stopped(job->ctx, job->dirfd, &job->state, job->cg, job->cfg, err);
}

/* `run` keeps the job it created: start and delete take its state, cgroup
 * and hooks from memory, where `start` and `delete` read them back. */
static int
run_foreground(const struct rt_context *ctx, const char *id, const struct rt_create_opts *opts, bool keep,
               int sigfd, int *exit_status, struct oci_error **err)
{
  struct create_job job;
  cleanup_close int master = -1;
  struct rt_foreground w = { 0 };
  cleanup_error struct oci_error *cleanup_err = NULL;
  int r, r2;

  if (create_container(&job, ctx, id, opts, true, err) < 0)
    return -1;
  w.pid = job.init;
  master = steal_fd(&job.master);
  r = start_created(ctx, job.dirfd, &job.state, job.cfg, err);
  /* `state`, `kill`, `exec` ... of the running container must not wait. */
  rt_state_unlock(job.dirfd);
  if (r == 0)
    r = rt_foreground_wait(&w, sigfd, master, err);
  if (r == 0)
    rt_debug(ctx, "run: the container process (pid %d) ended with exit code %d", (int)w.pid,
             rt_foreground_exit_code(&w));
  if (r < 0 && !w.exited)
    {
      kill(w.pid, SIGKILL);
      while (waitpid(w.pid, &w.status, 0) < 0 && errno == EINTR)
        ;
    }
  /* --keep leaves a container that ran as a stopped one; one that failed
   * to start is removed all the same. */
  r2 = keep && r == 0 ? 0 : remove_after_run(&job, r < 0 ? &cleanup_err : err);
  job_clear(&job);
  if (r < 0 || r2 < 0)
    return -1;
  *exit_status = rt_foreground_exit_code(&w);
  return 0;
}

int
rt_container_run(const struct rt_context *ctx, const char *id, const struct rt_create_opts *opts,
                 const struct rt_run_opts *run, int *exit_status, struct oci_error **err)
{
  cleanup_close int sigfd = -1;
  sigset_t old;
  int r;

  *exit_status = 0;
  if (run->detach)
    {
      struct create_job job;

      if (create_container(&job, ctx, id, opts, false, err) < 0)
        return -1;
      r = start_created(ctx, job.dirfd, &job.state, job.cfg, err);
      /* A failed start removes the container, still under our lock. */
      if (r < 0)
        job_rollback(&job);
      job_clear(&job);
      return r;
    }
  if (rt_foreground_begin(&sigfd, &old, err) < 0)
    return -1;
  r = run_foreground(ctx, id, opts, run->keep, sigfd, exit_status, err);
  rt_foreground_end(&old);
  return r;
}

/* ---- spec ---- */

int
rt_spec_write(const char *bundle, bool rootless, struct oci_error **err)
{
  cleanup_config struct oci_config *cfg = oci_config_default(rootless, getuid(), getgid());
  cleanup_free char *path = xasprintf("%s/config.json", bundle ? bundle : ".");
  cleanup_free char *text = NULL;
  cleanup_close int fd = -1;
  size_t len;

  /* The document depends on the host, as runc's does. */
  if (rt_cgroup_unified())
    oci_config_default_add_cgroupns(cfg);

  if (oci_config_emit(cfg, true, &text, &len, err) < 0)
    return -1;
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      if (errno == EEXIST)
        return oci_error_set(err, 0, "File config.json exists. Remove it first");
      return oci_error_errno(err, "creating `%s`", path);
    }
  if (oci_write_all(fd, text, len) < 0)
    return oci_error_errno(err, "writing `%s`", path);
  return 0;
}

/* ---- restore (checkpoint.c): the create path without an init ---- */

/* `restore` makes the container as `create` does (config, state directory,
 * cgroup with its limits), but criu, not clone, brings its processes. */
struct rt_restore_job
{
  struct create_job job;
};

int
rt_restore_prepare(const struct rt_context *ctx, const char *id, const struct rt_create_opts *opts,
                   bool keep_master, struct rt_restore_job **out, struct oci_error **err)
{
  struct rt_restore_job *r = xzalloc(sizeof *r);
  struct create_job *job = &r->job;

  job_init(job, ctx, id, opts, keep_master);
  rt_time_rfc3339(job->created, sizeof job->created, true);
  if (job_load_config(job, err) < 0 || job_make_state_dir(job, err) < 0
      || (!ctx->cgroups_disabled && job_make_cgroup(job, err) < 0)
      || (job->cg && job_make_cgroup_v1(job, err) < 0))
    goto fail;
  /* No init waits on the fifo: without it the container reads "running". */
  close(job->fifo_fd);
  job->fifo_fd = -1;
  if (unlinkat(job->dirfd, RT_EXEC_FIFO, 0) < 0)
    {
      oci_error_errno(err, "removing " RT_EXEC_FIFO);
      goto fail;
    }
  *out = r;
  return 0;
fail:
  rt_restore_finish(r, false);
  return -1;
}

const struct oci_config *
rt_restore_config(const struct rt_restore_job *r)
{
  return r->job.cfg;
}

const char *
rt_restore_rootfs(const struct rt_restore_job *r)
{
  return r->job.rootfs;
}

int
rt_restore_start_cgroup(struct rt_restore_job *r, pid_t pid, struct oci_error **err)
{
  const struct oci_linux *lnx = r->job.cfg->linux_;

  if (r->job.cg == NULL)
    return 0;
  if (rt_cgroup_start(r->job.cg, lnx ? lnx->resources : NULL, pid, NULL, err) < 0)
    return -1;
  if (lnx && lnx->resources && rt_cgroup_apply(r->job.cg, lnx->resources, err) < 0)
    return -1;
  return 0;
}

int
rt_restore_dirfd(const struct rt_restore_job *r)
{
  return r->job.dirfd;
}

int
rt_restore_commit(struct rt_restore_job *r, pid_t init, struct oci_error **err)
{
  r->job.init = r->job.stage1 = init;
  return job_save_state(&r->job, err) < 0 ? -1 : job_commit(&r->job, err);
}

void
rt_restore_finish(struct rt_restore_job *r, bool ok)
{
  if (r == NULL)
    return;
  if (!ok)
    job_rollback(&r->job);
  job_clear(&r->job);
  free(r);
}
