/* A whole pull from a registry into the store: resolve the tag with HEAD,
 * fetch the manifest (and index) by digest, choose the platform, fetch the
 * config and the missing layers several at once, then point the ref at the
 * image manifest.  Blobs already in the store are not requested again. */
#ifndef IMG_PULL_H
#define IMG_PULL_H

#include <stdbool.h>
#include <stdio.h>

#include "bundle.h"
#include "error.h"
#include "reference.h"
#include "registry.h"
#include "store.h"

struct img_pull_opts
{
  struct img_registry_opts registry;
  const char *platform; /* "os/arch[/variant]"; NULL for the host's */
  FILE *progress;       /* per-layer progress (stderr), NULL for none */
  bool progress_tty;    /* redraw in place */
};

/* What a pull pointed the name at. */
struct img_pulled
{
  char *digest;          /* what the registry serves for the name: the index of a multi-platform image */
  char *manifest_digest; /* the platform's image manifest (== digest for a single-manifest image) */
  char *platform;        /* "os/arch[/variant]" of the image */
};
void img_pulled_clear(struct img_pulled *r);

/* Pull REF (a registry reference) into STORE under the store's per-image
 * lock, so a concurrent pull of the same image waits and then finds its
 * blobs present.  The ref REF's name:tag (or name@digest) is pointed, for
 * the image's platform only, at the platform's image manifest (the index,
 * when there is one, is kept in the store as a blob so that the next pull
 * can choose from it without downloading it again). */
int img_pull(struct img_store *store, const struct img_reference *ref, const struct img_pull_opts *opts,
             struct img_pulled *out, struct oci_error **err);

/* ---- pulling while unpacking (a bundle of an image not in the store) ----
 *
 * start: what img_pull does before the layers (manifest and config fetched,
 * verified and stored, under the per-image lock), then every missing layer
 * whose blob lock is free starts downloading into the store in a thread.
 * The source (for img_bundle_opts.source) hands out the layers in order: a
 * downloading one is read from its partial file as the bytes arrive, so
 * download, sha256, decompression, diff_id and unpacking overlap; one that
 * another pull was writing is fetched when its turn comes.
 * finish (the source's, called by the bundle before DIR appears): waits for
 * the downloads, which commit only verified blobs, and points the ref at the
 * manifest.  Freeing a stream that did not finish cancels the downloads;
 * their partial files stay for a resume and no ref changes. */
struct img_pull_stream;
int img_pull_stream_start(struct img_store *store, const struct img_reference *ref,
                          const struct img_pull_opts *opts, struct img_pull_stream **out,
                          struct oci_error **err);
const char *img_pull_stream_manifest_digest(const struct img_pull_stream *s);
const char *img_pull_stream_media_type(const struct img_pull_stream *s);
const struct img_layer_source *img_pull_stream_source(struct img_pull_stream *s);
int img_pull_stream_finish(struct img_pull_stream *s, struct oci_error **err);
void img_pull_stream_free(struct img_pull_stream *s);

static inline void
cleanup_pull_streamp(struct img_pull_stream **s)
{
  img_pull_stream_free(*s);
}
#define cleanup_pull_stream __attribute__((cleanup(cleanup_pull_streamp)))

#endif
