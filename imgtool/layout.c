#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spec/util.h"
#include "layer.h"
#include "layout.h"
#include "platform.h"

/* Nested indexes are legal; this bounds a hostile cycle. */
#define MAX_INDEX_DEPTH 4

static int
unpack_archive(const char *path, char **tmpdir, struct oci_error **err)
{
  const char *base = getenv("TMPDIR");
  cleanup_free char *dir = xasprintf("%s/imgtool-archive-XXXXXX", base && base[0] ? base : "/var/tmp");
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return oci_error_errno(err, "open `%s`", path);
  if (mkdtemp(dir) == NULL)
    return oci_error_errno(err, "create `%s`", dir);
  cleanup_close int rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  /* An archive holds blobs and JSON: ownership and device nodes mean
   * nothing here, so never apply them. */
  struct img_layer_opts o = { .name = path, .privileged = false };
  if (rootfd < 0 || img_layer_apply_fd(rootfd, fd, &o, NULL, err) < 0)
    {
      if (rootfd < 0)
        oci_error_errno(err, "open `%s`", dir);
      cleanup_error struct oci_error *ignored = NULL;
      img_remove_tree(dir, &ignored);
      return oci_error_wrap(err, "unpacking `%s`", path);
    }
  *tmpdir = steal_pointer(&dir);
  return 0;
}

int
img_local_open(const struct img_reference *ref, struct img_local **out, struct oci_error **err)
{
  cleanup_local struct img_local *l = xzalloc(sizeof *l);
  const char *dir = ref->path;

  if (ref->transport == IMG_REF_OCI_ARCHIVE)
    {
      if (unpack_archive(ref->path, &l->tmpdir, err) < 0)
        return -1;
      dir = l->tmpdir;
    }
  else if (ref->transport != IMG_REF_OCI_LAYOUT)
    return oci_error_set(err, 0, "not a local image source");
  if (img_store_open(dir, IMG_STORE_READONLY, &l->layout, err) < 0)
    {
      if (ref->transport == IMG_REF_OCI_ARCHIVE)
        return oci_error_wrap(err, "`%s`", ref->path);
      return -1;
    }
  *out = steal_pointer(&l);
  return 0;
}

void
img_local_free(struct img_local *l)
{
  if (l == NULL)
    return;
  img_store_free(l->layout);
  if (l->tmpdir)
    {
      cleanup_error struct oci_error *ignored = NULL;
      img_remove_tree(l->tmpdir, &ignored);
      free(l->tmpdir);
    }
  free(l);
}

int
img_local_find(struct img_local *l, const char *tag, struct img_store_ref **out, struct oci_error **err)
{
  return img_store_get_ref(l->layout, NULL, tag, NULL, out, err);
}

void
img_image_free(struct img_image *img)
{
  if (img == NULL)
    return;
  free(img->manifest_digest);
  oci_image_manifest_free(img->manifest);
  oci_image_config_free(img->config);
  free(img);
}

static int
narrow_index(struct img_store *s, const char *digest, const struct img_platform *want, char **out_digest,
             char **out_mt, struct oci_error **err)
{
  cleanup_free char *buf = NULL;
  cleanup_image_index struct oci_image_index *x = NULL;
  cleanup_free char *name = xasprintf("index %s", digest);
  size_t len, chosen = 0;

  if (img_store_read_blob(s, digest, OCI_MANIFEST_MAX_SIZE, &buf, &len, err) < 0
      || oci_image_index_parse(name, buf, len, &x, err) < 0 || img_platform_select(x, want, &chosen, err) < 0)
    return -1;
  *out_digest = xstrdup(x->manifests[chosen].digest);
  *out_mt = xstrdup(x->manifests[chosen].media_type);
  return 0;
}

static int
check_platform(const struct oci_image_config *c, const struct img_platform *want, bool explicit_platform,
               struct oci_error **err)
{
  if (img_platform_rank(want, c->os, c->architecture, c->variant) >= 0)
    return 0;
  struct img_platform have = { .os = c->os, .architecture = c->architecture, .variant = c->variant };
  cleanup_free char *h = img_platform_string(&have);
  cleanup_free char *w = img_platform_string(want);
  return oci_error_set(err, 0, "the image is for %s, not %s%s", h, w,
                       explicit_platform ? "" : " (choose with --platform)");
}

int
img_image_load(struct img_store *s, const char *digest, const char *media_type, const char *platform,
               struct img_image **out, struct oci_error **err)
{
  cleanup_platform struct img_platform want = { 0 };
  cleanup_free char *d = xstrdup(digest);
  cleanup_free char *mt = xstrdup(media_type ? media_type : "");
  cleanup_free char *buf = NULL;
  cleanup_image struct img_image *img = xzalloc(sizeof *img);
  size_t len;

  if ((platform ? img_platform_parse(platform, &want, err) : img_platform_host(&want, err)) < 0)
    return -1;

  for (int depth = 0;; depth++)
    {
      if (!oci_media_type_is_index(mt))
        break;
      if (depth == MAX_INDEX_DEPTH)
        return oci_error_set(err, 0, "index %s: nested more than %d deep", d, MAX_INDEX_DEPTH);
      char *next_d, *next_mt;
      if (narrow_index(s, d, &want, &next_d, &next_mt, err) < 0)
        return -1;
      free(d);
      free(mt);
      d = next_d;
      mt = next_mt;
    }

