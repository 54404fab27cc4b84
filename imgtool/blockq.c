#include <config.h>

#include <stdlib.h>

#include "bigbuf.h"
#include "blockq.h"

void
img_blockq_init(struct img_blockq *q, size_t blocks, size_t block_size)
{
  if (blocks == 0 || blocks > IMG_BLOCKQ_MAX)
    abort();
  *q = (struct img_blockq){ .blocks = blocks, .block_size = block_size };
  q->buffer = img_bigbuf_alloc(blocks * block_size);
  pthread_mutex_init(&q->lock, NULL);
  pthread_cond_init(&q->filled, NULL);
  pthread_cond_init(&q->emptied, NULL);
}

void
img_blockq_destroy(struct img_blockq *q)
{
  if (q->buffer == NULL)
    return;
  img_bigbuf_free(q->buffer, q->blocks * q->block_size);
  q->buffer = NULL;
  pthread_mutex_destroy(&q->lock);
  pthread_cond_destroy(&q->filled);
  pthread_cond_destroy(&q->emptied);
}

char *
img_blockq_reserve(struct img_blockq *q)
{
  pthread_mutex_lock(&q->lock);
  while (q->count == q->blocks && !q->stopped)
    pthread_cond_wait(&q->emptied, &q->lock);
  /* The block is the producer's: the consumer only looks at the `count`
   * filled ones. */
  char *block = q->stopped ? NULL : q->buffer + ((q->head + q->count) % q->blocks) * q->block_size;
  pthread_mutex_unlock(&q->lock);
  return block;
}

void
img_blockq_put(struct img_blockq *q, size_t len, bool end, bool failed)
{
  pthread_mutex_lock(&q->lock);
  if (len > 0)
    q->lens[(q->head + q->count++) % q->blocks] = len;
  if (end)
    {
      q->end = true;
      q->failed = failed;
    }
  pthread_cond_signal(&q->filled);
  pthread_mutex_unlock(&q->lock);
}

ssize_t
img_blockq_take(struct img_blockq *q, const void **buf)
{
  ssize_t n = 0;

  pthread_mutex_lock(&q->lock);
  if (q->holding)
    {
      q->head = (q->head + 1) % q->blocks;
      q->count--;
      q->holding = false;
      pthread_cond_signal(&q->emptied);
    }
  while (q->count == 0 && !q->end)
    pthread_cond_wait(&q->filled, &q->lock);
  if (q->count > 0)
    {
      q->holding = true;
      *buf = q->buffer + q->head * q->block_size;
      n = q->lens[q->head];
    }
  else if (q->failed)
    n = -1;
  pthread_mutex_unlock(&q->lock);
  return n;
}

void
img_blockq_stop(struct img_blockq *q)
{
  pthread_mutex_lock(&q->lock);
  q->stopped = true;
  pthread_cond_broadcast(&q->emptied);
  pthread_mutex_unlock(&q->lock);
}
