#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

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
  struct img_reference *ref; /* a copy: the download thread may outlive the caller's */
  const char *repo;
  char *refstr;
  struct img_platform want;
  bool explicit_platform;
  struct img_progress *progress;
  int lock; /* the store's per-image lock */
  /* what pull_resolve found */
  char *top;                    /* what the registry serves for the ref (an index, or the manifest) */
  struct img_platform platform; /* of the image: its index entry's, else its config's */
  char *digest;                 /* of the image manifest */
  char *media_type;
  size_t manifest_len;
  struct oci_image_manifest *manifest;
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
      const struct oci_platform *pl;
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
        return oci_error_fail(err, ENOTSUP, "%s: not supported: media type `%s`", cur, mt);
      if (depth >= MAX_INDEX_DEPTH)
        return oci_error_fail(err, ENOTSUP, "%s: not supported: indexes nested more than %d deep", cur,
                              MAX_INDEX_DEPTH);
      if (oci_image_index_parse(cur, b, l, &index, err) < 0)
        return -1;
      if (img_platform_select(index, &p->want, &chosen, err) < 0)
        return oci_error_wrap(err, "index %s", cur);
      *from_index = true;
      pl = index->manifests[chosen].platform; /* select skips entries without one */
      img_platform_set(&p->platform, pl->os, pl->architecture, pl->variant);
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
    return oci_error_fail(err, EFBIG, "config %s: %lld bytes, more than the %u MiB limit", d->digest,
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
        return oci_error_fail(err, EBADMSG, "config %s: %zu bytes, the manifest says %lld", d->digest, len,
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
  return oci_error_fail(
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

  img_progress_restart(j->progress, j->row);
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

/* The tag resolved, the manifest (through an index for our platform) and
 * the config fetched, verified and stored: everything but the layers. */
static int
pull_resolve(struct pull *p, struct oci_error **err)
{
  const struct img_reference *ref = p->ref;
  cleanup_free char *buf = NULL;
  cleanup_image_config struct oci_image_config *config = NULL;
  struct oci_image_manifest *m;
  bool from_index = false;

  if (ref->digest)
    p->top = xstrdup(ref->digest);
  else
    {
      struct img_manifest_ref head = { 0 };
      if (img_registry_resolve(p->reg, p->repo, ref->tag, &head, err) < 0)
        return -1;
      p->top = steal_pointer(&head.digest);
      img_manifest_ref_clear(&head);
    }
  if (resolve_image_manifest(p, p->top, &p->digest, &buf, &p->manifest_len, &p->media_type, &from_index, err)
      < 0)
    return -1;
  if (oci_image_manifest_parse(p->digest, buf, p->manifest_len, &p->manifest, err) < 0)
    return -1;
  m = p->manifest;
  if (!oci_media_type_is_config(m->config.media_type))
    return oci_error_fail(err, ENOTSUP,
                          "manifest %s: not supported: config media type `%s` (not a container image)",
                          p->digest, m->config.media_type);
  if (fetch_config(p, &m->config, &config, err) < 0)
    return -1;
  if (!from_index && check_config_platform(p, config, err) < 0)
    return -1;
  if (p->platform.os == NULL)
    img_platform_set(&p->platform, config->os, config->architecture, config->variant);
  if (config->diff_ids_len != m->layers_len)
    return oci_error_fail(err, EINVAL, "image %s: %zu layers but %zu diff_ids in the config", p->digest,
                          m->layers_len, config->diff_ids_len);
  return 0;
}

/* Only once every blob the manifest names is in the store. */
static int
pull_set_ref(struct pull *p, struct oci_error **err)
{
  cleanup_free char *name = img_reference_name(p->ref);
  const char *tag = p->ref->digest ? p->ref->digest : p->ref->tag;

  const struct img_store_target t = { .media_type = p->media_type,
                                      .digest = p->digest,
                                      .size = p->manifest_len,
                                      .ref_digest = p->top,
                                      .platform = &p->platform };

  if (img_store_set_ref(p->store, name, tag, &t, err) < 0)
    return -1;
  img_progress_note(p->progress, "Digest: %s", p->top);
  return 0;
}

static void
pull_clear(struct pull *p)
{
  if (p->lock >= 0)
    close(p->lock);
  img_registry_free(p->reg);
  img_progress_free(p->progress);
  img_platform_clear(&p->want);
  oci_image_manifest_free(p->manifest);
  free(p->top);
  img_platform_clear(&p->platform);
  free(p->digest);
  free(p->media_type);
  free(p->refstr);
  img_reference_free(p->ref);
  memset(p, 0, sizeof *p);
  p->lock = -1;
}

/* Platform, progress, the per-image lock (a concurrent pull of the same
 * image waits here, then finds its blobs present) and the registry. */
static int
pull_open(struct pull *p, struct img_store *store, const struct img_reference *ref,
          const struct img_pull_opts *opts, struct oci_error **err)
{
  *p = (struct pull){ .store = store, .lock = -1 };
  p->ref = img_reference_dup(ref);
  p->repo = p->ref->repository;
  p->refstr = img_reference_string(ref);
  if (ref->transport != IMG_REF_REGISTRY)
    return oci_error_fail(err, EINVAL, "%s: not a registry reference", p->refstr);
  if (opts->platform)
    {
      if (img_platform_parse(opts->platform, &p->want, err) < 0)
        return -1;
      p->explicit_platform = true;
    }
  else if (img_platform_host(&p->want, err) < 0)
    return -1;
  p->progress = img_progress_new(opts->progress, opts->progress_tty);
  p->lock = img_store_lock_image(store, p->refstr, err);
  if (p->lock < 0 || img_registry_open(ref->registry, &opts->registry, &p->reg, err) < 0)
    return oci_error_wrap(err, "pulling %s", p->refstr);
  img_progress_note(p->progress, "Pulling %s", p->refstr);
  return 0;
}

int
img_pull(struct img_store *store, const struct img_reference *ref, const struct img_pull_opts *opts,
         struct img_pulled *out, struct oci_error **err)
{
  __attribute__((cleanup(pull_clear))) struct pull p = { .lock = -1 };

  if (pull_open(&p, store, ref, opts, err) < 0)
    return -1;
  if (pull_resolve(&p, err) < 0 || fetch_layers(&p, p.manifest, err) < 0 || pull_set_ref(&p, err) < 0)
    return oci_error_wrap(err, "pulling %s", p.refstr);
  out->digest = steal_pointer(&p.top);
  out->manifest_digest = steal_pointer(&p.digest);
  out->platform = img_platform_string(&p.platform);
  return 0;
}

void
img_pulled_clear(struct img_pulled *r)
{
  free(r->digest);
  free(r->manifest_digest);
  free(r->platform);
  memset(r, 0, sizeof *r);
}

/* ---- pulling while unpacking ----
 *
 * One thread downloads every layer it could lock into its blob writer, all
 * at once as img_pull does; the caller's thread reads layer after layer from
 * the partial files as the bytes land (pread up to what the sink published),
 * hashing, decompressing and unpacking them.  Layer 1 is thus unpacked while
 * it downloads, and later layers are mostly on disk when their turn comes.
 * The disk is the only buffer: the download never waits for the unpacker. */

#define STREAM_CHUNK (1u << 20)

struct stream_job
{
  struct img_pull_stream *s;
  const struct oci_descriptor *d;
  struct img_blob_writer *writer; /* owned by the download thread once it runs */
  int read_fd;                    /* the partial, for readers */
  int row;
  uint64_t available;    /* bytes in the partial (under s->mu) */
  struct oci_error *err; /* download or commit failure (under s->mu) */
};

struct img_pull_stream
{
  struct pull p;
  struct stream_job *jobs; /* one per layer we download */
  size_t n_jobs;
  ssize_t *job_of; /* layer index → job, -1: in the store or another pull's */
  pthread_t thread;
  bool running;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool downloaded;               /* the thread is done (under mu) */
  atomic_bool cancel;            /* the unpacking failed: stop downloading */
  bool (*cancelled)(void *data); /* the caller was interrupted (opts.registry) */
  void *cancel_data;
  struct img_layer_source source;
};

struct stream_reader
{
  struct img_pull_stream *s;
  struct stream_job *job; /* NULL: reading a committed blob */
  int fd;                 /* owned when job is NULL */
  uint64_t pos, size;
  char *buf;
};

static int
stream_sink(void *data, const void *buf, size_t len, struct oci_error **err)
{
  struct stream_job *j = data;
  struct img_pull_stream *s = j->s;

  if (atomic_load(&s->cancel))
    return oci_error_fail(err, ECANCELED, "cancelled");
  if (img_blob_writer_write(j->writer, buf, len, err) < 0)
    return -1;
  pthread_mutex_lock(&s->mu);
  j->available = img_blob_writer_offset(j->writer);
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  img_progress_update(s->p.progress, j->row, j->available);
  return 0;
}

/* The server resent the blob from 0: a reader ahead waits for the bytes
 * again (they are the same bytes, or its digest check fails). */
static int
stream_restart(void *data, struct oci_error **err)
{
  struct stream_job *j = data;

  pthread_mutex_lock(&j->s->mu);
  j->available = 0;
  pthread_mutex_unlock(&j->s->mu);
  img_progress_restart(j->s->p.progress, j->row);
  return img_blob_writer_restart(j->writer, err);
}

static void *
download_thread(void *data)
{
  struct img_pull_stream *s = data;
  cleanup_free struct img_registry_blob *blobs = xcalloc(s->n_jobs, sizeof *blobs);
  cleanup_free struct oci_error **errs = xcalloc(s->n_jobs, sizeof *errs);

  for (size_t k = 0; k < s->n_jobs; k++)
    blobs[k] = (struct img_registry_blob){
      .digest = s->jobs[k].d->digest,
      .size = s->jobs[k].d->size,
      .sink = stream_sink,
      .restart = stream_restart,
      .sink_data = &s->jobs[k],
      .offset = img_blob_writer_offset(s->jobs[k].writer),
    };
  img_registry_fetch_blobs(s->p.reg, s->p.repo, blobs, s->n_jobs, errs);
  /* Commit verifies size and digest again: what the unpacker read was only
   * checked by the unpacker. */
  for (size_t k = 0; k < s->n_jobs; k++)
    {
      struct stream_job *j = &s->jobs[k];
      if (errs[k] == NULL && img_blob_writer_commit(j->writer, &errs[k]) < 0)
        oci_error_wrap(&errs[k], "layer %s", j->d->digest);
      img_progress_finish(s->p.progress, j->row, errs[k] ? "failed" : "done");
      img_blob_writer_free(steal_pointer(&j->writer));
    }
  pthread_mutex_lock(&s->mu);
  for (size_t k = 0; k < s->n_jobs; k++)
    s->jobs[k].err = steal_pointer(&errs[k]);
  s->downloaded = true;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

static void
stream_join(struct img_pull_stream *s)
{
  if (!s->running)
    return;
  pthread_join(s->thread, NULL);
  s->running = false;
}

/* The thread must not take SIGINT and friends: the unpacker polls for them
 * (img_bundle_opts.cancelled) and cleans up. */
static int
stream_spawn(struct img_pull_stream *s, struct oci_error **err)
{
  sigset_t all, old;
  int r;

  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  r = pthread_create(&s->thread, NULL, download_thread, s);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (r != 0)
    {
      errno = r;
      return oci_error_errno(err, "starting the download thread");
    }
  s->running = true;
  return 0;
}

/* Lock every missing layer we can without waiting (one job per digest); a
 * layer another pull is writing is fetched when its turn comes. */
static int
stream_plan(struct img_pull_stream *s, struct oci_error **err)
{
  const struct oci_image_manifest *m = s->p.manifest;

  s->jobs = xcalloc(m->layers_len + 1, sizeof *s->jobs);
  s->job_of = xcalloc(m->layers_len + 1, sizeof *s->job_of);
  for (size_t i = 0; i < m->layers_len; i++)
    {
      const struct oci_descriptor *d = &m->layers[i];
      struct img_blob_writer *w = NULL;
      struct stream_job *j;

      s->job_of[i] = -1;
      for (size_t k = 0; k < i && s->job_of[i] < 0; k++)
        if (strcmp(m->layers[k].digest, d->digest) == 0)
          s->job_of[i] = s->job_of[k];
      if (s->job_of[i] >= 0 || img_store_has_blob(s->p.store, d->digest))
        continue;
      if (img_blob_writer_try_begin(s->p.store, d->digest, d->size, &w, err) < 0)
        return -1;
      if (w == NULL)
        continue;
      j = &s->jobs[s->n_jobs];
      *j = (struct stream_job){ .s = s, .d = d, .writer = w, .read_fd = -1 };
      s->job_of[i] = (ssize_t)s->n_jobs++;
      j->available = img_blob_writer_offset(w);
      j->read_fd = img_blob_writer_open_reader(w, err);
      if (j->read_fd < 0)
        return -1;
      j->row = img_progress_add(s->p.progress, d->digest, d->size, j->available);
    }
  return 0;
}

static bool
stream_cancelled(struct img_pull_stream *s)
{
  return s->cancelled && s->cancelled(s->cancel_data);
}

static ssize_t
stream_read(void *data, const void **buf, struct oci_error **err)
{
  struct stream_reader *r = data;
  struct img_pull_stream *s = r->s;
  struct stream_job *j = r->job;
  uint64_t avail;
  ssize_t n;

  if (r->pos >= r->size)
    return 0;
  if (j == NULL)
    avail = r->size;
  else
    {
      bool cancelled = false;
      pthread_mutex_lock(&s->mu);
      while (r->pos >= j->available && !s->downloaded && !(cancelled = stream_cancelled(s)))
        {
          /* An interrupt sends no broadcast: look again now and then. */
          struct timespec until;
          clock_gettime(CLOCK_REALTIME, &until);
          until.tv_nsec += 100 * 1000000L;
          if (until.tv_nsec >= 1000000000L)
            {
              until.tv_sec++;
              until.tv_nsec -= 1000000000L;
            }
          pthread_cond_timedwait(&s->cv, &s->mu, &until);
        }
      avail = j->available;
      pthread_mutex_unlock(&s->mu);
      if (cancelled)
        return oci_error_fail(err, EINTR, "interrupted");
      if (r->pos >= avail) /* the download is over, short */
        {
          if (j->err)
            return oci_error_copy(err, j->err);
          return oci_error_fail(err, EIO, "download stopped after %" PRIu64 " of %" PRIu64 " bytes", avail,
                                r->size);
        }
    }
  do
    n = pread(r->fd, r->buf, avail - r->pos < STREAM_CHUNK ? avail - r->pos : STREAM_CHUNK, r->pos);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return oci_error_errno(err, "read");
  if (n == 0)
    return oci_error_fail(err, EIO, "unexpected end of file at %" PRIu64 " of %" PRIu64 " bytes", r->pos,
                          r->size);
  r->pos += n;
  *buf = r->buf;
  return n;
}

/* A layer that was not ours to download at the start (another pull was
 * writing it) or was a duplicate: once our downloads are over and their
 * locks released, fetch what is still missing the way img_pull does. */
static int
stream_fetch_rest(struct img_pull_stream *s, struct oci_error **err)
{
  const struct oci_image_manifest *m = s->p.manifest;

  stream_join(s);
  for (size_t k = 0; k < s->n_jobs; k++)
    if (s->jobs[k].err)
      return oci_error_copy(err, s->jobs[k].err);
  for (size_t i = 0; i < m->layers_len; i++)
    if (!img_store_has_blob(s->p.store, m->layers[i].digest))
      return fetch_layers(&s->p, m, err);
  return 0;
}

/* A layer that is in the store, or will be once what is missing was
 * fetched (see stream_fetch_rest). */
static int
open_committed(struct img_pull_stream *s, const struct oci_descriptor *d, int *fd, struct oci_error **err)
{
  cleanup_close int f = -1;
  uint64_t size;

  if (!img_store_has_blob(s->p.store, d->digest) && stream_fetch_rest(s, err) < 0)
    return -1;
  if (img_store_open_blob(s->p.store, d->digest, &f, &size, err) < 0)
    return -1;
  if (size != (uint64_t)d->size)
    return oci_error_fail(err, EBADMSG, "layer %s: %" PRIu64 " bytes, the manifest says %" PRId64, d->digest,
                          size, d->size);
  *fd = steal_fd(&f);
  return 0;
}

static int
stream_open(void *data, size_t i, img_layer_read_fn *fn, void **fn_data, struct oci_error **err)
{
  struct img_pull_stream *s = data;
  const struct oci_descriptor *d = &s->p.manifest->layers[i];
  struct stream_reader *r = xzalloc(sizeof *r);

  *r = (struct stream_reader){ .s = s, .fd = -1, .size = d->size };
  if (s->job_of[i] >= 0)
    {
      r->job = &s->jobs[s->job_of[i]];
      r->fd = r->job->read_fd;
    }
  else if (open_committed(s, d, &r->fd, err) < 0)
    {
      free(r);
      return -1;
    }
  r->buf = xmalloc(STREAM_CHUNK);
  *fn = stream_read;
  *fn_data = r;
  return 0;
}

static void
stream_close(void *data, void *fn_data)
{
  struct stream_reader *r = fn_data;

  if (r->job == NULL && r->fd >= 0)
    close(r->fd);
  free(r->buf);
  free(r);
}

int
img_pull_stream_finish(struct img_pull_stream *s, struct oci_error **err)
{
  if (stream_fetch_rest(s, err) < 0 || pull_set_ref(&s->p, err) < 0)
    return oci_error_wrap(err, "pulling %s", s->p.refstr);
  return 0;
}

static int
stream_finish(void *data, struct oci_error **err)
{
  return img_pull_stream_finish(data, err);
}

int
img_pull_stream_start(struct img_store *store, const struct img_reference *ref,
                      const struct img_pull_opts *opts, struct img_pull_stream **out, struct oci_error **err)
{
  struct img_pull_stream *s = xzalloc(sizeof *s);

  s->p.lock = -1;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  atomic_init(&s->cancel, false);
  s->cancelled = opts->registry.cancelled;
  s->cancel_data = opts->registry.cancel_data;
  s->source = (struct img_layer_source){
    .open = stream_open, .close = stream_close, .finish = stream_finish, .data = s
  };
  if (pull_open(&s->p, store, ref, opts, err) < 0)
    {
      img_pull_stream_free(s);
      return -1;
    }
  if (pull_resolve(&s->p, err) < 0 || stream_plan(s, err) < 0 || (s->n_jobs > 0 && stream_spawn(s, err) < 0))
    {
      oci_error_wrap(err, "pulling %s", s->p.refstr);
      img_pull_stream_free(s);
      return -1;
    }
  *out = s;
  return 0;
}

const char *
img_pull_stream_manifest_digest(const struct img_pull_stream *s)
{
  return s->p.digest;
}

const char *
img_pull_stream_media_type(const struct img_pull_stream *s)
{
  return s->p.media_type;
}

const struct img_layer_source *
img_pull_stream_source(struct img_pull_stream *s)
{
  return &s->source;
}

void
img_pull_stream_free(struct img_pull_stream *s)
{
  if (s == NULL)
    return;
  atomic_store(&s->cancel, true);
  stream_join(s);
  for (size_t k = 0; k < s->n_jobs; k++)
    {
      img_blob_writer_free(s->jobs[k].writer); /* only when the thread never ran */
      if (s->jobs[k].read_fd >= 0)
        close(s->jobs[k].read_fd);
      if (s->jobs[k].err)
        oci_error_free(s->jobs[k].err);
    }
  free(s->jobs);
  free(s->job_of);
  pull_clear(&s->p);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
  free(s);
}
