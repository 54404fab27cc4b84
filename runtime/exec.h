/* `ocirt exec`: a new process in the namespaces, cgroup, root and seccomp
 * filter of a created or running container. */
#ifndef RT_EXEC_H
#define RT_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci-config.h"
#include "context.h"
#include "error.h"

struct rt_exec_opts
{
  /* --process: used exactly as given.  NULL: the container's own process
   * (config.json in its bundle) with the fields below applied, as runc's
   * command-line form does. */
  const struct oci_process *process;
  char **args; /* required without `process` */
  size_t args_len;
  bool tty;
  const char *cwd;
  char **env; /* appended */
  size_t env_len;
  bool has_user;
  uint32_t uid, gid;
  uint32_t *additional_gids; /* --additional-gids, appended */
  size_t additional_gids_len;
  char **cgroups; /* --cgroup: sub-cgroups to run in (rt_cgroup_enter_subs) */
  size_t cgroups_len;
  char **caps; /* added to the bounding, effective and permitted sets */
  size_t caps_len;
  bool no_new_privs;
  const char *apparmor;      /* --apparmor: process.apparmorProfile */
  const char *process_label; /* --process-label: process.selinuxLabel */

  const char *console_socket;
  const char *pid_file; /* the host pid of the new process, written atomically */
  bool detach;
  int preserve_fds;
};

/* Foreground (not detach): wait, forwarding signals (and relaying the
 * terminal), and set *exit_status to the process's status or 128+signal.
 * Detached: return once the process has executed its program. */
int rt_container_exec(const struct rt_context *ctx, const char *id, const struct rt_exec_opts *opts,
                      int *exit_status, struct oci_error **err);

#endif
