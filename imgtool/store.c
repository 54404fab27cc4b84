#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "spec/atomic-file.h"
#include "spec/image.h"
#include "spec/json.h"
#include "spec/util.h"
#include "digest.h"
#include "layer.h"
#include "store.h"

#define REF_NAME_ANNOTATION "org.opencontainers.image.ref.name"
#define PULLED_ANNOTATION "io.imgtool.pulled"
#define REF_DIGEST_ANNOTATION "io.imgtool.ref.digest"
#define OCI_LAYOUT_TEXT "{\"imageLayoutVersion\":\"1.0.0\"}"

struct img_store
{
  char *dir;
  int dirfd;      /* the layout root */
  int blobs_fd;   /* blobs/sha256 */
  int ingest_fd;  /* ingest/, -1 when read-only */
  int locks_fd;   /* locks/, -1 when read-only */
  int gc_lock_fd; /* locks/gc.lock, held shared while the store is open */
  int layers_fd;  /* layers/, opened on first use */
  int flags;
};

struct img_blob_writer
{
  struct img_store *s;
  char *digest;
  char partial[80]; /* "sha256-<hex>" under ingest/ */
  int64_t expected;
  uint64_t offset;
  int fd;
  struct img_sha256 hash;
};

char *
img_store_default_dir(void)
{
  if (geteuid() == 0)
    return xstrdup("/var/lib/imgtool");
  const char *xdg = getenv("XDG_DATA_HOME");
  if (xdg && xdg[0] == '/')
    return xasprintf("%s/imgtool", xdg);
  const char *home = getenv("HOME");
  if (home == NULL || home[0] != '/')
    {
      struct passwd *pw = getpwuid(geteuid());
      home = pw ? pw->pw_dir : "/";
    }
  return xasprintf("%s/.local/share/imgtool", home);
}

const char *
img_store_dir(const struct img_store *s)
{
  return s->dir;
}

int
img_store_dirfd(const struct img_store *s)
{
  return s->dirfd;
}

bool
img_digest_valid(const char *digest)
{
  return oci_digest_is_valid(digest);
}

static int
check_digest(const char *digest, struct oci_error **err)
{
  if (img_digest_valid(digest))
    return 0;
  if (digest && strchr(digest, ':') && strncmp(digest, "sha256:", 7) != 0)
    return oci_error_set(err, 0, "not supported: digest algorithm of `%s`", digest);
  return oci_error_set(err, 0, "invalid digest `%s`", digest ? digest : "(null)");
}

static int
mkdirat_p(int dirfd, const char *path, int *out, struct oci_error **err)
{
  if (mkdirat(dirfd, path, 0755) < 0 && errno != EEXIST)
    return oci_error_errno(err, "mkdir `%s`", path);
  int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return oci_error_errno(err, "open `%s`", path);
  *out = fd;
  return 0;
}

/* Durable: a pull that reported success must survive a power cut, and
 * index.json must never name a ref whose file was lost. */
static int
write_file_atomic(int dirfd, const char *name, const void *data, size_t len, struct oci_error **err)
{
  return oci_write_file_atomic(dirfd, name, data, len, 0644, OCI_DURABLE, err);
}

