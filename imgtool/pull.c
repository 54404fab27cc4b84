#include <config.h>

#include <stdint.h>
#include <string.h>

#include "image.h"
#include "platform.h"
#include "progress.h"
#include "pull.h"
#include "util.h"

/* Nested indexes (an index entry that is itself an index) are followed this deep. */
#define MAX_INDEX_DEPTH 2

struct pull
{
  struct img_store *store;
  struct img_registry *reg;
  const struct img_reference *ref;
  const char *repo;
  struct img_platform want;
  bool explicit_platform;
  struct img_progress *progress;
};

/* A manifest or index by digest: from the store when present, else from
 * the registry (verified there) and then stored. */
static int
load_manifest(struct pull *p, const char *digest, char **buf, size_t *len, char **media_type,
              struct oci_error **err)
{
  if (img_store_has_blob(p->store, digest))
    {
      const char *mt;
      if (img_store_read_blob(p->store, digest, OCI_MANIFEST_MAX_SIZE, buf, len, err) < 0)
        return -1;
      mt = oci_image_sniff_media_type(digest, *buf, *len, err);
      if (mt == NULL)
        {
          free(*buf);
          *buf = NULL;
          return -1;
        }
      *media_type = xstrdup(mt);
      return 0;
    }
  if (img_registry_get_manifest(p->reg, p->repo, digest, buf, len, media_type, err) < 0)
    return -1;
  if (img_store_put_blob(p->store, digest, *buf, *len, err) < 0)
    {
      free(*buf);
      free(*media_type);
      *buf = *media_type = NULL;
      return -1;
    }
  return 0;
}

/* From the top-level digest down to one image manifest. */
static int
resolve_image_manifest(struct pull *p, const char *top_digest, char **digest, char **buf, size_t *len,
                       char **media_type, bool *from_index, struct oci_error **err)
{
  cleanup_free char *cur = xstrdup(top_digest);

  *from_index = false;
  for (int depth = 0;; depth++)
    {
      cleanup_free char *b = NULL;
      cleanup_free char *mt = NULL;
      cleanup_image_index struct oci_image_index *index = NULL;
      size_t l = 0, chosen = 0;

      if (load_manifest(p, cur, &b, &l, &mt, err) < 0)
        return -1;
      if (oci_media_type_is_manifest(mt))
        {
          *digest = steal_pointer(&cur);
          *buf = steal_pointer(&b);
          *len = l;
          *media_type = steal_pointer(&mt);
          return 0;
        }
      if (!oci_media_type_is_index(mt))
        return oci_error_set(err, ENOTSUP, "%s: not supported: media type `%s`", cur, mt);
      if (depth >= MAX_INDEX_DEPTH)
        return oci_error_set(err, ENOTSUP, "%s: not supported: indexes nested more than %d deep", cur,
                             MAX_INDEX_DEPTH);
      if (oci_image_index_parse(cur, b, l, &index, err) < 0)
        return -1;
      if (img_platform_select(index, &p->want, &chosen, err) < 0)
        return oci_error_wrap(err, "index %s", cur);
      *from_index = true;
      free(cur);
      cur = xstrdup(index->manifests[chosen].digest);
    }
}

static int
fetch_config(struct pull *p, const struct oci_descriptor *d, struct oci_image_config **config,
             struct oci_error **err)
{
  cleanup_free char *buf = NULL;
  size_t len = 0;

  if (d->size > (int64_t)OCI_CONFIG_MAX_SIZE)
    return oci_error_set(err, EFBIG, "config %s: %lld bytes, more than the %u MiB limit", d->digest,
                         (long long)d->size, OCI_CONFIG_MAX_SIZE >> 20);
  if (img_store_has_blob(p->store, d->digest))
    {
      if (img_store_read_blob(p->store, d->digest, OCI_CONFIG_MAX_SIZE, &buf, &len, err) < 0)
        return -1;
    }
  else
    {
      if (img_registry_get_blob(p->reg, p->repo, d->digest, OCI_CONFIG_MAX_SIZE, &buf, &len, err) < 0)
        return oci_error_wrap(err, "config");
      if (d->size >= 0 && (uint64_t)d->size != len)
        return oci_error_set(err, EBADMSG, "config %s: %zu bytes, the manifest says %lld", d->digest, len,
                             (long long)d->size);
      if (img_store_put_blob(p->store, d->digest, buf, len, err) < 0)
        return -1;
    }
  return oci_image_config_parse(d->digest, buf, len, config, err);
}

