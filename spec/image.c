#include <config.h>

#include <errno.h>
#include <string.h>

#include "image.h"
#include "json.h"
#include "util.h"

/* Every reader below takes the document name and the JSON path of the value
 * so that messages name the offending field: "manifest: layers[2].size:
 * expected integer". */

static const char *
type_name(enum json_type t)
{
  switch (t)
    {
    case JSON_NULL:
      return "null";
    case JSON_BOOL:
      return "boolean";
    case JSON_NUMBER:
      return "number";
    case JSON_STRING:
      return "string";
    case JSON_OBJECT:
      return "object";
    case JSON_ARRAY:
      return "array";
    }
  return "value";
}

static int
type_error(const char *name, const char *path, const char *want, const struct json_value *v,
           struct oci_error **err)
{
  return oci_error_set(err, 0, "%s: %s: expected %s, got %s", name, path, want, type_name(v->type));
}

/* A missing key and an explicit null both read as absent: Docker writes
 * `"Cmd": null` freely. */
static const struct json_value *
member(const struct json_value *obj, const char *key)
{
  const struct json_value *v = json_object_get(obj, key);
  if (v == NULL || v->type == JSON_NULL)
    return NULL;
  return v;
}

static int
read_string(const char *name, const char *path, const struct json_value *v, char **out,
            struct oci_error **err)
{
  if (v == NULL)
    return 0;
  if (v->type != JSON_STRING)
    return type_error(name, path, "string", v, err);
  *out = xstrdup(v->u.string);
  return 0;
}

static int
read_strv(const char *name, const char *path, const struct json_value *v, char ***out, size_t *len,
          struct oci_error **err)
{
  if (v == NULL)
    return 0;
  if (v->type != JSON_ARRAY)
    return type_error(name, path, "array of strings", v, err);
  char **r = xcalloc(v->u.array.len + 1, sizeof *r);
  for (size_t i = 0; i < v->u.array.len; i++)
    {
      const struct json_value *it = v->u.array.items[i];
      if (it->type != JSON_STRING)
        {
          cleanup_strvp(&r);
          return oci_error_set(err, 0, "%s: %s[%zu]: expected string, got %s", name, path, i,
                               type_name(it->type));
        }
      r[i] = xstrdup(it->u.string);
    }
  *out = r;
  *len = v->u.array.len;
  return 0;
}

static void
kv_free(struct oci_kv *kv, size_t len)
{
  for (size_t i = 0; i < len; i++)
    {
      free(kv[i].key);
      free(kv[i].value);
    }
  free(kv);
}

/* string → string map; with keys_only, the values may be anything (sets
 * such as Volumes are written `{"/data": {}}`) and are dropped. */
static int
read_map(const char *name, const char *path, const struct json_value *v, bool keys_only, struct oci_kv **out,
         size_t *len, struct oci_error **err)
{
  if (v == NULL)
    return 0;
  if (v->type != JSON_OBJECT)
    return type_error(name, path, "object", v, err);
  struct oci_kv *kv = xcalloc(v->u.object.len + 1, sizeof *kv);
  for (size_t i = 0; i < v->u.object.len; i++)
    {
      const struct json_value *val = v->u.object.values[i];
      if (!keys_only && val->type != JSON_STRING)
        {
          int r = oci_error_set(err, 0, "%s: %s.%s: expected string, got %s", name, path, v->u.object.keys[i],
                                type_name(val->type));
          kv_free(kv, i);
          return r;
        }
      kv[i].key = xstrdup(v->u.object.keys[i]);
      kv[i].value = keys_only ? NULL : xstrdup(val->u.string);
    }
  *out = kv;
  *len = v->u.object.len;
  return 0;
}

static int
read_int64(const char *name, const char *path, const struct json_value *v, int64_t *out,
           struct oci_error **err)
{
  if (v == NULL)
    return 0;
  if (v->type != JSON_NUMBER)
    return type_error(name, path, "integer", v, err);
  if (json_number_int64(v, out) < 0)
    return oci_error_set(err, 0, "%s: %s: `%s` is not a 64-bit integer", name, path, v->u.number);
  return 0;
}

void
oci_platform_free(struct oci_platform *p)
{
  if (p == NULL)
    return;
  free(p->architecture);
  free(p->os);
  free(p->os_version);
  cleanup_strvp(&p->os_features);
  free(p->variant);
  cleanup_strvp(&p->features);
  free(p);
}

static int
parse_platform(const char *name, const char *path, const struct json_value *v, struct oci_platform **out,
               struct oci_error **err)
{
  cleanup_free char *p = NULL;

