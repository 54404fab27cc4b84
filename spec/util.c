#include <config.h>

#include <stdarg.h>
#include <string.h>

#include "util.h"

void *
xmalloc(size_t size)
{
  void *p = malloc(size ? size : 1);
  if (p == NULL)
    abort();
  return p;
}

void *
xzalloc(size_t size)
{
  return xcalloc(1, size);
}

void *
xcalloc(size_t nmemb, size_t size)
{
  void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
  if (p == NULL)
    abort();
  return p;
}

void *
xrealloc(void *ptr, size_t size)
{
  void *p = realloc(ptr, size ? size : 1);
  if (p == NULL)
    abort();
  return p;
}

char *
xstrdup(const char *s)
{
  char *p;

  if (s == NULL)
    return NULL;
  p = strdup(s);
  if (p == NULL)
    abort();
  return p;
}

char *
xstrndup(const char *s, size_t n)
{
  char *p = strndup(s, n);
  if (p == NULL)
    abort();
  return p;
}

char *
xasprintf(const char *fmt, ...)
{
  char *p;
  va_list ap;

  va_start(ap, fmt);
  if (vasprintf(&p, fmt, ap) < 0)
    abort();
  va_end(ap);
  return p;
}

int
oci_write_all(int fd, const void *buf, size_t len)
{
  const char *p = buf;

  while (len > 0)
    {
      ssize_t n = write(fd, p, len);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      p += n;
      len -= (size_t)n;
    }
  return 0;
}

ssize_t
oci_read_all(int fd, void *buf, size_t len)
{
  char *p = buf;
  size_t done = 0;

  while (done < len)
    {
      ssize_t n = read(fd, p + done, len - done);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      if (n == 0)
        break;
      done += (size_t)n;
    }
  return (ssize_t)done;
}
