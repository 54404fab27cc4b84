#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#ifdef HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#include "spec/util.h"
#include "inroot.h"
#include "digest.h"
#include "blockq.h"
#include "file-writer.h"
#include "layer.h"
#include "readahead.h"

/* Tar member names and hardlink targets: relative to the rootfs ("" is the
 * rootfs itself), and a `..` in one is refused, whatever it would resolve to. */
#define TAR_NAME (OCI_PATH_RELATIVE | OCI_PATH_NO_DOTDOT)

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

/* ---- the set of paths this layer created (for opaque whiteouts) ---- */

struct path_set
{
  char **slots;
  size_t cap, len;
};

static uint64_t
hash_str(const char *s)
{
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static bool
path_set_has(const struct path_set *set, const char *p)
{
  if (set->cap == 0)
    return false;
  for (size_t i = hash_str(p) & (set->cap - 1);; i = (i + 1) & (set->cap - 1))
    {
      if (set->slots[i] == NULL)
        return false;
      if (strcmp(set->slots[i], p) == 0)
        return true;
    }
}

static void
path_set_insert_owned(struct path_set *set, char *p)
{
  for (size_t i = hash_str(p) & (set->cap - 1);; i = (i + 1) & (set->cap - 1))
    if (set->slots[i] == NULL)
      {
        set->slots[i] = p;
        set->len++;
        return;
      }
}

static void
path_set_add(struct path_set *set, const char *p)
{
  if (path_set_has(set, p))
    return;
  if ((set->len + 1) * 2 > set->cap)
    {
      struct path_set bigger
          = { xcalloc(set->cap ? set->cap * 2 : 1024, sizeof(char *)), set->cap ? set->cap * 2 : 1024, 0 };
      for (size_t i = 0; i < set->cap; i++)
        if (set->slots[i])
          path_set_insert_owned(&bigger, set->slots[i]);
      free(set->slots);
      *set = bigger;
    }
  path_set_insert_owned(set, xstrdup(p));
}

static void
path_set_clear(struct path_set *set)
{
  for (size_t i = 0; i < set->cap; i++)
    free(set->slots[i]);
  free(set->slots);
}

/* ---- the unpacked-size limit (img_layer_opts.max_unpacked) ---- */

/* Counted in the applier's thread: the stream as the tar reader takes it
 * (so nothing past the limit reaches the disk, and the inflater, a few
 * blocks ahead at most, stops with it), each entry, and the holes of
 * sparse files, which cost nothing now but a copy may fill in.  A hardlink
 * costs an entry, not a copy of its target: it adds no data. */
struct budget
{
  uint64_t limit; /* UINT64_MAX: none */
  uint64_t used;
  bool over;
  const char *why;
};

static bool
budget_charge(struct budget *b, uint64_t n)
{
  b->used = n > UINT64_MAX - b->used ? UINT64_MAX : b->used + n;
  if (b->used > b->limit)
    b->over = true;
  return !b->over;
}

static void
format_size(uint64_t n, char *buf, size_t len)
{
  if (n >= 1ull << 30)
    snprintf(buf, len, "%.1f GiB", n / (double)(1ull << 30));
  else if (n >= 1ull << 20)
    snprintf(buf, len, "%.1f MiB", n / (double)(1ull << 20));
  else
    snprintf(buf, len, "%" PRIu64 " bytes", n);
}

/* The layer's error once it is over the limit, whatever failed on the way
 * (the tar reader, the entry being written): the limit is the cause. */
static int
budget_failure(const struct budget *b, struct oci_error **err)
{
  char limit[32];

  if (*err)
    {
      oci_error_free(*err);
      *err = NULL;
    }
  format_size(b->limit, limit, sizeof limit);
  return oci_error_set(err, 0, "unpacks to more than %s%s%s%s", limit, b->why ? " (" : "",
                       b->why ? b->why : "", b->why ? ")" : "");
}

/* ---- reading: blob → (sha256) → decompress → (sha256) → tar ---- */

struct source
{
  img_layer_read_fn fn;
  void *data;
  /* Reads and hashes the blob in a thread of its own (see readahead.h);
   * NULL: fn's bytes are hashed into `hash` as they come. */
  struct img_readahead *readahead;
  struct img_sha256 hash;
  uint64_t bytes;
  bool first;
  bool eof;
  /* The first block was read to choose a decompressor: hand it out again
   * (without hashing it twice) on the next read. */
  bool replay;
  const void *last;
  ssize_t last_len;
  struct oci_error *err; /* why fn failed, reported instead of libarchive's text */
};

static const char *
sniff_unsupported(const unsigned char *b, size_t n)
{
  static const unsigned char xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
  static const unsigned char bz_block[] = { 0x31, 0x41, 0x59, 0x26, 0x53, 0x59 };
  if (n >= sizeof xz && memcmp(b, xz, sizeof xz) == 0)
    return "xz";
  if (n >= 10 && memcmp(b, "BZh", 3) == 0 && memcmp(b + 4, bz_block, sizeof bz_block) == 0)
    return "bzip2";
  return NULL;
}

static la_ssize_t
source_read(struct archive *a, void *cd, const void **buf)
{
  struct source *src = cd;
  if (src->replay)
    {
      src->replay = false;
      *buf = src->last;
      return src->last_len;
    }
  if (src->eof)
    return 0;
  ssize_t n = src->fn(src->data, buf, &src->err);
  if (n < 0)
    {
      archive_set_error(a, EIO, "read failed");
      return -1;
    }
  if (n == 0)
    {
      src->eof = true;
      return 0;
    }
  if (src->first)
    {
      src->first = false;
      const char *bad = sniff_unsupported(*buf, n);
      if (bad)
        {
          oci_error_set(&src->err, 0, "not supported: %s compression (layers are gzip, zstd or plain tar)",
                        bad);
          archive_set_error(a, ENOTSUP, "unsupported compression");
          return -1;
        }
    }
  if (src->readahead == NULL)
    img_sha256_update(&src->hash, *buf, n);
  src->bytes += n;
  src->last = *buf;
  src->last_len = n;
  return n;
}

/* Decompression (and both hashes) run in a thread of their own, handing the
 * tar stream over in chunks: inflate and file creation take about as long as
 * each other, so a second core halves the time, as `gzip -dc | tar -x` does
 * with two processes. */

/* 32 MB ahead (not 4): a layer alternates stretches of small files, where
 * the applier is the slower side, with big files, where the inflater is;
 * a deeper queue lets the inflater keep going through the first kind, and
 * lets the next layer's (see img_layer_ahead) get that far while this one
 * is applied.  A warm bundle of the Debian image: 0.43 s with 16 MB, 0.41
 * with 32, for a peak RSS of 64 and 97 MB (median of 12, alternating). */
#define FEED_CHUNK (1u << 20)
#define FEED_CHUNKS 32

struct feed
{
  /* The thread's own: it alone touches them (and `raw` and the source)
   * from feed_start() to feed_stop(). */
  struct archive *raw;
  struct source *src;
  struct img_sha256 hash; /* of the tar, when hash_tar */
  bool hash_tar;
  uint64_t bytes;
  const char *pending; /* the part of the last decompressed block not yet handed over */
  size_t pending_len;
  bool raw_eof;
#ifdef HAVE_ISAL
  struct inflate_state *isal; /* gzip through isa-l instead of `raw` */
#endif
  struct oci_error *err; /* why decompression failed, when `raw` does not say */

  pthread_t thread;
  bool running;
  /* The uncompressed stream, to the tar reader.  When it ends failed,
   * `raw`, the source or `err` say why. */
  struct img_blockq q;
  struct budget *budget; /* the reader's, charged each block */
};

/* The uncompressed stream has ended: read the rest of the blob, whose
 * bytes after the end of the compressed stream still count for its digest.
 * 0, or -1 when reading failed. */
static int
feed_finish(struct feed *f)
{
  const void *rest;
  while (!f->src->eof)
    if (source_read(f->raw, f->src, &rest) < 0)
      return -1;
  return 0;
}

/* Fill one chunk with the uncompressed stream.  Returns 1 when there is
 * more, 0 at the end, -1 on failure; *len bytes are valid in every case. */
#ifdef HAVE_ISAL
static int feed_fill_isal(struct feed *f, char *buf, size_t *len);
#endif

static int
feed_fill(struct feed *f, char *buf, size_t *len)
{
  size_t n = 0;

#ifdef HAVE_ISAL
  if (f->isal)
    return feed_fill_isal(f, buf, len);
#endif

  *len = 0;
  while (n < FEED_CHUNK && !f->raw_eof)
    {
      if (f->pending_len == 0)
        {
          const void *block;
          size_t size = 0;
          la_int64_t off;
          int r = archive_read_data_block(f->raw, &block, &size, &off);
          if (r == ARCHIVE_EOF)
            {
              f->raw_eof = true;
              break;
            }
          if (r < ARCHIVE_WARN)
            {
              *len = n;
              return -1;
            }
          if (f->hash_tar)
            img_sha256_update(&f->hash, block, size);
          f->bytes += size;
          f->pending = block;
          f->pending_len = size;
        }
      size_t k = f->pending_len < FEED_CHUNK - n ? f->pending_len : FEED_CHUNK - n;
      memcpy(buf + n, f->pending, k);
      f->pending += k;
      f->pending_len -= k;
      n += k;
    }
  *len = n;
  return f->raw_eof ? feed_finish(f) : 1;
}

#ifdef HAVE_ISAL
/* isa-l's inflate is about three times as fast as zlib's on this kind of
 * data (see tests/bench/imgtool.sh).  Concatenated gzip members are read
 * one after the other, as gzip -d does; bytes after the last member are
 * only hashed, as with libarchive. */
static bool
feed_isal_next_member(struct feed *f)
{
  struct inflate_state *st = f->isal;
  uint8_t *in = st->next_in;
  uint32_t avail = st->avail_in;

  if (avail == 0 || in[0] != 0x1f)
    return false;
  isal_inflate_reset(st);
  st->crc_flag = ISAL_GZIP;
  st->next_in = in;
  st->avail_in = avail;
  return true;
}

static int
feed_fill_isal(struct feed *f, char *buf, size_t *len)
{
  struct inflate_state *st = f->isal;
  size_t n = 0;

  *len = 0;
  while (n < FEED_CHUNK && !f->raw_eof)
    {
      if (st->avail_in == 0)
        {
          const void *in;
          la_ssize_t got = source_read(f->raw, f->src, &in);
          if (got < 0)
            return -1;
          if (got == 0 && st->block_state != ISAL_BLOCK_FINISH)
            return oci_error_set(&f->err, 0, "corrupt layer data: truncated gzip input");
          st->next_in = (uint8_t *)in;
          st->avail_in = got;
        }
      if (st->block_state == ISAL_BLOCK_FINISH && !feed_isal_next_member(f))
        {
          f->raw_eof = true;
          break;
        }
      st->next_out = (uint8_t *)buf + n;
      st->avail_out = FEED_CHUNK - n;
      int r = isal_inflate(st);
      size_t out = (FEED_CHUNK - n) - st->avail_out;
      if (f->hash_tar)
        img_sha256_update(&f->hash, buf + n, out);
      f->bytes += out;
      n += out;
      *len = n;
      if (r < 0)
        return oci_error_set(&f->err, 0, "corrupt layer data: gzip decompression failed (isa-l: %s)",
                             r == ISAL_INCORRECT_CHECKSUM   ? "bad checksum"
                             : r == ISAL_INVALID_WRAPPER    ? "bad gzip header"
                             : r == ISAL_UNSUPPORTED_METHOD ? "unsupported method"
                                                            : "invalid deflate data");
    }
  *len = n;
  return f->raw_eof ? feed_finish(f) : 1;
}
#endif

static void *
feed_thread(void *data)
{
  struct feed *f = data;
  char *chunk;

  while ((chunk = img_blockq_reserve(&f->q)))
    {
      size_t len;
      int r = feed_fill(f, chunk, &len);
      img_blockq_put(&f->q, len, r <= 0, r < 0);
      if (r <= 0)
        break;
    }
  return NULL;
}

static int
feed_start(struct feed *f, struct oci_error **err)
{
  img_blockq_init(&f->q, FEED_CHUNKS, FEED_CHUNK);
  /* Signals stay blocked in the thread as in the caller (see imgtool bundle). */
  int e = pthread_create(&f->thread, NULL, feed_thread, f);
  if (e != 0)
    {
      errno = e;
      return oci_error_errno(err, "start the decompressing thread");
    }
  f->running = true;
  return 0;
}

/* Stop the thread (at once if the reader gave up early) and wait for it:
 * afterwards `raw`, the source and the hashes are the caller's again. */
static void
feed_stop(struct feed *f)
{
  if (f->running)
    {
      img_blockq_stop(&f->q);
      pthread_join(f->thread, NULL);
      f->running = false;
    }
}

static void
feed_clear(struct feed *f)
{
  feed_stop(f);
#ifdef HAVE_ISAL
  free(f->isal);
#endif
  if (f->err)
    oci_error_free(f->err);
  img_blockq_destroy(&f->q);
}

static la_ssize_t
feed_read(struct archive *a, void *cd, const void **buf)
{
  struct feed *f = cd;
  ssize_t n = 0;

  if (f->budget->over || ((n = img_blockq_take(&f->q, buf)) > 0 && !budget_charge(f->budget, n)))
    {
      /* The caller explains, from the budget. */
      archive_set_error(a, EFBIG, "unpacked size over the limit");
      return -1;
    }
  if (n < 0)
    {
      /* The real reason is in `raw`, read once the thread is stopped. */
      archive_set_error(a, EIO, "corrupt layer data");
      return -1;
    }
  return n;
}

/* ---- applying entries ---- */

struct dir_attrs
{
  char *path;
  mode_t mode;
  struct timespec times[2];
};

struct applier
{
  int rootfd;
  const struct img_layer_opts *o;
  struct path_set created;
  struct dir_attrs *dirs;
  size_t dirs_len, dirs_cap;
  /* The parent directory of the previous entry: tar streams list a
   * directory's files together, so this saves a path walk per file. */
  char cached_path[PATH_MAX];
  int cached_fd;
  struct img_file_writer *writer;
  /* The group a new entry gets in the cached parent and in the root: ours,
   * or the directory's when it is setgid.  Lets set_owner skip a chown
   * that would change nothing, the common case for root-owned images. */
  gid_t cached_child_gid, root_child_gid;
  uid_t uid;
  gid_t gid;
  /* The process umask, or 0777 when unknown: a new file whose mode passed
   * through it intact needs no chmod. */
  mode_t umask;
  uint64_t entries;
  struct budget *budget;
};

static void warn(const struct applier *ap, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
warn(const struct applier *ap, const char *fmt, ...)
{
  va_list va;
  cleanup_free char *msg = NULL;

  if (ap->o->warn == NULL)
    return;
  va_start(va, fmt);
  if (vasprintf(&msg, fmt, va) < 0)
    abort();
  va_end(va);
  ap->o->warn(ap->o->warn_data, msg);
}

static void
invalidate_cache(struct applier *ap)
{
  if (ap->cached_fd >= 0)
    close(ap->cached_fd);
  ap->cached_fd = -1;
  ap->cached_path[0] = '\0';
}

/* Split "a/b/c" into "a/b" and "c" in place; returns the base. */
static char *
split_parent(char *path)
{
  char *slash = strrchr(path, '/');
  if (slash == NULL)
    return NULL;
  *slash = '\0';
  return slash + 1;
}

static void
note_created(void *data, const char *path)
{
  struct applier *ap = data;

  path_set_add(&ap->created, path);
}

static gid_t
child_gid_in(const struct applier *ap, const struct stat *dir)
{
  return (dir->st_mode & S_ISGID) ? dir->st_gid : ap->gid;
}

/* The group a new entry in pfd (as returned by open_parent) starts with. */
static gid_t
child_gid(const struct applier *ap, int pfd)
{
  return pfd == ap->rootfd ? ap->root_child_gid : ap->cached_child_gid;
}

/* A borrowed fd for the parent directory (rootfd for ""), creating missing
 * directories when `create`; -1 with errno ENOENT when absent otherwise. */
static int
open_parent(struct applier *ap, const char *parent, bool create, struct oci_error **err)
{
  if (parent == NULL || parent[0] == '\0')
    return ap->rootfd;
  if (ap->cached_fd >= 0 && strcmp(ap->cached_path, parent) == 0)
    return ap->cached_fd;

  int fd = oci_root_openat(ap->rootfd, parent, O_PATH | O_DIRECTORY, 0);
  if (fd < 0 && errno == ENOENT && create)
    {
      fd = oci_root_mkdir_p(ap->rootfd, parent, 0755, OCI_ROOT_NO_DANGLING, note_created, ap, err);
      if (fd < 0)
        return -1;
    }
  else if (fd < 0)
    {
      if (errno == ENOENT && !create)
        return -1;
      return oci_error_errno(err, "open parent directory `%s`", parent);
    }
  struct stat st;
  if (fstat(fd, &st) < 0)
    {
      close(fd);
      return oci_error_errno(err, "stat parent directory `%s`", parent);
    }
  invalidate_cache(ap);
  ap->cached_fd = fd;
  ap->cached_child_gid = child_gid_in(ap, &st);
  snprintf(ap->cached_path, sizeof ap->cached_path, "%s", parent);
  return fd;
}

static int
remove_all(int dfd, const char *name, struct oci_error **err)
{
  if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR)
    return oci_error_errno(err, "remove `%s`", name);

  int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  /* Without root, a directory of mode 0555 (or 0) must be opened up
   * before its entries can go. */
  if (fd < 0 && errno == EACCES && fchmodat(dfd, name, 0700, 0) == 0)
    fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return oci_error_errno(err, "open `%s`", name);
  if (geteuid() != 0)
    fchmod(fd, 0700);
  cleanup_closedir DIR *d = fdopendir(fd);
  if (d == NULL)
    {
      close(fd);
      return oci_error_errno(err, "open `%s`", name);
    }
  struct dirent *de;
  while ((errno = 0, de = readdir(d)))
    {
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
        continue;
      if (remove_all(dirfd(d), de->d_name, err) < 0)
        return oci_error_wrap(err, "%s", name);
    }
  if (errno)
    return oci_error_errno(err, "read directory `%s`", name);
  if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return oci_error_errno(err, "remove `%s`", name);
  return 0;
}

/* Remove what is at parent/base unless it is a directory and `keep_dir`.
 * Returns 1 when a directory was kept. */
static int
clear_slot(struct applier *ap, int pfd, const char *base, bool keep_dir, struct oci_error **err)
{
  struct stat st;
  if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT)
        return 0;
      return oci_error_errno(err, "stat");
    }
  if (S_ISDIR(st.st_mode) && keep_dir)
    return 1;
  /* A removed directory or symlink may be an ancestor of the cached parent
   * (unless pfd is that parent: then it is a child of it). */
  if ((S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode)) && pfd != ap->cached_fd)
    invalidate_cache(ap);
  return remove_all(pfd, base, err);
}