  if (v == NULL)
    return 0;
  if (v->type != JSON_OBJECT)
    return type_error(name, path, "object", v, err);

  struct oci_platform *pl = xzalloc(sizeof *pl);
  *out = pl;
#define FIELD(key) (free(p), p = xasprintf("%s.%s", path, key), p)
  if (read_string(name, FIELD("architecture"), member(v, "architecture"), &pl->architecture, err) < 0
      || read_string(name, FIELD("os"), member(v, "os"), &pl->os, err) < 0
      || read_string(name, FIELD("os.version"), member(v, "os.version"), &pl->os_version, err) < 0
      || read_strv(name, FIELD("os.features"), member(v, "os.features"), &pl->os_features,
                   &pl->os_features_len, err)
             < 0
      || read_string(name, FIELD("variant"), member(v, "variant"), &pl->variant, err) < 0
      || read_strv(name, FIELD("features"), member(v, "features"), &pl->features, &pl->features_len, err) < 0)
    return -1;
#undef FIELD
  return 0;
}

bool
oci_digest_is_valid(const char *d)
{
  if (d == NULL || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64)
    return false;
  for (const char *c = d + 7; *c; c++)
    if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
      return false;
  return true;
}

void
oci_descriptor_clear(struct oci_descriptor *d)
{
  free(d->media_type);
  free(d->digest);
  cleanup_strvp(&d->urls);
  kv_free(d->annotations, d->annotations_len);
  oci_platform_free(d->platform);
  free(d->artifact_type);
  memset(d, 0, sizeof *d);
}

static int
parse_descriptor(const char *name, const char *path, const struct json_value *v, struct oci_descriptor *d,
                 struct oci_error **err)
{
  cleanup_free char *p = NULL;

  if (v == NULL)
    return oci_error_set(err, 0, "%s: %s: missing", name, path);
  if (v->type != JSON_OBJECT)
    return type_error(name, path, "object", v, err);

  d->size = -1;
#define FIELD(key) (free(p), p = xasprintf("%s.%s", path, key), p)
  if (read_string(name, FIELD("mediaType"), member(v, "mediaType"), &d->media_type, err) < 0
      || read_string(name, FIELD("digest"), member(v, "digest"), &d->digest, err) < 0
      || read_int64(name, FIELD("size"), member(v, "size"), &d->size, err) < 0
      || read_strv(name, FIELD("urls"), member(v, "urls"), &d->urls, &d->urls_len, err) < 0
      || read_map(name, FIELD("annotations"), member(v, "annotations"), false, &d->annotations,
                  &d->annotations_len, err)
             < 0
      || parse_platform(name, FIELD("platform"), member(v, "platform"), &d->platform, err) < 0
      || read_string(name, FIELD("artifactType"), member(v, "artifactType"), &d->artifact_type, err) < 0)
    return -1;
  if (d->media_type == NULL)
    return oci_error_set(err, 0, "%s: %s: missing", name, FIELD("mediaType"));
  if (d->digest == NULL)
    return oci_error_set(err, 0, "%s: %s: missing", name, FIELD("digest"));
  if (!oci_digest_is_valid(d->digest))
    {
      if (strncmp(d->digest, "sha256:", 7) != 0 && strchr(d->digest, ':') != NULL)
        return oci_error_set(err, 0, "%s: %s: not supported: digest algorithm of `%s`", name, FIELD("digest"),
                             d->digest);
      return oci_error_set(err, 0, "%s: %s: invalid digest `%s`", name, FIELD("digest"), d->digest);
    }
  if (d->size < 0)
    return oci_error_set(err, 0, "%s: %s: missing or negative", name, FIELD("size"));
#undef FIELD
  return 0;
}

static int
parse_descriptors(const char *name, const char *path, const struct json_value *v, struct oci_descriptor **out,
                  size_t *len, struct oci_error **err)
{
  if (v == NULL)
    return 0;
  if (v->type != JSON_ARRAY)
    return type_error(name, path, "array", v, err);
  *out = xcalloc(v->u.array.len + 1, sizeof **out);
  for (size_t i = 0; i < v->u.array.len; i++)
    {
      cleanup_free char *p = xasprintf("%s[%zu]", path, i);
      *len = i + 1; /* the caller frees what was parsed so far */
      if (parse_descriptor(name, p, v->u.array.items[i], &(*out)[i], err) < 0)
        return -1;
    }
  *len = v->u.array.len;
  return 0;
}