static int
open_writable_parts(struct img_store *s, struct oci_error **err)
{
  int blobs_parent = -1;
  cleanup_close int tmp = -1;

  if (mkdirat_p(s->dirfd, "blobs", &tmp, err) < 0)
    return -1;
  blobs_parent = steal_fd(&tmp);
  int r = mkdirat_p(blobs_parent, "sha256", &s->blobs_fd, err);
  close(blobs_parent);
  if (r < 0 || mkdirat_p(s->dirfd, "ingest", &s->ingest_fd, err) < 0
      || mkdirat_p(s->dirfd, "locks", &s->locks_fd, err) < 0)
    return -1;

  if (faccessat(s->dirfd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) < 0
      && write_file_atomic(s->dirfd, "oci-layout", OCI_LAYOUT_TEXT, strlen(OCI_LAYOUT_TEXT), err) < 0)
    return -1;

  s->gc_lock_fd = openat(s->locks_fd, "gc.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (s->gc_lock_fd < 0)
    return oci_error_errno(err, "open `locks/gc.lock`");
  if (flock(s->gc_lock_fd, LOCK_SH) < 0)
    return oci_error_errno(err, "lock `locks/gc.lock`");
  return 0;
}

static int
check_layout(struct img_store *s, struct oci_error **err)
{
  char buf[4096];
  cleanup_close int fd = openat(s->dirfd, "oci-layout", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return oci_error_errno(err, "`%s` is not an OCI image layout: open `oci-layout`", s->dir);
  ssize_t n = oci_read_all(fd, buf, sizeof buf - 1);
  if (n < 0)
    return oci_error_errno(err, "read `oci-layout`");
  buf[n] = '\0';
  if (strstr(buf, "imageLayoutVersion") == NULL)
    return oci_error_set(err, 0, "`%s/oci-layout`: missing imageLayoutVersion", s->dir);
  if (strstr(buf, "\"1.0.0\"") == NULL)
    return oci_error_set(err, 0, "`%s/oci-layout`: not supported: image layout version", s->dir);
  s->blobs_fd = openat(s->dirfd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s->blobs_fd < 0)
    return oci_error_errno(err, "`%s`: open `blobs/sha256`", s->dir);
  return 0;
}

int
img_store_open(const char *dir, int flags, struct img_store **out, struct oci_error **err)
{
  struct img_store *s = xzalloc(sizeof *s);
  s->dir = xstrdup(dir);
  s->dirfd = s->blobs_fd = s->ingest_fd = s->locks_fd = s->gc_lock_fd = s->layers_fd = -1;
  s->flags = flags;
  cleanup_store struct img_store *guard = s;

  if ((flags & IMG_STORE_CREATE) && !(flags & IMG_STORE_READONLY))
    {
      /* Parents too: ~/.local/share may not exist yet. */
      cleanup_free char *p = xstrdup(dir);
      for (char *c = p + 1; *c; c++)
        if (*c == '/')
          {
            *c = '\0';
            if (mkdir(p, 0755) < 0 && errno != EEXIST)
              return oci_error_errno(err, "mkdir `%s`", p);
            *c = '/';
          }
      if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return oci_error_errno(err, "mkdir `%s`", dir);
    }
  s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s->dirfd < 0)
    return oci_error_errno(err, "open `%s`", dir);

  if (flags & IMG_STORE_READONLY)
    {
      if (check_layout(s, err) < 0)
        return -1;
    }
  else if (open_writable_parts(s, err) < 0)
    return oci_error_wrap(err, "store `%s`", dir);
  *out = steal_pointer(&guard);
  return 0;
}

void
img_store_free(struct img_store *s)
{
  if (s == NULL)
    return;
  int *fds[] = { &s->dirfd, &s->blobs_fd, &s->ingest_fd, &s->locks_fd, &s->gc_lock_fd, &s->layers_fd };
  for (size_t i = 0; i < OCI_ARRAY_SIZE(fds); i++)
    if (*fds[i] >= 0)
      close(*fds[i]);
  free(s->dir);
  free(s);
}

/* ---- blobs ---- */

bool
img_store_has_blob(struct img_store *s, const char *digest)
{
  if (!img_digest_valid(digest))
    return false;
  struct stat st;
  return fstatat(s->blobs_fd, digest + 7, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

int
img_store_open_blob(struct img_store *s, const char *digest, int *fd, uint64_t *size, struct oci_error **err)
{
  struct stat st;

  if (check_digest(digest, err) < 0)
    return -1;
  cleanup_close int f = openat(s->blobs_fd, digest + 7, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (f < 0)
    return oci_error_errno(err, "blob %s", digest);
  if (fstat(f, &st) < 0)
    return oci_error_errno(err, "stat blob %s", digest);
  if (!S_ISREG(st.st_mode))
    return oci_error_set(err, 0, "blob %s: not a regular file", digest);
  *size = st.st_size;
  *fd = steal_fd(&f);
  return 0;
}

#define DIFF_ID_XATTR "user.imgtool.diff_id"

bool
img_store_diff_id_checked(struct img_store *s, const char *digest, const char *diff_id)
{
  char got[IMG_DIGEST_LEN];

  if (!img_digest_valid(digest) || !img_digest_valid(diff_id))
    return false;
  cleanup_close int fd = openat(s->blobs_fd, digest + 7, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return false;
  ssize_t n = fgetxattr(fd, DIFF_ID_XATTR, got, sizeof got - 1);
  if (n < 0)
    return false;
  got[n] = '\0';
  return strcmp(got, diff_id) == 0;
}

void
img_store_note_diff_id(struct img_store *s, const char *digest, const char *diff_id)
{
  if ((s->flags & IMG_STORE_READONLY) || !img_digest_valid(digest) || !img_digest_valid(diff_id))
    return;
  cleanup_close int fd = openat(s->blobs_fd, digest + 7, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  /* A cache: when it cannot be written, the next unpack hashes again. */
  if (fd >= 0)
    (void)fsetxattr(fd, DIFF_ID_XATTR, diff_id, strlen(diff_id), 0);
}

int
img_store_read_blob(struct img_store *s, const char *digest, uint64_t max_size, char **buf, size_t *len,
                    struct oci_error **err)
{
  cleanup_close int fd = -1;
  uint64_t size;
  char got[IMG_DIGEST_LEN];

  if (img_store_open_blob(s, digest, &fd, &size, err) < 0)
    return -1;
  if (size > max_size)
    return oci_error_set(err, 0, "blob %s: %" PRIu64 " bytes is over the limit of %" PRIu64, digest, size,
                         max_size);
  cleanup_free char *b = xmalloc(size + 1);
  ssize_t n = oci_read_all(fd, b, size);
  if (n < 0)
    return oci_error_errno(err, "read blob %s", digest);
  if ((uint64_t)n != size)
    return oci_error_set(err, 0, "blob %s: short read", digest);
  b[size] = '\0';
  img_sha256_digest(b, size, got);
  if (strcmp(got, digest) != 0)
    return oci_error_set(err, 0, "blob %s: digest mismatch: expected %s got %s", digest, digest, got);
  *buf = steal_pointer(&b);
  *len = size;
  return 0;
}

int
img_store_put_blob(struct img_store *s, const char *digest, const void *buf, size_t len,
                   struct oci_error **err)
{
  cleanup_blob_writer struct img_blob_writer *w = NULL;
  char got[IMG_DIGEST_LEN];

  if (check_digest(digest, err) < 0)
    return -1;
  img_sha256_digest(buf, len, got);
  if (strcmp(got, digest) != 0)
    return oci_error_set(err, 0, "digest mismatch: expected %s got %s", digest, got);
  if (img_blob_writer_begin(s, digest, len, &w, err) < 0)
    return -1;
  if (w == NULL)
    return 0;
  if (img_blob_writer_restart(w, err) < 0 || img_blob_writer_write(w, buf, len, err) < 0)
    return -1;
  return img_blob_writer_commit(w, err);
}

/* Open and lock ingest/<name>, making sure the locked file is still the one
 * at that path (the previous holder may have renamed or deleted it).
 * Without WAIT, returns 1 when another writer holds the lock. */
static int
open_partial_locked(struct img_store *s, const char *name, bool wait, int *out, struct oci_error **err)
{
  for (;;)
    {
      struct stat a, b;
      cleanup_close int fd = openat(s->ingest_fd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (fd < 0)
        return oci_error_errno(err, "open `ingest/%s`", name);
      if (flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) < 0)
        {
          if (!wait && errno == EWOULDBLOCK)
            return 1;
          return oci_error_errno(err, "lock `ingest/%s`", name);
        }
      if (fstat(fd, &a) < 0)
        return oci_error_errno(err, "stat `ingest/%s`", name);
      if (fstatat(s->ingest_fd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_ino == b.st_ino
          && a.st_dev == b.st_dev)
        {
          *out = steal_fd(&fd);
          return 0;
        }
    }
}

static int
rehash_partial(struct img_blob_writer *w, struct oci_error **err)
{
  struct stat st;
  if (fstat(w->fd, &st) < 0)
    return oci_error_errno(err, "stat `ingest/%s`", w->partial);
  if (w->expected >= 0 && st.st_size > w->expected)
    return img_blob_writer_restart(w, err);

  cleanup_free char *buf = xmalloc(1 << 20);
  uint64_t done = 0;
  while (done < (uint64_t)st.st_size)
    {
      ssize_t n = pread(w->fd, buf, 1 << 20, done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return oci_error_errno(err, "read `ingest/%s`", w->partial);
      if (n == 0)
        break;
      img_sha256_update(&w->hash, buf, n);
      done += n;
    }
  w->offset = done;
  if (lseek(w->fd, done, SEEK_SET) < 0 || ftruncate(w->fd, done) < 0)
    return oci_error_errno(err, "seek `ingest/%s`", w->partial);
  return 0;
}

static int
writer_begin(struct img_store *s, const char *digest, int64_t expected_size, bool wait,
             struct img_blob_writer **out, struct oci_error **err)
{
  int r;

  *out = NULL;
  if (check_digest(digest, err) < 0)
    return -1;
  if (s->flags & IMG_STORE_READONLY)
    return oci_error_set(err, 0, "store `%s` is read-only", s->dir);
  if (img_store_has_blob(s, digest))
    return 0;

  cleanup_blob_writer struct img_blob_writer *w = xzalloc(sizeof *w);
  w->s = s;
  w->digest = xstrdup(digest);
  w->expected = expected_size;
  w->fd = -1;
  img_sha256_init(&w->hash);
  snprintf(w->partial, sizeof w->partial, "sha256-%s", digest + 7);

  r = open_partial_locked(s, w->partial, wait, &w->fd, err);
  if (r != 0)
    return r;
  /* Whoever held the lock before us may have finished the blob. */
  if (img_store_has_blob(s, digest))
    {
      unlinkat(s->ingest_fd, w->partial, 0);
      return 0;
    }
  if (rehash_partial(w, err) < 0)
    return -1;
  *out = steal_pointer(&w);
  return 0;
}

int
img_blob_writer_begin(struct img_store *s, const char *digest, int64_t expected_size,
                      struct img_blob_writer **out, struct oci_error **err)
{
  return writer_begin(s, digest, expected_size, true, out, err);
}

int
img_blob_writer_try_begin(struct img_store *s, const char *digest, int64_t expected_size,
                          struct img_blob_writer **out, struct oci_error **err)
{
  return writer_begin(s, digest, expected_size, false, out, err);
}

int
img_blob_writer_open_reader(const struct img_blob_writer *w, struct oci_error **err)
{
  struct stat a, b;
  cleanup_close int fd = openat(w->s->ingest_fd, w->partial, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

  if (fd < 0)
    return oci_error_errno(err, "open `ingest/%s`", w->partial);
  if (fstat(fd, &a) < 0 || fstat(w->fd, &b) < 0)
    return oci_error_errno(err, "stat `ingest/%s`", w->partial);
  /* We hold the lock, so nobody renamed it; this is paranoia. */
  if (a.st_ino != b.st_ino || a.st_dev != b.st_dev)
    return oci_error_fail(err, ESTALE, "`ingest/%s` was replaced", w->partial);
  return steal_fd(&fd);
}

uint64_t
img_blob_writer_offset(const struct img_blob_writer *w)
{
  return w->offset;
}

int
img_blob_writer_restart(struct img_blob_writer *w, struct oci_error **err)
{
  if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
    return oci_error_errno(err, "truncate `ingest/%s`", w->partial);
  img_sha256_init(&w->hash);
  w->offset = 0;
  return 0;
}

int
img_blob_writer_write(struct img_blob_writer *w, const void *buf, size_t n, struct oci_error **err)
{
  if (w->expected >= 0 && w->offset + n > (uint64_t)w->expected)
    return oci_error_set(err, 0, "blob %s: more data than the %" PRId64 " bytes announced", w->digest,
                         w->expected);
  if (oci_write_all(w->fd, buf, n) < 0)
    return oci_error_errno(err, "write `ingest/%s`", w->partial);
  img_sha256_update(&w->hash, buf, n);
  w->offset += n;
  return 0;
}

int
img_blob_writer_commit(struct img_blob_writer *w, struct oci_error **err)
{
  char got[IMG_DIGEST_LEN];
  struct img_store *s = w->s;

  if (w->expected >= 0 && w->offset != (uint64_t)w->expected)
    return oci_error_set(err, 0, "blob %s: truncated: got %" PRIu64 " of %" PRId64 " bytes", w->digest,
                         w->offset, w->expected);
  img_sha256_final(&w->hash, got);
  if (strcmp(got, w->digest) != 0)
    {
      /* Useless for a resume: start from nothing next time. */
      unlinkat(s->ingest_fd, w->partial, 0);
      return oci_error_set(err, 0, "digest mismatch: expected %s got %s", w->digest, got);
    }
  if (fsync(w->fd) < 0)
    return oci_error_errno(err, "fsync `ingest/%s`", w->partial);
  if (renameat(s->ingest_fd, w->partial, s->blobs_fd, w->digest + 7) < 0)
    return oci_error_errno(err, "rename `ingest/%s` into blobs", w->partial);
  return oci_fsync_dir(s->blobs_fd, "blobs/sha256", err);
}

void
img_blob_writer_free(struct img_blob_writer *w)
{
  if (w == NULL)
    return;
  if (w->fd >= 0)
    close(w->fd);
  img_sha256_clear(&w->hash);
  free(w->digest);
  free(w);
}

/* ---- refs ---- */

static char *
compose_ref_name(const char *repository, const char *tag_or_digest)
{
  if (repository == NULL)
    return xstrdup(tag_or_digest);
  bool by_digest = strchr(tag_or_digest, ':') != NULL;
  return xasprintf("%s%c%s", repository, by_digest ? '@' : ':', tag_or_digest);
}

static void
split_ref_name(const char *name, struct img_store_ref *r)
{
  const char *at = strchr(name, '@');
  const char *slash = strrchr(name, '/');
  const char *colon = strrchr(name, ':');

  if (at)
    {
      r->repository = xstrndup(name, at - name);
      return;
    }
  if (slash && colon && colon > slash)
    {
      r->repository = xstrndup(name, colon - name);
      r->tag = xstrdup(colon + 1);
      return;
    }
  if (slash)
    {
      r->repository = xstrdup(name);
      return;
    }
  r->tag = xstrdup(name);
}

static int
load_index(struct img_store *s, struct oci_image_index **out, struct oci_error **err)
{
  struct stat st;
  cleanup_close int fd = openat(s->dirfd, "index.json", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT)
    {
      struct oci_image_index *x = xzalloc(sizeof *x);
      x->schema_version = 2;
      x->media_type = xstrdup(OCI_MT_INDEX);
      *out = x;
      return 0;
    }
  if (fd < 0 || fstat(fd, &st) < 0)
    return oci_error_errno(err, "open `%s/index.json`", s->dir);
  if ((uint64_t)st.st_size > OCI_MANIFEST_MAX_SIZE * 4)
    return oci_error_set(err, 0, "`%s/index.json` is too large", s->dir);
  cleanup_free char *buf = xmalloc(st.st_size + 1);
  ssize_t n = oci_read_all(fd, buf, st.st_size);
  if (n < 0)
    return oci_error_errno(err, "read `%s/index.json`", s->dir);
  buf[n] = '\0';
  cleanup_free char *name = xasprintf("%s/index.json", s->dir);
  return oci_image_index_parse(name, buf, n, out, err);
}

static int
save_index(struct img_store *s, const struct oci_image_index *x, struct oci_error **err)
{
  cleanup_free char *text = NULL;
  size_t len;
  if (oci_image_index_emit(x, false, &text, &len, err) < 0)
    return -1;
  return write_file_atomic(s->dirfd, "index.json", text, len, err);
}

/* index.json is read-modify-written under locks/index.lock. */
static int
lock_index(struct img_store *s, struct oci_error **err)
{
  if (s->flags & IMG_STORE_READONLY)
    return oci_error_set(err, 0, "store `%s` is read-only", s->dir);
  cleanup_close int fd = openat(s->locks_fd, "index.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return oci_error_errno(err, "open `locks/index.lock`");
  if (flock(fd, LOCK_EX) < 0)
    return oci_error_errno(err, "lock `locks/index.lock`");
  return steal_fd(&fd);
}

static const char *
entry_name(const struct oci_descriptor *d)
{
  return oci_kv_get(d->annotations, d->annotations_len, REF_NAME_ANNOTATION);
}

static void
now_rfc3339(char *buf, size_t len)
{
  struct tm tm;
  time_t t = time(NULL);
  gmtime_r(&t, &tm);
  strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The platform of the image DIGEST names: its config's; unknown (os NULL)
 * for an index, which suits any platform, and for what cannot be read. */
static void
target_platform(struct img_store *s, const char *digest, const char *media_type, struct img_platform *out)
{
  cleanup_error struct oci_error *e = NULL;
  cleanup_free char *mbuf = NULL;
  cleanup_free char *cbuf = NULL;
  cleanup_image_manifest struct oci_image_manifest *m = NULL;
  cleanup_image_config struct oci_image_config *c = NULL;
  size_t len;

  memset(out, 0, sizeof *out);
  if (media_type && oci_media_type_is_index(media_type))
    return;
  if (img_store_read_blob(s, digest, OCI_MANIFEST_MAX_SIZE, &mbuf, &len, &e) < 0
      || oci_image_manifest_parse(digest, mbuf, len, &m, &e) < 0
      || img_store_read_blob(s, m->config.digest, OCI_CONFIG_MAX_SIZE, &cbuf, &len, &e) < 0
      || oci_image_config_parse(m->config.digest, cbuf, len, &c, &e) < 0)
    return;
  if (c->os && c->architecture)
    img_platform_set(out, c->os, c->architecture, c->variant);
}

/* An entry's platform: its `platform` field, else its target's (entries
 * written before the field was recorded). */
static void
entry_platform(struct img_store *s, const struct oci_descriptor *d, struct img_platform *out)
{
  memset(out, 0, sizeof *out);
  if (d->platform && d->platform->os && d->platform->architecture)
    img_platform_set(out, d->platform->os, d->platform->architecture, d->platform->variant);
  else
    target_platform(s, d->digest, d->media_type, out);
}

/* An unknown platform (an index) suits every platform. */
static bool
platforms_match(const struct img_platform *a, const struct img_platform *b)
{
  return a->os == NULL || b->os == NULL || img_platform_equal(a, b);
}

static const char *
entry_ref_digest(const struct oci_descriptor *d)
{
  const char *v = oci_kv_get(d->annotations, d->annotations_len, REF_DIGEST_ANNOTATION);
  return v ? v : d->digest;
}

/* NAME (a ref.name, may be NULL) is of REPOSITORY; any name is when
 * REPOSITORY is NULL (a layout of bare tags). */
static bool
of_repository(const char *name, const char *repository)
{
  struct img_store_ref r = { 0 };
  bool same;

  if (repository == NULL)
    return true;
  if (name == NULL)
    return false;
  split_ref_name(name, &r);
  same = r.repository && strcmp(r.repository, repository) == 0;
  free(r.repository);
  free(r.tag);
  return same;
}

static void
fill_descriptor(struct oci_descriptor *d, const char *name, const struct img_store_target *t,
                const struct img_platform *platform)
{
  struct oci_kv *ann = d->annotations;
  size_t ann_len = d->annotations_len;
  char now[64];

  d->annotations = NULL;
  d->annotations_len = 0;
  oci_descriptor_clear(d);
  d->annotations = ann;
  d->annotations_len = ann_len;
  d->media_type = xstrdup(t->media_type);
  d->digest = xstrdup(t->digest);
  d->size = t->size;
  if (platform->os)
    {
      d->platform = xzalloc(sizeof *d->platform);
      d->platform->os = xstrdup(platform->os);
      d->platform->architecture = xstrdup(platform->architecture);
      d->platform->variant = platform->variant ? xstrdup(platform->variant) : NULL;
    }
  now_rfc3339(now, sizeof now);
  oci_kv_set(&d->annotations, &d->annotations_len, REF_NAME_ANNOTATION, name);
  oci_kv_set(&d->annotations, &d->annotations_len, REF_DIGEST_ANNOTATION,
             t->ref_digest ? t->ref_digest : t->digest);
  oci_kv_set(&d->annotations, &d->annotations_len, PULLED_ANNOTATION, now);
}

int
img_store_set_ref(struct img_store *s, const char *repository, const char *tag_or_digest,
                  const struct img_store_target *t, struct oci_error **err)
{
  cleanup_image_index struct oci_image_index *x = NULL;
  cleanup_free char *name = compose_ref_name(repository, tag_or_digest);
  cleanup_platform struct img_platform platform = { 0 };
  cleanup_free bool *drop = NULL;
  bool by_digest = repository && strchr(tag_or_digest, ':') != NULL;
  bool covered = false;
  ssize_t target = -1;
  size_t kept = 0;

  if (check_digest(t->digest, err) < 0 || (t->ref_digest && check_digest(t->ref_digest, err) < 0))
    return -1;
  if (!img_store_has_blob(s, t->digest))
    return oci_error_fail(err, ENOENT, "ref `%s`: blob %s is not in the store", name, t->digest);
  cleanup_close int lock = lock_index(s, err);
  if (lock < 0 || load_index(s, &x, err) < 0)
    return -1;
  if (t->platform)
    img_platform_set(&platform, t->platform->os, t->platform->architecture, t->platform->variant);
  else
    target_platform(s, t->digest, t->media_type, &platform);

  drop = xcalloc(x->manifests_len + 2, sizeof *drop);
  for (size_t i = 0; i < x->manifests_len; i++)
    {
      const struct oci_descriptor *d = &x->manifests[i];
      const char *n = entry_name(d);
      if (n == NULL)
        continue;
      if (strcmp(n, name) == 0)
        {
          cleanup_platform struct img_platform p = { 0 };
          entry_platform(s, d, &p);
          if (target < 0 && platforms_match(&p, &platform))
            target = (ssize_t)i;
          continue;
        }
      if (repository == NULL || strcmp(d->digest, t->digest) != 0 || !of_repository(n, repository))
        continue;
      /* Another name of the repository for this very manifest. */
      if (by_digest)
        covered = true;
      else if (strchr(n, '@'))
        drop[i] = true;
    }
  if (covered && target < 0)
    return 0;
  if (target < 0)
    {
      x->manifests = xrealloc(x->manifests, (x->manifests_len + 1) * sizeof *x->manifests);
      target = (ssize_t)x->manifests_len++;
      memset(&x->manifests[target], 0, sizeof *x->manifests);
    }
  fill_descriptor(&x->manifests[target], name, t, &platform);
  for (size_t i = 0; i < x->manifests_len; i++)
    {
      if (drop[i])
        {
          oci_descriptor_clear(&x->manifests[i]);
          continue;
        }
      x->manifests[kept++] = x->manifests[i];
    }
  x->manifests_len = kept;
  return save_index(s, x, err);
}

static struct img_store_ref *
ref_from_descriptor(struct img_store *s, const struct oci_descriptor *d)
{
  struct img_store_ref *r = xzalloc(sizeof *r);
  const char *name = entry_name(d);
  const char *pulled = oci_kv_get(d->annotations, d->annotations_len, PULLED_ANNOTATION);

  r->name = name ? xstrdup(name) : NULL;
  if (name)
    split_ref_name(name, r);
  r->digest = xstrdup(d->digest);
  r->ref_digest = xstrdup(entry_ref_digest(d));
  r->media_type = xstrdup(d->media_type);
  r->size = d->size;
  r->pulled = pulled ? xstrdup(pulled) : NULL;
  entry_platform(s, d, &r->platform);
  return r;
}

/* Entry I answers to NAME (or, for a digest, to one of the repository's
 * images) whatever its platform. */
static bool
entry_answers(const struct oci_descriptor *d, const char *name, const char *repository,
              const char *tag_or_digest)
{
  const char *n = entry_name(d);

  if (n && strcmp(n, name) == 0)
    return true;
  return img_digest_valid(tag_or_digest)
         && (strcmp(d->digest, tag_or_digest) == 0 || strcmp(entry_ref_digest(d), tag_or_digest) == 0)
         && of_repository(n, repository);
}

/* An entry for another platform than WANT still answers for WANT when its
 * source would have given it for WANT too: an image for a compatible
 * platform (386 on amd64, arm/v7 on arm64) that its index picks for WANT,
 * or that was a single manifest.  An explicit `--platform linux/386` of an
 * index that also offers amd64 thus never answers for amd64. */
static bool
chosen_for(struct img_store *s, const struct oci_descriptor *d, const struct img_platform *p,
           const struct img_platform *want)
{
  cleanup_error struct oci_error *e = NULL;
  cleanup_free char *buf = NULL;
  cleanup_image_index struct oci_image_index *x = NULL;
  const char *top = entry_ref_digest(d);
  size_t len, chosen = 0;

  if (p->os == NULL || img_platform_rank(want, p->os, p->architecture, p->variant) < 0)
    return false;
  if (strcmp(top, d->digest) == 0)
    return true;
  if (img_store_read_blob(s, top, OCI_MANIFEST_MAX_SIZE, &buf, &len, &e) < 0
      || oci_image_index_parse(top, buf, len, &x, &e) < 0 || img_platform_select(x, want, &chosen, &e) < 0)
    return false;
  return strcmp(x->manifests[chosen].digest, d->digest) == 0;
}

/* ENOENT naming the platforms NAME is stored for, if any. */
static int
not_found(struct img_store *s, const struct oci_image_index *x, const char *name, const char *repository,
          const char *tag_or_digest, const struct img_platform *want, struct oci_error **err)
{
  cleanup_free char *have = xstrdup("");
  cleanup_free char *w = want ? img_platform_string(want) : NULL;

  for (size_t i = 0; want && i < x->manifests_len; i++)
    if (entry_answers(&x->manifests[i], name, repository, tag_or_digest))
      {
        cleanup_platform struct img_platform p = { 0 };
        entry_platform(s, &x->manifests[i], &p);
        cleanup_free char *ps = img_platform_string(&p);
        char *next = xasprintf("%s%s%s", have, have[0] ? ", " : "", ps);
        free(have);
        have = next;
      }
  if (have[0])
    return oci_error_fail(err, ENOENT,
                          "image `%s` for %s not found in `%s`: it is there for %s (choose with --platform)",
                          name, w, s->dir, have);
  return oci_error_fail(err, ENOENT, "image `%s` not found in `%s`", name, s->dir);
}

int
img_store_get_ref(struct img_store *s, const char *repository, const char *tag_or_digest,
                  const struct img_platform *want, struct img_store_ref **out, struct oci_error **err)
{
  cleanup_image_index struct oci_image_index *x = NULL;
  cleanup_free char *name = NULL;

  if (load_index(s, &x, err) < 0)
    return -1;
  /* An `oci:DIR` without a tag means its only image. */
  if (repository == NULL && tag_or_digest == NULL)
    {
      if (x->manifests_len != 1)
        return oci_error_fail(err, x->manifests_len ? EINVAL : ENOENT,
                              "`%s` holds %zu images: name one with `:TAG`", s->dir, x->manifests_len);
      *out = ref_from_descriptor(s, &x->manifests[0]);
      return 0;
    }
  name = compose_ref_name(repository, tag_or_digest);
  /* The name itself first, then (a digest) any image of the repository
   * that answers to it; the platform asked for, then a compatible one. */
  for (int pass = 0; pass < 4; pass++)
    for (size_t i = 0; i < x->manifests_len && (pass < 2 || want); i++)
      {
        const struct oci_descriptor *d = &x->manifests[i];
        const char *n = entry_name(d);
        bool named = n && strcmp(n, name) == 0;
        if (pass % 2 == 0 ? !named : !entry_answers(d, name, repository, tag_or_digest))
          continue;
        struct img_store_ref *r = ref_from_descriptor(s, d);
        if (want == NULL
            || (pass < 2 ? platforms_match(&r->platform, want) : chosen_for(s, d, &r->platform, want)))
          {
            *out = r;
            return 0;
          }
        img_store_ref_free(r);
      }
  return not_found(s, x, name, repository, tag_or_digest, want, err);
}

int
img_store_list_refs(struct img_store *s, struct img_store_ref **refs, size_t *len, struct oci_error **err)
{
  cleanup_image_index struct oci_image_index *x = NULL;
  if (load_index(s, &x, err) < 0)
    return -1;
  struct img_store_ref *r = xcalloc(x->manifests_len + 1, sizeof *r);
  for (size_t i = 0; i < x->manifests_len; i++)
    {
      struct img_store_ref *one = ref_from_descriptor(s, &x->manifests[i]);
      r[i] = *one;
      free(one);
    }
  *refs = r;
  *len = x->manifests_len;
  return 0;
}

static bool
names_have(char *const *names, const char *n)
{
  for (; *names; names++)
    if (strcmp(*names, n) == 0)
      return true;
  return false;
}

int
img_store_remove_ref(struct img_store *s, const char *repository, const char *tag_or_digest,
                     const struct img_platform *only, char ***removed, struct oci_error **err)
{
  cleanup_image_index struct oci_image_index *x = NULL;
  cleanup_free char *name = compose_ref_name(repository, tag_or_digest);
  cleanup_strv char **names = xcalloc(1, sizeof *names);
  size_t kept = 0, nnames = 0;
  bool found = false;

  cleanup_close int lock = lock_index(s, err);
  if (lock < 0 || load_index(s, &x, err) < 0)
    return -1;
  for (size_t i = 0; i < x->manifests_len; i++)
    {
      struct oci_descriptor *d = &x->manifests[i];
      const char *n = entry_name(d);
      /* `rm repo@sha256:…` drops every name of repo for that image. */
      bool match = n && entry_answers(d, name, repository, tag_or_digest);
      if (match && only)
        {
          cleanup_platform struct img_platform p = { 0 };
          entry_platform(s, d, &p);
          match = platforms_match(&p, only);
        }
      if (match)
        {
          found = true;
          /* A name stored for two platforms is one name removed. */
          if (!names_have(names, n))
            {
              names = xrealloc(names, (nnames + 2) * sizeof *names);
              names[nnames++] = xstrdup(n);
              names[nnames] = NULL;
            }
          oci_descriptor_clear(d);
          continue;
        }
      x->manifests[kept++] = *d;
    }
  x->manifests_len = kept;
  if (!found)
    return not_found(s, x, name, repository, tag_or_digest, only, err);
  if (save_index(s, x, err) < 0)
    return -1;
  if (removed)
    *removed = steal_pointer(&names);
  return 0;
}

void
img_store_ref_free(struct img_store_ref *r)
{
  if (r == NULL)
    return;
  img_store_refs_free(r, 1);
}

void
img_store_refs_free(struct img_store_ref *refs, size_t len)
{
  if (refs == NULL)
    return;
  for (size_t i = 0; i < len; i++)
    {
      free(refs[i].name);
      free(refs[i].repository);
      free(refs[i].tag);
      free(refs[i].digest);
      free(refs[i].ref_digest);
      free(refs[i].media_type);
      img_platform_clear(&refs[i].platform);
      free(refs[i].pulled);
    }
  free(refs);
}

/* ---- gc ---- */

struct digest_set
{
  char **v;
  size_t len, cap;
};

static bool
set_has(const struct digest_set *set, const char *d)
{
  for (size_t i = 0; i < set->len; i++)
    if (strcmp(set->v[i], d) == 0)
      return true;
  return false;
}

static bool
set_add(struct digest_set *set, const char *d)
{
  if (set_has(set, d))
    return false;
  if (set->len == set->cap)
    {
      set->cap = set->cap ? set->cap * 2 : 64;
      set->v = xrealloc(set->v, set->cap * sizeof *set->v);
    }
  set->v[set->len++] = xstrdup(d);
  return true;
}

static void
mark(struct img_store *s, struct digest_set *live, const char *digest, const char *media_type, int depth)
{
  cleanup_error struct oci_error *e = NULL;
  cleanup_free char *buf = NULL;
  size_t len;

  if (!set_add(live, digest) || depth > 8)
    return;
  if (!oci_media_type_is_index(media_type) && !oci_media_type_is_manifest(media_type))
    return;
  /* An unreadable manifest keeps what we marked so far: gc must never make
   * a damaged store worse. */
  if (img_store_read_blob(s, digest, OCI_MANIFEST_MAX_SIZE, &buf, &len, &e) < 0)
    return;
  if (oci_media_type_is_index(media_type))
    {
      cleanup_image_index struct oci_image_index *x = NULL;
      if (oci_image_index_parse(digest, buf, len, &x, &e) < 0)
        return;
      for (size_t i = 0; i < x->manifests_len; i++)
        mark(s, live, x->manifests[i].digest, x->manifests[i].media_type, depth + 1);
      return;
    }
  cleanup_image_manifest struct oci_image_manifest *m = NULL;
  if (oci_image_manifest_parse(digest, buf, len, &m, &e) < 0)
    return;
  set_add(live, m->config.digest);
  for (size_t i = 0; i < m->layers_len; i++)
    set_add(live, m->layers[i].digest);
}

static int
sweep_dir(int dirfd, const char *what, const struct digest_set *live, bool blobs, size_t *removed,
          uint64_t *freed, struct oci_error **err)
{
  int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return oci_error_errno(err, "open `%s`", what);
  cleanup_closedir DIR *d = fdopendir(fd);
  if (d == NULL)
    {
      close(fd);
      return oci_error_errno(err, "open `%s`", what);
    }
  struct dirent *de;
  while ((de = readdir(d)))
    {
      struct stat st;
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
        continue;
      if (blobs)
        {
          cleanup_free char *digest = xasprintf("sha256:%s", de->d_name);
          if (set_has(live, digest))
            continue;
        }
      if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode))
        continue;
      if (unlinkat(dirfd, de->d_name, 0) < 0)
        return oci_error_errno(err, "remove `%s/%s`", what, de->d_name);
      (*removed)++;
      *freed += st.st_size;
    }
  return 0;
}

/* Cached layer directories no record names, and temporaries of unpacks
 * that died (gc runs alone: nobody is unpacking). */
static int
sweep_layers(struct img_store *s, const struct digest_set *chains, size_t *removed, struct oci_error **err)
{
  if (faccessat(s->dirfd, "layers", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  int lfd = img_store_layers_fd(s, err);
  if (lfd < 0)
    return -1;
  int fd = openat(lfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_closedir DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (d == NULL)
    {
      if (fd >= 0)
        close(fd);
      return oci_error_errno(err, "open `layers`");
    }
  struct dirent *de;
  while ((de = readdir(d)))
    {
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || set_has(chains, de->d_name))
        continue;
      cleanup_free char *path = xasprintf("%s/layers/%s", s->dir, de->d_name);
      if (img_remove_tree(path, err) < 0)
        return -1;
      (*removed)++;
    }
  return 0;
}

static void
digest_set_clear(struct digest_set *set)
{
  for (size_t i = 0; i < set->len; i++)
    free(set->v[i]);
  free(set->v);
}

/* Marks what the records need; tells r->held about what only they need. */
static int
mark_bundles(struct img_store *s, struct digest_set *live, struct digest_set *chains, struct img_gc_report *r,
             struct oci_error **err)
{
  struct img_store_bundle **v = NULL;
  size_t len = 0;

  if (img_store_list_bundles(s, &v, &len, err) < 0)
    return -1;
  for (size_t i = 0; i < len; i++)
    {
      struct digest_set mine = { 0 };
      size_t only_mine = 0;
      mark(s, &mine, v[i]->manifest, OCI_MT_MANIFEST, 0);
      for (size_t j = 0; j < v[i]->blobs_len; j++)
        set_add(&mine, v[i]->blobs[j]);
      for (size_t j = 0; j < mine.len; j++)
        if (!set_has(live, mine.v[j]))
          only_mine++;
      for (size_t j = 0; j < v[i]->chains_len; j++)
        set_add(chains, v[i]->chains[j]);
      if (only_mine && r->held)
        r->held(r->data, v[i], only_mine);
      digest_set_clear(&mine);
    }
  /* Only now: a blob two bundles share is reported by both. */
  for (size_t i = 0; i < len; i++)
    {
      mark(s, live, v[i]->manifest, OCI_MT_MANIFEST, 0);
      for (size_t j = 0; j < v[i]->blobs_len; j++)
        set_add(live, v[i]->blobs[j]);
    }
  img_store_bundles_free(v, len);
  return 0;
}

int
img_store_gc_report(struct img_store *s, struct img_gc_report *rep, struct oci_error **err)
{
  cleanup_image_index struct oci_image_index *x = NULL;
  struct digest_set live = { 0 }, chains = { 0 };
  int r;

  rep->removed = 0;
  rep->freed = 0;
  rep->layers_removed = 0;
  if (s->flags & IMG_STORE_READONLY)
    return oci_error_set(err, 0, "store `%s` is read-only", s->dir);
  /* Converting our shared lock drops it first, so two gc runs cannot
   * deadlock; every pull holds it shared for its whole life. */
  if (flock(s->gc_lock_fd, LOCK_EX) < 0)
    return oci_error_errno(err, "lock `locks/gc.lock`");
  r = load_index(s, &x, err);
  if (r == 0)
    {
      for (size_t i = 0; i < x->manifests_len; i++)
        mark(s, &live, x->manifests[i].digest, x->manifests[i].media_type, 0);
      /* Then each name's index alone, not its other platforms' images: it
       * tells which of them the name means for a compatible platform.  Not
       * before: mark() skips what is already live. */
      for (size_t i = 0; i < x->manifests_len; i++)
        {
          const struct oci_descriptor *d = &x->manifests[i];
          const char *top = oci_kv_get(d->annotations, d->annotations_len, REF_DIGEST_ANNOTATION);
          if (top && img_digest_valid(top))
            set_add(&live, top);
        }
      r = mark_bundles(s, &live, &chains, rep, err);
      if (r == 0)
        r = sweep_dir(s->blobs_fd, "blobs/sha256", &live, true, &rep->removed, &rep->freed, err);
      if (r == 0)
        r = sweep_dir(s->ingest_fd, "ingest", &live, false, &rep->removed, &rep->freed, err);
      if (r == 0)
        r = sweep_layers(s, &chains, &rep->layers_removed, err);
      if (r == 0)
        r = oci_fsync_dir(s->blobs_fd, "blobs/sha256", err);
    }
  flock(s->gc_lock_fd, LOCK_SH);
  digest_set_clear(&live);
  digest_set_clear(&chains);
  return r;
}

int
img_store_gc(struct img_store *s, size_t *removed, uint64_t *freed, struct oci_error **err)
{
  struct img_gc_report rep = { 0 };
  int r = img_store_gc_report(s, &rep, err);
  *removed = rep.removed;
  *freed = rep.freed;
  return r;
}

/* ---- overlay bundle records ---- */

int
img_store_layers_fd(struct img_store *s, struct oci_error **err)
{
  if (s->layers_fd >= 0)
    return s->layers_fd;
  if (s->flags & IMG_STORE_READONLY)
    return oci_error_set(err, 0, "store `%s` is read-only", s->dir);
  if (mkdirat_p(s->dirfd, "layers", &s->layers_fd, err) < 0)
    return oci_error_wrap(err, "store `%s`", s->dir);
  return s->layers_fd;
}

int
img_store_abs_dir(const struct img_store *s, char **out, struct oci_error **err)
{
  *out = realpath(s->dir, NULL);
  if (*out == NULL)
    return oci_error_errno(err, "realpath `%s`", s->dir);
  return 0;
}

char *
img_store_bundle_id(const char *abs_path)
{
  char d[IMG_DIGEST_LEN];
  img_sha256_digest(abs_path, strlen(abs_path), d);
  return xstrdup(d + 7);
}

static bool
id_valid(const char *id)
{
  size_t n = strspn(id, "0123456789abcdef");
  return n == 64 && id[n] == '\0';
}

int
img_store_put_bundle(struct img_store *s, const struct img_store_bundle *b, struct oci_error **err)
{
  cleanup_json_writer struct json_writer *w = json_writer_new(true);
  cleanup_free char *text = NULL;
  cleanup_free char *name = xasprintf("%s.json", b->id);
  cleanup_close int dfd = -1;
  size_t len;

  if (s->flags & IMG_STORE_READONLY)
    return oci_error_set(err, 0, "store `%s` is read-only", s->dir);
  json_write_object_begin(w);
  json_write_member_string(w, "path", b->path);
  json_write_member_string(w, "image", b->image);
  json_write_member_string(w, "manifest", b->manifest);
  json_write_member_string(w, "platform", b->platform);
  json_write_member_string(w, "ref_digest", b->ref_digest);
  json_write_member_strv(w, "blobs", b->blobs, b->blobs_len);
  json_write_member_strv(w, "chains", b->chains, b->chains_len);
  json_write_object_end(w);
  if (json_writer_finish(w, &text, &len, err) < 0 || mkdirat_p(s->dirfd, "bundles", &dfd, err) < 0)
    return -1;
  return write_file_atomic(dfd, name, text, len, err);
}

static int
strv_member(const struct json_value *o, const char *key, char ***out, size_t *len)
{
  const struct json_value *a = json_object_get(o, key);
  if (a == NULL || a->type != JSON_ARRAY)
    return -1;
  *out = xcalloc(a->u.array.len + 1, sizeof **out);
  for (size_t i = 0; i < a->u.array.len; i++)
    {
      if (a->u.array.items[i]->type != JSON_STRING)
        return -1;
      (*out)[i] = xstrdup(a->u.array.items[i]->u.string);
      *len = i + 1;
    }
  return 0;
}

int
img_store_get_bundle(struct img_store *s, const char *id, struct img_store_bundle **out,
                     struct oci_error **err)
{
  cleanup_free char *name = xasprintf("bundles/%s.json", id);
  cleanup_free char *buf = NULL;
  cleanup_json_value struct json_value *v = NULL;
  char chunk[65536];

  if (!id_valid(id))
    return oci_error_fail(err, EINVAL, "invalid bundle id `%s`", id);
  cleanup_close int fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return oci_error_errno(err, "`%s/%s`", s->dir, name);
  ssize_t n = oci_read_all(fd, chunk, sizeof chunk - 1);
  if (n < 0)
    return oci_error_errno(err, "read `%s/%s`", s->dir, name);
  if (json_parse(name, chunk, n, &v, err) < 0)
    return -1;
  cleanup_store_bundle struct img_store_bundle *b = xzalloc(sizeof *b);
  const char *path = json_object_get_string(v, "path");
  const char *manifest = json_object_get_string(v, "manifest");
  const char *image = json_object_get_string(v, "image");
  if (path == NULL || manifest == NULL || strv_member(v, "blobs", &b->blobs, &b->blobs_len) < 0
      || strv_member(v, "chains", &b->chains, &b->chains_len) < 0)
    return oci_error_fail(err, EINVAL, "`%s/%s`: not a bundle record", s->dir, name);
  b->id = xstrdup(id);
  b->path = xstrdup(path);
  b->manifest = xstrdup(manifest);
  b->image = xstrdup(image ? image : "");
  const char *platform = json_object_get_string(v, "platform");
  b->platform = platform ? xstrdup(platform) : NULL;
  const char *ref_digest = json_object_get_string(v, "ref_digest");
  b->ref_digest = xstrdup(ref_digest ? ref_digest : manifest);
  *out = steal_pointer(&b);
  return 0;
}

int
img_store_drop_bundle(struct img_store *s, const char *id, struct oci_error **err)
{
  cleanup_free char *name = xasprintf("bundles/%s.json", id);
  if (!id_valid(id))
    return oci_error_fail(err, EINVAL, "invalid bundle id `%s`", id);
  if (unlinkat(s->dirfd, name, 0) < 0 && errno != ENOENT)
    return oci_error_errno(err, "remove `%s/%s`", s->dir, name);
  return 0;
}

static int
compare_bundle_paths(const void *a, const void *b)
{
  return strcmp((*(struct img_store_bundle *const *)a)->path, (*(struct img_store_bundle *const *)b)->path);
}

int
img_store_list_bundles(struct img_store *s, struct img_store_bundle ***out, size_t *len,
                       struct oci_error **err)
{
  struct img_store_bundle **v = NULL;
  size_t n = 0;

  *out = NULL;
  *len = 0;
  int fd = openat(s->dirfd, "bundles", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : oci_error_errno(err, "open `%s/bundles`", s->dir);
  cleanup_closedir DIR *d = fdopendir(fd);
  if (d == NULL)
    {
      close(fd);
      return oci_error_errno(err, "open `%s/bundles`", s->dir);
    }
  struct dirent *de;
  while ((de = readdir(d)))
    {
      size_t l = strlen(de->d_name);
      if (l != 64 + 5 || strcmp(de->d_name + 64, ".json") != 0)
        continue;
      cleanup_free char *id = xstrndup(de->d_name, 64);
      struct img_store_bundle *b = NULL;
      if (img_store_get_bundle(s, id, &b, err) < 0)
        {
          img_store_bundles_free(v, n);
          return -1;
        }
      v = xrealloc(v, (n + 1) * sizeof *v);
      v[n++] = b;
    }
  if (n > 1)
    qsort(v, n, sizeof *v, compare_bundle_paths);
  *out = v;
  *len = n;
  return 0;
}

static void
strv_free(char **v, size_t len)
{
  for (size_t i = 0; v && i < len; i++)
    free(v[i]);
  free(v);
}

void
img_store_bundle_free(struct img_store_bundle *b)
{
  if (b == NULL)
    return;
  free(b->id);
  free(b->path);
  free(b->image);
  free(b->manifest);
  free(b->platform);
  free(b->ref_digest);
  strv_free(b->blobs, b->blobs_len);
  strv_free(b->chains, b->chains_len);
  free(b);
}

void
img_store_bundles_free(struct img_store_bundle **v, size_t len)
{
  for (size_t i = 0; v && i < len; i++)
    img_store_bundle_free(v[i]);
  free(v);
}

int
img_store_lock_image(struct img_store *s, const char *name, struct oci_error **err)
{
  char hex[IMG_DIGEST_LEN];

  if (s->flags & IMG_STORE_READONLY)
    return oci_error_set(err, 0, "store `%s` is read-only", s->dir);
  img_sha256_digest(name, strlen(name), hex);
  cleanup_free char *file = xasprintf("%s.lock", hex + 7);
  cleanup_close int fd = openat(s->locks_fd, file, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return oci_error_errno(err, "open `locks/%s`", file);
  if (flock(fd, LOCK_EX) < 0)
    return oci_error_errno(err, "lock `locks/%s`", file);
  return steal_fd(&fd);
}
