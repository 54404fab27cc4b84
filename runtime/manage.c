#include <config.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "spec/json.h"
#include "spec/util.h"
#include "cgroups.h"
#include "manage.h"

/* The container locked, its state loaded and its cgroup opened. */
struct opened
{
  int dirfd;
  struct rt_state *st;
  struct rt_cgroup *cg;
  enum rt_status status;
};

static void
opened_clear(struct opened *o)
{
  if (o->dirfd >= 0)
    close(o->dirfd);
  rt_state_free(o->st);
  rt_cgroup_free(o->cg);
}
#define cleanup_opened __attribute__((cleanup(opened_clear)))

static int
open_container(const struct rt_context *ctx, const char *id, const char *what, struct opened *o,
               struct oci_error **err)
{
  *o = (struct opened){ .dirfd = -1 };
  if (rt_state_open(ctx->root, id, &o->dirfd, err) < 0 || rt_state_load(o->dirfd, id, &o->st, err) < 0)
    return -1;
  o->status = rt_state_status(o->dirfd, o->st);
  if (o->st->cgroup_path == NULL)
    return oci_error_set(err, 0, "not supported: %s of container `%s`, which has no cgroup", what, id);
  if (rt_cgroup_open(o->st->cgroup_path, &o->cg, err) < 0)
    return -1;
  rt_cgroup_set_log(o->cg, ctx);
  return 0;
}

static int
compare_pids(const void *a, const void *b)
{
  pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

  return (x > y) - (x < y);
}

int
rt_container_pids(const struct rt_context *ctx, const char *id, pid_t **pids, size_t *n,
                  struct oci_error **err)
{
  cleanup_opened struct opened o;

  if (open_container(ctx, id, "ps", &o, err) < 0)
    return -1;
  if (rt_cgroup_pids(o.cg, pids, n, err) < 0)
    {
      /* A stopped container's cgroup may already be gone: nothing runs. */
      if (o.status != RT_STATUS_STOPPED)
        return -1;
      oci_error_free(*err);
      *err = NULL;
      *pids = NULL;
      *n = 0;
      return 0;
    }
  qsort(*pids, *n, sizeof **pids, compare_pids);
  return 0;
}

int
rt_container_pause(const struct rt_context *ctx, const char *id, struct oci_error **err)
{
  cleanup_opened struct opened o;
  cleanup_close int fd = -1;

  if (open_container(ctx, id, "pause", &o, err) < 0)
    return -1;
  if (o.status == RT_STATUS_PAUSED)
    return oci_error_set(err, 0, "container not running (already paused)");
  if (o.status != RT_STATUS_RUNNING && o.status != RT_STATUS_CREATED)
    return oci_error_set(err, 0, "container not running");
  /* The marker first: a pause interrupted after freezing still shows. */
  fd = openat(o.dirfd, RT_PAUSED_FILE, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return oci_error_errno(err, "recording the pause");
  if (rt_cgroup_freeze(o.cg, true, err) < 0)
    {
      (void)unlinkat(o.dirfd, RT_PAUSED_FILE, 0);
      return oci_error_wrap(err, "pausing container `%s`", id);
    }
  return 0;
}

int
rt_container_resume(const struct rt_context *ctx, const char *id, struct oci_error **err)
{
  cleanup_opened struct opened o;

  if (open_container(ctx, id, "resume", &o, err) < 0)
    return -1;
  if (o.status != RT_STATUS_PAUSED)
    return oci_error_set(err, 0, "container not paused");
  if (rt_cgroup_freeze(o.cg, false, err) < 0)
    return oci_error_wrap(err, "resuming container `%s`", id);
  if (unlinkat(o.dirfd, RT_PAUSED_FILE, 0) < 0 && errno != ENOENT)
    return oci_error_errno(err, "removing the pause record");
  return 0;
}

int
rt_container_update(const struct rt_context *ctx, const char *id, const struct oci_resources *res,
                    struct oci_error **err)
{
  cleanup_opened struct opened o;

  if (open_container(ctx, id, "update", &o, err) < 0)
    return -1;
  if (o.status == RT_STATUS_STOPPED)
    return oci_error_set(err, 0, "container not running");
  if (rt_cgroup_apply(o.cg, res, err) < 0)
    return oci_error_wrap(err, "updating container `%s`", id);
  return 0;
}

int
rt_container_oom_kills(const struct rt_context *ctx, const char *id, uint64_t *count, int *watch_fd,
                       struct oci_error **err)
{
  cleanup_opened struct opened o;

  if (open_container(ctx, id, "events", &o, err) < 0)
    return -1;
  /* No memory controller (or a cgroup gone with its container): no kills
   * to report. */
  if (!rt_cgroup_oom_kills(o.cg, count))
    *count = 0;
  if (watch_fd)
    *watch_fd = rt_cgroup_oom_watch(o.cg);
  return 0;
}

int
rt_container_kill_paused(const struct rt_state *st, struct oci_error **err)
{
  cleanup_cgroup struct rt_cgroup *cg = NULL;
  cleanup_free pid_t *pids = NULL;
  size_t n = 0;

  if (st->cgroup_path == NULL)
    return 0;
  if (rt_cgroup_open(st->cgroup_path, &cg, err) < 0 || rt_cgroup_pids(cg, &pids, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    kill(pids[i], SIGKILL);
  return rt_cgroup_freeze(cg, false, err);
}

int
rt_container_thaw(const struct rt_state *st, struct oci_error **err)
{
  cleanup_cgroup struct rt_cgroup *cg = NULL;

  if (st->cgroup_path == NULL)
    return 0;
  if (rt_cgroup_open(st->cgroup_path, &cg, err) < 0)
    return -1;
  return rt_cgroup_freeze(cg, false, err);
}

int
rt_container_stats(const struct rt_context *ctx, const char *id, char **json, size_t *len, bool *stopped,
                   struct oci_error **err)
{
  cleanup_opened struct opened o;
  struct json_writer *w;
  int r;

  *stopped = false;
  if (open_container(ctx, id, "events", &o, err) < 0)
    return -1;
  if (o.status == RT_STATUS_STOPPED)
    {
      *stopped = true;
      return oci_error_set(err, 0, "container not running");
    }
  w = json_writer_new(false);
  json_write_object_begin(w);
  json_write_key(w, "type");
  json_write_string(w, "stats");
  json_write_key(w, "id");
  json_write_string(w, id);
  json_write_key(w, "data");
  rt_cgroup_write_stats(o.cg, w);
  json_write_object_end(w);
  r = json_writer_finish(w, json, len, err);
  json_writer_free(w);
  return r;
}
