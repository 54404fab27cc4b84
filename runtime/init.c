#include <config.h>

#include <fcntl.h>
#include <grp.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spec/util.h"
#include "child.h"
#include "hooks.h"
#include "init.h"
#include "log.h"
#include "lsm.h"
#include "process.h"
#include "rootfs.h"
#include "state.h"
#include "sync.h"

/* Key permission bits (the kernel's include/linux/key.h; no uapi header
 * has them). */
enum
{
  KEY_POS_ALL = 0x3f000000,
  KEY_USR_VIEW = 0x00010000,
  KEY_USR_READ = 0x00020000,
  KEY_USR_SEARCH = 0x00080000,
  KEY_USR_LINK = 0x00100000,
};

/* Each container gets its own session keyring so that containers do not
 * share keys through the one the caller had.  It is named "_ses.<id>", as
 * runc names it: the kernel refuses to create keyrings whose name starts
 * with a dot, and ids may. */
static int
join_session_keyring(const struct rt_context *log, const char *id, struct oci_error **err)
{
  char name[sizeof "_ses." + RT_ID_MAX];

  snprintf(name, sizeof name, "_ses.%s", id);
  rt_debug(log, "keyring: joining a new session keyring named %s", name);
  long ring = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name);
  if (ring < 0)
    return errno == ENOSYS ? 0 : oci_error_errno(err, "joining a new session keyring");
  /* The kernel's permissions for a new session keyring, plus search for
   * its owner, as runc leaves them: a process of the container's user that
   * does not possess the keyring can still find keys in it. */
  if (syscall(SYS_keyctl, KEYCTL_SETPERM, ring,
              KEY_POS_ALL | KEY_USR_VIEW | KEY_USR_READ | KEY_USR_SEARCH | KEY_USR_LINK)
      < 0)
    return oci_error_errno(err, "setting the permissions of the session keyring");
  return 0;
}

