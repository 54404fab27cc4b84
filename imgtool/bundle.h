/* An OCI bundle (rootfs/ + config.json) from an image in a store.
 *
 * DIR is built under a temporary sibling name (DIR.tmp-XXXXXX) and renamed
 * into place only when complete: a failure, a digest mismatch or an
 * interruption removes the temporary tree and leaves no DIR behind. */
#ifndef IMG_BUNDLE_H
#define IMG_BUNDLE_H

#include <stdbool.h>

#include "error.h"
#include "layout.h"
#include "store.h"

struct img_bundle_opts
{
  bool rootless; /* map the caller to root in a user namespace */
  bool terminal; /* process.terminal */
  /* Warnings (a device node skipped) and, with verbose, progress lines. */
  void (*log)(void *data, bool warning, const char *msg);
  void *log_data;
  bool verbose;
  bool (*cancelled)(void *data);
  void *cancel_data;
};

int img_bundle_create(struct img_store *s, const struct img_image *img, const char *dir,
                      const struct img_bundle_opts *o, struct oci_error **err);

#endif
