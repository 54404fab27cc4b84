/* SCMP_ACT_NOTIFY: the parent hands the filter's listener to the agent at
 * linux.seccomp.listenerPath (the child loads the filter, seccomp.c, and
 * passes the listener up the sync socket, child.c). */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "spec/util.h"
#include "seccomp.h"
#include "unix-socket.h"

int
rt_seccomp_send_listener(const struct oci_seccomp *sc, const struct oci_state *st, pid_t pid, int listener,
                         struct oci_error **err)
{
  cleanup_free char *text = NULL;
  cleanup_close int sock = -1;
  size_t len;

  /* config validation requires it with SCMP_ACT_NOTIFY; runc's words */
  if (sc == NULL || sc->listener_path == NULL || sc->listener_path[0] == '\0')
    return oci_error_set(err, 0, "linux.seccomp.listenerPath: listenerPath is not set");
  if (oci_process_state_emit(st, pid, sc->listener_metadata, &text, &len, err) < 0)
    return -1;
  sock = rt_unix_connect(sc->listener_path, "the seccomp agent", err);
  if (sock < 0)
    return oci_error_wrap(err, "linux.seccomp.listenerPath");
  /* The state and the listener in one message: agents read both with one
   * recvmsg. */
  if (rt_unix_send_with_fd(sock, text, len, listener) < 0)
    return oci_error_errno(err, "linux.seccomp.listenerPath: sending the seccomp fd to `%s`",
                           sc->listener_path);
  return 0;
}
