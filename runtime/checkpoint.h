/* `checkpoint` and `restore`: a running container's process tree saved to
 * image files by criu(8), and a container made anew from its bundle with
 * that tree restored into it, with runc's command lines and image layout
 * (criu images plus descriptors.json), as containerd and podman use them. */
#ifndef RT_CHECKPOINT_H
#define RT_CHECKPOINT_H

#include <stdbool.h>

#include "container.h"
#include "context.h"
#include "error.h"

/* The options checkpoint and restore share (runc's names). */
struct rt_criu_opts
{
  const char *image_path;  /* NULL: ./checkpoint */
  const char *work_path;   /* criu's logs; NULL: the image path */
  const char *parent_path; /* checkpoint: a pre-dump, relative to image_path */
  bool leave_running;
  bool tcp_established;
  bool ext_unix_sk;
  bool shell_job;
  bool file_locks;
  bool pre_dump;
  bool auto_dedup;
  bool empty_net;                  /* --empty-ns network */
  const char *manage_cgroups_mode; /* soft|full|strict|ignore; NULL: soft */
};

int rt_container_checkpoint(const struct rt_context *ctx, const char *id, const struct rt_criu_opts *opts,
                            struct oci_error **err);

struct rt_restore_opts
{
  struct rt_criu_opts criu;
  struct rt_create_opts create;
  bool detach;
};

/* Without `detach`, waits for the restored init as `run` does: *exit_status
 * is its status, and the container is deleted afterwards. */
int rt_container_restore(const struct rt_context *ctx, const char *id, const struct rt_restore_opts *opts,
                         int *exit_status, struct oci_error **err);

#endif