/* A single-arch image must suit the platform asked for, like an index entry. */
static int
check_config_platform(struct pull *p, const struct oci_image_config *c, struct oci_error **err)
{
  cleanup_free char *want = NULL;

  if (img_platform_rank(&p->want, c->os, c->architecture, c->variant) >= 0)
    return 0;
  want = img_platform_string(&p->want);
  return oci_error_set(
      err, ENOENT, "the image is for %s/%s%s%s, not %s%s", c->os ? c->os : "?",
      c->architecture ? c->architecture : "?", c->variant ? "/" : "", c->variant ? c->variant : "", want,
      p->explicit_platform ? "" : " (choose it explicitly with --platform to take it anyway)");
}

struct layer_job
{
  struct img_blob_writer *writer;
  struct img_progress *progress;
  int row;
};

static int
layer_sink(void *data, const void *buf, size_t len, struct oci_error **err)
{
  struct layer_job *j = data;

  if (img_blob_writer_write(j->writer, buf, len, err) < 0)
    return -1;
  img_progress_update(j->progress, j->row, img_blob_writer_offset(j->writer));
  return 0;
}

static int
layer_restart(void *data, struct oci_error **err)
{
  struct layer_job *j = data;

  return img_blob_writer_restart(j->writer, err);
}

static bool
seen_before(const struct oci_image_manifest *m, size_t i)
{
  for (size_t k = 0; k < i; k++)
    if (strcmp(m->layers[k].digest, m->layers[i].digest) == 0)
      return true;
  return false;
}

/* Download the jobs' blobs (several at once) and commit each one. */
static int
download_jobs(struct pull *p, struct layer_job *jobs, struct img_registry_blob *blobs, size_t n,
              struct oci_error **err)
{
  cleanup_free struct oci_error **errs = xcalloc(n + 1, sizeof *errs);

  img_registry_fetch_blobs(p->reg, p->repo, blobs, n, errs);
  for (size_t k = 0; k < n; k++)
    {
      if (errs[k] == NULL && img_blob_writer_commit(jobs[k].writer, &errs[k]) < 0)
        oci_error_wrap(&errs[k], "layer %s", blobs[k].digest);
      img_progress_finish(p->progress, jobs[k].row, errs[k] ? "failed" : "done");
      if (errs[k] && *err == NULL)
        *err = steal_pointer(&errs[k]);
      if (errs[k])
        oci_error_free(errs[k]);
    }
  return *err ? -1 : 0;
}

static void
add_job(struct pull *p, const struct oci_descriptor *d, struct img_blob_writer *w, struct layer_job *job,
        struct img_registry_blob *blob)
{
  job->writer = w;
  job->progress = p->progress;
  job->row = img_progress_add(p->progress, d->digest, d->size, img_blob_writer_offset(w));
  *blob = (struct img_registry_blob){
    .digest = d->digest,
    .size = d->size,
    .sink = layer_sink,
    .restart = layer_restart,
    .sink_data = job,
    .offset = img_blob_writer_offset(w),
  };
}

/* One round over the pending layers: take every blob lock that is free
 * without waiting and download those blobs.  A lock another pull holds is
 * left for a later round; only when every pending blob is busy do we wait,
 * for one, holding no other: waiting while holding would deadlock against a
 * pull of an image that shares these layers in another order. */
static int
fetch_round(struct pull *p, const struct oci_image_manifest *m, bool *pending, size_t *n_pending,
            struct oci_error **err)
{
  cleanup_free struct layer_job *jobs = xcalloc(m->layers_len + 1, sizeof *jobs);
  cleanup_free struct img_registry_blob *blobs = xcalloc(m->layers_len + 1, sizeof *blobs);
  size_t n = 0, busy = SIZE_MAX;
  int ret = 0;

  for (size_t i = 0; i < m->layers_len && ret == 0; i++)
    {
      const struct oci_descriptor *d = &m->layers[i];
      struct img_blob_writer *w = NULL;

      if (!pending[i])
        continue;
      if (img_store_has_blob(p->store, d->digest))
        img_progress_finish(p->progress, img_progress_add(p->progress, d->digest, d->size, d->size),
                            "already present");
      else
        {
          int r = img_blob_writer_try_begin(p->store, d->digest, d->size, &w, err);
          if (r < 0)
            {
              ret = -1;
              break;
            }
          if (r == 1)
            {
              busy = busy < i ? busy : i;
              continue;
            }
        }
      pending[i] = false;
      (*n_pending)--;
      if (w) /* NULL: present, or committed by another pull meanwhile */
        {
          add_job(p, d, w, &jobs[n], &blobs[n]);
          n++;
        }
    }
  if (ret == 0 && n == 0 && busy != SIZE_MAX)
    {
      const struct oci_descriptor *d = &m->layers[busy];
      struct img_blob_writer *w = NULL;

      img_progress_note(p->progress, "Waiting for another pull of %.19s", d->digest);
      ret = img_blob_writer_begin(p->store, d->digest, d->size, &w, err);
      if (ret == 0)
        {
          pending[busy] = false;
          (*n_pending)--;
          if (w)
            {
              add_job(p, d, w, &jobs[n], &blobs[n]);
              n++;
            }
        }
    }
  if (ret == 0 && n > 0)
    ret = download_jobs(p, jobs, blobs, n, err);
  for (size_t k = 0; k < n; k++)
    img_blob_writer_free(jobs[k].writer);
  return ret;
}

