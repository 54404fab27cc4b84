/* criu's RPC, the little of it a restore needs (see criu-rpc.h).
 *
 * The messages are protocol buffers (criu's images/rpc.proto, proto2), one
 * a SOCK_SEQPACKET packet.  Only a handful of fields are used, so they are
 * encoded and decoded here by hand rather than through generated code: the
 * field numbers below are rpc.proto's, which criu keeps stable. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "spec/util.h"
#include "criu-rpc.h"

/* criu_req_type (besides enum rt_criu_req_type) */
#define REQ_NOTIFY 6

/* criu_req */
#define REQ_TYPE 1
#define REQ_OPTS 2
#define REQ_NOTIFY_SUCCESS 3
/* criu_opts */
#define OPTS_IMAGES_DIR_FD 1
#define OPTS_PID 2
#define OPTS_LOG_LEVEL 9
#define OPTS_LOG_FILE 10
#define OPTS_NOTIFY_SCRIPTS 12
#define OPTS_RST_SIBLING 26
#define OPTS_ORPHAN_PTS_MASTER 50
#define OPTS_CONFIG_FILE 51
/* criu_resp */
#define RESP_TYPE 1
#define RESP_SUCCESS 2
#define RESP_RESTORE 4
#define RESP_NOTIFY 5
#define RESP_CR_ERRMSG 9
/* criu_restore_resp and criu_notify */
#define RESTORE_PID 1
#define NOTIFY_SCRIPT 1

#define WIRE_VARINT 0
#define WIRE_64BIT 1
#define WIRE_LEN 2
#define WIRE_32BIT 5

/* criu's answers are small; its error message is the longest part. */
#define MAX_MESSAGE 65536

/* ---- encoding ---- */

struct pb
{
  unsigned char *b;
  size_t n, cap;
};

static void
pb_bytes(struct pb *p, const void *data, size_t len)
{
  if (p->n + len > p->cap)
    p->b = xrealloc(p->b, p->cap = (p->n + len) * 2 + 64);
  memcpy(p->b + p->n, data, len);
  p->n += len;
}

static void
pb_varint(struct pb *p, uint64_t v)
{
  unsigned char c;

  for (; v >= 0x80; v >>= 7)
    {
      c = (unsigned char)(v | 0x80);
      pb_bytes(p, &c, 1);
    }
  c = (unsigned char)v;
  pb_bytes(p, &c, 1);
}

static void
pb_key(struct pb *p, unsigned field, unsigned wire)
{
  pb_varint(p, (uint64_t)field << 3 | wire);
}

/* int32 and bool; a negative int32 is sign-extended to ten bytes. */
static void
pb_int(struct pb *p, unsigned field, int64_t v)
{
  pb_key(p, field, WIRE_VARINT);
  pb_varint(p, (uint64_t)v);
}

static void
pb_len(struct pb *p, unsigned field, const void *data, size_t len)
{
  pb_key(p, field, WIRE_LEN);
  pb_varint(p, len);
  pb_bytes(p, data, len);
}

static void
pb_free(struct pb *p)
{
  free(p->b);
  p->b = NULL;
  p->n = p->cap = 0;
}

/* ---- decoding ---- */

struct pb_field
{
  unsigned number, wire;
  uint64_t v;                /* WIRE_VARINT */
  const unsigned char *data; /* WIRE_LEN */
  size_t len;
};

static bool
pb_read_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
  *v = 0;
  for (unsigned shift = 0; *p < end && shift < 64; shift += 7)
    {
      unsigned char c = *(*p)++;
      *v |= (uint64_t)(c & 0x7f) << shift;
      if (!(c & 0x80))
        return true;
    }
  return false;
}

/* The next field of [*p, end): true with it in *f, false at the end or on
 * a malformed message (*bad set). */
