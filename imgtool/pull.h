/* A whole pull from a registry into the store: resolve the tag with HEAD,
 * fetch the manifest (and index) by digest, choose the platform, fetch the
 * config and the missing layers several at once, then point the ref at the
 * image manifest.  Blobs already in the store are not requested again. */
#ifndef IMG_PULL_H
#define IMG_PULL_H

#include <stdbool.h>
#include <stdio.h>

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

/* Pull REF (a registry reference) into STORE under the store's per-image
 * lock, so a concurrent pull of the same image waits and then finds its
 * blobs present.  The ref REF's name:tag (or name@digest) is pointed at the
 * platform's image manifest, whose digest is returned in *manifest_digest
 * (the index, when there is one, is kept in the store as a blob so that the
 * next pull can choose from it without downloading it again). */
int img_pull(struct img_store *store, const struct img_reference *ref, const struct img_pull_opts *opts,
             char **manifest_digest, struct oci_error **err);

#endif