static int
parse_root(const char *name, const char *text, size_t len, struct json_value **root, struct oci_error **err)
{
  if (json_parse(name, text, len, root, err) < 0)
    return -1;
  if ((*root)->type != JSON_OBJECT)
    return oci_error_set(err, 0, "%s: expected a JSON object, got %s", name, type_name((*root)->type));
  return 0;
}

static int
check_schema_version(const char *name, const struct json_value *root, int64_t *out, struct oci_error **err)
{
  const struct json_value *v = member(root, "schemaVersion");
  if (v == NULL)
    return oci_error_set(err, 0, "%s: schemaVersion: missing", name);
  if (read_int64(name, "schemaVersion", v, out, err) < 0)
    return -1;
  if (*out == 1)
    return oci_error_set(err, 0,
                         "%s: not supported: Docker schema 1 manifests (legacy format; rebuild or re-push "
                         "the image with a current client)",
                         name);
  if (*out != 2)
    return oci_error_set(err, 0, "%s: schemaVersion: expected 2, got %lld", name, (long long)*out);
  return 0;
}

bool
oci_media_type_is_index(const char *mt)
{
  return mt && (strcmp(mt, OCI_MT_INDEX) == 0 || strcmp(mt, DOCKER_MT_LIST) == 0);
}

bool
oci_media_type_is_manifest(const char *mt)
{
  return mt && (strcmp(mt, OCI_MT_MANIFEST) == 0 || strcmp(mt, DOCKER_MT_MANIFEST) == 0);
}

bool
oci_media_type_is_config(const char *mt)
{
  return mt && (strcmp(mt, OCI_MT_CONFIG) == 0 || strcmp(mt, DOCKER_MT_CONFIG) == 0);
}

const char *
oci_image_sniff_media_type(const char *name, const char *text, size_t len, struct oci_error **err)
{
  static const char *const known[] = { OCI_MT_INDEX,       OCI_MT_MANIFEST,   DOCKER_MT_LIST,
                                       DOCKER_MT_MANIFEST, DOCKER_MT_SCHEMA1, DOCKER_MT_SCHEMA1_PLAIN };
  cleanup_json_value struct json_value *root = NULL;

  if (parse_root(name, text, len, &root, err) < 0)
    return NULL;

  const struct json_value *mt = member(root, "mediaType");
  if (mt && mt->type == JSON_STRING)
    {
      for (size_t i = 0; i < OCI_ARRAY_SIZE(known); i++)
        if (strcmp(mt->u.string, known[i]) == 0)
          return known[i];
      oci_error_set(err, 0, "%s: not supported: media type `%s`", name, mt->u.string);
      return NULL;
    }
  const struct json_value *sv = member(root, "schemaVersion");
  int64_t version = 0;
  if (sv && sv->type == JSON_NUMBER && json_number_int64(sv, &version) == 0 && version == 1)
    return DOCKER_MT_SCHEMA1;
  if (member(root, "manifests"))
    return OCI_MT_INDEX;
  if (member(root, "config") && member(root, "layers"))
    return OCI_MT_MANIFEST;
  oci_error_set(err, 0, "%s: neither an image index nor an image manifest", name);
  return NULL;
}

void
oci_image_index_free(struct oci_image_index *x)
{
  if (x == NULL)
    return;
  free(x->media_type);
  for (size_t i = 0; i < x->manifests_len; i++)
    oci_descriptor_clear(&x->manifests[i]);
  free(x->manifests);
  kv_free(x->annotations, x->annotations_len);
  free(x);
}

int
oci_image_index_parse(const char *name, const char *text, size_t len, struct oci_image_index **out,
                      struct oci_error **err)
{
  cleanup_json_value struct json_value *root = NULL;
  cleanup_image_index struct oci_image_index *x = xzalloc(sizeof *x);

  if (parse_root(name, text, len, &root, err) < 0
      || check_schema_version(name, root, &x->schema_version, err) < 0
      || read_string(name, "mediaType", member(root, "mediaType"), &x->media_type, err) < 0
      || parse_descriptors(name, "manifests", member(root, "manifests"), &x->manifests, &x->manifests_len,
                           err)
             < 0
      || read_map(name, "annotations", member(root, "annotations"), false, &x->annotations,
                  &x->annotations_len, err)
             < 0)
    return -1;
  if (x->media_type && !oci_media_type_is_index(x->media_type))
    return oci_error_set(err, 0, "%s: mediaType: expected an image index, got `%s`", name, x->media_type);
  if (member(root, "manifests") == NULL)
    return oci_error_set(err, 0, "%s: manifests: missing", name);
  *out = steal_pointer(&x);
  return 0;
}