static bool
pb_next(const unsigned char **p, const unsigned char *end, struct pb_field *f, bool *bad)
{
  uint64_t key, len;

  if (*p >= end)
    return false;
  if (!pb_read_varint(p, end, &key))
    goto bad;
  f->number = (unsigned)(key >> 3);
  f->wire = (unsigned)(key & 7);
  switch (f->wire)
    {
    case WIRE_VARINT:
      if (!pb_read_varint(p, end, &f->v))
        goto bad;
      return true;
    case WIRE_LEN:
      if (!pb_read_varint(p, end, &len) || len > (uint64_t)(end - *p))
        goto bad;
      f->data = *p;
      f->len = (size_t)len;
      *p += len;
      return true;
    case WIRE_64BIT:
    case WIRE_32BIT:
      len = f->wire == WIRE_64BIT ? 8 : 4;
      if (len > (uint64_t)(end - *p))
        goto bad;
      *p += len;
      return true;
    }
bad:
  *bad = true;
  return false;
}

/* The first field `number` (of a length-delimited type) inside a message. */
static bool
pb_find_len(const unsigned char *p, size_t n, unsigned number, const unsigned char **data, size_t *len)
{
  const unsigned char *end = p + n;
  struct pb_field f;
  bool bad = false;

  while (pb_next(&p, end, &f, &bad))
    if (f.number == number && f.wire == WIRE_LEN)
      {
        *data = f.data;
        *len = f.len;
        return true;
      }
  return false;
}

struct resp
{
  int type;
  bool success;
  pid_t pid;
  char *script;
  char *errmsg;
};

static char *
pb_strdup(const unsigned char *data, size_t len)
{
  char *s = xmalloc(len + 1);

  memcpy(s, data, len);
  s[len] = '\0';
  return s;
}

static int
decode_resp(const unsigned char *p, size_t n, struct resp *r)
{
  const unsigned char *end = p + n, *sub;
  struct pb_field f;
  bool bad = false;
  size_t sublen;
  uint64_t pid;

  memset(r, 0, sizeof *r);
  r->type = -1;
  while (pb_next(&p, end, &f, &bad))
    switch (f.number)
      {
      case RESP_TYPE:
        r->type = (int)f.v;
        break;
      case RESP_SUCCESS:
        r->success = f.v != 0;
        break;
      case RESP_RESTORE:
        {
          const unsigned char *q = f.data, *qend = f.data + f.len;
          struct pb_field g;
          while (pb_next(&q, qend, &g, &bad))
            if (g.number == RESTORE_PID && g.wire == WIRE_VARINT)
              {
                pid = g.v;
                r->pid = (pid_t)(int32_t)pid;
              }
        }
        break;
      case RESP_NOTIFY:
        if (pb_find_len(f.data, f.len, NOTIFY_SCRIPT, &sub, &sublen))
          r->script = pb_strdup(sub, sublen);
        break;
      case RESP_CR_ERRMSG:
        if (f.wire == WIRE_LEN)
          r->errmsg = pb_strdup(f.data, f.len);
        break;
      }
  return bad || r->type < 0 ? -1 : 0;
}

static void
resp_clear(struct resp *r)
{
  free(r->script);
  free(r->errmsg);
  r->script = r->errmsg = NULL;
}

/* ---- the exchange ---- */

static int
send_msg(int sock, const struct pb *p, struct oci_error **err)
{
  ssize_t n;

  while ((n = send(sock, p->b, p->n, MSG_NOSIGNAL)) < 0 && errno == EINTR)
    ;
  if (n < 0 || (size_t)n != p->n)
    return oci_error_errno(err, "sending criu its request");
  return 0;
}

/* One message, and the descriptor it carried (or -1) in *fd.  0 bytes:
 * criu hung up. */
static ssize_t
recv_msg(int sock, unsigned char *buf, size_t cap, int *fd)
{
  union
  {
    struct cmsghdr h;
    char space[CMSG_SPACE(sizeof(int))];
  } ctl;
  struct iovec iov = { .iov_base = buf, .iov_len = cap };
  struct msghdr msg
      = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.space, .msg_controllen = sizeof ctl.space };
  ssize_t n;

  *fd = -1;
  while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
    ;
  if (n < 0)
    return -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int)))
      memcpy(fd, CMSG_DATA(c), sizeof *fd);
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
    {
      if (*fd >= 0)
        close(*fd);
      *fd = -1;
      errno = EMSGSIZE;
      return -1;
    }
  return n;
}

