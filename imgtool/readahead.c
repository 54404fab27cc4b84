#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "spec/util.h"
#include "bigbuf.h"
#include "readahead.h"

#define BLOCK (1u << 20)
#define BLOCKS 4

struct img_readahead
{
  int fd;
  pthread_t thread;
  bool running;
  char *buffer;           /* BLOCKS blocks (see bigbuf.h) */
  struct img_sha256 hash; /* the thread's until `done` */

  pthread_mutex_t lock;
  pthread_cond_t filled, emptied;
  /* Guarded by lock. */
  size_t lens[BLOCKS];
  size_t head, count;
  bool done, stop;
  int read_errno; /* when done because read(2) failed */

  bool holding; /* the reader's: block `head` is handed out */
  bool eof;     /* the reader's: 0 was returned */
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

  for (;;)
    {
      pthread_mutex_lock(&r->lock);
      while (r->count == BLOCKS && !r->stop)
        pthread_cond_wait(&r->emptied, &r->lock);
      size_t slot = (r->head + r->count) % BLOCKS;
      bool stop = r->stop;
      pthread_mutex_unlock(&r->lock);
      if (stop)
        return NULL;

      /* The slot is ours: the reader only looks at the `count` filled ones. */
      char *buf = r->buffer + slot * BLOCK;
      ssize_t n = read_block(r->fd, buf);
      int e = errno;
      if (n > 0)
        img_sha256_update(&r->hash, buf, n);

      pthread_mutex_lock(&r->lock);
      if (n > 0)
        {
          r->lens[slot] = n;
          r->count++;
        }
      else
        {
          r->done = true;
          r->read_errno = n < 0 ? e : 0;
        }
      pthread_cond_signal(&r->filled);
      pthread_mutex_unlock(&r->lock);
      if (n <= 0)
        return NULL;
    }
}

int
img_readahead_start(int fd, struct img_readahead **out, struct oci_error **err)
{
  struct img_readahead *r = xcalloc(1, sizeof *r);

  r->fd = fd;
  r->buffer = img_bigbuf_alloc(BLOCKS * BLOCK);
  img_sha256_init(&r->hash);
  pthread_mutex_init(&r->lock, NULL);
  pthread_cond_init(&r->filled, NULL);
  pthread_cond_init(&r->emptied, NULL);
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
  ssize_t n = 0;

  pthread_mutex_lock(&r->lock);
  if (r->holding)
    {
      r->head = (r->head + 1) % BLOCKS;
      r->count--;
      r->holding = false;
      pthread_cond_signal(&r->emptied);
    }
  while (r->count == 0 && !r->done)
    pthread_cond_wait(&r->filled, &r->lock);
  if (r->count > 0)
    {
      r->holding = true;
      *buf = r->buffer + r->head * BLOCK;
      n = r->lens[r->head];
    }
  int e = r->read_errno;
  pthread_mutex_unlock(&r->lock);
  if (n > 0)
    return n;
  if (e)
    {
      errno = e;
      return oci_error_errno(err, "read");
    }
  r->eof = true;
  return 0;
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
      pthread_mutex_lock(&r->lock);
      r->stop = true;
      pthread_cond_broadcast(&r->emptied);
      pthread_mutex_unlock(&r->lock);
      pthread_join(r->thread, NULL);
    }
  img_sha256_clear(&r->hash);
  img_bigbuf_free(r->buffer, BLOCKS * BLOCK);
  pthread_mutex_destroy(&r->lock);
  pthread_cond_destroy(&r->filled);
  pthread_cond_destroy(&r->emptied);
  free(r);
}
