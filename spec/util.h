/* Ownership helpers shared by spec/, runtime/ and imgtool/.
 *
 * Every owned resource is declared with a cleanup attribute and handed off
 * explicitly with steal_pointer()/steal_fd(), so early returns never leak. */
#ifndef OCI_UTIL_H
#define OCI_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

static inline void
cleanup_freep(void *p)
{
  free(*(void **)p);
}

static inline void
cleanup_closep(int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close(*fd);
      errno = saved;
    }
}

static inline void
cleanup_fclosep(FILE **f)
{
  if (*f)
    fclose(*f);
}

static inline void
cleanup_closedirp(DIR **d)
{
  if (*d)
    closedir(*d);
}

/* A NULL-terminated array of strings, each owned. */
static inline void
cleanup_strvp(char ***v)
{
  if (*v)
    {
      for (char **s = *v; *s; s++)
        free(*s);
      free(*v);
    }
}

#define cleanup_free __attribute__((cleanup(cleanup_freep)))
#define cleanup_close __attribute__((cleanup(cleanup_closep)))
#define cleanup_fclose __attribute__((cleanup(cleanup_fclosep)))
#define cleanup_closedir __attribute__((cleanup(cleanup_closedirp)))
#define cleanup_strv __attribute__((cleanup(cleanup_strvp)))

#define steal_pointer(pp)                                                                                    \
  ({                                                                                                         \
    __typeof__(*(pp)) steal_tmp_ = *(pp);                                                                    \
    *(pp) = NULL;                                                                                            \
    steal_tmp_;                                                                                              \
  })

static inline int
steal_fd(int *fd)
{
  int r = *fd;
  *fd = -1;
  return r;
}

#define OCI_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation failure is not an error we can roll back from meaningfully;
 * these abort on OOM like the rest of the container ecosystem does. */
void *xmalloc(size_t size);
void *xzalloc(size_t size);
void *xrealloc(void *p, size_t size);
void *xcalloc(size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Retry on EINTR; write everything. Return 0 or -1 with errno set. */
int oci_write_all(int fd, const void *buf, size_t len);
/* Read up to len bytes, retrying on EINTR; returns bytes read or -1. */
ssize_t oci_read_all(int fd, void *buf, size_t len);

#endif
