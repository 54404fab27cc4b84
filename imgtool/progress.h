/* Per-layer download progress on stderr: redrawn in place on a terminal
 * (bytes, total, speed), one plain line per event otherwise.  stdout is
 * never touched, so JSON output stays clean. */
#ifndef IMG_PROGRESS_H
#define IMG_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct img_progress;

/* OUT NULL disables everything (-q).  TTY: draw in place. */
struct img_progress *img_progress_new(FILE *out, bool tty);
void img_progress_free(struct img_progress *p);

/* A row for blob DIGEST of TOTAL bytes (-1 unknown), DONE already present. */
int img_progress_add(struct img_progress *p, const char *digest, int64_t total, uint64_t done);
void img_progress_update(struct img_progress *p, int row, uint64_t done);
/* The server ignored the Range of a resumed download and sends it all
 * again: this run fetches the whole blob. */
void img_progress_restart(struct img_progress *p, int row);
/* The row's final state: "done", "already present", "failed". */
void img_progress_finish(struct img_progress *p, int row, const char *state);
/* A line of its own ("Pulling …", "Digest: …"). */
void img_progress_note(struct img_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline void
cleanup_progressp(struct img_progress **p)
{
  img_progress_free(*p);
}
#define cleanup_progress __attribute__((cleanup(cleanup_progressp)))

#endif
