/* Writing the layer's regular files in a thread of its own.
 *
 * Applying a layer is mostly kernel work in one thread: creating inodes and
 * copying data into the page cache.  The applier keeps everything that
 * changes the tree's names (create, link, remove: their order matters) and
 * hands each new file's fd over with a copy of its data (a big file's data
 * it writes itself, without the copy); this thread writes the data and
 * then sets owner, mode, xattrs and times, in the order
 * the kernel needs (a write drops setuid bits and file capabilities, a
 * chown drops setuid bits), and closes the fd.
 *
 * Files are written in the order they were handed over.  The data queued
 * is bounded (in bytes and in open fds): img_file_writer_data waits when
 * the thread is behind.  The first failure is kept, names the file's path,
 * and turns every later call into a no-op returning -1; it is reported by
 * img_file_writer_finish. */
#ifndef IMG_FILE_WRITER_H
#define IMG_FILE_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"

struct img_file_writer;
struct img_file;

/* What the file gets once its data is written. */
struct img_file_attrs
{
  bool chown; /* set uid:gid */
  uid_t uid;
  gid_t gid;
  bool chmod; /* set mode (after the chown) */
  mode_t mode;
  struct timespec times[2];
};

int img_file_writer_start(struct img_file_writer **out, struct oci_error **err);

/* A new file of `size` bytes: the writer owns `fd` from now on (closes it,
 * even when this fails).  `path` names it in errors and warnings.  A call
 * that fails because the thread failed earlier returns that failure (whose
 * message names its own file). */
int img_file_writer_open(struct img_file_writer *w, int fd, const char *path, int64_t size,
                         struct img_file **out, struct oci_error **err);
/* Data for the file at `off`: copied for the thread, or written now when
 * the file is big (then a failure is returned at once, and is the
 * writer's failure from then on). */
int img_file_writer_data(struct img_file_writer *w, struct img_file *f, int64_t off, const void *buf,
                         size_t len, struct oci_error **err);
/* An xattr to set after the data (copied). */
void img_file_writer_xattr(struct img_file *f, const char *name, const void *value, size_t size);
/* No more data: the attributes follow, then the fd is closed.  `f` is the
 * writer's again. */
int img_file_writer_close(struct img_file_writer *w, struct img_file *f, const struct img_file_attrs *a,
                          struct oci_error **err);

/* True once the thread has failed: the applier's next call returns the
 * failure. */
bool img_file_writer_failed(struct img_file_writer *w);

/* Wait until everything handed over is written; the first failure, if
 * any.  `warn` hears of xattrs that could not be set. */
int img_file_writer_finish(struct img_file_writer *w, void (*warn)(void *data, const char *msg),
                           void *warn_data, struct oci_error **err);

/* Stop the thread (dropping what is queued) and free everything. */
void img_file_writer_free(struct img_file_writer *w);

static inline void
cleanup_file_writerp(struct img_file_writer **w)
{
  img_file_writer_free(*w);
}
#define cleanup_file_writer __attribute__((cleanup(cleanup_file_writerp)))

#endif
