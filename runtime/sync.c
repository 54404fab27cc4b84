#include <config.h>

#include <string.h>
#include <sys/socket.h>

#include "spec/util.h"
#include "log.h"
#include "sync.h"
#include "unix-socket.h"

struct wire
{
  uint32_t type;
  int32_t status;
  int64_t value;
  char text[RT_SYNC_TEXT_MAX];
};

int
rt_sync_pair(int fds[2], struct oci_error **err)
{
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
    return oci_error_errno(err, "creating the sync socket");
  return 0;
}

int
rt_sync_send(int sock, enum rt_sync_type type, int64_t value, int fd, struct oci_error **err)
{
  struct wire w = { .type = type, .value = value };

  if (rt_unix_send_with_fd(sock, &w, offsetof(struct wire, text), fd) < 0)
    return oci_error_errno(err, "sending to the sync socket");
  return 0;
}

void
rt_sync_send_error(int sock, const struct oci_error *e)
{
  struct wire w = { .type = RT_SYNC_ERROR };
  size_t n;

  w.status = e ? e->status : 0;
  snprintf(w.text, sizeof w.text, "%s", e && e->msg ? e->msg : "unknown error");
  n = strlen(w.text);
  (void)rt_unix_send_with_fd(sock, &w, offsetof(struct wire, text) + n + 1, -1);
}

void
rt_sync_send_log(int sock, int level, const char *text)
{
  struct wire w = { .type = RT_SYNC_LOG, .value = level };
  size_t n;

  snprintf(w.text, sizeof w.text, "%s", text);
  n = strlen(w.text);
  (void)rt_unix_send_with_fd(sock, &w, offsetof(struct wire, text) + n + 1, -1);
}

static int
take_fd(struct msghdr *mh)
{
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int)))
      {
        int fd;
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
        return fd;
      }
  return -1;
}

/* One message into *w; returns the length of its text, or -1. */
static int
recv_wire(int sock, struct rt_sync_msg *msg, struct wire *w, size_t *text_len, struct oci_error **err)
{
  union
  {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  struct iovec iov = { .iov_base = w, .iov_len = sizeof *w };
  struct msghdr mh = {
    .msg_iov = &iov,
    .msg_iovlen = 1,
    .msg_control = control.buf,
    .msg_controllen = sizeof control.buf,
  };
  ssize_t r;

  msg->type = 0; /* none, unless one arrives */
  msg->fd = -1;
  do
    r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  /* ECONNRESET: it died with our last message unread */
  if (r < 0 && errno != ECONNRESET)
    return oci_error_errno(err, "reading from the sync socket");
  if (r <= 0)
    {
      msg->type = RT_SYNC_EOF;
      return oci_error_set(err, 0, "container init exited unexpectedly");
    }
  if ((size_t)r < offsetof(struct wire, text))
    return oci_error_set(err, 0, "short message on the sync socket");
  msg->type = w->type;
  msg->value = w->value;
  msg->fd = take_fd(&mh);
  *text_len = (size_t)r - offsetof(struct wire, text);
  if (msg->type == RT_SYNC_ERROR)
    {
      if (msg->fd >= 0)
        close(msg->fd);
      msg->fd = -1;
      return oci_error_set(err, w->status, "%.*s", (int)*text_len, *text_len ? w->text : "");
    }
  return 0;
}

int
rt_sync_recv(int sock, struct rt_sync_msg *msg, struct oci_error **err)
{
  struct wire w;
  size_t n;

  return recv_wire(sock, msg, &w, &n, err);
}

int
rt_sync_recv_logging(const struct rt_context *ctx, int sock, struct rt_sync_msg *msg, struct oci_error **err)
{
  struct wire w;
  size_t n;

  for (;;)
    {
      if (recv_wire(sock, msg, &w, &n, err) < 0)
        return -1;
      if (msg->type != RT_SYNC_LOG)
        return 0;
      if (msg->fd >= 0)
        close(msg->fd);
      w.text[n < sizeof w.text ? n : sizeof w.text - 1] = '\0';
      rt_log_record(ctx, (int)msg->value, w.text);
    }
}

int
rt_sync_expect(int sock, enum rt_sync_type type, struct rt_sync_msg *msg, struct oci_error **err)
{
  if (rt_sync_recv(sock, msg, err) < 0)
    return -1;
  if (msg->type != type)
    {
      if (msg->fd >= 0)
        close(msg->fd);
      return oci_error_set(err, 0, "unexpected message %d on the sync socket (expected %d)", (int)msg->type,
                           (int)type);
    }
  return 0;
}