int
img_remove_tree(const char *path, struct oci_error **err)
{
  return remove_all(AT_FDCWD, path, err);
}

static void
entry_times(struct archive_entry *e, struct timespec ts[2])
{
  ts[1].tv_sec = archive_entry_mtime(e);
  ts[1].tv_nsec = archive_entry_mtime_nsec(e);
  if (archive_entry_atime_is_set(e))
    {
      ts[0].tv_sec = archive_entry_atime(e);
      ts[0].tv_nsec = archive_entry_atime_nsec(e);
    }
  else
    ts[0] = ts[1];
}

#define OVERLAY_XATTR_PREFIX "trusted.overlay."
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"

/* A layer for overlayfs keeps no trusted.overlay.* of its own: a redirect
 * or an opaque flag from the tar would change what the mount shows. */
static bool
xattr_allowed(const struct applier *ap, const char *name)
{
  return !ap->o->overlay || strncmp(name, OVERLAY_XATTR_PREFIX, strlen(OVERLAY_XATTR_PREFIX)) != 0;
}

static void
apply_xattrs(struct applier *ap, int fd, const char *path, struct archive_entry *e)
{
  const char *name;
  const void *value;
  size_t size;

  if (archive_entry_xattr_reset(e) == 0)
    return;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
    if (xattr_allowed(ap, name) && fsetxattr(fd, name, value, size, 0) < 0)
      warn(ap, "`%s`: xattr `%s` not set: %s", path, name, strerror(errno));
}

