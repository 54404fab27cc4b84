/* The distribution API, pull side: manifests (HEAD to resolve a tag, GET by
 * digest, verified over the exact bytes) and blobs (streamed to a sink,
 * several at once), with bearer-token authentication answered on 401 and
 * the registry's error bodies turned into messages (REGISTRY.md §4, §6, §7). */
#ifndef IMG_REGISTRY_H
#define IMG_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "http.h"

/* One comma-separated Accept header listing the four manifest types. */
#define IMG_MANIFEST_ACCEPT                                                                                  \
  "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "     \
  "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"

struct img_registry_opts
{
  const char *creds;             /* --creds user:pass */
  const char *creds_source;      /* how messages name `creds`; NULL: "--creds" */
  const char *ca_file;           /* --ca-file */
  const char *const *insecure;   /* --insecure-registry hosts, NULL-terminated */
  const char *docker_config_dir; /* NULL: $DOCKER_CONFIG or ~/.docker */
  const char *podman_auth_file;  /* NULL: $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json */
  unsigned max_parallel;         /* blobs at once; 0: 3 */
  unsigned retries;              /* 0: the http default */
  unsigned backoff_ms;           /* 0: the http default */
  img_http_log_fn log;           /* -v diagnostics, or NULL */
  void *log_data;
  bool (*cancelled)(void *data); /* see img_http_opts; NULL: never */
  void *cancel_data;
};

struct img_registry;

/* REGISTRY is the normalised domain of a reference ("docker.io",
 * "127.0.0.1:5443"); the API host is derived from it. */
int img_registry_open(const char *registry, const struct img_registry_opts *opts, struct img_registry **out,
                      struct oci_error **err);
void img_registry_free(struct img_registry *reg);

struct img_manifest_ref
{
  char *digest;     /* sha256:… */
  char *media_type; /* Content-Type without parameters, may be NULL after HEAD */
  int64_t size;     /* -1 when unknown */
};
void img_manifest_ref_clear(struct img_manifest_ref *m);

/* HEAD /v2/REPO/manifests/TAG: the digest a tag points at, without
 * counting as a pull.  Registries that omit Docker-Content-Digest are asked
 * with GET instead and the digest is computed over the bytes. */
int img_registry_resolve(struct img_registry *reg, const char *repo, const char *tag,
                         struct img_manifest_ref *out, struct oci_error **err);

/* GET /v2/REPO/manifests/DIGEST: at most 4 MiB, sha256 of the exact bytes
 * must equal DIGEST, Content-Type must agree with the body's mediaType,
 * schema 1 is refused.  *media_type is what the manifest is. */
int img_registry_get_manifest(struct img_registry *reg, const char *repo, const char *digest, char **buf,
                              size_t *len, char **media_type, struct oci_error **err);

/* One blob to fetch: bytes go to sink from `offset` on (Range when > 0). */
struct img_registry_blob
{
  const char *digest;
  int64_t size; /* from the descriptor; more bytes are refused */
  img_http_sink_fn sink;
  img_http_restart_fn restart;
  void *sink_data;
  uint64_t offset; /* in/out */
};

/* GET /v2/REPO/blobs/DIGEST for each blob, several at once.  Redirects are
 * followed without our token.  The caller verifies the digest (the store's
 * writer does).  errs[i] gets each blob's failure; -1 when any failed. */
int img_registry_fetch_blobs(struct img_registry *reg, const char *repo, struct img_registry_blob *blobs,
                             size_t n, struct oci_error **errs);

/* GET /v2/ answering the registry's challenge with the credentials
 * (`imgtool login`): 0 when the registry accepts them, an EACCES error
 * naming the registry when it or its token server refuses them. */
int img_registry_check_login(struct img_registry *reg, struct oci_error **err);

/* One blob into memory (a config): at most MAX bytes, digest verified. */
int img_registry_get_blob(struct img_registry *reg, const char *repo, const char *digest, size_t max,
                          char **buf, size_t *len, struct oci_error **err);

static inline void
cleanup_registryp(struct img_registry **r)
{
  img_registry_free(*r);
}
#define cleanup_registry __attribute__((cleanup(cleanup_registryp)))

#endif
