/* Large scratch buffers (the unpacker's rings and chunks), backed by
 * transparent huge pages where the kernel allows it: a fresh 8 MB buffer
 * then costs four page faults instead of two thousand, which matters on
 * virtual machines, where each first touch of a page may go to the host. */
#ifndef IMG_BIGBUF_H
#define IMG_BIGBUF_H

#include <stddef.h>

/* Never fails (aborts when out of memory, like xmalloc). */
void *img_bigbuf_alloc(size_t size);
void img_bigbuf_free(void *buf, size_t size);

#endif