/* Whether the entry needs a chown.  `fresh`: we just created it in pfd,
 * so it is ours with the group child_gid() says. */
static bool
needs_chown(const struct applier *ap, struct archive_entry *e, bool fresh, int pfd)
{
  if (!ap->o->privileged)
    return false;
  return !fresh || archive_entry_uid(e) != ap->uid || archive_entry_gid(e) != child_gid(ap, pfd);
}

static int
set_owner(struct applier *ap, int dirfd, const char *name, struct archive_entry *e, bool fresh, int pfd,
          struct oci_error **err)
{
  if (!needs_chown(ap, e, fresh, pfd))
    return 0;
  if (fchownat(dirfd, name, archive_entry_uid(e), archive_entry_gid(e), AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)
      < 0)
    return oci_error_errno(err, "chown");
  return 0;
}

/* Run `make` (mkdirat, symlinkat, …) and, when something is already at
 * pfd/base, clear it and run it again.  Trying first saves a stat per
 * entry: most entries are new.  Returns 1 when `keep_dir` kept a
 * directory, 0 when made. */
static int
make_in_slot(struct applier *ap, int pfd, const char *base, bool keep_dir, int (*make)(void *data),
             void *data, const char *what, struct oci_error **err)
{
  if (make(data) == 0)
    return 0;
  if (errno != EEXIST)
    return oci_error_errno(err, "%s", what);
  int kept = clear_slot(ap, pfd, base, keep_dir, err);
  if (kept != 0)
    return kept;
  if (make(data) < 0)
    return oci_error_errno(err, "%s", what);
  return 0;
}

