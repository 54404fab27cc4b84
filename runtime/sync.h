/* Messages between `ocirt create` and the container init over a
 * SOCK_SEQPACKET socketpair: one record per message, optionally carrying
 * one file descriptor (SCM_RIGHTS).  An error in the init travels to the
 * parent as {errno, message} and becomes the parent's oci_error. */
#ifndef RT_SYNC_H
#define RT_SYNC_H

#include <stdint.h>

#include "context.h"
#include "error.h"

/* Longest text of one record (error message or log record), NUL included. */
#define RT_SYNC_TEXT_MAX 4096

enum rt_sync_type
{
  RT_SYNC_GO = 1,   /* parent -> init: ids mapped, cgroup joined; continue */
  RT_SYNC_USERNS,   /* init -> parent: user namespace unshared, write the maps */
  RT_SYNC_PID,      /* init -> parent: value = pid of the real init (pid namespace fork) */
  RT_SYNC_TERMINAL, /* init -> parent: the pty master */
  RT_SYNC_READY,    /* init -> parent: blocked before exec, waiting for `start` */
  RT_SYNC_ERROR,    /* init -> parent: {status, message} */
  RT_SYNC_HOOKS,    /* init -> parent: mounts done, before pivot_root: run the
                       prestart/createRuntime hooks, answer GO with value =
                       the init's pid (the hooks' state needs it) */
  RT_SYNC_EOF,      /* not sent: rt_sync_recv's type when the peer closed
                       the socket without a word, or was reset (it died) */
  RT_SYNC_LOG,      /* child -> parent, only with --debug: value = level,
                       text = one log record for the parent to write */
  RT_SYNC_SECCOMP,  /* child -> parent: the seccomp notify listener, for
                       linux.seccomp.listenerPath; the parent answers GO
                       once the agent has it */
  RT_SYNC_NS_MADE,  /* init -> parent: rt_ns_plan.early_flags are made;
                       the limits they count against may be written; fd =
                       an AF_INET socket in a new network namespace, for
                       the parent to bring `lo` up */
  RT_SYNC_CGROUP,   /* parent -> init, before GO: value = index of a v1
                       hierarchy, fd = its `tasks` file for the init to
                       write itself into (rt_cgroup_join_take_tasks) */
};

struct rt_sync_msg
{
  enum rt_sync_type type;
  int64_t value;
  int fd; /* received descriptor (close-on-exec) or -1 */
};

int rt_sync_pair(int fds[2], struct oci_error **err);

/* `fd` < 0: no descriptor. */
int rt_sync_send(int sock, enum rt_sync_type type, int64_t value, int fd, struct oci_error **err);
/* Best effort: the init is about to exit with `e`. */
void rt_sync_send_error(int sock, const struct oci_error *e);

/* One log record (see log.h), best effort: a parent that is gone makes it
 * a no-op, without SIGPIPE.  The parent reads the socket whenever the
 * child runs (the child waits for its GO otherwise), so a full socket
 * only delays the child. */
void rt_sync_send_log(int sock, int level, const char *text);

/* Receive one message.  RT_SYNC_ERROR becomes -1 with *err set from the
 * peer's error; end of stream is "container init exited unexpectedly". */
int rt_sync_recv(int sock, struct rt_sync_msg *msg, struct oci_error **err);
/* Same, for the parent: RT_SYNC_LOG records on the way are written to
 * ctx's log (rt_log_record) and the next message is returned. */
int rt_sync_recv_logging(const struct rt_context *ctx, int sock, struct rt_sync_msg *msg,
                         struct oci_error **err);
/* Receive and require one type. */
int rt_sync_expect(int sock, enum rt_sync_type type, struct rt_sync_msg *msg, struct oci_error **err);

#endif