void
oci_image_manifest_free(struct oci_image_manifest *m)
{
  if (m == NULL)
    return;
  free(m->media_type);
  oci_descriptor_clear(&m->config);
  for (size_t i = 0; i < m->layers_len; i++)
    oci_descriptor_clear(&m->layers[i]);
  free(m->layers);
  kv_free(m->annotations, m->annotations_len);
  free(m);
}

int
oci_image_manifest_parse(const char *name, const char *text, size_t len, struct oci_image_manifest **out,
                         struct oci_error **err)
{
  cleanup_json_value struct json_value *root = NULL;
  cleanup_image_manifest struct oci_image_manifest *m = xzalloc(sizeof *m);

  if (parse_root(name, text, len, &root, err) < 0
      || check_schema_version(name, root, &m->schema_version, err) < 0
      || read_string(name, "mediaType", member(root, "mediaType"), &m->media_type, err) < 0)
    return -1;
  if (m->media_type && !oci_media_type_is_manifest(m->media_type))
    return oci_error_set(err, 0, "%s: mediaType: expected an image manifest, got `%s`", name, m->media_type);
  if (parse_descriptor(name, "config", member(root, "config"), &m->config, err) < 0
      || parse_descriptors(name, "layers", member(root, "layers"), &m->layers, &m->layers_len, err) < 0
      || read_map(name, "annotations", member(root, "annotations"), false, &m->annotations,
                  &m->annotations_len, err)
             < 0)
    return -1;
  if (member(root, "layers") == NULL)
    return oci_error_set(err, 0, "%s: layers: missing", name);
  *out = steal_pointer(&m);
  return 0;
}

void
oci_image_config_free(struct oci_image_config *c)
{
  if (c == NULL)
    return;
  free(c->created);
  free(c->author);
  free(c->architecture);
  free(c->os);
  free(c->os_version);
  cleanup_strvp(&c->os_features);
  free(c->variant);
  struct oci_image_exec_config *e = &c->config;
  free(e->user);
  kv_free(e->exposed_ports, e->exposed_ports_len);
  cleanup_strvp(&e->env);
  cleanup_strvp(&e->entrypoint);
  cleanup_strvp(&e->cmd);
  kv_free(e->volumes, e->volumes_len);
  free(e->working_dir);
  kv_free(e->labels, e->labels_len);
  free(e->stop_signal);
  free(c->rootfs_type);
  cleanup_strvp(&c->diff_ids);
  free(c);
}

static int
parse_exec_config(const char *name, const struct json_value *v, struct oci_image_exec_config *e,
                  struct oci_error **err)
{
  if (v == NULL)
    return 0;
  if (v->type != JSON_OBJECT)
    return type_error(name, "config", "object", v, err);
  if (read_string(name, "config.User", member(v, "User"), &e->user, err) < 0
      || read_map(name, "config.ExposedPorts", member(v, "ExposedPorts"), true, &e->exposed_ports,
                  &e->exposed_ports_len, err)
             < 0
      || read_strv(name, "config.Env", member(v, "Env"), &e->env, &e->env_len, err) < 0
      || read_strv(name, "config.Entrypoint", member(v, "Entrypoint"), &e->entrypoint, &e->entrypoint_len,
                   err)
             < 0
      || read_strv(name, "config.Cmd", member(v, "Cmd"), &e->cmd, &e->cmd_len, err) < 0
      || read_map(name, "config.Volumes", member(v, "Volumes"), true, &e->volumes, &e->volumes_len, err) < 0
      || read_string(name, "config.WorkingDir", member(v, "WorkingDir"), &e->working_dir, err) < 0
      || read_map(name, "config.Labels", member(v, "Labels"), false, &e->labels, &e->labels_len, err) < 0
      || read_string(name, "config.StopSignal", member(v, "StopSignal"), &e->stop_signal, err) < 0)
    return -1;
  return 0;
}

int
oci_image_config_parse(const char *name, const char *text, size_t len, struct oci_image_config **out,
                       struct oci_error **err)
{
  cleanup_json_value struct json_value *root = NULL;
  cleanup_image_config struct oci_image_config *c = xzalloc(sizeof *c);

  if (parse_root(name, text, len, &root, err) < 0
      || read_string(name, "created", member(root, "created"), &c->created, err) < 0
      || read_string(name, "author", member(root, "author"), &c->author, err) < 0
      || read_string(name, "architecture", member(root, "architecture"), &c->architecture, err) < 0
      || read_string(name, "os", member(root, "os"), &c->os, err) < 0
      || read_string(name, "os.version", member(root, "os.version"), &c->os_version, err) < 0
      || read_strv(name, "os.features", member(root, "os.features"), &c->os_features, &c->os_features_len,
                   err)
             < 0
      || read_string(name, "variant", member(root, "variant"), &c->variant, err) < 0
      || parse_exec_config(name, member(root, "config"), &c->config, err) < 0)
    return -1;