struct make_args
{
  int pfd;
  const char *base;
  const char *target; /* symlinks */
  mode_t mode;
  dev_t dev;
  int fd; /* regular files: the new file's */
};

static int
make_file(void *data)
{
  struct make_args *m = data;
  m->fd = openat(m->pfd, m->base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, m->mode);
  return m->fd < 0 ? -1 : 0;
}

static int
make_dir(void *data)
{
  struct make_args *m = data;
  return mkdirat(m->pfd, m->base, m->mode);
}

static int
make_symlink(void *data)
{
  struct make_args *m = data;
  return symlinkat(m->target, m->pfd, m->base);
}

static int
make_node(void *data)
{
  struct make_args *m = data;
  return mknodat(m->pfd, m->base, m->mode, m->dev);
}

/* The entry's data, as libarchive hands it out, to the file writer. */
static int
queue_data(struct applier *ap, struct archive *a, struct img_file *f, struct oci_error **err)
{
  for (;;)
    {
      const void *buf;
      size_t n;
      la_int64_t off;
      int r = archive_read_data_block(a, &buf, &n, &off);
      if (r == ARCHIVE_EOF)
        return 0;
      if (r < ARCHIVE_WARN)
        return oci_error_set(err, 0, "%s", archive_error_string(a));
      if (img_file_writer_data(ap->writer, f, off, buf, n, err) < 0)
        return -1;
    }
}

static void
queue_xattrs(const struct applier *ap, struct img_file *f, struct archive_entry *e)
{
  const char *name;
  const void *value;
  size_t size;

  if (archive_entry_xattr_reset(e) == 0)
    return;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
    if (xattr_allowed(ap, name))
      img_file_writer_xattr(f, name, value, size);
}

/* The bytes of a sparse file that are not in the stream. */
static uint64_t
sparse_holes(struct archive_entry *e)
{
  la_int64_t off, len;
  int64_t size = archive_entry_size(e);
  uint64_t data = 0;

  if (size <= 0 || archive_entry_sparse_reset(e) == 0)
    return 0;
  while (archive_entry_sparse_next(e, &off, &len) == ARCHIVE_OK && data < (uint64_t)size)
    if (len > 0)
      data += len;
  return data < (uint64_t)size ? size - data : 0;
}

/* Created here, where the order of names matters; written, owned, moded
 * and closed by the file writer's thread. */
static int
apply_regular(struct applier *ap, struct archive *a, struct archive_entry *e, int pfd, const char *base,
              const char *path, struct oci_error **err)
{
  mode_t perm = archive_entry_perm(e);
  /* setuid and friends only after the data (a write by non-root drops
   * them) and the chown (which drops them too). */
  struct make_args m = { .pfd = pfd, .base = base, .mode = perm & 0777, .fd = -1 };
  struct img_file *f;

  if (!budget_charge(ap->budget, sparse_holes(e)))
    return budget_failure(ap->budget, err);
  if (make_in_slot(ap, pfd, base, false, make_file, &m, "create", err) < 0)
    return -1;
  if (img_file_writer_open(ap->writer, m.fd, path, archive_entry_size(e), &f, err) < 0)
    return -1;
  if (queue_data(ap, a, f, err) < 0)
    return -1;
  queue_xattrs(ap, f, e);
  struct img_file_attrs attrs = {
    .chown = needs_chown(ap, e, true, pfd),
    .uid = archive_entry_uid(e),
    .gid = archive_entry_gid(e),
    .chmod = (perm & 0777 & ~ap->umask) != perm,
    .mode = perm,
  };
  entry_times(e, attrs.times);
  return img_file_writer_close(ap->writer, f, &attrs, err);
}

static int
apply_dir(struct applier *ap, struct archive_entry *e, int pfd, const char *base, const char *path,
          struct oci_error **err)
{
  struct make_args m = { .pfd = pfd, .base = base, .mode = 0700 };

  int kept = make_in_slot(ap, pfd, base, true, make_dir, &m, "mkdir", err);
  if (kept < 0)
    return -1;
  if (set_owner(ap, pfd, base, e, !kept, pfd, err) < 0)
    return -1;
  if (archive_entry_xattr_count(e) > 0)
    {
      cleanup_close int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0)
        apply_xattrs(ap, fd, path, e);
    }
  /* Mode and times wait for the end: a read-only directory must still
   * take its children, and every child created bumps the mtime. */
  if (ap->dirs_len == ap->dirs_cap)
    {
      ap->dirs_cap = ap->dirs_cap ? ap->dirs_cap * 2 : 256;
      ap->dirs = xrealloc(ap->dirs, ap->dirs_cap * sizeof *ap->dirs);
    }
  struct dir_attrs *d = &ap->dirs[ap->dirs_len++];
  d->path = xstrdup(path);
  d->mode = archive_entry_perm(e);
  entry_times(e, d->times);
  return 0;
}

