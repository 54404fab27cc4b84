/* Commands on an existing container that go through its cgroup: ps,
 * pause, resume, update and the stats of `events`. */
#ifndef RT_MANAGE_H
#define RT_MANAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci-config.h"
#include "context.h"
#include "error.h"
#include "state.h"

/* Host pids of every process in the container's cgroup, sorted. */
int rt_container_pids(const struct rt_context *ctx, const char *id, pid_t **pids, size_t *n,
                      struct oci_error **err);
/* Freeze a created or running container ("container not running"
 * otherwise); resume thaws a paused one ("container not paused"). */
int rt_container_pause(const struct rt_context *ctx, const char *id, struct oci_error **err);
int rt_container_resume(const struct rt_context *ctx, const char *id, struct oci_error **err);
/* Apply new limits to a container that is not stopped. */
int rt_container_update(const struct rt_context *ctx, const char *id, const struct oci_resources *res,
                        struct oci_error **err);

/* One `events --stats` record, newline-free JSON:
 * {"type":"stats","id":ID,"data":{cpu,memory,pids,blkio}}.  A stopped
 * container is "container not running" (*stopped set, for `events`). */
int rt_container_stats(const struct rt_context *ctx, const char *id, char **json, size_t *len, bool *stopped,
                       struct oci_error **err);
/* For `events`: how many processes of the container the OOM killer has
 * killed so far and, with watch_fd, a descriptor that becomes readable when
 * that may have changed (-1 where the kernel offers none: poll). */
int rt_container_oom_kills(const struct rt_context *ctx, const char *id, uint64_t *count, int *watch_fd,
                           struct oci_error **err);

/* `delete --force` of a paused container: SIGKILL everything in the cgroup,
 * then thaw it so that the signals are delivered (a v1 freezer holds even
 * SIGKILL). */
int rt_container_kill_paused(const struct rt_state *st, struct oci_error **err);
/* Thaw the cgroup of `st` (kill SIGKILL of a paused container). */
int rt_container_thaw(const struct rt_state *st, struct oci_error **err);

#endif
