/* Bundles whose rootfs is an overlayfs mount of layers shared through the
 * store (imgtool bundle --overlay), as container engines' snapshotters do.
 *
 * Each layer is unpacked once, in overlayfs's own form (see
 * img_layer_opts.overlay), into store/layers/<chain>, where <chain> is the
 * hex of the layer's chain ID (image-spec config.md: the diff_ids of the
 * layer and of every layer below it).  The chain, not the blob digest, names
 * it because the unpacked form depends on the layers below: a hardlink to a
 * file of a lower layer links to that layer's inode.  An entry is unpacked
 * under layers/.tmp-<chain> while locks/<sha256("layer <chain>")>.lock is
 * held, synced, then renamed: a name in layers/ is always complete.
 *
 * The bundle: DIR/config.json as in copy mode, DIR/rootfs the mount
 * (lowerdir = the chain's layers, top first; upperdir and workdir in
 * DIR/.overlay/), DIR/.imgtool-bundle (the marker every imgtool bundle
 * has, naming the store and record), and a record in store/bundles/ that
 * keeps gc off the bundle's blobs and layers until `imgtool unbundle`. */
#ifndef IMG_OVERLAY_H
#define IMG_OVERLAY_H

#include <stdbool.h>

#include "error.h"
#include "layout.h"
#include "store.h"

struct img_bundle_opts;

/* The file that makes a directory an imgtool bundle. */
#define IMG_BUNDLE_MARKER ".imgtool-bundle"

/* Unpack what the store's cache lacks of img's layers, then mount the
 * overlay on `abs_dir`/rootfs (`abs_dir` holds .overlay/upper and work).
 * rec gets manifest, platform, blobs and chains. */
int img_overlay_mount_image(struct img_store *s, const struct img_image *img, const char *abs_dir,
                            const struct img_bundle_opts *o, struct img_store_bundle *rec,
                            struct oci_error **err);
/* Lazily detach what img_overlay_mount_image mounted (failure paths). */
void img_overlay_unmount_quietly(const char *abs_dir);

/* Write DIR/.imgtool-bundle: kind "copy", or "overlay" with the store's
 * absolute path and the record's id. */
int img_bundle_write_marker(int bundlefd, const char *kind, const char *store, const char *id,
                            struct oci_error **err);

enum img_bundle_state
{
  IMG_BUNDLE_MOUNTED,
  IMG_BUNDLE_NOT_MOUNTED, /* the bundle is there, its mount is not (a reboot) */
  IMG_BUNDLE_GONE,        /* no directory, or not the bundle the record names */
};
enum img_bundle_state img_overlay_state(const struct img_store_bundle *b);

/* imgtool bundle --remount DIR: mount again an overlay bundle whose mount
 * vanished, re-making cached layers that are missing.  Nothing to do when
 * it is mounted. */
int img_bundle_remount(const char *dir, const struct img_bundle_opts *o, struct oci_error **err);

/* imgtool unbundle DIR: unmount an overlay bundle, drop its record, remove
 * DIR; a copy bundle is removed.  Refuses a directory without the marker,
 * and one with anything else mounted inside it. */
int img_bundle_remove(const char *dir, struct oci_error **err);

/* The directory of an overlay bundle is gone (removed without unbundle):
 * drop the store's record of it, so that gc may free its layers.  Returns 1
 * when there was a record, 0 when there was none. */
int img_bundle_forget(struct img_store *s, const char *dir, struct oci_error **err);

#endif