static int
apply_symlink(struct applier *ap, struct archive_entry *e, int pfd, const char *base, struct oci_error **err)
{
  struct timespec ts[2];
  struct make_args m = { .pfd = pfd, .base = base, .target = archive_entry_symlink(e) };

  if (m.target == NULL || m.target[0] == '\0')
    return oci_error_set(err, 0, "symlink without a target");
  if (make_in_slot(ap, pfd, base, false, make_symlink, &m, "symlink", err) < 0)
    return -1;
  if (set_owner(ap, pfd, base, e, true, pfd, err) < 0)
    return -1;
  entry_times(e, ts);
  if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
    return oci_error_errno(err, "set times");
  return 0;
}

static int
apply_special(struct applier *ap, struct archive_entry *e, int pfd, const char *base, const char *path,
              struct oci_error **err)
{
  struct timespec ts[2];
  mode_t type = archive_entry_filetype(e);
  struct make_args m = { .pfd = pfd, .base = base, .mode = type | 0600 };

  if (type == AE_IFSOCK)
    {
      warn(ap, "`%s`: socket skipped", path);
      return 0;
    }
  if (type != AE_IFIFO)
    {
      if (!ap->o->privileged)
        {
          warn(ap, "`%s`: device node skipped (needs root outside a user namespace)", path);
          return 0;
        }
      m.dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
      if (ap->o->overlay && type == AE_IFCHR && m.dev == makedev(0, 0))
        {
          warn(ap, "`%s`: a 0/0 character device skipped (overlayfs reads it as a whiteout)", path);
          return 0;
        }
    }
  if (make_in_slot(ap, pfd, base, false, make_node, &m, "mknod", err) < 0)
    return -1;
  if (set_owner(ap, pfd, base, e, true, pfd, err) < 0)
    return -1;
  if (fchmodat(pfd, base, archive_entry_perm(e), 0) < 0)
    return oci_error_errno(err, "chmod");
  entry_times(e, ts);
  if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
    return oci_error_errno(err, "set times");
  return 0;
}

/* ---- overlayfs form (img_layer_opts.overlay) ---- */

static bool created_here(const struct applier *ap, const char *parent, const char *name, char buf[PATH_MAX]);

