#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "spec/util.h"
#include "blockq.h"
#include "readahead.h"

#define BLOCK (1u << 20)
#define BLOCKS 4

struct img_readahead
{
  int fd;
  pthread_t thread;
  bool running;
  struct img_blockq q;
  struct img_sha256 hash; /* the thread's until it ends */
  int read_errno;         /* the thread's until it ends: why it stopped early */
  bool eof;               /* the reader's: 0 was returned */
};

static ssize_t
read_block(int fd, char *buf)
{
  for (;;)
    {
      ssize_t n = read(fd, buf, BLOCK);
      if (n >= 0 || errno != EINTR)
        return n;
    }
}

static void *
readahead_thread(void *data)
{
  struct img_readahead *r = data;
  char *buf;

  while ((buf = img_blockq_reserve(&r->q)))
    {
      ssize_t n = read_block(r->fd, buf);
      if (n < 0)
        r->read_errno = errno;
      if (n > 0)
        img_sha256_update(&r->hash, buf, n);
      img_blockq_put(&r->q, n > 0 ? n : 0, n <= 0, n < 0);
      if (n <= 0)
        break;
    }
  return NULL;
}

int
img_readahead_start(int fd, struct img_readahead **out, struct oci_error **err)
{
  struct img_readahead *r = xcalloc(1, sizeof *r);

  r->fd = fd;
  img_blockq_init(&r->q, BLOCKS, BLOCK);
  img_sha256_init(&r->hash);
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  /* Signals stay blocked in the thread as in the caller (see imgtool bundle). */
  int e = pthread_create(&r->thread, NULL, readahead_thread, r);
  if (e != 0)
    {
      img_readahead_free(r);
      errno = e;
      return oci_error_errno(err, "start the reading thread");
    }
  r->running = true;
  *out = r;
  return 0;
}

ssize_t
img_readahead_read(void *readahead, const void **buf, struct oci_error **err)
{
  struct img_readahead *r = readahead;
  ssize_t n = img_blockq_take(&r->q, buf);

  if (n < 0)
    {
      /* Set before the failure was put: ours to read. */
      errno = r->read_errno;
      return oci_error_errno(err, "read");
    }
  if (n == 0)
    r->eof = true;
  return n;
}

bool
img_readahead_digest(struct img_readahead *r, char out[IMG_DIGEST_LEN])
{
  if (!r->eof)
    return false;
  /* The thread ended when it read the end: the hash is ours now. */
  if (r->running)
    pthread_join(r->thread, NULL);
  r->running = false;
  img_sha256_final(&r->hash, out);
  return true;
}

void
img_readahead_free(struct img_readahead *r)
{
  if (r == NULL)
    return;
  if (r->running)
    {
      img_blockq_stop(&r->q);
      pthread_join(r->thread, NULL);
    }
  img_sha256_clear(&r->hash);
  img_blockq_destroy(&r->q);
  free(r);
}
