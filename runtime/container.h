/* The container lifecycle: create, start, state, kill, delete, run, list,
 * and the two bundle-level commands spec and features. */
#ifndef RT_CONTAINER_H
#define RT_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "spec/state.h"
#include "context.h"
#include "error.h"

struct rt_create_opts
{
  const char *bundle; /* NULL: the current directory */
  const char *pid_file;
  const char *console_socket;
  bool no_pivot;
  bool no_new_keyring;
  int preserve_fds;
};

int rt_container_create(const struct rt_context *ctx, const char *id, const struct rt_create_opts *opts,
                        struct oci_error **err);
int rt_container_start(const struct rt_context *ctx, const char *id, struct oci_error **err);
int rt_container_state(const struct rt_context *ctx, const char *id, struct oci_state **out,
                       struct oci_error **err);
int rt_container_kill(const struct rt_context *ctx, const char *id, int signo, bool all,
                      struct oci_error **err);
int rt_container_delete(const struct rt_context *ctx, const char *id, bool force, struct oci_error **err);
/* What `run` does besides create and start. */
struct rt_run_opts
{
  bool detach; /* return once started */
  bool keep;   /* in the foreground: leave the stopped container, not delete it */
};

/* Foreground unless `run->detach`: *exit_status is the container's status,
 * or 128+signal when it was killed. */
int rt_container_run(const struct rt_context *ctx, const char *id, const struct rt_create_opts *opts,
                     const struct rt_run_opts *run, int *exit_status, struct oci_error **err);
/* Every container under the root, sorted by id. */
int rt_container_list(const struct rt_context *ctx, struct oci_state ***states, size_t *n,
                      struct oci_error **err);
void rt_container_list_free(struct oci_state **states, size_t n);

/* The pid file as runc writes it: decimal, no newline, atomically (a
 * temporary `.name` renamed into place). */
int rt_write_pid_file(const char *path, pid_t pid, struct oci_error **err);

/* Write <bundle>/config.json with the default configuration. */
int rt_spec_write(const char *bundle, bool rootless, struct oci_error **err);

/* `restore` (checkpoint.c) reuses create's pieces: prepare loads and checks
 * the bundle's config, makes the state directory and plans the cgroup but
 * starts no init; start_cgroup puts criu's process `pid` in the cgroup (with
 * --systemd-cgroup: starts the unit with it, as runc does with criu's) and
 * applies the limits, so that the restored tree is born there; commit
 * records criu's restored init as the container's (state.json, --pid-file);
 * finish frees, and unless `ok` undoes everything (the init, if committed,
 * is killed and reaped).  `keep_master`: a foreground restore, which relays
 * a terminal container's pty itself (as `run` does), so needs no
 * --console-socket. */
struct rt_restore_job;
struct rt_cgroup;
struct oci_config;
int rt_restore_prepare(const struct rt_context *ctx, const char *id, const struct rt_create_opts *opts,
                       bool keep_master, struct rt_restore_job **out, struct oci_error **err);
const struct oci_config *rt_restore_config(const struct rt_restore_job *r);
const char *rt_restore_rootfs(const struct rt_restore_job *r);
int rt_restore_start_cgroup(struct rt_restore_job *r, pid_t pid, struct oci_error **err);
int rt_restore_dirfd(const struct rt_restore_job *r);
int rt_restore_commit(struct rt_restore_job *r, pid_t init, struct oci_error **err);
void rt_restore_finish(struct rt_restore_job *r, bool ok);

#endif