  cleanup_free char *name = xasprintf("manifest %s", d);
  if (img_store_read_blob(s, d, OCI_MANIFEST_MAX_SIZE, &buf, &len, err) < 0)
    return -1;
  if (mt[0] == '\0' || !oci_media_type_is_manifest(mt))
    {
      /* A descriptor without a usable mediaType: trust the body's shape. */
      const char *sniffed = oci_image_sniff_media_type(name, buf, len, err);
      if (sniffed == NULL)
        return -1;
      if (!oci_media_type_is_manifest(sniffed))
        return oci_error_set(err, 0, "%s: not supported: media type `%s`", name, mt[0] ? mt : sniffed);
    }
  if (oci_image_manifest_parse(name, buf, len, &img->manifest, err) < 0)
    return -1;
  img->manifest_digest = steal_pointer(&d);

  const struct oci_descriptor *cd = &img->manifest->config;
  if (!oci_media_type_is_config(cd->media_type))
    return oci_error_set(err, 0, "%s: config: not supported: media type `%s`", name, cd->media_type);
  free(buf);
  buf = NULL;
  cleanup_free char *cname = xasprintf("config %s", cd->digest);
  if (img_store_read_blob(s, cd->digest, OCI_CONFIG_MAX_SIZE, &buf, &len, err) < 0
      || oci_image_config_parse(cname, buf, len, &img->config, err) < 0)
    return -1;
  if (check_platform(img->config, &want, platform != NULL, err) < 0)
    return -1;
  if (img->config->diff_ids_len != img->manifest->layers_len)
    return oci_error_set(err, 0, "%s: %zu layers but the config lists %zu diff_ids", name,
                         img->manifest->layers_len, img->config->diff_ids_len);

  img->size = cd->size;
  for (size_t i = 0; i < img->manifest->layers_len; i++)
    img->size += img->manifest->layers[i].size;
  *out = steal_pointer(&img);
  return 0;
}

/* One blob from SRC into DST through a verifying writer.  Waits for a writer
 * of the same blob holding no other lock (see img_blob_writer_try_begin). */
static int
copy_blob(struct img_store *src, struct img_store *dst, const struct oci_descriptor *d,
          struct oci_error **err)
{
  cleanup_blob_writer struct img_blob_writer *w = NULL;
  cleanup_close int fd = -1;
  cleanup_free char *buf = NULL;
  uint64_t size;

  if (img_store_has_blob(dst, d->digest))
    return 0;
  if (img_store_open_blob(src, d->digest, &fd, &size, err) < 0)
    return -1;
  if (d->size >= 0 && size != (uint64_t)d->size)
    return oci_error_fail(err, EBADMSG, "blob %s: %" PRIu64 " bytes, the descriptor says %" PRId64, d->digest,
                          size, d->size);
  if (img_blob_writer_begin(dst, d->digest, d->size, &w, err) < 0)
    return -1;
  if (w == NULL)
    return 0;
  /* The partial may be another source's bytes: start from nothing. */
  if (img_blob_writer_restart(w, err) < 0)
    return -1;
  buf = xmalloc(1 << 20);
  for (;;)
    {
      ssize_t n = read(fd, buf, 1 << 20);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return oci_error_errno(err, "read blob %s", d->digest);
      if (n == 0)
        break;
      if (img_blob_writer_write(w, buf, n, err) < 0)
        return -1;
    }
  return img_blob_writer_commit(w, err);
}

int
img_local_copy(struct img_store *src, const struct img_image *img, const char *source_digest,
               struct img_store *store, const char *name, const char *tag, struct oci_error **err)
{
  cleanup_platform struct img_platform platform = { 0 };
  const struct oci_image_manifest *m = img->manifest;
  struct oci_descriptor md = { .digest = img->manifest_digest, .size = -1 };
  cleanup_free char *refname = xasprintf("%s:%s", name, tag);
  cleanup_close int lock = img_store_lock_image(store, refname, err);
  cleanup_close int fd = -1;
  uint64_t msize;

  if (lock < 0)
    return -1;
  if (img_store_open_blob(src, img->manifest_digest, &fd, &msize, err) < 0)
    return -1;
  md.size = msize;
  if (copy_blob(src, store, &md, err) < 0 || copy_blob(src, store, &m->config, err) < 0)
    return -1;
  for (size_t i = 0; i < m->layers_len; i++)
    if (copy_blob(src, store, &m->layers[i], err) < 0)
      return oci_error_wrap(err, "layer %zu of %zu", i + 1, m->layers_len);
  img_platform_set(&platform, img->config->os, img->config->architecture, img->config->variant);
  /* umoci writes manifests without a mediaType: they are OCI manifests. */
  const struct img_store_target t = { .media_type = m->media_type ? m->media_type : OCI_MT_MANIFEST,
                                      .digest = img->manifest_digest,
                                      .size = msize,
                                      .ref_digest = source_digest,
                                      .platform = &platform };
  return img_store_set_ref(store, name, tag, &t, err);
}
