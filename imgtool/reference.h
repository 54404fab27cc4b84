/* Image references, normalised the way Docker's distribution/reference does
 * (see ../shared/REGISTRY.md §1): `alpine` is docker.io/library/alpine:latest.
 *
 * Local sources for offline use are references too: `oci:DIR[:tag]` (an OCI
 * image layout) and `oci-archive:FILE[:tag]` (a tar of one). */
#ifndef IMG_REFERENCE_H
#define IMG_REFERENCE_H

#include <stdbool.h>

#include "error.h"

#define IMG_DEFAULT_DOMAIN "docker.io"
#define IMG_DEFAULT_TAG "latest"
/* The API host behind docker.io; docker.io itself serves no /v2/. */
#define IMG_DOCKER_HUB_HOST "registry-1.docker.io"

enum img_ref_transport
{
  IMG_REF_REGISTRY,
  IMG_REF_OCI_LAYOUT,  /* oci:DIR[:tag] */
  IMG_REF_OCI_ARCHIVE, /* oci-archive:FILE[:tag] */
};

struct img_reference
{
  enum img_ref_transport transport;
  char *registry;   /* "docker.io", "localhost:5000", "ghcr.io"; NULL for local sources */
  char *repository; /* "library/alpine"; NULL for local sources */
  char *tag;        /* "latest"; NULL when a digest was given (the digest wins) */
  char *digest;     /* "sha256:<64 hex>" or NULL */
  char *path;       /* local sources: the directory or archive; NULL otherwise */
};

/* Parse and normalise STR.  Errors name the offending part:
 * "invalid reference `Foo`: repository name (Foo) must be lowercase". */
int img_reference_parse(const char *str, struct img_reference **ref, struct oci_error **err);
void img_reference_free(struct img_reference *ref);

/* Fully qualified: "docker.io/library/alpine:latest", "ghcr.io/o/r@sha256:…",
 * "oci:/some/dir:tag".  Newly allocated. */
char *img_reference_string(const struct img_reference *ref);

/* "registry/repository" with neither tag nor digest ("docker.io/library/alpine"). */
char *img_reference_name(const struct img_reference *ref);

/* Docker's short form for display: "alpine:latest", "user/app:1",
 * "ghcr.io/o/r:t".  Newly allocated. */
char *img_reference_familiar(const struct img_reference *ref);

/* The host that serves the registry API for REGISTRY (docker.io →
 * registry-1.docker.io); a pointer into REGISTRY or a constant. */
const char *img_registry_api_host(const char *registry);

struct img_reference *img_reference_dup(const struct img_reference *ref);

static inline void
cleanup_img_referencep(struct img_reference **r)
{
  img_reference_free(*r);
}
#define cleanup_img_reference __attribute__((cleanup(cleanup_img_referencep)))

#endif