static int
fetch_layers(struct pull *p, const struct oci_image_manifest *m, struct oci_error **err)
{
  cleanup_free bool *pending = xcalloc(m->layers_len + 1, sizeof *pending);
  size_t n_pending = 0;

  for (size_t i = 0; i < m->layers_len; i++)
    if (!seen_before(m, i))
      {
        pending[i] = true;
        n_pending++;
      }
  while (n_pending > 0)
    if (fetch_round(p, m, pending, &n_pending, err) < 0)
      return -1;
  return 0;
}

static int
pull_locked(struct pull *p, char **manifest_digest, struct oci_error **err)
{
  const struct img_reference *ref = p->ref;
  cleanup_free char *top = NULL;
  cleanup_free char *digest = NULL;
  cleanup_free char *buf = NULL;
  cleanup_free char *media_type = NULL;
  cleanup_free char *name = img_reference_name(ref);
  cleanup_image_manifest struct oci_image_manifest *m = NULL;
  cleanup_image_config struct oci_image_config *config = NULL;
  size_t len = 0;
  bool from_index = false;

  if (ref->digest)
    top = xstrdup(ref->digest);
  else
    {
      struct img_manifest_ref head = { 0 };
      if (img_registry_resolve(p->reg, p->repo, ref->tag, &head, err) < 0)
        return -1;
      top = steal_pointer(&head.digest);
      img_manifest_ref_clear(&head);
    }
  if (resolve_image_manifest(p, top, &digest, &buf, &len, &media_type, &from_index, err) < 0)
    return -1;
  if (oci_image_manifest_parse(digest, buf, len, &m, err) < 0)
    return -1;
  if (!oci_media_type_is_config(m->config.media_type))
    return oci_error_set(err, ENOTSUP,
                         "manifest %s: not supported: config media type `%s` (not a container image)", digest,
                         m->config.media_type);
  if (fetch_config(p, &m->config, &config, err) < 0)
    return -1;
  if (!from_index && check_config_platform(p, config, err) < 0)
    return -1;
  if (config->diff_ids_len != m->layers_len)
    return oci_error_set(err, EINVAL, "image %s: %zu layers but %zu diff_ids in the config", digest,
                         m->layers_len, config->diff_ids_len);
  if (fetch_layers(p, m, err) < 0)
    return -1;
  if (img_store_set_ref(p->store, name, ref->digest ? ref->digest : ref->tag, media_type, digest, len, err)
      < 0)
    return -1;
  img_progress_note(p->progress, "Digest: %s", digest);
  *manifest_digest = steal_pointer(&digest);
  return 0;
}

int
img_pull(struct img_store *store, const struct img_reference *ref, const struct img_pull_opts *opts,
         char **manifest_digest, struct oci_error **err)
{
  cleanup_registry struct img_registry *reg = NULL;
  cleanup_progress struct img_progress *progress = NULL;
  cleanup_free char *refstr = img_reference_string(ref);
  cleanup_close int lock = -1;
  struct pull p = { .store = store, .ref = ref, .repo = ref->repository };
  int r;

  if (ref->transport != IMG_REF_REGISTRY)
    return oci_error_set(err, EINVAL, "%s: not a registry reference", refstr);
  if (opts->platform)
    {
      if (img_platform_parse(opts->platform, &p.want, err) < 0)
        return -1;
      p.explicit_platform = true;
    }
  else if (img_platform_host(&p.want, err) < 0)
    return -1;

  progress = img_progress_new(opts->progress, opts->progress_tty);
  p.progress = progress;
  lock = img_store_lock_image(store, refstr, err);
  if (lock < 0)
    {
      img_platform_clear(&p.want);
      return oci_error_wrap(err, "pulling %s", refstr);
    }
  if (img_registry_open(ref->registry, &opts->registry, &reg, err) < 0)
    {
      img_platform_clear(&p.want);
      return oci_error_wrap(err, "pulling %s", refstr);
    }
  p.reg = reg;
  img_progress_note(progress, "Pulling %s", refstr);
  r = pull_locked(&p, manifest_digest, err);
  img_platform_clear(&p.want);
  if (r < 0)
    return oci_error_wrap(err, "pulling %s", refstr);
  return 0;
}