static int
set_names(const struct rt_context *log, const struct oci_config *cfg, struct oci_error **err)
{
  if (cfg->hostname)
    rt_debug(log, "uts: hostname %s", cfg->hostname);
  if (cfg->domainname)
    rt_debug(log, "uts: domainname %s", cfg->domainname);
  if (cfg->hostname && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
    return oci_error_errno(err, "setting the hostname `%s`", cfg->hostname);
  if (cfg->domainname && setdomainname(cfg->domainname, strlen(cfg->domainname)) < 0)
    return oci_error_errno(err, "setting the domainname `%s`", cfg->domainname);
  return 0;
}

static struct oci_state
hook_state(const struct rt_init_args *a, const char *status)
{
  return (struct oci_state){
    .oci_version = (char *)OCI_SPEC_VERSION,
    .id = (char *)a->id,
    .status = (char *)status,
    .pid = a->host_pid,
    .bundle = (char *)a->bundle,
    .rootfs = (char *)a->rootfs,
    .created = (char *)a->created,
    .owner = (char *)"",
    .annotations = a->cfg->annotations,
    .annotations_len = a->cfg->annotations_len,
  };
}

/* Hooks that run in (or need the pid of) the container before `start`
 * returns; poststart and poststop are `start`'s and `delete`'s. */
static bool
needs_hook_sync(const struct oci_config *cfg)
{
  const struct oci_hooks *h = cfg->hooks;

  return rt_hooks_count(h, RT_HOOK_PRESTART) || rt_hooks_count(h, RT_HOOK_CREATE_RUNTIME)
         || rt_hooks_count(h, RT_HOOK_CREATE_CONTAINER) || rt_hooks_count(h, RT_HOOK_START_CONTAINER)
         || (cfg->linux_ && cfg->linux_->net_devices_len > 0);
}

/* The mounts are done, the old root is still reachable: the parent moves
 * linux.netDevices in and runs prestart and createRuntime now, then we run
 * createContainer here, in the container's namespaces (its path resolves on
 * the host, as the spec says; cwd is the rootfs, as under runc). */
static int
before_pivot(void *data, struct oci_error **err)
{
  struct rt_init_args *a = data;
  const struct oci_hooks *h = a->cfg->hooks;
  struct rt_sync_msg msg;
  struct oci_state st;

  if (!needs_hook_sync(a->cfg))
    return 0;
  if (rt_sync_send(a->sync_fd, RT_SYNC_HOOKS, 0, -1, err) < 0
      || rt_sync_expect(a->sync_fd, RT_SYNC_GO, &msg, err) < 0)
    return -1;
  a->host_pid = (pid_t)msg.value;
  rt_debug(&a->log, "hooks: running %zu createContainer hooks in the container's namespaces",
           rt_hooks_count(h, RT_HOOK_CREATE_CONTAINER));
  st = hook_state(a, "creating");
  return rt_hooks_run(h, RT_HOOK_CREATE_CONTAINER, &st, a->rootfs, a->cfg->process->env, err);
}

/* The init proper: we are in the final pid namespace and in our cgroup. */
static int
init_container(struct rt_init_args *a, const struct rt_child *child, struct rt_exec *exec,
               struct oci_error **err)
{
  const struct oci_config *cfg = a->cfg;
  __attribute__((cleanup(oci_mount_table_clear))) struct oci_mount_table own_mounts = { 0 };
  struct rt_rootfs_opts ropts = {
    .log = &a->log,
    .rootfs = a->rootfs_real,
    .no_pivot = a->no_pivot,
    .in_userns = a->ns->has_user_ns,
    .cgroupns = a->ns->has_cgroup_ns,
    .mount_source_fds = a->mount_source_fds,
    .mount_opts = a->mount_opts,
    .host_mounts = a->host_mounts ? a->host_mounts : &own_mounts,
    .before_pivot = before_pivot,
    .before_pivot_data = a,
  };

  /* Only now is our cgroup the root of the new cgroup namespace. */
  if (a->ns->new_cgroup)
    rt_debug(&a->log,
             "namespaces: creating the cgroup namespace (unshare), rooted at the container's cgroup");
  if (a->ns->new_cgroup && unshare(CLONE_NEWCGROUP) < 0)
    return oci_error_errno(err, "creating the cgroup namespace");
  if (a->ns->new_time)
    {
      rt_debug(&a->log, "namespaces: creating the time namespace (unshare) with linux.timeOffsets");
      if (unshare(CLONE_NEWTIME) < 0)
        return oci_error_errno(err, "creating the time namespace");
      if (rt_ns_write_time_offsets(cfg->linux_, err) < 0)
        return -1;
    }
  /* A network namespace of early_flags has `lo` brought up by ocirt. */
  bool lo_here = a->ns->new_net && !(a->ns->early_flags & CLONE_NEWNET);
  if (lo_here)
    rt_debug(&a->log, "network: bringing up lo in the new network namespace");
  if (lo_here && rt_ns_loopback_up(-1, err) < 0)
    return -1;
  /* The new session keyring gets the process's SELinux label (runc). */
  if (!a->no_new_keyring
      && (rt_lsm_set_key_label(cfg->process, false, err) < 0 || join_session_keyring(&a->log, a->id, err) < 0
          || rt_lsm_set_key_label(cfg->process, true, err) < 0))
    return -1;
  if (set_names(&a->log, cfg, err) < 0)
    return -1;
  a->fd_dir = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (a->fd_dir < 0)
    return oci_error_errno(err, "opening /proc/self/fd");
  if (!a->ns->has_mount_ns)
    {
      if (rt_rootfs_enter_shared(cfg, &ropts, err) < 0 || rt_child_terminal(child, err) < 0)
        return -1;
    }
  else if (rt_rootfs_prepare(cfg, &ropts, err) < 0 || rt_child_terminal(child, err) < 0
           || rt_rootfs_finalize(cfg, &ropts, err) < 0)
    return -1;
  if (cfg->linux_ && cfg->linux_->personality)
    rt_debug(&a->log, "personality: %s",
             cfg->linux_->personality->domain ? cfg->linux_->personality->domain : "");
  if (cfg->linux_ && rt_personality_apply(cfg->linux_->personality, err) < 0)
    return -1;
  return rt_child_prepare(child, exec, err);
}

static int
set_nondumpable(struct oci_error **err)
{
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    return oci_error_errno(err, "prctl(PR_SET_DUMPABLE)");
  return 0;
}

/* Entering a user namespace does not change our ids: we are still the
 * (unmapped) host uid and could not even create a file.  Become its root;
 * the namespaces in late_flags are created in between (see namespaces.c). */
static int
become_userns_root(const struct rt_ns_plan *ns, struct oci_error **err)
{
  if (setresuid(0, 0, 0) < 0)
    return oci_error_errno(err, "setresuid(0) in the user namespace");
  if (ns->late_flags && unshare(ns->late_flags) < 0)
    return oci_error_errno(err, "creating namespaces");
  if (setresgid(0, 0, 0) < 0)
    return oci_error_errno(err, "setresgid(0) in the user namespace");
  /* Our host supplementary groups mean nothing here; setgroups may be
   * denied (rootless), then there is nothing to drop anyway. */
  if (setgroups(0, NULL) < 0 && errno != EPERM)
    return oci_error_errno(err, "setgroups in the user namespace");
  return 0;
}

/* Joins, unshares, and the pid namespace fork.  Returns in the process that
 * becomes the container init. */
static int
enter_namespaces(struct rt_init_args *a, struct oci_error **err)
{
  struct rt_sync_msg msg;
  pid_t pid;

  if (rt_ns_join_all(&a->log, a->ns, err) < 0)
    return -1;
  if (a->ns->unshare_flags && a->log.debug)
    {
      char names[128];
      rt_ns_flag_names(a->ns->unshare_flags, names, sizeof names);
      rt_debug(&a->log, "namespaces: creating (unshare) %s", names);
    }
  if (a->ns->unshare_flags)
    {
      if (unshare(a->ns->unshare_flags) < 0)
        return oci_error_errno(err, "creating namespaces");
      if ((a->ns->unshare_flags & CLONE_NEWUSER)
          && (rt_sync_send(a->sync_fd, RT_SYNC_USERNS, 0, -1, err) < 0
              || rt_sync_expect(a->sync_fd, RT_SYNC_GO, &msg, err) < 0))
        return -1;
    }
  if (a->ns->has_user_ns)
    rt_debug(&a->log, "namespaces: becoming root (uid 0, gid 0) of the user namespace");
  if (a->ns->has_user_ns && become_userns_root(a->ns, err) < 0)
    return -1;
  if (!a->ns->pid_fork)
    return 0;
  rt_debug(&a->log, "namespaces: forking once more to enter the pid namespace");
  pid = rt_child_fork(a->sync_fd, err);
  if (pid < 0)
    return -1;
  if (pid > 0)
    _exit(0);
  return 0;
}

static _Noreturn void
fail_after_ready(struct rt_init_args *a, struct oci_error *e)
{
  cleanup_free char *msg = oci_error_string(e);
  cleanup_free char *line = xasprintf("ocirt: %s\n", msg);

  rt_log_write_fd(a->log_fd, a->log_json, RT_LOG_ERROR, msg);
  (void)oci_write_all(STDERR_FILENO, line, strlen(line));
  _exit(127);
}

/* Block until `start` opens exec.fifo for reading, then run the
 * startContainer hooks.  The fifo's O_PATH fd was opened by the parent;
 * it is reopened for writing through the fd directory we opened before
 * pivot_root, which needs no path inside the container, not even /proc.
 * On success the written end is left in *`started`, open until execve
 * closes it (O_CLOEXEC): `start` reads the fifo to its end, so that it
 * returns once the container's process runs, as runc's does; until then
 * this process is not dumpable and its /proc files are closed to the
 * container (an `exec` right after `start` could not read /proc/1/environ). */
static int
wait_for_start(struct rt_init_args *a, int *started, struct oci_error **err)
{
  char name[16];
  cleanup_close int fd = -1;

  snprintf(name, sizeof name, "%d", a->fifo_fd);
  do
    fd = openat(a->fd_dir, name, O_WRONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return oci_error_errno(err, "opening exec.fifo");
  /* `start` waits for our "0"; when a startContainer hook fails it gets
   * "E<message>" instead and fails with it. */
  if (rt_hooks_count(a->cfg->hooks, RT_HOOK_START_CONTAINER))
    {
      struct oci_state st = hook_state(a, "created");
      if (rt_hooks_run(a->cfg->hooks, RT_HOOK_START_CONTAINER, &st, NULL, a->cfg->process->env, err) < 0)
        {
          cleanup_free char *msg = oci_error_string(*err);
          cleanup_free char *rec = xasprintf("E%s", msg);
          /* One write of at most PIPE_BUF bytes: `start` reads it whole. */
          (void)oci_write_all(fd, rec, strnlen(rec, RT_START_ERROR_MAX));
          return -1;
        }
    }
  if (oci_write_all(fd, "0", 1) < 0)
    return oci_error_errno(err, "writing exec.fifo");
  close(a->fifo_fd);
  close(a->fd_dir);
  a->fifo_fd = a->fd_dir = -1;
  *started = steal_fd(&fd);
  return 0;
}

/* The namespaces of rt_ns_plan.early_flags, made while ocirt makes the v1
 * cgroups; ocirt writes the limits once they exist, so that they count
 * against them in a fixed order (RT_SYNC_NS_MADE).  A new network
 * namespace comes with a socket in it: ocirt brings `lo` up through it
 * while we go on with the mounts. */
static int
create_early_namespaces(struct rt_init_args *a, struct oci_error **err)
{
  char names[64];
  cleanup_close int sock = -1;

  if (a->ns->early_flags == 0)
    return 0;
  rt_ns_flag_names(a->ns->early_flags, names, sizeof names);
  rt_debug(&a->log, "namespaces: creating (unshare) %s", names);
  if (unshare(a->ns->early_flags) < 0)
    return oci_error_errno(err, "creating namespaces (%s)", names);
  if ((a->ns->early_flags & CLONE_NEWNET) && (sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
    return oci_error_errno(err, "bringing up `lo`: socket");
  return rt_sync_send(a->sync_fd, RT_SYNC_NS_MADE, 0, sock, err);
}

/* GO, after the `tasks` files of the v1 cgroups made since our clone
 * (RT_SYNC_CGROUP). */
static int
expect_go(struct rt_init_args *a, struct oci_error **err)
{
  struct rt_sync_msg msg;

  for (;;)
    {
      if (rt_sync_recv(a->sync_fd, &msg, err) < 0)
        return -1;
      if (msg.type == RT_SYNC_GO)
        return 0;
      if (msg.type != RT_SYNC_CGROUP || a->cgroup_join == NULL)
        {
          if (msg.fd >= 0)
            close(msg.fd);
          return oci_error_set(err, 0, "unexpected message %d on the sync socket (expected %d)",
                               (int)msg.type, (int)RT_SYNC_GO);
        }
      if (rt_cgroup_join_take_tasks(a->cgroup_join, msg.value, msg.fd, err) < 0)
        return -1;
    }
}

_Noreturn void
rt_init_main(struct rt_init_args *a)
{
  cleanup_error struct oci_error *err = NULL;
  struct rt_exec exec = { 0 };
  struct rt_child child = {
    .log = &a->log,
    .cfg = a->cfg,
    .proc = a->cfg->process,
    .sync_fd = a->sync_fd,
    .preserve_fds = a->preserve_fds,
    .mempolicy = a->mempolicy,
    .seccomp = a->seccomp,
    .console = true,
    .waits_for_start = true,
  };

  a->fd_dir = -1;
  /* First: until execve nobody in the container may open /proc/PID/exe
   * (the ocirt binary) or our descriptors (CVE-2019-5736).  An unprivileged
   * parent still has to write our uid_map: then we wait until it has, which
   * is before anything of the container can see us. */
  if (!a->maps_by_unprivileged_parent && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    _exit(1);
  for (size_t i = 0; i < OCI_ARRAY_SIZE(a->parent_fds) && a->parent_fds[i] >= 0; i++)
    close(a->parent_fds[i]);
  rt_child_begin();

  /* GO: the parent wrote our cgroups' limits, and the pid where we cannot
   * enter ourselves; the cgroups before the namespaces, so that a new
   * cgroup namespace is rooted at ours. */
  if (create_early_namespaces(a, &err) < 0 || expect_go(a, &err) < 0
      || (a->cgroup_join && rt_cgroup_join_self(a->cgroup_join, &a->log, &err) < 0)
      || enter_namespaces(a, &err) < 0 || set_nondumpable(&err) < 0
      || init_container(a, &child, &exec, &err) < 0)
    {
      rt_sync_send_error(a->sync_fd, err);
      _exit(1);
    }
  close(a->sync_fd);
  /* Nothing more to log: nobody reads the socket now, and from here on the
   * process may run under its seccomp filter. */
  a->log.debug = false;
  a->log.log_sock = -1;
  int started; /* exec.fifo's written end: execve closes it (wait_for_start) */
  if (wait_for_start(a, &started, &err) < 0)
    fail_after_ready(a, err);
  rt_child_exec(&child, &exec, &err);
  fail_after_ready(a, err);
}
