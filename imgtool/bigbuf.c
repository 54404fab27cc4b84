#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "bigbuf.h"

#define HUGE_PAGE (2u << 20)

static size_t
rounded(size_t size)
{
  return (size + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
}

void *
img_bigbuf_alloc(size_t size)
{
  /* Over-allocate by one huge page so that an aligned part can be kept. */
  size_t len = rounded(size);
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
  if (buf)
    munmap(buf, rounded(size));
}