static bool
is_whiteout(const struct stat *st)
{
  return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool
is_opaque(int fd)
{
  char v;
  return fgetxattr(fd, OVERLAY_OPAQUE_XATTR, &v, 1) == 1 && v == 'y';
}

/* Where the merged view of the lower layers finds `path`: the top layer
 * that has it, unless a whiteout hides it or one of its directories is
 * opaque above it.  *layer gets the index in `lowers`; -1 with errno. */
static int
find_in_lowers(const struct applier *ap, const char *path, size_t *layer)
{
  char prefix[PATH_MAX];

  for (size_t i = 0; i < ap->o->lowers_len; i++)
    {
      int root = ap->o->lowers[i];
      bool stop = false;
      for (const char *p = path;;)
        {
          const char *end = strchrnul(p, '/');
          struct stat st;
          memcpy(prefix, path, end - path);
          prefix[end - path] = '\0';
          cleanup_close int fd = oci_root_openat(root, prefix, O_PATH | O_NOFOLLOW, 0);
          if (fd < 0 || fstat(fd, &st) < 0)
            break; /* not in this layer: look further down, unless an opaque dir above said no */
          if (is_whiteout(&st))
            return errno = ENOENT, -1;
          if (*end == '\0')
            {
              *layer = i;
              return 0;
            }
          if (S_ISDIR(st.st_mode))
            {
              cleanup_close int dfd = oci_root_openat(root, prefix, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
              if (dfd >= 0 && is_opaque(dfd))
                stop = true;
            }
          p = end + 1;
        }
      if (stop)
        break;
    }
  return errno = ENOENT, -1;
}

/* A hardlink to a file that a lower layer holds (`tparent`/`tbase` in the
 * merged view) links to that inode: the container sees one file at both
 * names, as in a copied rootfs. */
static int
link_from_lowers(struct applier *ap, const char *tparent, const char *tbase, const char *link, int pfd,
                 const char *base, struct oci_error **err)
{
  char path[PATH_MAX];
  size_t i;
  struct stat st;

  snprintf(path, sizeof path, "%s%s%s", tparent, tparent[0] ? "/" : "", tbase);
  if (find_in_lowers(ap, path, &i) < 0)
    return oci_error_set(err, 0, "hardlink target `%s` is not in the rootfs", link);
  cleanup_close int fd = oci_root_openat(ap->o->lowers[i], path, O_PATH | O_NOFOLLOW, 0);
  if (fd < 0 || fstat(fd, &st) < 0)
    return oci_error_errno(err, "hardlink target `%s`", link);
  if (S_ISDIR(st.st_mode))
    return oci_error_set(err, 0, "hardlink target `%s` is a directory", link);
  if (clear_slot(ap, pfd, base, false, err) < 0)
    return -1;
  if (linkat(fd, "", pfd, base, AT_EMPTY_PATH) < 0)
    return oci_error_errno(err, "hardlink to `%s` (in a lower layer)", link);
  return 0;
}

/* `.wh.NAME` as overlayfs spells it; the opaque marker as an xattr. */
static int
overlay_whiteout(struct applier *ap, const char *parent, const char *base, struct oci_error **err)
{
  char victim[PATH_MAX];
  int pfd = open_parent(ap, parent, true, err);
  if (pfd < 0)
    return -1;
  if (strcmp(base, WHITEOUT_OPAQUE) == 0)
    {
      cleanup_close int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0 || fsetxattr(fd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
        return oci_error_errno(err, "set " OVERLAY_OPAQUE_XATTR);
      return 0;
    }
  const char *name = base + strlen(WHITEOUT_PREFIX);
  /* Whiteouts hide lower layers only. */
  if (created_here(ap, parent, name, victim))
    return 0;
  if (mknodat(pfd, name, S_IFCHR, makedev(0, 0)) < 0 && errno != EEXIST)
    return oci_error_errno(err, "whiteout `%s`", name);
  return 0;
}

static int
apply_hardlink(struct applier *ap, const char *link, int pfd, const char *base, struct oci_error **err)
{
  char target[PATH_MAX];
  struct stat a, b;

  if (oci_path_clean_into(link, TAR_NAME, target, sizeof target, err) < 0)
    return oci_error_wrap(err, "hardlink target `%s`", link);
  if (target[0] == '\0')
    return oci_error_set(err, 0, "hardlink to the root directory");
  char *tbase = split_parent(target);
  const char *tparent = tbase ? target : "";
  if (tbase == NULL)
    tbase = target;

  cleanup_close int tfd = tparent[0] ? oci_root_openat(ap->rootfd, tparent, O_PATH | O_DIRECTORY, 0) : -1;
  if (tparent[0] && tfd < 0 && errno == ENOENT && ap->o->overlay && ap->o->lowers_len)
    return link_from_lowers(ap, tparent, tbase, link, pfd, base, err);
  if (tparent[0] && tfd < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        return oci_error_set(err, 0, "hardlink target `%s` is not in the rootfs", link);
      return oci_error_errno(err, "hardlink target `%s`", link);
    }
  int tdir = tparent[0] ? tfd : ap->rootfd;
  int found = fstatat(tdir, tbase, &a, AT_SYMLINK_NOFOLLOW);
  if (found < 0 && errno == ENOENT && ap->o->overlay && ap->o->lowers_len)
    return link_from_lowers(ap, tparent, tbase, link, pfd, base, err);
  if ((found < 0 && errno == ENOENT) || (found == 0 && ap->o->overlay && is_whiteout(&a)))
    return oci_error_set(err, 0, "hardlink target `%s` is not in the rootfs", link);
  if (found < 0)
    return oci_error_errno(err, "hardlink target `%s`", link);
  if (S_ISDIR(a.st_mode))
    return oci_error_set(err, 0, "hardlink target `%s` is a directory", link);
  if (fstatat(pfd, base, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
    return 0;
  if (clear_slot(ap, pfd, base, false, err) < 0)
    return -1;
  if (linkat(tdir, tbase, pfd, base, 0) < 0)
    return oci_error_errno(err, "hardlink to `%s`", link);
  return 0;
}

/* Whether this layer created parent/name (`buf` is scratch).  A path too
 * long to join was never created: entries are shorter than PATH_MAX. */
static bool
created_here(const struct applier *ap, const char *parent, const char *name, char buf[PATH_MAX])
{
  int n = snprintf(buf, PATH_MAX, "%s%s%s", parent ? parent : "", parent && parent[0] ? "/" : "", name);
  return n < PATH_MAX && path_set_has(&ap->created, buf);
}

static int
apply_whiteout(struct applier *ap, const char *parent, const char *base, struct oci_error **err)
{
  if (strcmp(base, WHITEOUT_OPAQUE) == 0 && ap->o->overlay)
    return overlay_whiteout(ap, parent, base, err);
  if (strcmp(base, WHITEOUT_OPAQUE) == 0)
    {
      int pfd = open_parent(ap, parent, true, err);
      if (pfd < 0)
        return -1;
      int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0)
        return oci_error_errno(err, "open directory");
      cleanup_closedir DIR *d = fdopendir(fd);
      if (d == NULL)
        {
          close(fd);
          return oci_error_errno(err, "open directory");
        }
      struct dirent *de;
      char child[PATH_MAX];
      while ((errno = 0, de = readdir(d)))
        {
          if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
          if (created_here(ap, parent, de->d_name, child))
            continue;
          if (clear_slot(ap, dirfd(d), de->d_name, false, err) < 0)
            return -1;
        }
      return 0;
    }
  if (strncmp(base, WHITEOUT_META_PREFIX, strlen(WHITEOUT_META_PREFIX)) == 0)
    return 0; /* AUFS hardlink dir `.wh..wh.plnk` and friends: metadata only */

  const char *name = base + strlen(WHITEOUT_PREFIX);
  if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return oci_error_set(err, 0, "invalid whiteout");
  if (ap->o->overlay)
    return overlay_whiteout(ap, parent, base, err);
  char victim[PATH_MAX];
  /* Whiteouts hide lower layers only. */
  if (created_here(ap, parent, name, victim))
    return 0;
  int pfd = open_parent(ap, parent, false, err);
  if (pfd < 0)
    return (errno == ENOENT && *err == NULL) ? 0 : -1;
  return clear_slot(ap, pfd, name, false, err);
}

static int
apply_entry(struct applier *ap, struct archive *a, struct archive_entry *e, struct oci_error **err)
{
  char path[PATH_MAX], buf[PATH_MAX];
  const char *raw = archive_entry_pathname(e);

  if (raw == NULL)
    return oci_error_set(err, 0, "entry without a name");
  if (oci_path_clean_into(raw, TAR_NAME, path, sizeof path, err) < 0)
    return -1;
  if (path[0] == '\0')
    return 0; /* "./": the rootfs itself keeps its attributes */

  memcpy(buf, path, strlen(path) + 1);
  char *base = split_parent(buf);
  const char *parent = base ? buf : "";
  if (base == NULL)
    base = buf;

  if (strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0)
    return apply_whiteout(ap, parent, base, err);
  /* Inside AUFS metadata (`.wh..wh.plnk/…`) or another whiteout name: such
   * names never exist in the result. */
  if (strncmp(parent, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0 || strstr(parent, "/" WHITEOUT_PREFIX))
    return 0;

  path_set_add(&ap->created, path);
  int pfd = open_parent(ap, parent, true, err);
  if (pfd < 0)
    return -1;

  const char *link = archive_entry_hardlink(e);
  if (link)
    return apply_hardlink(ap, link, pfd, base, err);

  switch (archive_entry_filetype(e))
    {
    case AE_IFREG:
      return apply_regular(ap, a, e, pfd, base, path, err);
    case AE_IFDIR:
      return apply_dir(ap, e, pfd, base, path, err);
    case AE_IFLNK:
      return apply_symlink(ap, e, pfd, base, err);
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
    case AE_IFSOCK:
      return apply_special(ap, e, pfd, base, path, err);
    default:
      return oci_error_set(err, 0, "unknown file type 0%o", (unsigned)archive_entry_filetype(e));
    }
}

static int
finish_dirs(struct applier *ap, struct oci_error **err)
{
  for (size_t i = ap->dirs_len; i-- > 0;)
    {
      struct dir_attrs *d = &ap->dirs[i];
      cleanup_close int fd = oci_root_openat(ap->rootfd, d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
      if (fd < 0)
        {
          /* Replaced by a later entry of the same layer. */
          if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
            continue;
          return oci_error_errno(err, "entry `%s`: open directory", d->path);
        }
      if (fchmod(fd, d->mode) < 0)
        return oci_error_errno(err, "entry `%s`: chmod", d->path);
      if (futimens(fd, d->times) < 0)
        return oci_error_errno(err, "entry `%s`: set times", d->path);
    }
  return 0;
}

/* The umask from /proc (reading it with umask(2) would change it for a
 * moment under the other threads); 0777 when /proc does not say. */
static mode_t
current_umask(void)
{
  cleanup_fclose FILE *f = fopen("/proc/self/status", "re");
  char line[128];
  unsigned mask;

  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "Umask: %o", &mask) == 1)
      return mask & 0777;
  return 0777;
}

static int
applier_init(struct applier *ap, int rootfd, const struct img_layer_opts *o, struct oci_error **err)
{
  struct stat st;

  *ap = (struct applier){ .rootfd = rootfd, .o = o, .cached_fd = -1 };
  ap->uid = geteuid();
  ap->gid = getegid();
  ap->umask = current_umask();
  if (fstat(rootfd, &st) < 0)
    return oci_error_errno(err, "stat the rootfs");
  ap->root_child_gid = child_gid_in(ap, &st);
  return 0;
}

static void
applier_clear(struct applier *ap)
{
  invalidate_cache(ap);
  path_set_clear(&ap->created);
  for (size_t i = 0; i < ap->dirs_len; i++)
    free(ap->dirs[i].path);
  free(ap->dirs);
}

static void
cleanup_archivep(struct archive **a)
{
  if (*a)
    archive_read_free(*a);
}
#define cleanup_archive __attribute__((cleanup(cleanup_archivep)))

/* The reason a libarchive call failed: our source's error when the read
 * callback failed, libarchive's text otherwise. */
static int
archive_failure(struct archive *a, struct source *src, const char *what, struct oci_error **err)
{
  if (src->err)
    {
      *err = steal_pointer(&src->err);
      return -1;
    }
  const char *msg = archive_error_string(a);
  return oci_error_set(err, 0, "%s: %s", what, msg ? msg : "unknown libarchive error");
}

/* Why the tar reader failed (`what`: what it was reading), read once the
 * decompressing thread is stopped: the size limit when the layer went over
 * it; else the decompressing side's reason when that side failed first;
 * the tar's own otherwise. */
static int
tar_failure(struct archive *tar, struct feed *feed, const char *what, struct oci_error **err)
{
  feed_stop(feed);
  if (feed->budget->over)
    return budget_failure(feed->budget, err);
  if (feed->q.failed && feed->err && feed->src->err == NULL)
    {
      *err = steal_pointer(&feed->err);
      return -1;
    }
  if (feed->q.failed)
    return archive_failure(feed->raw, feed->src, "corrupt layer data", err);
  return archive_failure(tar, feed->src, what, err);
}

/* The tar ends before the stream does (padding, trailing blocks): read the
 * rest so that both hashes cover everything. */
static int
drain(struct archive *tar, struct feed *feed, struct oci_error **err)
{
  const void *buf;
  la_ssize_t n;
  while ((n = feed_read(tar, feed, &buf)) > 0)
    ;
  return n < 0 ? tar_failure(tar, feed, "corrupt tar", err) : 0;
}

static int
apply_all(struct applier *ap, struct archive *tar, struct feed *feed, struct oci_error **err)
{
  struct archive_entry *e;
  for (;;)
    {
      int r = archive_read_next_header(tar, &e);
      if (r == ARCHIVE_EOF)
        return 0;
      if (r < ARCHIVE_WARN)
        return tar_failure(tar, feed, "corrupt tar", err);
      if (ap->o->cancelled && (++ap->entries & 255) == 0 && ap->o->cancelled(ap->o->cancel_data))
        return oci_error_fail(err, EINTR, "interrupted");
      if (!budget_charge(ap->budget, IMG_LAYER_ENTRY_COST))
        return budget_failure(ap->budget, err);
      if (apply_entry(ap, tar, e, err) < 0)
        /* The writer's failures name their own entry. */
        return img_file_writer_failed(ap->writer)
                   ? -1
                   : oci_error_wrap(err, "entry `%s`", archive_entry_pathname(e));
    }
}

/* gzip through isa-l when we have it; otherwise (and for zstd and plain
 * tar) libarchive's filters in `raw`. */
static int
open_decompressor(struct archive *raw, struct source *src, struct feed *feed __attribute__((unused)),
                  struct oci_error **err)
{
  struct archive_entry *e;
  const void *first;
  la_ssize_t n = source_read(raw, src, &first);

  if (n < 0)
    return archive_failure(raw, src, "read", err);
#ifdef HAVE_ISAL
  if (n >= 2 && ((const unsigned char *)first)[0] == 0x1f && ((const unsigned char *)first)[1] == 0x8b)
    {
      feed->isal = xmalloc(sizeof *feed->isal);
      isal_inflate_init(feed->isal);
      feed->isal->crc_flag = ISAL_GZIP;
      feed->isal->next_in = (uint8_t *)first;
      feed->isal->avail_in = n;
      return 0;
    }
#endif
  src->replay = n > 0;
  int r = archive_read_open(raw, src, NULL, source_read, NULL);
  if (r == ARCHIVE_OK)
    r = archive_read_next_header(raw, &e);
  if (r < ARCHIVE_WARN)
    return archive_failure(raw, src, "corrupt layer", err);
  return 0;
}

/* A layer's blob being read, hashed and decompressed (in the feed's thread)
 * for the tar reader.  Opened apart from the applying so that a bundle can
 * start the next layer's while it applies one (see img_layer_ahead). */
struct stream
{
  struct source src;
  struct archive *raw;
  struct feed feed;
  struct budget budget; /* set when the layer is applied */
};

/* Start the stream: sniff the compression and start inflating.  `hash_tar`:
 * hash the uncompressed stream (for a diff_id).  The stream needs
 * stream_clear() whatever this returns. */
static int
stream_open(struct stream *s, bool hash_tar, struct oci_error **err)
{
  s->raw = archive_read_new();
  if (s->raw == NULL)
    abort();
  s->feed = (struct feed){ .raw = s->raw, .src = &s->src, .hash_tar = hash_tar, .budget = &s->budget };
  img_sha256_init(&s->src.hash);
  img_sha256_init(&s->feed.hash);
  /* Decompression in one archive (raw format: the bytes as they are), tar
   * parsing in a second one fed by the first: so we see, and hash, the
   * uncompressed stream the diff_id is about. */
  if (archive_read_support_filter_gzip(s->raw) < ARCHIVE_WARN
      || archive_read_support_filter_zstd(s->raw) < ARCHIVE_WARN
      || archive_read_support_format_raw(s->raw) != ARCHIVE_OK)
    return oci_error_set(err, 0, "libarchive: %s", archive_error_string(s->raw));
  if (open_decompressor(s->raw, &s->src, &s->feed, err) < 0)
    return -1;
  return feed_start(&s->feed, err);
}

static void
stream_clear(struct stream *s)
{
  feed_clear(&s->feed);
  img_sha256_clear(&s->feed.hash);
  img_sha256_clear(&s->src.hash);
  if (s->raw)
    archive_read_free(s->raw);
  s->raw = NULL;
}

/* Apply an opened stream; afterwards its thread is stopped. */
static int
stream_apply(int rootfd, struct stream *s, const struct img_layer_opts *o, struct img_layer_stats *stats,
             struct oci_error **err)
{
  cleanup_archive struct archive *tar = archive_read_new();
  cleanup_file_writer struct img_file_writer *writer = NULL;
  struct feed *feed = &s->feed;
  struct applier ap;
  char got[IMG_DIGEST_LEN];
  int r;

  if (tar == NULL)
    abort();
  /* A caller's mistake, not the layer's: the stream was opened for another
   * layer's options. */
  if ((o->diff_id != NULL) != feed->hash_tar)
    abort();
  s->budget = (struct budget){ .limit = o->max_unpacked ? o->max_unpacked : UINT64_MAX,
                               .why = o->max_unpacked_why };
  if (archive_read_support_format_tar(tar) != ARCHIVE_OK)
    {
      feed_stop(feed);
      return oci_error_set(err, 0, "libarchive: %s", archive_error_string(tar));
    }

  r = applier_init(&ap, rootfd, o, err);
  ap.budget = &s->budget;
  if (r == 0)
    r = img_file_writer_start(&writer, err);
  ap.writer = writer;
  if (r == 0)
    {
      if (archive_read_open(tar, feed, NULL, feed_read, NULL) < ARCHIVE_WARN)
        r = tar_failure(tar, feed, "corrupt layer", err);
      if (r == 0)
        r = apply_all(&ap, tar, feed, err);
      if (r == 0)
        r = img_file_writer_finish(writer, o->warn, o->warn_data, err);
      if (r == 0)
        r = finish_dirs(&ap, err);
      if (r == 0)
        r = drain(tar, feed, err);
    }
  /* The source is the caller's again (to hash the rest of a bad blob), and
   * the budget final. */
  feed_stop(feed);
  if (r < 0 && s->budget.over)
    r = budget_failure(&s->budget, err);
  if (r == 0)
    {
      img_sha256_final(&feed->hash, got);
      if (o->diff_id && strcmp(got, o->diff_id) != 0)
        r = oci_error_set(err, 0, "diff_id mismatch: expected %s got %s", o->diff_id, got);
    }
  if (r == 0 && stats)
    {
      stats->entries = archive_file_count(tar);
      stats->bytes = feed->bytes;
      stats->compressed = s->src.bytes;
    }
  applier_clear(&ap);
  return r;
}

/* After applying (r: how that went), check the blob's digest: the source's
 * own hash, or the readahead's when it reads (and hashes) the blob in its
 * thread. */
static int
source_finish(struct source *src, const struct img_layer_opts *o, int r, struct oci_error **err)
{
  char got[IMG_DIGEST_LEN] = ""; /* the readahead has one only at the end of the blob */

  /* A blob that is not what its digest says usually fails to parse first:
   * read the rest so that the error names the real cause. */
  if (r < 0 && o->digest && src->err == NULL && !src->eof)
    {
      cleanup_error struct oci_error *ignored = NULL;
      const void *buf;
      ssize_t n;
      while ((n = src->fn(src->data, &buf, &ignored)) > 0)
        if (src->readahead == NULL)
          img_sha256_update(&src->hash, buf, n);
      src->eof = n == 0;
    }
  if (src->readahead)
    img_readahead_digest(src->readahead, got);
  else
    img_sha256_final(&src->hash, got);
  if (src->err)
    oci_error_free(steal_pointer(&src->err));
  if (o->digest && src->eof && strcmp(got, o->digest) != 0)
    {
      if (r < 0)
        {
          oci_error_free(*err);
          *err = NULL;
        }
      r = oci_error_set(err, 0, "digest mismatch: expected %s got %s", o->digest, got);
    }
  if (r < 0)
    return oci_error_wrap(err, "layer %s", o->name ? o->name : "(unnamed)");
  return 0;
}

int
img_layer_apply(int rootfd, img_layer_read_fn read_fn, void *read_data, const struct img_layer_opts *o,
                struct img_layer_stats *stats, struct oci_error **err)
{
  struct stream s = { .src = { .fn = read_fn, .data = read_data, .first = true } };

  int r = stream_open(&s, o->diff_id != NULL, err);
  if (r == 0)
    r = stream_apply(rootfd, &s, o, stats, err);
  else
    feed_stop(&s.feed);
  r = source_finish(&s.src, o, r, err);
  stream_clear(&s);
  return r;
}

struct img_layer_ahead
{
  int fd; /* our own dup */
  struct img_readahead *ra;
  struct stream s;
  bool hash_tar;
  int r;                 /* how opening went */
  struct oci_error *err; /* why it failed: told when the layer is applied */
};

struct img_layer_ahead *
img_layer_ahead_start(int fd, bool check_diff_id)
{
  struct img_layer_ahead *a = xcalloc(1, sizeof *a);

  a->hash_tar = check_diff_id;
  a->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (a->fd < 0)
    {
      a->r = oci_error_errno(&a->err, "duplicate the blob's fd");
      return a;
    }
  if (img_readahead_start(a->fd, &a->ra, &a->err) < 0)
    {
      a->r = -1;
      return a;
    }
  a->s.src = (struct source){ .fn = img_readahead_read, .data = a->ra, .readahead = a->ra, .first = true };
  a->r = stream_open(&a->s, check_diff_id, &a->err);
  return a;
}

int
img_layer_apply_ahead(int rootfd, struct img_layer_ahead *a, const struct img_layer_opts *o,
                      struct img_layer_stats *stats, struct oci_error **err)
{
  int r = a->r;

  if (a->ra == NULL)
    {
      *err = steal_pointer(&a->err);
      return oci_error_wrap(err, "layer %s", o->name ? o->name : "(unnamed)");
    }
  if (r < 0)
    {
      feed_stop(&a->s.feed);
      *err = steal_pointer(&a->err);
    }
  else
    r = stream_apply(rootfd, &a->s, o, stats, err);
  return source_finish(&a->s.src, o, r, err);
}

void
img_layer_ahead_free(struct img_layer_ahead *a)
{
  if (a == NULL)
    return;
  /* The feed's thread first: it reads from the readahead. */
  stream_clear(&a->s);
  img_readahead_free(a->ra);
  if (a->fd >= 0)
    close(a->fd);
  if (a->err)
    oci_error_free(a->err);
  free(a);
}

int
img_layer_apply_fd(int rootfd, int fd, const struct img_layer_opts *o, struct img_layer_stats *stats,
                   struct oci_error **err)
{
  struct img_layer_ahead *a = img_layer_ahead_start(fd, o->diff_id != NULL);
  int r = img_layer_apply_ahead(rootfd, a, o, stats, err);
  img_layer_ahead_free(a);
  return r;
}

bool
img_layer_privileged(void)
{
  unsigned long a, b, c;
  if (geteuid() != 0)
    return false;
  cleanup_fclose FILE *f = fopen("/proc/self/uid_map", "re");
  if (f == NULL)
    return true;
  return fscanf(f, "%lu %lu %lu", &a, &b, &c) == 3 && a == 0 && b == 0 && c == 4294967295ul;
}
