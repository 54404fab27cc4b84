/* A queue of fixed-size blocks from one producer thread to one consumer,
 * in order: the producer fills a free block and puts it; the consumer takes
 * the next and holds it until its next take.  The blocks are one buffer
 * (see bigbuf.h), allocated once.  The unpacker's stages (reading,
 * inflating) hand their output over this way. */
#ifndef IMG_BLOCKQ_H
#define IMG_BLOCKQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define IMG_BLOCKQ_MAX 32

struct img_blockq
{
  char *buffer;
  size_t blocks, block_size;
  pthread_mutex_t lock;
  pthread_cond_t filled, emptied;
  /* Guarded by lock. */
  size_t lens[IMG_BLOCKQ_MAX];
  size_t head, count;
  bool end;     /* no more blocks will come */
  bool failed;  /* ...because the producer failed */
  bool stopped; /* the consumer gave up */
  bool holding; /* the consumer's: block `head` is handed out */
};

void img_blockq_init(struct img_blockq *q, size_t blocks, size_t block_size);
void img_blockq_destroy(struct img_blockq *q);

/* Producer: a free block to fill, or NULL once the consumer stopped. */
char *img_blockq_reserve(struct img_blockq *q);
/* Producer: the reserved block holds len bytes (0: put nothing); `end`:
 * it is the last, and `failed` says whether the producer failed. */
void img_blockq_put(struct img_blockq *q, size_t len, bool end, bool failed);

/* Consumer: the next block (valid until the next call) and its length; 0
 * at the end, -1 when the producer failed. */
ssize_t img_blockq_take(struct img_blockq *q, const void **buf);
/* Consumer: no more takes; a producer waiting for a block returns NULL. */
void img_blockq_stop(struct img_blockq *q);

#endif
