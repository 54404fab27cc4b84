/* SCMP_ACT_NOTIFY: the parent hands the filter's listener to the agent at
 * linux.seccomp.listenerPath (the child loads the filter, seccomp.c, and
 * passes the listener up the sync socket, child.c). */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "spec/util.h"
#include "seccomp.h"

static int
connect_listener(const char *path, struct oci_error **err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  cleanup_close int sock = -1;

  if (strlen(path) >= sizeof addr.sun_path)
    return oci_error_set(err, ENAMETOOLONG, "linux.seccomp.listenerPath: `%s`", path);
  memcpy(addr.sun_path, path, strlen(path) + 1);
  sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    return oci_error_errno(err, "creating a unix socket");
  if (connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0)
    return oci_error_errno(err, "linux.seccomp.listenerPath: connecting to the seccomp agent at `%s`", path);
  return steal_fd(&sock);
}

/* One message: the state as payload, the listener as its one SCM_RIGHTS
 * descriptor (agents read both with a single recvmsg). */
static int
send_with_fd(int sock, const char *text, size_t len, int fd)
{
  union
  {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  struct iovec iov = { .iov_base = (void *)text, .iov_len = len };
  struct msghdr mh = {
    .msg_iov = &iov,
    .msg_iovlen = 1,
    .msg_control = control.buf,
    .msg_controllen = sizeof control.buf,
  };
  struct cmsghdr *c;
  ssize_t r;

  memset(&control, 0, sizeof control);
  c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  do
    r = sendmsg(sock, &mh, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return -1;
  if ((size_t)r != len)
    {
      errno = EMSGSIZE;
      return -1;
    }
  return 0;
}

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
  sock = connect_listener(sc->listener_path, err);
  if (sock < 0)
    return -1;
  if (send_with_fd(sock, text, len, listener) < 0)
    return oci_error_errno(err, "linux.seccomp.listenerPath: sending the seccomp fd to `%s`",
                           sc->listener_path);
  return 0;
}