static void
encode_req(struct pb *out, const struct rt_criu_req *req)
{
  struct pb opts = { 0 };

  pb_int(&opts, OPTS_IMAGES_DIR_FD, req->images_dir_fd);
  if (req->type == RT_CRIU_DUMP)
    pb_int(&opts, OPTS_PID, req->pid);
  pb_int(&opts, OPTS_LOG_LEVEL, req->log_level);
  pb_len(&opts, OPTS_LOG_FILE, req->log_file, strlen(req->log_file));
  if (req->type == RT_CRIU_RESTORE)
    {
      /* Notifications are how the pty master comes. */
      pb_int(&opts, OPTS_NOTIFY_SCRIPTS, 1);
      pb_int(&opts, OPTS_RST_SIBLING, 1);
    }
  if (req->orphan_pts_master)
    pb_int(&opts, OPTS_ORPHAN_PTS_MASTER, 1);
  pb_len(&opts, OPTS_CONFIG_FILE, req->config_file, strlen(req->config_file));
  pb_int(out, REQ_TYPE, req->type);
  pb_len(out, REQ_OPTS, opts.b, opts.n);
  pb_free(&opts);
}

static int
answer_notify(int sock, bool ok, struct oci_error **err)
{
  struct pb p = { 0 };
  int r;

  pb_int(&p, REQ_TYPE, REQ_NOTIFY);
  pb_int(&p, REQ_NOTIFY_SUCCESS, ok);
  r = send_msg(sock, &p, err);
  pb_free(&p);
  return r;
}

int
rt_criu_rpc(int sock, const struct rt_criu_req *req, rt_criu_notify_fn notify, void *data,
            struct rt_criu_resp *out, struct oci_error **err)
{
  cleanup_free unsigned char *buf = xmalloc(MAX_MESSAGE);
  struct pb p = { 0 };
  struct resp r = { 0 };
  ssize_t n;
  int fd, ret;

  memset(out, 0, sizeof *out);
  encode_req(&p, req);
  ret = send_msg(sock, &p, err);
  pb_free(&p);
  if (ret < 0)
    return -1;
  for (;;)
    {
      n = recv_msg(sock, buf, MAX_MESSAGE, &fd);
      if (n < 0)
        return oci_error_errno(err, "reading criu's answer");
      if (n == 0)
        {
          /* criu died without answering: its log says why. */
          out->success = false;
          return 0;
        }
      if (decode_resp(buf, (size_t)n, &r) < 0)
        {
          if (fd >= 0)
            close(fd);
          resp_clear(&r);
          return oci_error_set(err, 0, "criu's answer: not a criu_resp message");
        }
      if (r.type != REQ_NOTIFY)
        break;
      ret = 0;
      if (notify)
        ret = notify(r.script ? r.script : "", fd, data) ? 0 : -1;
      else if (fd >= 0)
        close(fd);
      resp_clear(&r);
      if (answer_notify(sock, ret == 0, err) < 0)
        return -1;
    }
  if (fd >= 0)
    close(fd);
  out->success = r.success && r.type == (int)req->type;
  out->pid = r.pid;
  out->errmsg = r.errmsg;
  r.errmsg = NULL;
  resp_clear(&r);
  return 0;
}

void
rt_criu_resp_clear(struct rt_criu_resp *resp)
{
  free(resp->errmsg);
  resp->errmsg = NULL;
}

/* ---- the configuration file ---- */

/* criu's parser takes one option a line, the first word prefixed with
 * "--"; a word with blanks is double-quoted. */
int
rt_criu_write_config(const char *path, char *const *args)
{
  cleanup_fclose FILE *f = NULL;

  for (size_t i = 0; args[i]; i++)
    if (strncmp(args[i], "--", 2) != 0 || args[i][2] == '#' || strpbrk(args[i], "\"\n\\") != NULL)
      {
        errno = EINVAL;
        return -1;
      }
  f = fopen(path, "we");
  if (f == NULL)
    return -1;
  for (size_t i = 0; args[i]; i++)
    {
      const char *opt = args[i] + 2;
      /* The request's images_dir_fd says it: criu 3.17 reads the link
       * /proc/PID/fd/N and takes no path from the file. */
      if (strncmp(opt, "images-dir=", 11) == 0)
        continue;
      if (strpbrk(opt, " \t") != NULL)
        fprintf(f, "\"%s\"\n", opt);
      else
        fprintf(f, "%s\n", opt);
    }
  if (fflush(f) != 0 || ferror(f))
    return -1;
  return 0;
}