  const struct json_value *rootfs = member(root, "rootfs");
  if (rootfs == NULL)
    return oci_error_set(err, 0, "%s: rootfs: missing", name);
  if (rootfs->type != JSON_OBJECT)
    return type_error(name, "rootfs", "object", rootfs, err);
  if (read_string(name, "rootfs.type", member(rootfs, "type"), &c->rootfs_type, err) < 0
      || read_strv(name, "rootfs.diff_ids", member(rootfs, "diff_ids"), &c->diff_ids, &c->diff_ids_len, err)
             < 0)
    return -1;
  if (c->rootfs_type == NULL || strcmp(c->rootfs_type, "layers") != 0)
    return oci_error_set(err, 0, "%s: rootfs.type: expected \"layers\"", name);
  for (size_t i = 0; i < c->diff_ids_len; i++)
    if (!oci_digest_is_valid(c->diff_ids[i]))
      return oci_error_set(err, 0, "%s: rootfs.diff_ids[%zu]: invalid digest `%s`", name, i, c->diff_ids[i]);
  *out = steal_pointer(&c);
  return 0;
}

const char *
oci_kv_get(const struct oci_kv *kv, size_t len, const char *key)
{
  for (size_t i = len; i-- > 0;)
    if (strcmp(kv[i].key, key) == 0)
      return kv[i].value;
  return NULL;
}

static void
write_map(struct json_writer *w, const char *key, const struct oci_kv *kv, size_t len)
{
  if (kv == NULL)
    return;
  json_write_key(w, key);
  json_write_object_begin(w);
  for (size_t i = 0; i < len; i++)
    {
      json_write_key(w, kv[i].key);
      json_write_string(w, kv[i].value ? kv[i].value : "");
    }
  json_write_object_end(w);
}

static void
write_descriptor(struct json_writer *w, const struct oci_descriptor *d)
{
  json_write_object_begin(w);
  json_write_member_string(w, "mediaType", d->media_type);
  json_write_member_string(w, "digest", d->digest);
  json_write_key(w, "size");
  json_write_int64(w, d->size);
  json_write_member_strv(w, "urls", d->urls, d->urls_len);
  write_map(w, "annotations", d->annotations, d->annotations_len);
  if (d->platform)
    {
      const struct oci_platform *p = d->platform;
      json_write_key(w, "platform");
      json_write_object_begin(w);
      json_write_member_string(w, "architecture", p->architecture);
      json_write_member_string(w, "os", p->os);
      json_write_member_string(w, "os.version", p->os_version);
      json_write_member_strv(w, "os.features", p->os_features, p->os_features_len);
      json_write_member_string(w, "variant", p->variant);
      json_write_member_strv(w, "features", p->features, p->features_len);
      json_write_object_end(w);
    }
  json_write_member_string(w, "artifactType", d->artifact_type);
  json_write_object_end(w);
}

int
oci_image_index_emit(const struct oci_image_index *x, bool pretty, char **out, size_t *len,
                     struct oci_error **err)
{
  cleanup_json_writer struct json_writer *w = json_writer_new(pretty);

  json_write_object_begin(w);
  json_write_key(w, "schemaVersion");
  json_write_int64(w, x->schema_version ? x->schema_version : 2);
  json_write_member_string(w, "mediaType", x->media_type);
  json_write_key(w, "manifests");
  json_write_array_begin(w);
  for (size_t i = 0; i < x->manifests_len; i++)
    write_descriptor(w, &x->manifests[i]);
  json_write_array_end(w);
  write_map(w, "annotations", x->annotations, x->annotations_len);
  json_write_object_end(w);
  return json_writer_finish(w, out, len, err);
}

void
oci_kv_set(struct oci_kv **kv, size_t *len, const char *key, const char *value)
{
  for (size_t i = 0; i < *len; i++)
    if (strcmp((*kv)[i].key, key) == 0)
      {
        free((*kv)[i].value);
        (*kv)[i].value = value ? xstrdup(value) : NULL;
        return;
      }
  *kv = xrealloc(*kv, (*len + 1) * sizeof **kv);
  (*kv)[*len].key = xstrdup(key);
  (*kv)[*len].value = value ? xstrdup(value) : NULL;
  (*len)++;
}

void
oci_kv_array_free(struct oci_kv *kv, size_t len)
{
  kv_free(kv, len);
}
