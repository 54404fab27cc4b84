#include <config.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "spec/util.h"
#include "unix-socket.h"

int
rt_unix_connect(const char *path, const char *what, struct oci_error **err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  cleanup_close int sock = -1;

  if (strlen(path) >= sizeof addr.sun_path)
    return oci_error_set(err, ENAMETOOLONG, "%s `%s`: the path is too long for a unix socket", what, path);
  memcpy(addr.sun_path, path, strlen(path) + 1);
  sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    return oci_error_errno(err, "creating a unix socket");
  if (connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0)
    return oci_error_errno(err, "connecting to %s `%s`", what, path);
  return steal_fd(&sock);
}

int
rt_unix_send_with_fd(int sock, const void *buf, size_t len, int fd)
{
  union
  {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
  ssize_t r;

  if (fd >= 0)
    {
      struct cmsghdr *c;

      memset(&control, 0, sizeof control);
      mh.msg_control = control.buf;
      mh.msg_controllen = sizeof control.buf;
      c = CMSG_FIRSTHDR(&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
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
