/* An OCI bundle (rootfs/ + config.json) from an image in a store.
 *
 * DIR is built under a temporary sibling name (DIR.tmp-XXXXXX) and renamed
 * into place only when complete: a failure, a digest mismatch or an
 * interruption removes the temporary tree and leaves no DIR behind. */
#ifndef IMG_BUNDLE_H
#define IMG_BUNDLE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "layer.h"
#include "layout.h"
#include "store.h"

/* Where the layers come from when they are not all in the store yet (a pull
 * streaming into the bundle, see img_pull_stream_start). */
struct img_layer_source
{
  /* Layer I's blob, read with (*fn)(*fn_data) until it returns 0. */
  int (*open)(void *data, size_t i, img_layer_read_fn *fn, void **fn_data, struct oci_error **err);
  void (*close)(void *data, void *fn_data);
  /* After the last layer, before DIR appears: 0 once every blob is verified
   * and in the store. */
  int (*finish)(void *data, struct oci_error **err);
  void *data;
};

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
  const struct img_layer_source *source; /* NULL: every layer is in the store */
  /* The most each layer may unpack to (see img_layer_opts.max_unpacked):
   * 0 for the default below, IMG_BUNDLE_UNLIMITED for no limit. */
  uint64_t max_unpacked;
  /* The rootfs an overlay mount of layers cached in the store (overlay.h);
   * the image must be in the store (source NULL). */
  bool overlay;
  const char *image_name; /* for the overlay bundle's record */
  const char *ref_digest; /* what image_name points at, when not the manifest */
};

/* The default limit of a layer, fixed when it starts: 100 times its
 * compressed size, at least 64 MiB, and never more than the bundle's
 * filesystem has free less a reserve of 5% of its size (at most 1 GiB).
 * Real layers inflate 2 to 10 times; a bomb, hundreds of times (gzip
 * reaches 1000, zstd far more).  Only the free space sees the layers
 * unpacked before; a filesystem that compresses (btrfs, zfs) stores zeros
 * for almost nothing, hence a limit the caller can set or lift. */
#define IMG_BUNDLE_DEFAULT_RATIO 100
#define IMG_BUNDLE_DEFAULT_FLOOR (64ull << 20)
#define IMG_BUNDLE_RESERVE_MAX (1ull << 30)
#define IMG_BUNDLE_UNLIMITED UINT64_MAX

/* DIR, which need not exist, as an absolute path: its parent resolved,
 * its own name kept. */
int img_bundle_abs_path(const char *dir, char **out, struct oci_error **err);

/* Shared with overlay.c. */
bool img_bundle_layer_media_type_ok(const char *mt);
int img_bundle_layer_limit(const struct img_bundle_opts *o, int fd, int64_t compressed, uint64_t *limit,
                           char **why, struct oci_error **err);
void img_bundle_layer_warning(void *data, const char *msg); /* data: the opts */
void img_bundle_log(const struct img_bundle_opts *o, bool warning, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* DIR can become a bundle: it does not exist, and its parent is a directory
 * we may create entries in.  img_bundle_create() checks again; callers check
 * first so that a wrong DIR fails before anything is downloaded. */
int img_bundle_check_dir(const char *dir, struct oci_error **err);

int img_bundle_create(struct img_store *s, const struct img_image *img, const char *dir,
                      const struct img_bundle_opts *o, struct oci_error **err);

#endif
