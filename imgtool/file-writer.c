#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "spec/util.h"
#include "bigbuf.h"
#include "file-writer.h"

/* Enough to keep the thread busy while the applier creates the next files,
 * small enough not to matter: 8 MB of data and 256 fds at most. */
#define PIECE_MAX (1u << 20)
#define RING_SIZE (8u << 20)
#define OPEN_FILES_MAX 256
/* The thread is woken once this many pieces (or a quarter of the ring) are
 * queued, not for each one: most files are small, and a wake-up per file
 * cost a futex call and two context switches each (about 8,000 for a
 * Debian image), on a machine whose two cores the applier and the inflater
 * already keep busy.  Whoever waits for the thread wakes it first. */
#define WAKE_PIECES 64
#define WAKE_BYTES (RING_SIZE / 4)
/* A file this big is written by the applier itself, from the tar reader's
 * buffer: copying its data into the ring first cost as much as writing it
 * (3.5% of a warm bundle's CPU time for the Debian image, where such files
 * are most of the bytes), and its attributes still wait for the thread,
 * in order. */
#define DIRECT_MIN (256u << 10)

struct xattr
{
  struct xattr *next;
  char *name;
  void *value;
  size_t size;
};

struct img_file
{
  struct img_file *prev, *next; /* the writer's list of files not yet closed */
  int fd;
  char *path;
  int64_t size;
  int64_t end; /* where the data written so far ends */
  bool direct; /* data written by the applier (see DIRECT_MIN) */
  struct img_file_attrs attrs;
  struct xattr *xattrs, **xattrs_tail;
  struct piece *cur; /* being filled by the applier */
};

/* A piece of a file's data, in the ring.  Pieces are reserved, queued and
 * written in one order (the applier fills one at a time), so the ring's
 * space comes back in the order it was handed out. */
struct piece
{
  struct piece *next;
  struct img_file *file;
  int64_t off;
  char *data;
  size_t len, cap;
  size_t footprint; /* cap, plus the ring's end skipped to keep data contiguous */
  bool last;        /* then the attributes, and close */
};

struct img_file_writer
{
  pthread_t thread;
  bool running;
  pthread_mutex_t lock;
  pthread_cond_t work, room, idle;
  char *ring;       /* RING_SIZE bytes, reused: no page faults after the first round */
  size_t ring_head; /* the applier's: where the next piece goes */
  /* Guarded by lock. */
  struct piece *head, *tail;
  size_t queued; /* pieces from head to tail */
  size_t ring_used;
  struct img_file *files;
  size_t open_files;
  bool busy, stop;
  struct oci_error *err; /* the first failure */
  /* The thread's until it is idle. */
  char **warnings;
  size_t warnings_len;
};

static void
file_free(struct img_file *f)
{
  if (f->fd >= 0)
    close(f->fd);
  for (struct xattr *x = f->xattrs, *next; x; x = next)
    {
      next = x->next;
      free(x->name);
      free(x->value);
      free(x);
    }
  free(f->cur);
  free(f->path);
  free(f);
}

/* ---- the thread ---- */

static void
fail(struct img_file_writer *w, struct img_file *f, const char *what)
{
  int e = errno;

  pthread_mutex_lock(&w->lock);
  if (w->err == NULL)
    oci_error_set(&w->err, e, "entry `%s`: %s", f->path, what);
  pthread_mutex_unlock(&w->lock);
}

static bool
failed(struct img_file_writer *w)
{
  pthread_mutex_lock(&w->lock);
  bool r = w->err != NULL;
  pthread_mutex_unlock(&w->lock);
  return r;
}

