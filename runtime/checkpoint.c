/* checkpoint and restore through criu(8) (see checkpoint.h).
 *
 * criu runs as a command line (`criu dump`, `criu pre-dump`, `criu
 * restore`), not as runc's `criu swrk` RPC server: the RPC needs protobuf
 * encoding of criu's rpc.proto (a code generator or a hand-written encoder
 * to keep in step with criu), while every option runc sends has a command
 * line twin.  What the RPC alone offers, runc uses for things we do
 * differently: the restored init's pid comes from --pidfile, not a
 * notification; criu's cgroup is joined before exec, not after spawn.  The
 * pty master of a terminal container (orphan-pts-master) has no command line
 * twin: such a container's dump and restore go through `criu swrk`
 * (criu-rpc.c), their options still a command line, in criu's RPC
 * configuration file.  criu's stdio is ours, which is what --inherit-fd
 * hands to the restored init (the caller's pipes). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spec/json.h"
#include "spec/util.h"
#include "cgroups.h"
#include "checkpoint.h"
#include "container.h"
#include "criu-rpc.h"
#include "foreground.h"
#include "log.h"
#include "mounts.h"
#include "process.h"
#include "state.h"
#include "terminal.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* runc's name for the file that records the init's stdio at dump time. */
#define DESCRIPTORS_FILE "descriptors.json"
/* The key criu knows a joined network namespace by (runc's). */
#define NETNS_KEY "extRootNetNS"

/* ---- criu's command line ---- */

struct args
{
  char **v;
  size_t n, cap;
};

static void __attribute__((format(printf, 2, 3))) arg_add(struct args *a, const char *fmt, ...)
{
  va_list ap;
  char *s;

  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0)
    abort();
  va_end(ap);
  if (a->n + 2 > a->cap)
    a->v = xrealloc(a->v, (a->cap = a->cap * 2 + 16) * sizeof *a->v);
  a->v[a->n++] = s;
  a->v[a->n] = NULL;
}

static void
args_clear(struct args *a)
{
  for (size_t i = 0; i < a->n; i++)
    free(a->v[i]);
  free(a->v);
  a->v = NULL;
  a->n = a->cap = 0;
}

/* criu on $PATH (or the usual directories when there is none: podman's
 * cleanup runs us without PATH). */
static char *
find_criu(void)
{
  const char *path = getenv("PATH");
  cleanup_free char *copy = NULL;
  char *save = NULL;

  if (path == NULL || path[0] == '\0')
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  copy = xstrdup(path);
  for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
    {
      char *candidate = xasprintf("%s/criu", dir[0] ? dir : ".");
      if (access(candidate, X_OK) == 0)
        return candidate;
      free(candidate);
    }
  return NULL;
}

/* The options both directions pass alike. */
static void
add_common(struct args *a, const struct rt_criu_opts *o, const char *image, const char *work, const char *log)
{
  arg_add(a, "--images-dir=%s", image);
  arg_add(a, "--work-dir=%s", work);
  arg_add(a, "--log-file=%s", log);
  arg_add(a, "--verbosity=4"); /* -v4; criu's configuration file takes long options only */
  if (o->tcp_established)
    arg_add(a, "--tcp-established");
  if (o->ext_unix_sk)
    arg_add(a, "--ext-unix-sk");
  if (o->shell_job)
    arg_add(a, "--shell-job");
  if (o->file_locks)
    arg_add(a, "--file-locks");
  if (o->auto_dedup)
    arg_add(a, "--auto-dedup");
  if (o->empty_net)
    arg_add(a, "--empty-ns=net");
  arg_add(a, "--manage-cgroups=%s", o->manage_cgroups_mode ? o->manage_cgroups_mode : "soft");
}

/* The first "Error (...)" line of what criu wrote (the cause; later ones
 * tell what gave up because of it); *generic is set when it is only
 * "Dumping FAILED." or the like. */
static char *
first_error(FILE *f, bool *generic)
{
  cleanup_free char *line = NULL;
  char *found = NULL;
  size_t cap = 0;
  ssize_t n;

  *generic = false;
  while (f && (n = getline(&line, &cap, f)) > 0)
    if (strstr(line, "Error (") != NULL)
      {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
          line[--n] = '\0';
        if (found == NULL || *generic)
          {
            free(found);
            found = xstrdup(strstr(line, "Error ("));
            *generic = strstr(line, "FAILED.") != NULL;
          }
        if (!*generic)
          break;
      }
  return found;
}

/* criu's log, else what it wrote on stderr before its log was open (an
 * option it refused, an image directory it could not open). */
static char *
criu_error(const char *log_path, const char *errtext)
{
  cleanup_fclose FILE *log = fopen(log_path, "re");
  cleanup_fclose FILE *mem = errtext && errtext[0] ? fmemopen((void *)errtext, strlen(errtext), "r") : NULL;
  bool generic_log, generic_err;
  char *from_log = first_error(log, &generic_log);
  char *from_err = first_error(mem, &generic_err);

  if (from_log && (!generic_log || from_err == NULL))
    {
      free(from_err);
      return from_log;
    }
  free(from_log);
  return from_err;
}

