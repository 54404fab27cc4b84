/* Local image sources and image resolution.
 *
 * `oci:DIR[:tag]` is an OCI image layout, opened read-only with the store
 * code (the store is a layout too); `oci-archive:FILE[:tag]` is a tar of one,
 * unpacked into a private temporary directory first (with the layer applier,
 * so a hostile archive cannot write outside it) and removed afterwards.
 *
 * img_image_load() goes from a ref's descriptor to what a bundle needs: an
 * index is narrowed to one platform, then the manifest and the config are
 * read (size-capped, digest-verified: a layout is untrusted input) and
 * parsed. */
#ifndef IMG_LAYOUT_H
#define IMG_LAYOUT_H

#include "spec/image.h"
#include "reference.h"
#include "store.h"

struct img_local
{
  struct img_store *layout; /* read-only */
  char *tmpdir;             /* the unpacked oci-archive, removed by img_local_free */
};

int img_local_open(const struct img_reference *ref, struct img_local **out, struct oci_error **err);
void img_local_free(struct img_local *l);

/* The image of a local source: its tag, or its only image when no tag was
 * given. */
int img_local_find(struct img_local *l, const char *tag, struct img_store_ref **out, struct oci_error **err);

struct img_image
{
  char *manifest_digest;
  struct oci_image_manifest *manifest;
  struct oci_image_config *config;
  uint64_t size; /* config + layers, as stored (compressed) */
};

/* platform: "os/arch[/variant]" or NULL for the host's.  A single manifest
 * must be for that platform too; an index is narrowed to it. */
int img_image_load(struct img_store *s, const char *digest, const char *media_type, const char *platform,
                   struct img_image **out, struct oci_error **err);
void img_image_free(struct img_image *img);

/* Copy IMG (loaded from SRC, a local source) into STORE: the manifest, the
 * config and every layer, each verified against its digest and size on the
 * way in (a layout is untrusted input), then point NAME:TAG at the manifest
 * for the image's platform (under the store's per-image lock, like a pull).
 * SOURCE_DIGEST is what the source's tag names (an index, or the manifest). */
int img_local_copy(struct img_store *src, const struct img_image *img, const char *source_digest,
                   struct img_store *store, const char *name, const char *tag, struct oci_error **err);

static inline void
cleanup_localp(struct img_local **l)
{
  img_local_free(*l);
}
static inline void
cleanup_imagep(struct img_image **i)
{
  img_image_free(*i);
}
#define cleanup_local __attribute__((cleanup(cleanup_localp)))
#define cleanup_image __attribute__((cleanup(cleanup_imagep)))

#endif
