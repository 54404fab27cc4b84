/* Reading a blob from the store ahead of its decompression, in a thread
 * that also hashes it.
 *
 * Inflating is the unpacker's critical path (one thread, the others wait
 * for it on most layers); the blob's sha256 need not be on it.  The thread
 * reads the file in 1 MB blocks into a few buffers, hashes each and hands
 * them over in order. */
#ifndef IMG_READAHEAD_H
#define IMG_READAHEAD_H

#include <stdbool.h>
#include <sys/types.h>

#include "digest.h"
#include "error.h"

struct img_readahead;

/* Start reading fd (borrowed: it must stay open until img_readahead_free). */
int img_readahead_start(int fd, struct img_readahead **out, struct oci_error **err);

/* An img_layer_read_fn: the next block (valid until the next call), 0 at
 * the end of the file, -1 when reading failed. */
ssize_t img_readahead_read(void *readahead, const void **buf, struct oci_error **err);

/* Once img_readahead_read returned 0: the sha256 of the whole file.
 * False before the end. */
bool img_readahead_digest(struct img_readahead *r, char out[IMG_DIGEST_LEN]);

/* Stop the thread (at once, whatever it has not read) and free. */
void img_readahead_free(struct img_readahead *r);

#endif
