/* The OCI image data model (image-spec descriptor.md, image-index.md,
 * manifest.md, config.md), also accepting Docker's schema2 equivalents.
 *
 * Same conventions as config.h: JSON camelCase becomes snake_case, arrays
 * are pointer + `_len`, absent strings are NULL, maps are `struct oci_kv`
 * arrays in document order (for sets such as ExposedPorts and Volumes the
 * value is NULL).  Parsers never re-serialise: digests are computed by the
 * caller over the exact bytes. */
#ifndef OCI_IMAGE_H
#define OCI_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci-config.h"
#include "error.h"

#define OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define OCI_MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_MT_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define DOCKER_MT_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_MT_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_MT_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+prettyjws"
#define DOCKER_MT_SCHEMA1_PLAIN "application/vnd.docker.distribution.manifest.v1+json"
#define DOCKER_MT_CONFIG "application/vnd.docker.container.image.v1+json"
#define DOCKER_MT_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define DOCKER_MT_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

/* Size caps applied before parsing (REGISTRY.md §4). */
#define OCI_MANIFEST_MAX_SIZE (4u << 20)
#define OCI_CONFIG_MAX_SIZE (16u << 20)

struct oci_platform
{
  char *architecture;
  char *os;
  char *os_version;
  char **os_features;
  size_t os_features_len;
  char *variant;
  char **features;
  size_t features_len;
};

struct oci_descriptor
{
  char *media_type;
  char *digest;
  int64_t size;
  char **urls;
  size_t urls_len;
  struct oci_kv *annotations;
  size_t annotations_len;
  struct oci_platform *platform; /* NULL when absent */
  char *artifact_type;
};

struct oci_image_index
{
  int64_t schema_version;
  char *media_type; /* NULL when absent */
  struct oci_descriptor *manifests;
  size_t manifests_len;
  struct oci_kv *annotations;
  size_t annotations_len;
};

struct oci_image_manifest
{
  int64_t schema_version;
  char *media_type; /* NULL when absent (umoci writes none) */
  struct oci_descriptor config;
  struct oci_descriptor *layers;
  size_t layers_len;
  struct oci_kv *annotations;
  size_t annotations_len;
};

/* The execution parameters ("config" in the image config). */
struct oci_image_exec_config
{
  char *user;
  struct oci_kv *exposed_ports; /* keys only */
  size_t exposed_ports_len;
  char **env;
  size_t env_len;
  char **entrypoint;
  size_t entrypoint_len;
  char **cmd;
  size_t cmd_len;
  struct oci_kv *volumes; /* keys only */
  size_t volumes_len;
  char *working_dir;
  struct oci_kv *labels;
  size_t labels_len;
  char *stop_signal;
};

struct oci_image_config
{
  char *created;
  char *author;
  char *architecture;
  char *os;
  char *os_version;
  char **os_features;
  size_t os_features_len;
  char *variant;
  struct oci_image_exec_config config; /* all-NULL when absent */
  char *rootfs_type;                   /* "layers" */
  char **diff_ids;
  size_t diff_ids_len;
};

/* What a manifest-ish document is, from its mediaType field or, when that is
 * absent, from its shape ("manifests" → index, "config"+"layers" →
 * manifest).  Returns one of the OCI_MT_ / DOCKER_MT_ strings (static), or
 * NULL with *err set. */
const char *oci_image_sniff_media_type(const char *name, const char *text, size_t len,
                                       struct oci_error **err);

bool oci_media_type_is_index(const char *mt);    /* OCI index or Docker list */
bool oci_media_type_is_manifest(const char *mt); /* OCI manifest or Docker schema2 */
bool oci_media_type_is_config(const char *mt);

/* Parsers: `name` prefixes messages ("manifest sha256:…: layers[2].digest:
 * expected string").  schemaVersion must be 2; descriptors need mediaType,
 * a valid digest and a size >= 0. */
int oci_image_index_parse(const char *name, const char *text, size_t len, struct oci_image_index **out,
                          struct oci_error **err);
int oci_image_manifest_parse(const char *name, const char *text, size_t len, struct oci_image_manifest **out,
                             struct oci_error **err);
int oci_image_config_parse(const char *name, const char *text, size_t len, struct oci_image_config **out,
                           struct oci_error **err);

void oci_platform_free(struct oci_platform *p);
void oci_descriptor_clear(struct oci_descriptor *d);
void oci_image_index_free(struct oci_image_index *x);
void oci_image_manifest_free(struct oci_image_manifest *m);
void oci_image_config_free(struct oci_image_config *c);

/* Serialise an index (used for an image layout's index.json). */
int oci_image_index_emit(const struct oci_image_index *x, bool pretty, char **out, size_t *len,
                         struct oci_error **err);

/* "sha256:<64 lowercase hex>" exactly. */
bool oci_digest_is_valid(const char *digest);

/* kv arrays: lookup (last match; NULL when absent), insert-or-replace, free. */
const char *oci_kv_get(const struct oci_kv *kv, size_t len, const char *key);
void oci_kv_set(struct oci_kv **kv, size_t *len, const char *key, const char *value);
void oci_kv_array_free(struct oci_kv *kv, size_t len);

static inline void
cleanup_image_indexp(struct oci_image_index **p)
{
  oci_image_index_free(*p);
}
static inline void
cleanup_image_manifestp(struct oci_image_manifest **p)
{
  oci_image_manifest_free(*p);
}
static inline void
cleanup_image_configp(struct oci_image_config **p)
{
  oci_image_config_free(*p);
}
#define cleanup_image_index __attribute__((cleanup(cleanup_image_indexp)))
#define cleanup_image_manifest __attribute__((cleanup(cleanup_image_manifestp)))
#define cleanup_image_config __attribute__((cleanup(cleanup_image_configp)))

#endif
