/* Apply one image layer (a changeset, image-spec layer.md) onto a rootfs.
 *
 * Every path is resolved inside the rootfs with spec/inroot.h (openat2
 * RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) and changed with *at() calls: a
 * symlink in the tree (absolute or full of `..`) leads back into the rootfs,
 * never out of it; a directory an entry needs under a dangling symlink is
 * refused (OCI_ROOT_NO_DANGLING), not created where the link points.
 * Entry names and hardlink targets with a `..` component are refused.
 *
 * Whiteouts: `.wh.NAME` removes NAME from lower layers; `.wh..wh..opq`
 * empties its directory of lower-layer content (before this layer's own
 * entries, whatever their order in the tar, by tracking what this layer
 * created); `.wh..wh.plnk` and other `.wh..wh.` names are skipped.
 *
 * The stream may be gzip, zstd or plain tar (sniffed from the magic bytes).
 * The sha256 of the uncompressed tar is checked against diff_id and the
 * sha256 of the bytes as read against digest, both while applying; a
 * mismatch fails the call (the caller throws the rootfs away).
 *
 * A decompression bomb stops at max_unpacked: what a layer costs the
 * filesystem is counted as the tar reader takes the uncompressed stream,
 * and the layer fails as soon as the count passes the limit. */
#ifndef IMG_LAYER_H
#define IMG_LAYER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct img_layer_opts
{
  const char *name;    /* for messages, e.g. the layer digest */
  const char *diff_id; /* expected "sha256:…" of the uncompressed tar; NULL: not hashed */
  const char *digest;  /* expected "sha256:…" of the blob; NULL: unchecked */
  /* chown to the entry's owner and create device nodes: only for real root
   * (see img_layer_privileged).  Otherwise files keep the caller's owner and
   * device nodes are skipped with a warning. */
  bool privileged;
  void (*warn)(void *data, const char *msg);
  void *warn_data;
  /* Polled every few hundred entries; true stops with "interrupted". */
  bool (*cancelled)(void *data);
  void *cancel_data;
  /* Fail once the layer has cost more than this many bytes (0: no limit):
   * every byte of the uncompressed stream (headers, data, padding, what
   * follows the end of the archive), the holes of sparse files, and
   * IMG_LAYER_ENTRY_COST per entry.  The error ends with
   * "(max_unpacked_why)" when that is set. */
  uint64_t max_unpacked;
  const char *max_unpacked_why;
  /* Unpack for overlayfs (a layer of imgtool bundle --overlay) into an
   * empty directory: `.wh.NAME` becomes a 0/0 character device NAME, an
   * opaque marker the xattr trusted.overlay.opaque=y on its directory, and
   * the layer's own trusted.overlay.* xattrs are dropped (they would steer
   * the mount).  A hardlink to a file of a lower layer links to that file in
   * `lowers` (the lower layers' directories, top first, all on the layer's
   * filesystem): that inode is what the merged view shows at both names. */
  bool overlay;
  const int *lowers;
  size_t lowers_len;
};

/* What an entry costs beyond its tar header: the block a directory, or the
 * tail of a small file, takes on disk.  Without it, a layer of a million
 * empty directories would take eight times what its stream says. */
#define IMG_LAYER_ENTRY_COST 4096

struct img_layer_stats
{
  uint64_t entries;
  uint64_t bytes;      /* uncompressed tar bytes */
  uint64_t compressed; /* blob bytes read */
};

/* Pull the next chunk of the blob: return its length (0 at the end) with
 * *buf pointing at it (valid until the next call), or -1 with *err set.
 * Lets a download stream straight into the unpacker.  Called from the
 * thread that decompresses (one call at a time; the caller's thread again
 * once img_layer_apply has joined it, to hash the rest of a bad blob). */
typedef ssize_t (*img_layer_read_fn)(void *data, const void **buf, struct oci_error **err);

int img_layer_apply(int rootfd, img_layer_read_fn read_fn, void *read_data, const struct img_layer_opts *o,
                    struct img_layer_stats *stats, struct oci_error **err);
/* The same, reading the blob from fd until EOF. */
int img_layer_apply_fd(int rootfd, int fd, const struct img_layer_opts *o, struct img_layer_stats *stats,
                       struct oci_error **err);

/* A layer from a file, read, hashed and decompressed ahead of its turn in
 * threads of its own (up to 32 MB of the uncompressed stream, then they
 * wait): imgtool bundle starts the next layer's while it applies one, so
 * that inflating it, the slowest part, overlaps with the end of the one
 * before.  Nothing is written before img_layer_apply_ahead.  Starting does
 * not fail: a failure is reported by img_layer_apply_ahead, as
 * img_layer_apply_fd would.  `check_diff_id` must say whether the options
 * given to img_layer_apply_ahead have a diff_id.  The fd stays the
 * caller's (a copy is kept). */
struct img_layer_ahead;
struct img_layer_ahead *img_layer_ahead_start(int fd, bool check_diff_id);
int img_layer_apply_ahead(int rootfd, struct img_layer_ahead *a, const struct img_layer_opts *o,
                          struct img_layer_stats *stats, struct oci_error **err);
/* Stops the threads if the layer was not applied. */
void img_layer_ahead_free(struct img_layer_ahead *a);

/* rm -rf, also of read-only directories when not root. */
int img_remove_tree(const char *path, struct oci_error **err);

/* True when we are root in the initial user namespace: only then do
 * ownership and device nodes mean what the layer says. */
bool img_layer_privileged(void);

#endif