static int
write_at(int fd, const char *buf, size_t len, int64_t off)
{
  while (len > 0)
    {
      ssize_t n = pwrite(fd, buf, len, off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      buf += n;
      len -= n;
      off += n;
    }
  return 0;
}

static void
set_xattrs(struct img_file_writer *w, struct img_file *f)
{
  for (struct xattr *x = f->xattrs; x; x = x->next)
    if (fsetxattr(f->fd, x->name, x->value, x->size, 0) < 0)
      {
        char *msg;
        if (asprintf(&msg, "`%s`: xattr `%s` not set: %s", f->path, x->name, strerror(errno)) < 0)
          abort();
        w->warnings = xrealloc(w->warnings, (w->warnings_len + 1) * sizeof *w->warnings);
        w->warnings[w->warnings_len++] = msg;
      }
}

/* In this order: a write drops setuid bits and file capabilities, a chown
 * drops setuid bits, and every change but the last moves ctime only.
 * Returns what failed, NULL when all went well. */
static const char *
finish_file(struct img_file_writer *w, struct img_file *f)
{
  const struct img_file_attrs *a = &f->attrs;

  if (f->end < f->size && ftruncate(f->fd, f->size) < 0)
    return "truncate";
  if (a->chown && fchown(f->fd, a->uid, a->gid) < 0)
    return "chown";
  if (a->chmod && fchmod(f->fd, a->mode) < 0)
    return "chmod";
  set_xattrs(w, f);
  if (futimens(f->fd, a->times) < 0)
    return "set times";
  return NULL;
}

static void
process(struct img_file_writer *w, struct piece *p)
{
  struct img_file *f = p->file;

  if (p->len > 0 && !failed(w))
    {
      if (write_at(f->fd, p->data, p->len, p->off) < 0)
        fail(w, f, "write");
      else if (p->off + (int64_t)p->len > f->end)
        f->end = p->off + p->len;
    }
  const char *what;
  if (p->last && !failed(w) && (what = finish_file(w, f)))
    fail(w, f, what);
}

static void
unlink_file(struct img_file_writer *w, struct img_file *f)
{
  if (f->prev)
    f->prev->next = f->next;
  else
    w->files = f->next;
  if (f->next)
    f->next->prev = f->prev;
  w->open_files--;
}

static void *
writer_thread(void *data)
{
  struct img_file_writer *w = data;

  pthread_mutex_lock(&w->lock);
  for (;;)
    {
      while (w->head == NULL && !w->stop)
        {
          w->busy = false;
          pthread_cond_broadcast(&w->idle);
          pthread_cond_wait(&w->work, &w->lock);
        }
      if (w->stop)
        break;
      struct piece *p = w->head;
      w->queued--;
      w->head = p->next;
      if (w->head == NULL)
        w->tail = NULL;
      w->busy = true;
      pthread_mutex_unlock(&w->lock);

      process(w, p);

      pthread_mutex_lock(&w->lock);
      w->ring_used -= p->footprint;
      if (p->last)
        {
          unlink_file(w, p->file);
          file_free(p->file);
        }
      free(p);
      pthread_cond_broadcast(&w->room);
    }
  w->busy = false;
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

/* ---- the applier's side ---- */

/* A copy of the thread's failure, for the call that ran into it. */
static int
copy_failure(struct img_file_writer *w, struct oci_error **err)
{
  return oci_error_copy(err, w->err);
}

static int
push(struct img_file_writer *w, struct piece *p, struct oci_error **err)
{
  pthread_mutex_lock(&w->lock);
  /* Queued even after a failure: the thread closes the file. */
  p->next = NULL;
  if (w->tail)
    w->tail->next = p;
  else
    w->head = p;
  w->tail = p;
  if (++w->queued >= WAKE_PIECES || w->ring_used >= WAKE_BYTES)
    pthread_cond_signal(&w->work);
  int r = w->err ? copy_failure(w, err) : 0;
  pthread_mutex_unlock(&w->lock);
  return r;
}

int
img_file_writer_start(struct img_file_writer **out, struct oci_error **err)
{
  struct img_file_writer *w = xcalloc(1, sizeof *w);

  w->ring = img_bigbuf_alloc(RING_SIZE);
  pthread_mutex_init(&w->lock, NULL);
  pthread_cond_init(&w->work, NULL);
  pthread_cond_init(&w->room, NULL);
  pthread_cond_init(&w->idle, NULL);
  /* Signals stay blocked in the thread as in the caller (see imgtool bundle). */
  int e = pthread_create(&w->thread, NULL, writer_thread, w);
  if (e != 0)
    {
      img_file_writer_free(w);
      errno = e;
      return oci_error_errno(err, "start the file writing thread");
    }
  w->running = true;
  *out = w;
  return 0;
}

int
img_file_writer_open(struct img_file_writer *w, int fd, const char *path, int64_t size, struct img_file **out,
                     struct oci_error **err)
{
  struct img_file *f = xcalloc(1, sizeof *f);

  f->fd = fd;
  f->path = xstrdup(path);
  f->size = size;
  f->direct = size >= DIRECT_MIN;
  f->xattrs_tail = &f->xattrs;

  pthread_mutex_lock(&w->lock);
  while (w->err == NULL && w->open_files >= OPEN_FILES_MAX)
    {
      pthread_cond_signal(&w->work);
      pthread_cond_wait(&w->room, &w->lock);
    }
  if (w->err)
    {
      int r = copy_failure(w, err);
      pthread_mutex_unlock(&w->lock);
      file_free(f);
      return r;
    }
  f->next = w->files;
  if (w->files)
    w->files->prev = f;
  w->files = f;
  w->open_files++;
  pthread_mutex_unlock(&w->lock);
  *out = f;
  return 0;
}

/* A piece for data at `off` (sized by what the file still has to come),
 * once the ring has room for it. */
static int
new_piece(struct img_file_writer *w, struct img_file *f, int64_t off, size_t at_least, struct piece **out,
          struct oci_error **err)
{
  int64_t want = f->size - off;
  if (want < (int64_t)at_least)
    want = at_least;
  if (want > PIECE_MAX)
    want = PIECE_MAX;
  size_t start = w->ring_head, footprint = want;
  if (start + want > RING_SIZE)
    {
      footprint += RING_SIZE - start;
      start = 0;
    }

  pthread_mutex_lock(&w->lock);
  while (w->err == NULL && RING_SIZE - w->ring_used < footprint)
    {
      pthread_cond_signal(&w->work);
      pthread_cond_wait(&w->room, &w->lock);
    }
  if (w->err)
    {
      int r = copy_failure(w, err);
      pthread_mutex_unlock(&w->lock);
      return r;
    }
  w->ring_used += footprint;
  pthread_mutex_unlock(&w->lock);

  w->ring_head = (start + want) % RING_SIZE;
  struct piece *p = xmalloc(sizeof *p);
  *p = (struct piece){ .file = f, .off = off, .data = w->ring + start, .cap = want, .footprint = footprint };
  *out = p;
  return 0;
}

int
img_file_writer_data(struct img_file_writer *w, struct img_file *f, int64_t off, const void *buf, size_t len,
                     struct oci_error **err)
{
  const char *b = buf;

  if (f->direct && len > 0)
    {
      /* The thread has nothing of this file yet: f->end is ours until the
       * close is queued. */
      if (failed(w) || write_at(f->fd, b, len, off) < 0)
        {
          if (!failed(w))
            fail(w, f, "write");
          pthread_mutex_lock(&w->lock);
          int r = copy_failure(w, err);
          pthread_mutex_unlock(&w->lock);
          return r;
        }
      if (off + (int64_t)len > f->end)
        f->end = off + len;
      return 0;
    }
  while (len > 0)
    {
      struct piece *p = f->cur;
      if (p && (p->len == p->cap || p->off + (int64_t)p->len != off))
        {
          f->cur = NULL;
          if (push(w, p, err) < 0)
            return -1;
          p = NULL;
        }
      if (p == NULL)
        {
          if (new_piece(w, f, off, 1, &p, err) < 0)
            return -1;
          f->cur = p;
        }
      size_t k = p->cap - p->len < len ? p->cap - p->len : len;
      memcpy(p->data + p->len, b, k);
      p->len += k;
      b += k;
      off += k;
      len -= k;
    }
  return 0;
}

void
img_file_writer_xattr(struct img_file *f, const char *name, const void *value, size_t size)
{
  struct xattr *x = xmalloc(sizeof *x);

  *x = (struct xattr){ .name = xstrdup(name), .value = xmalloc(size ? size : 1), .size = size };
  memcpy(x->value, value, size);
  *f->xattrs_tail = x;
  f->xattrs_tail = &x->next;
}

int
img_file_writer_close(struct img_file_writer *w, struct img_file *f, const struct img_file_attrs *a,
                      struct oci_error **err)
{
  struct piece *p = steal_pointer(&f->cur);

  if (p == NULL && new_piece(w, f, f->size, 0, &p, err) < 0)
    return -1;
  f->attrs = *a;
  p->last = true;
  return push(w, p, err);
}

bool
img_file_writer_failed(struct img_file_writer *w)
{
  return failed(w);
}

int
img_file_writer_finish(struct img_file_writer *w, void (*warn)(void *data, const char *msg), void *warn_data,
                       struct oci_error **err)
{
  pthread_mutex_lock(&w->lock);
  pthread_cond_signal(&w->work);
  while (w->head || w->busy)
    pthread_cond_wait(&w->idle, &w->lock);
  struct oci_error *e = steal_pointer(&w->err);
  pthread_mutex_unlock(&w->lock);

  for (size_t i = 0; i < w->warnings_len; i++)
    {
      if (warn)
        warn(warn_data, w->warnings[i]);
      free(w->warnings[i]);
    }
  w->warnings_len = 0;
  if (e)
    {
      *err = e;
      return -1;
    }
  return 0;
}

void
img_file_writer_free(struct img_file_writer *w)
{
  if (w == NULL)
    return;
  if (w->running)
    {
      pthread_mutex_lock(&w->lock);
      w->stop = true;
      pthread_cond_signal(&w->work);
      pthread_mutex_unlock(&w->lock);
      pthread_join(w->thread, NULL);
    }
  for (struct piece *p = w->head, *next; p; p = next)
    {
      next = p->next;
      free(p);
    }
  for (struct img_file *f = w->files, *next; f; f = next)
    {
      next = f->next;
      file_free(f);
    }
  for (size_t i = 0; i < w->warnings_len; i++)
    free(w->warnings[i]);
  free(w->warnings);
  img_bigbuf_free(w->ring, RING_SIZE);
  if (w->err)
    oci_error_free(w->err);
  pthread_mutex_destroy(&w->lock);
  pthread_cond_destroy(&w->work);
  pthread_cond_destroy(&w->room);
  pthread_cond_destroy(&w->idle);
  free(w);
}