static int
criu_failed(const char *what, int status, const char *log_path, const char *errtext, struct oci_error **err)
{
  cleanup_free char *line = criu_error(log_path, errtext);
  cleanup_free char *how = NULL;

  if (line)
    return oci_error_set(err, 0, "criu %s failed: %s (log file: %s)", what, line, log_path);
  if (WIFEXITED(status))
    how = xasprintf("exit status %d", WEXITSTATUS(status));
  else
    how = xasprintf("killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return oci_error_set(err, 0, "criu %s failed (%s; log file: %s)", what, how, log_path);
}

static int
wait_child(pid_t pid, int *status)
{
  while (waitpid(pid, status, 0) < 0)
    if (errno != EINTR)
      return -1;
  return 0;
}

static void
null_stdio(int from)
{
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

  for (int i = from; fd >= 0 && i < 3; i++)
    dup2(fd, i);
}

/* The image and work directories, made when missing (a container is often
 * checkpointed into the same directory again). */
static int
make_dir(const char *what, const char *path, struct oci_error **err)
{
  cleanup_free char *p = xstrdup(path);

  /* With its parents, as runc (a pre-dump chain is often DIR/1, DIR/2). */
  for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/'))
    {
      *s = '\0';
      if (mkdir(p, 0700) < 0 && errno != EEXIST)
        return oci_error_errno(err, "%s `%s`", what, path);
      *s = '/';
    }
  if (mkdir(path, 0700) < 0 && errno != EEXIST)
    return oci_error_errno(err, "%s `%s`", what, path);
  return 0;
}

static int
resolve_dirs(const struct rt_criu_opts *o, bool create, char **image, char **work, struct oci_error **err)
{
  const char *img = o->image_path ? o->image_path : "checkpoint";
  const char *wk = o->work_path ? o->work_path : img;

  if (create && (make_dir("image path", img, err) < 0 || make_dir("work path", wk, err) < 0))
    return -1;
  if (!create && o->work_path && make_dir("work path", wk, err) < 0)
    return -1;
  *image = realpath(img, NULL);
  if (*image == NULL)
    return oci_error_errno(err, "image path `%s`", img);
  *work = realpath(wk, NULL);
  if (*work == NULL)
    return oci_error_errno(err, "work path `%s`", wk);
  return 0;
}

/* ---- what the container is made of ---- */

static bool
is_dir_in(pid_t pid, const char *path)
{
  cleanup_free char *p = xasprintf("/proc/%d/root%s", (int)pid, path);
  struct stat st;

  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *const default_devices[]
    = { "/dev/null", "/dev/random", "/dev/full", "/dev/tty", "/dev/zero", "/dev/urandom" };

static const char *
ns_path(const struct oci_config *cfg, const char *type, bool *present)
{
  *present = false;
  for (size_t i = 0; cfg->linux_ && i < cfg->linux_->namespaces_len; i++)
    if (strcmp(cfg->linux_->namespaces[i].type, type) == 0)
      {
        *present = true;
        return cfg->linux_->namespaces[i].path;
      }
  return NULL;
}

/* Mounts whose source lies outside the container: criu records them by a
 * key (their destination, as runc) and restore maps each key to a source.
 * Device nodes and masked files count too: they may be host nodes bound in. */
static void
add_dump_externals(struct args *a, const struct oci_config *cfg, pid_t pid)
{
  const struct oci_linux *l = cfg->linux_;

  for (size_t i = 0; i < cfg->mounts_len; i++)
    if (cfg->mounts[i].destination && rt_mount_is_bind(&cfg->mounts[i]))
      arg_add(a, "--external=mnt[%s]:%s", cfg->mounts[i].destination, cfg->mounts[i].destination);
  for (size_t i = 0; l && i < l->masked_paths_len; i++)
    if (!is_dir_in(pid, l->masked_paths[i]))
      arg_add(a, "--external=mnt[%s]:/dev/null", l->masked_paths[i]);
  for (size_t i = 0; i < OCI_ARRAY_SIZE(default_devices); i++)
    arg_add(a, "--external=mnt[%s]:%s", default_devices[i], default_devices[i]);
  for (size_t i = 0; l && i < l->devices_len; i++)
    if (l->devices[i].path)
      arg_add(a, "--external=mnt[%s]:%s", l->devices[i].path, l->devices[i].path);
}

static void
add_restore_externals(struct args *a, const struct oci_config *cfg, const char *bundle)
{
  const struct oci_linux *l = cfg->linux_;

  for (size_t i = 0; i < cfg->mounts_len; i++)
    {
      const struct oci_mount *m = &cfg->mounts[i];
      if (m->destination == NULL || m->source == NULL || !rt_mount_is_bind(m))
        continue;
      if (m->source[0] == '/')
        arg_add(a, "--external=mnt[%s]:%s", m->destination, m->source);
      else
        arg_add(a, "--external=mnt[%s]:%s/%s", m->destination, bundle, m->source);
    }
  if (l && l->masked_paths_len)
    arg_add(a, "--external=mnt[/dev/null]:/dev/null");
  for (size_t i = 1; i < OCI_ARRAY_SIZE(default_devices); i++)
    arg_add(a, "--external=mnt[%s]:%s", default_devices[i], default_devices[i]);
  for (size_t i = 0; l && i < l->devices_len; i++)
    if (l->devices[i].path && strcmp(l->devices[i].path, "/dev/null") != 0)
      arg_add(a, "--external=mnt[%s]:%s", l->devices[i].path, l->devices[i].path);
}

/* A joined network namespace is not the container's to save: criu records
 * it as external (by inode) and restore is handed the bundle's one.  Other
 * joined namespaces criu can only join on restore (ipc, uts). */
static int
check_joined_namespaces(const struct oci_config *cfg, struct oci_error **err)
{
  static const char *const refused[] = { "pid", "mount", "user", "cgroup", "time" };
  bool present;

  for (size_t i = 0; i < OCI_ARRAY_SIZE(refused); i++)
    if (ns_path(cfg, refused[i], &present) != NULL)
      return oci_error_set(err, 0,
                           "not supported: checkpoint/restore of a container that joins an existing %s "
                           "namespace (linux.namespaces path)",
                           refused[i]);
  return 0;
}

static int
add_dump_netns(struct args *a, const struct oci_config *cfg, struct oci_error **err)
{
  bool present;
  const char *path = ns_path(cfg, "network", &present);
  struct stat st;

  if (path == NULL)
    return 0;
  if (stat(path, &st) < 0)
    return oci_error_errno(err, "network namespace `%s`", path);
  arg_add(a, "--external=net[%llu]:" NETNS_KEY, (unsigned long long)st.st_ino);
  return 0;
}

/* The cgroup v2 (or v1 freezer) directory of the container, for criu's
 * --freeze-cgroup; NULL when there is none to freeze with. */
static char *
freezer_dir(const char *cgroup_path)
{
  struct statfs sfs;
  char *dir;

  if (cgroup_path == NULL || strchr(cgroup_path, '\n') != NULL)
    return NULL;
  if (statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
    dir = xasprintf("/sys/fs/cgroup%s", cgroup_path);
  else
    dir = xasprintf("/sys/fs/cgroup/freezer%s", cgroup_path);
  if (access(dir, F_OK) == 0)
    return dir;
  free(dir);
  return NULL;
}

/* descriptors.json as runc writes it: what the init's fds 0-2 were
 * ("pipe:[123]", "/dev/null"), so that restore can hand over the new
 * caller's pipes in their place. */
static int
write_descriptors(const char *image, pid_t pid, struct oci_error **err)
{
  struct json_writer *w = json_writer_new(false);
  cleanup_free char *text = NULL, *path = xasprintf("%s/" DESCRIPTORS_FILE, image);
  cleanup_close int fd = -1;
  size_t len;

  json_write_array_begin(w);
  for (int i = 0; i < 3; i++)
    {
      cleanup_free char *link = xasprintf("/proc/%d/fd/%d", (int)pid, i);
      char target[PATH_MAX];
      ssize_t n = readlink(link, target, sizeof target - 1);

      target[n < 0 ? 0 : n] = '\0';
      json_write_string(w, target);
    }
  json_write_array_end(w);
  if (json_writer_finish(w, &text, &len, err) < 0)
    return -1;
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || oci_write_all(fd, text, len) < 0)
    return oci_error_errno(err, "writing `%s`", path);
  return 0;
}

static int
read_descriptors(const char *image, char ***out, struct oci_error **err)
{
  cleanup_free char *path = xasprintf("%s/" DESCRIPTORS_FILE, image);
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  cleanup_free char *text = NULL;
  struct json_value *v = NULL;
  size_t len = 0, cap = 0;
  char **fds;
  ssize_t got;

  if (fd < 0)
    return oci_error_errno(err, "image path: `%s`", path);
  do
    {
      if (cap - len < 4096)
        text = xrealloc(text, cap = cap * 2 + 4096);
      got = oci_read_all(fd, text + len, cap - len);
      if (got < 0)
        return oci_error_errno(err, "reading `%s`", path);
      len += (size_t)got;
    }
  while (got > 0);
  if (json_parse(DESCRIPTORS_FILE, text, len, &v, err) < 0)
    return -1;
  if (v->type != JSON_ARRAY)
    {
      json_value_free(v);
      return oci_error_set(err, 0, "%s: expected an array of strings", path);
    }
  fds = xcalloc(v->u.array.len + 1, sizeof *fds);
  for (size_t i = 0; i < v->u.array.len; i++)
    fds[i] = xstrdup(v->u.array.items[i]->type == JSON_STRING ? v->u.array.items[i]->u.string : "");
  json_value_free(v);
  *out = fds;
  return 0;
}

/* ---- checkpoint ---- */

static int
load_bundle_config(const char *bundle, struct oci_config **cfg, struct oci_error **err)
{
  cleanup_free char *path = xasprintf("%s/config.json", bundle);

  return oci_config_parse_file(path, cfg, err);
}

static int
run_dump(const struct rt_context *ctx, const char *criu, struct args *a, const char *what,
         const char *log_path, struct oci_error **err)
{
  char errtext[4096];
  size_t len = 0;
  int status, out[2];
  ssize_t n;
  pid_t pid;

  rt_debug(ctx, "checkpoint: running criu %s (log file %s)", what, log_path);
  if (pipe2(out, O_CLOEXEC) < 0)
    return oci_error_errno(err, "pipe");
  pid = fork();
  if (pid < 0)
    {
      close(out[0]);
      close(out[1]);
      return oci_error_errno(err, "fork");
    }
  if (pid == 0)
    {
      null_stdio(0);
      dup2(out[1], STDERR_FILENO);
      execv(criu, a->v);
      _exit(127);
    }
  close(out[1]);
  /* Until criu exits: it writes little there, and only before its log. */
  while ((n = read(out[0], errtext + len, sizeof errtext - 1 - len)) != 0)
    if (n > 0)
      len += (size_t)n;
    else if (errno != EINTR || len == sizeof errtext - 1)
      break;
  errtext[len] = '\0';
  close(out[0]);
  if (wait_child(pid, &status) < 0)
    return oci_error_errno(err, "waiting for criu");
  if (status != 0)
    return criu_failed(what, status, log_path, errtext, err);
  return 0;
}

/* `criu swrk` for a dump: the options in a configuration file. */
static int
run_dump_swrk(const struct rt_context *ctx, const char *criu, struct args *a, const char *image, pid_t tree,
              const char *conf, const char *log_path, struct oci_error **err)
{
  struct rt_criu_req req = {
    .type = RT_CRIU_DUMP,
    .pid = tree,
    .config_file = conf,
    .log_file = "dump.log",
    .log_level = 4,
    .orphan_pts_master = true,
  };
  struct rt_criu_resp resp = { 0 };
  cleanup_close int images = -1;
  int sk[2], status = 0, r;
  pid_t pid;

  /* argv[0] and the action are not options. */
  if (rt_criu_write_config(conf, a->v + 2) < 0)
    return oci_error_errno(err, "writing criu's configuration file `%s`", conf);
  images = open(image, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (images < 0)
    return oci_error_errno(err, "image path `%s`", image);
  req.images_dir_fd = images;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sk) < 0)
    return oci_error_errno(err, "socketpair");
  rt_debug(ctx, "checkpoint: running criu swrk (log file %s)", log_path);
  pid = fork();
  if (pid == 0)
    {
      char fd[16];
      char *argv[] = { (char *)criu, (char *)"swrk", fd, NULL };

      snprintf(fd, sizeof fd, "%d", sk[1]);
      null_stdio(0);
      if (fcntl(sk[1], F_SETFD, 0) == 0)
        execv(criu, argv);
      _exit(127);
    }
  close(sk[1]);
  if (pid < 0)
    {
      close(sk[0]);
      (void)unlink(conf);
      return oci_error_errno(err, "fork");
    }
  r = rt_criu_rpc(sk[0], &req, NULL, NULL, &resp, err);
  close(sk[0]);
  if (wait_child(pid, &status) < 0 && r == 0)
    r = oci_error_errno(err, "waiting for criu");
  if (r == 0 && !resp.success)
    r = criu_failed("dump", status ? status : 1 << 8, log_path, resp.errmsg, err);
  rt_criu_resp_clear(&resp);
  (void)unlink(conf);
  return r;
}

static int
check_parent_path(const char *image, const char *parent, struct oci_error **err)
{
  cleanup_free char *full = NULL;
  struct stat st;

  if (parent[0] == '/')
    return oci_error_set(err, 0, "--parent-path must be relative");
  full = xasprintf("%s/%s", image, parent);
  if (stat(full, &st) < 0 || !S_ISDIR(st.st_mode))
    return oci_error_set(err, 0, "--parent-path `%s`: no such directory in the image path", parent);
  return 0;
}

static int
checkpoint_locked(const struct rt_context *ctx, const char *id, const char *criu, int dirfd,
                  const struct rt_criu_opts *o, struct oci_error **err)
{
  cleanup_rt_state struct rt_state *st = NULL;
  cleanup_config struct oci_config *cfg = NULL;
  cleanup_free char *image = NULL, *work = NULL, *log_path = NULL, *freezer = NULL;
  struct args a = { 0 };
  const char *what = o->pre_dump ? "pre-dump" : "dump";
  enum rt_status status;
  int r = -1;

  if (rt_state_load(dirfd, id, &st, err) < 0)
    return -1;
  status = rt_state_status(dirfd, st);
  if (status != RT_STATUS_RUNNING && status != RT_STATUS_PAUSED)
    return oci_error_set(err, 0, "container cannot be checkpointed in %s state", rt_status_name(status));
  if (load_bundle_config(st->bundle, &cfg, err) < 0 || check_joined_namespaces(cfg, err) < 0)
    return -1;
  if (resolve_dirs(o, true, &image, &work, err) < 0)
    return -1;
  if (o->parent_path && check_parent_path(image, o->parent_path, err) < 0)
    return -1;
  log_path = xasprintf("%s/dump.log", work);
  (void)unlink(log_path);

  arg_add(&a, "%s", criu);
  arg_add(&a, "%s", what);
  arg_add(&a, "--tree=%d", (int)st->pid);
  add_common(&a, o, image, work, "dump.log");
  arg_add(&a, "--root=%s", st->rootfs);
  if (o->leave_running && !o->pre_dump)
    arg_add(&a, "--leave-running");
  if (o->pre_dump)
    arg_add(&a, "--track-mem");
  if (o->parent_path)
    {
      arg_add(&a, "--prev-images-dir=%s", o->parent_path);
      arg_add(&a, "--track-mem");
    }
  freezer = freezer_dir(st->cgroup_path);
  if (freezer)
    arg_add(&a, "--freeze-cgroup=%s", freezer);
  if (add_dump_netns(&a, cfg, err) < 0)
    goto out;
  if (!o->pre_dump)
    {
      add_dump_externals(&a, cfg, st->pid);
      if (write_descriptors(image, st->pid, err) < 0)
        goto out;
    }
  /* The pty master of a terminal container is outside the tree (with the
   * console socket's receiver): criu dumps the slave alone only with
   * orphan-pts-master, as runc asks.  (A pre-dump saves no files.) */
  if (!o->pre_dump && cfg->process && cfg->process->terminal)
    {
      cleanup_free char *conf = xasprintf("%s/%s/criu.conf", ctx->root, id);
      r = run_dump_swrk(ctx, criu, &a, image, st->pid, conf, log_path, err);
    }
  else
    r = run_dump(ctx, criu, &a, what, log_path, err);
out:
  args_clear(&a);
  return r;
}

int
rt_container_checkpoint(const struct rt_context *ctx, const char *id, const struct rt_criu_opts *opts,
                        struct oci_error **err)
{
  cleanup_free char *criu = find_criu();
  cleanup_close int dirfd = -1;

  if (criu == NULL)
    return oci_error_set(err, 0, "checkpoint: criu not found");
  if (rt_state_open(ctx->root, id, &dirfd, err) < 0)
    return -1;
  if (checkpoint_locked(ctx, id, criu, dirfd, opts, err) < 0)
    return oci_error_wrap(err, "checkpoint");
  /* criu killed the tree; runc then destroys the container (cgroup, state,
   * poststop hooks) so that its id can be restored. */
  if (opts->leave_running || opts->pre_dump)
    return 0;
  close(steal_fd(&dirfd));
  return rt_container_delete(ctx, id, true, err);
}

/* ---- restore ---- */

/* Mount points criu will mount on: present in the rootfs as create would
 * make them (a rootfs copied to another host may lack them), except under
 * a tmpfs, whose content criu restores. */
static void
make_mount_points(const struct oci_config *cfg, const char *rootfs)
{
  for (size_t i = 0; i < cfg->mounts_len; i++)
    {
      const struct oci_mount *m = &cfg->mounts[i];
      cleanup_free char *dest = NULL;
      bool under_tmpfs = false;
      struct stat st;

      if (m->destination == NULL || m->destination[0] != '/')
        continue;
      for (size_t j = 0; j < cfg->mounts_len && !under_tmpfs; j++)
        {
          const struct oci_mount *t = &cfg->mounts[j];
          size_t n = t->destination ? strlen(t->destination) : 0;
          under_tmpfs = t->type && strcmp(t->type, "tmpfs") == 0 && n && j != i
                        && strncmp(m->destination, t->destination, n) == 0 && m->destination[n] == '/';
        }
      dest = xasprintf("%s%s", rootfs, m->destination);
      if (under_tmpfs || lstat(dest, &st) == 0)
        continue;
      if (rt_mount_is_bind(m) && m->source && stat(m->source, &st) == 0 && !S_ISDIR(st.st_mode))
        {
          int fd = open(dest, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
          if (fd >= 0)
            close(fd);
        }
      else
        {
          for (char *p = dest + strlen(rootfs) + 1; (p = strchr(p, '/')); *p++ = '/')
            {
              *p = '\0';
              (void)mkdir(dest, 0755);
            }
          (void)mkdir(dest, 0755);
        }
    }
}

/* v1 hierarchies: criu restores the tree under the cgroups we entered
 * (runc's CgRoot); on v2 the cgroup criu runs in is the root already. */
static void
add_cgroup_roots(struct args *a)
{
  cleanup_fclose FILE *f = fopen("/proc/self/cgroup", "re");
  cleanup_free char *line = NULL;
  size_t cap = 0;
  ssize_t n;

  while (f && (n = getline(&line, &cap, f)) > 0)
    {
      char *ctrls = strchr(line, ':'), *path, *save = NULL;

      if (line[n - 1] == '\n')
        line[n - 1] = '\0';
      if (ctrls == NULL || (path = strchr(++ctrls, ':')) == NULL)
        continue;
      *path++ = '\0';
      for (char *c = strtok_r(ctrls, ",", &save); c; c = strtok_r(NULL, ",", &save))
        arg_add(a, "--cgroup-root=%s:%s", c, path);
    }
}

struct restore_child
{
  const char *criu;
  struct args *args;
  struct rt_restore_job *job; /* its cgroup: entered before exec */
  const char *rootfs;
  const char *criu_root;   /* where the rootfs is bound for criu's --root */
  int report;              /* pipe: why the child failed before exec */
  int go;                  /* pipe: a byte once the child is in the cgroup */
  const sigset_t *sigmask; /* the caller's: a foreground restore blocks signals */
  int swrk_sock;           /* >= 0: run `criu swrk` on this socket */
  const char *swrk_config; /* and write the options there */
};

static void __attribute__((noreturn)) child_fail(const struct restore_child *c, const char *what)
{
  cleanup_free char *msg = xasprintf("%s: %s", what, strerror(errno));

  (void)oci_write_all(c->report, msg, strlen(msg));
  _exit(126);
}

/* In the child: criu runs in the container's cgroup (the restored tree is
 * born there; the parent puts it there, systemd's unit may have to be
 * started with it) and in a mount namespace of its own, where the rootfs is
 * bound on a fresh directory (criu's root must be a mount point whose
 * parent is not overmounted); nothing of it reaches the host's. */
static void __attribute__((noreturn)) restore_child(const struct restore_child *c)
{
  char go;

  if (oci_read_all(c->go, &go, 1) != 1)
    _exit(126); /* the parent failed, and says why */
  if (unshare(CLONE_NEWNS) < 0)
    child_fail(c, "unshare(CLONE_NEWNS)");
  if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
    child_fail(c, "making / a slave mount");
  if (mount(c->rootfs, c->criu_root, NULL, MS_BIND | MS_REC, NULL) < 0)
    child_fail(c, "binding the rootfs for criu");
  add_cgroup_roots(c->args);
  if (c->sigmask)
    sigprocmask(SIG_SETMASK, c->sigmask, NULL);
  if (c->swrk_sock >= 0)
    {
      char fd[16];
      char *argv[] = { (char *)c->criu, (char *)"swrk", fd, NULL };

      snprintf(fd, sizeof fd, "%d", c->swrk_sock);
      /* What criu says before its log is open comes back in its answer. */
      null_stdio(0);
      /* argv[0] and the action are not options. */
      if (rt_criu_write_config(c->swrk_config, c->args->v + 2) < 0)
        child_fail(c, "writing criu's configuration file");
      if (fcntl(c->swrk_sock, F_SETFD, 0) < 0)
        child_fail(c, "passing criu its socket");
      execv(c->criu, argv);
    }
  else
    execv(c->criu, c->args->v);
  child_fail(c, "executing criu");
}

/* Fork the child that becomes criu: 0 once it has executed criu (*pid),
 * -1 with why it could not. */
static int
spawn_criu(struct restore_child *c, pid_t *pid, struct oci_error **err)
{
  int report[2], go[2], status;
  char why[512];
  ssize_t n;

  if (pipe2(report, O_CLOEXEC) < 0)
    return oci_error_errno(err, "pipe");
  if (pipe2(go, O_CLOEXEC) < 0)
    {
      close(report[0]);
      close(report[1]);
      return oci_error_errno(err, "pipe");
    }
  *pid = fork();
  if (*pid < 0)
    {
      close(report[0]);
      close(report[1]);
      close(go[0]);
      close(go[1]);
      return oci_error_errno(err, "fork");
    }
  if (*pid == 0)
    {
      close(report[0]);
      close(go[1]);
      c->report = report[1];
      c->go = go[0];
      restore_child(c);
    }
  close(report[1]);
  close(go[0]);
  if (rt_restore_start_cgroup(c->job, *pid, err) < 0 || oci_write_all(go[1], "x", 1) < 0)
    {
      close(go[1]);
      close(report[0]);
      (void)wait_child(*pid, &status);
      return (*err) ? -1 : oci_error_errno(err, "starting criu");
    }
  close(go[1]);
  n = oci_read_all(report[0], why, sizeof why - 1);
  close(report[0]);
  if (n <= 0)
    return 0;
  why[n] = '\0';
  (void)wait_child(*pid, &status);
  return oci_error_set(err, 0, "preparing criu: %s", why);
}

/* Run criu restore; the restored init's pid from its --pidfile. */
static int
run_restore(const struct rt_context *ctx, struct restore_child *c, const char *pidfile, const char *log_path,
            pid_t *init, struct oci_error **err)
{
  char text[32];
  int status;
  ssize_t n;
  pid_t pid;

  rt_debug(ctx, "restore: running criu restore (log file %s)", log_path);
  if (spawn_criu(c, &pid, err) < 0)
    return -1;
  if (wait_child(pid, &status) < 0)
    return oci_error_errno(err, "waiting for criu");
  if (status != 0)
    return criu_failed("restore", status, log_path, NULL, err);
  {
    cleanup_close int fd = open(pidfile, O_RDONLY | O_CLOEXEC);
    n = fd < 0 ? -1 : oci_read_all(fd, text, sizeof text - 1);
  }
  if (n <= 0)
    return oci_error_errno(err, "reading criu's pid file `%s`", pidfile);
  text[n] = '\0';
  *init = (pid_t)strtol(text, NULL, 10);
  if (*init <= 0)
    return oci_error_set(err, 0, "criu's pid file `%s`: no pid", pidfile);
  return 0;
}

/* The notifications of a terminal container's restore: criu made a new pty
 * for the restored slave, and its master goes where create sends one: to
 * --console-socket, or, in the foreground without one, to us (`master`),
 * to be relayed to the caller's terminal as `run` does. */
struct pty_handoff
{
  const char *console_socket;
  int master;
  struct oci_error *err;
};

static bool
on_criu_notify(const char *script, int fd, void *data)
{
  struct pty_handoff *h = data;
  int r;

  if (strcmp(script, "orphan-pts-master") != 0)
    {
      if (fd >= 0)
        close(fd);
      return true;
    }
  if (fd < 0)
    return oci_error_set(&h->err, 0, "criu's orphan-pts-master notification came without the master") == 0;
  if (h->console_socket == NULL && h->master < 0)
    {
      h->master = fd;
      return true;
    }
  r = h->console_socket ? rt_console_socket_send(h->console_socket, fd, &h->err)
                        : oci_error_set(&h->err, 0, "criu sent a second pty master");
  close(fd);
  return r == 0;
}

/* Run `criu swrk` for a restore whose pty master must come back to us: it
 * goes to `console_socket`, or without one into *master. */
static int
run_restore_swrk(const struct rt_context *ctx, struct restore_child *c, const char *image,
                 const char *console_socket, const char *log_path, pid_t *init, int *master,
                 struct oci_error **err)
{
  struct pty_handoff h = { .console_socket = console_socket, .master = -1 };
  struct rt_criu_req req = {
    .type = RT_CRIU_RESTORE,
    .config_file = c->swrk_config,
    .log_file = "restore.log",
    .log_level = 4,
    .orphan_pts_master = true,
  };
  struct rt_criu_resp resp = { 0 };
  cleanup_close int images = -1;
  int sk[2], status = 0, r;
  pid_t pid;

  images = open(image, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (images < 0)
    return oci_error_errno(err, "image path `%s`", image);
  req.images_dir_fd = images; /* criu opens it through our /proc/PID/fd */
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sk) < 0)
    return oci_error_errno(err, "socketpair");
  rt_debug(ctx, "restore: running criu swrk (log file %s)", log_path);
  c->swrk_sock = sk[1];
  r = spawn_criu(c, &pid, err);
  close(sk[1]);
  if (r < 0)
    {
      close(sk[0]);
      return -1;
    }
  r = rt_criu_rpc(sk[0], &req, on_criu_notify, &h, &resp, err);
  close(sk[0]);
  if (wait_child(pid, &status) < 0 && r == 0)
    r = oci_error_errno(err, "waiting for criu");
  if (r == 0 && h.err)
    {
      *err = h.err;
      h.err = NULL;
      r = -1;
    }
  else if (r == 0 && !resp.success)
    r = criu_failed("restore", status ? status : 1 << 8, log_path, resp.errmsg, err);
  else if (r == 0 && console_socket == NULL && h.master < 0)
    r = oci_error_set(err, 0, "criu restored a terminal container without sending its pty master");
  else if (r == 0)
    *init = resp.pid;
  if (r == 0)
    *master = h.master;
  else if (h.master >= 0)
    close(h.master);
  oci_error_free(h.err);
  rt_criu_resp_clear(&resp);
  return r;
}

static int
add_restore_namespaces(struct args *a, const struct oci_config *cfg, int *netns_fd, struct oci_error **err)
{
  static const char *const joinable[][2] = { { "ipc", "ipc" }, { "uts", "uts" } };
  bool present;
  const char *path = ns_path(cfg, "network", &present);

  if (path)
    {
      *netns_fd = open(path, O_RDONLY); /* inherited by criu */
      if (*netns_fd < 0)
        return oci_error_errno(err, "network namespace `%s`", path);
      arg_add(a, "--inherit-fd=fd[%d]:" NETNS_KEY, *netns_fd);
    }
  for (size_t i = 0; i < OCI_ARRAY_SIZE(joinable); i++)
    if ((path = ns_path(cfg, joinable[i][0], &present)) != NULL)
      arg_add(a, "--join-ns=%s:%s", joinable[i][1], path);
  return 0;
}

struct restore_run
{
  const struct rt_context *ctx;
  const char *id;
  const struct rt_restore_opts *opts;
  const char *criu;
  struct rt_restore_job *job;
  char *image, *work, *criu_root, *criu_config, *pidfile;
  char **fds;
  int netns_fd;
  int master; /* a foreground terminal restore's pty, relayed to the caller */
  pid_t init;
};

static int
restore_build_args(struct restore_run *r, struct args *a, const char *bundle, struct oci_error **err)
{
  const struct oci_config *cfg = rt_restore_config(r->job);

  arg_add(a, "%s", r->criu);
  arg_add(a, "restore");
  add_common(a, &r->opts->criu, r->image, r->work, "restore.log");
  arg_add(a, "--root=%s", r->criu_root);
  arg_add(a, "--restore-detached");
  /* The init becomes our child: we wait for it in the foreground, and with
   * --detach it goes to the caller's subreaper as a created init does. */
  arg_add(a, "--restore-sibling");
  arg_add(a, "--pidfile=%s", r->pidfile);
  arg_add(a, "--evasive-devices");
  add_restore_externals(a, cfg, bundle);
  for (size_t i = 0; r->fds[i] && i < 3; i++)
    if (strncmp(r->fds[i], "pipe:", 5) == 0)
      arg_add(a, "--inherit-fd=fd[%zu]:%s", i, r->fds[i]);
  return add_restore_namespaces(a, cfg, &r->netns_fd, err);
}

static int
restore_steps(struct restore_run *r, const sigset_t *sigmask, struct oci_error **err)
{
  const struct rt_restore_opts *o = r->opts;
  const struct oci_config *cfg;
  cleanup_free char *bundle = NULL, *log_path = NULL;
  struct restore_child child = { 0 };
  struct args a = { 0 };
  int ret;

  if (resolve_dirs(&o->criu, false, &r->image, &r->work, err) < 0
      || read_descriptors(r->image, &r->fds, err) < 0)
    return -1;
  if (rt_restore_prepare(r->ctx, r->id, &o->create, !o->detach, &r->job, err) < 0)
    return -1;
  cfg = rt_restore_config(r->job);
  if (check_joined_namespaces(cfg, err) < 0)
    return -1;
  bundle = realpath(o->create.bundle ? o->create.bundle : ".", NULL);
  if (bundle == NULL)
    return oci_error_errno(err, "bundle");
  /* Absolute: criu resolves --root itself. */
  if (r->ctx->root[0] == '/')
    r->criu_root = xasprintf("%s/%s/criu-root", r->ctx->root, r->id);
  else
    {
      cleanup_free char *cwd = getcwd(NULL, 0);
      if (cwd == NULL)
        return oci_error_errno(err, "getcwd");
      r->criu_root = xasprintf("%s/%s/%s/criu-root", cwd, r->ctx->root, r->id);
    }
  if (mkdir(r->criu_root, 0755) < 0)
    return oci_error_errno(err, "creating `%s`", r->criu_root);
  /* Beside it: the state directory goes with a failed restore. */
  r->criu_config
      = xasprintf("%.*s/criu.conf", (int)(strlen(r->criu_root) - strlen("/criu-root")), r->criu_root);
  r->pidfile = xasprintf("%s/restore.pid", r->work);
  (void)unlink(r->pidfile);
  log_path = xasprintf("%s/restore.log", r->work);
  (void)unlink(log_path);
  make_mount_points(cfg, rt_restore_rootfs(r->job));

  ret = restore_build_args(r, &a, bundle, err);
  if (ret == 0)
    {
      child = (struct restore_child){
        .criu = r->criu,
        .args = &a,
        .job = r->job,
        .rootfs = rt_restore_rootfs(r->job),
        .criu_root = r->criu_root,
        .sigmask = sigmask,
        .swrk_sock = -1,
        .swrk_config = r->criu_config,
      };
      if (cfg->process->terminal)
        ret = run_restore_swrk(r->ctx, &child, r->image, o->create.console_socket, log_path, &r->init,
                               &r->master, err);
      else
        ret = run_restore(r->ctx, &child, r->pidfile, log_path, &r->init, err);
      (void)unlink(r->criu_config);
    }
  args_clear(&a);
  if (ret < 0)
    return -1;
  (void)unlink(r->pidfile);
  rt_debug(r->ctx, "restore: criu restored the init as pid %d", (int)r->init);
  return rt_restore_commit(r->job, r->init, err);
}

static void
restore_run_clear(struct restore_run *r)
{
  if (r->netns_fd >= 0)
    close(r->netns_fd);
  if (r->master >= 0)
    close(r->master);
  free(r->image);
  free(r->work);
  free(r->criu_root);
  free(r->criu_config);
  free(r->pidfile);
  cleanup_strvp(&r->fds);
}

/* As a foreground `run`: the caller's signals go to the init, a terminal
 * container's pty (`master`, or -1) is relayed to the caller's stdio, and
 * the init's end is our exit status. */
static int
restore_foreground(const struct rt_context *ctx, const char *id, pid_t init, int master, int sigfd,
                   int *exit_status, struct oci_error **err)
{
  struct rt_foreground w = { .pid = init };
  cleanup_error struct oci_error *ignored = NULL;
  int r = rt_foreground_wait(&w, sigfd, master, err);

  if (r < 0 && !w.exited)
    rt_process_kill_and_reap(init);
  if (rt_container_delete(ctx, id, true, r < 0 ? &ignored : err) < 0 && r == 0)
    return -1;
  if (r == 0)
    *exit_status = rt_foreground_exit_code(&w);
  return r;
}

int
rt_container_restore(const struct rt_context *ctx, const char *id, const struct rt_restore_opts *opts,
                     int *exit_status, struct oci_error **err)
{
  cleanup_free char *criu = find_criu();
  cleanup_close int sigfd = -1;
  struct restore_run r = { .ctx = ctx, .id = id, .opts = opts, .netns_fd = -1, .master = -1 };
  sigset_t old;
  int ret;

  *exit_status = 0;
  if (criu == NULL)
    return oci_error_set(err, 0, "restore: criu not found");
  r.criu = criu;
  if (!opts->detach && rt_foreground_begin(&sigfd, &old, err) < 0)
    return -1;
  ret = restore_steps(&r, opts->detach ? NULL : &old, err);
  /* criu-root first: the rollback removes the state directory. */
  if (r.criu_root)
    (void)rmdir(r.criu_root);
  rt_restore_finish(r.job, ret == 0);
  if (ret < 0)
    oci_error_wrap(err, "restore");
  else if (!opts->detach)
    ret = restore_foreground(ctx, id, r.init, r.master, sigfd, exit_status, err);
  restore_run_clear(&r);
  if (!opts->detach)
    rt_foreground_end(&old);
  return ret;
}
