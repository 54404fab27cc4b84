/* runtime-spec POSIX-platform hooks (config.md "Hooks", runtime.md
 * "Lifecycle").
 *
 * Where each kind runs (callers in container.c and init.c):
 *   prestart, createRuntime -- `create`, in ocirt (runtime namespaces), while
 *                              the init waits between its mounts and
 *                              pivot_root (RT_SYNC_HOOKS);
 *   createContainer         -- the init, in the container's namespaces,
 *                              right after that, before pivot_root;
 *   startContainer          -- the init, after `start` opened exec.fifo and
 *                              before the user's program is executed;
 *   poststart               -- `start`, once the init was released;
 *   poststop                -- `delete` (and a failed `create`), after the
 *                              container is destroyed.
 * Each hook gets the container state JSON on stdin; its stdout and stderr
 * are kept for the error message.  A hook with a timeout is killed (its
 * whole process group) when it runs longer. */
#ifndef RT_HOOKS_H
#define RT_HOOKS_H

#include <stdbool.h>
#include <stddef.h>

#include "oci-config.h"
#include "spec/state.h"
#include "error.h"

enum rt_hook_kind
{
  RT_HOOK_PRESTART,
  RT_HOOK_CREATE_RUNTIME,
  RT_HOOK_CREATE_CONTAINER,
  RT_HOOK_START_CONTAINER,
  RT_HOOK_POSTSTART,
  RT_HOOK_POSTSTOP,
};

/* The config.json name: "createRuntime". */
const char *rt_hook_kind_name(enum rt_hook_kind kind);
/* Number of hooks of `kind`; `h` may be NULL. */
size_t rt_hooks_count(const struct oci_hooks *h, enum rt_hook_kind kind);

/* Run the hooks of `kind` in order with `st` on their stdin; the first that
 * fails (exec failure, non-zero exit, signal, timeout) stops the list and
 * becomes the error, which names the kind, the index and the path.  Except
 * poststart and poststop: all of them run, and the error, for the caller to
 * warn about, names every one that failed.
 * `cwd`: their working directory (NULL: ours).  `default_env`: the
 * environment of a hook without `env` (NULL: ours). */
int rt_hooks_run(const struct oci_hooks *h, enum rt_hook_kind kind, const struct oci_state *st,
                 const char *cwd, char *const *default_env, struct oci_error **err);

/* `start` and `delete` must not read config.json again (later edits do not
 * affect the container): the poststart and poststop hooks are kept in the
 * state directory.  Nothing is written when there are none. */
int rt_hooks_save(int dirfd, const struct oci_hooks *h, struct oci_error **err);
/* *out is NULL when no hooks were saved. */
int rt_hooks_load(int dirfd, struct oci_config **out, struct oci_error **err);

#endif
