#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "util.h"

int
oci_error_setv(struct oci_error **err, int status, const char *fmt, va_list ap)
{
  struct oci_error *e;

  if (err == NULL)
    return -1;
  /* An error already pending means a caller forgot to propagate it; keep the
   * first one, it is the root cause. */
  if (*err != NULL)
    return -1;

  e = xzalloc(sizeof *e);
  e->status = status;
  e->syscall = status != 0;
  if (vasprintf(&e->msg, fmt, ap) < 0)
    abort();
  *err = e;
  return -1;
}

int
oci_error_set(struct oci_error **err, int status, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  oci_error_setv(err, status, fmt, ap);
  va_end(ap);
  return -1;
}

int
oci_error_fail(struct oci_error **err, int status, const char *fmt, ...)
{
  va_list ap;
  bool fresh = err != NULL && *err == NULL;

  va_start(ap, fmt);
  oci_error_setv(err, status, fmt, ap);
  va_end(ap);
  if (fresh)
    (*err)->syscall = false;
  return -1;
}

int
oci_error_copy(struct oci_error **err, const struct oci_error *src)
{
  bool fresh = err != NULL && *err == NULL;

  oci_error_set(err, src->status, "%s", src->msg);
  if (fresh)
    (*err)->syscall = src->syscall;
  return -1;
}

int
oci_error_wrap(struct oci_error **err, const char *fmt, ...)
{
  cleanup_free char *prefix = NULL;
  char *msg;
  va_list ap;

  if (err == NULL || *err == NULL)
    return -1;

  va_start(ap, fmt);
  if (vasprintf(&prefix, fmt, ap) < 0)
    abort();
  va_end(ap);

  msg = xasprintf("%s: %s", prefix, (*err)->msg);
  free((*err)->msg);
  (*err)->msg = msg;
  return -1;
}

char *
oci_error_string(const struct oci_error *err)
{
  if (err == NULL)
    return xstrdup("unknown error");
  if (!err->syscall || err->status == 0)
    return xstrdup(err->msg);
  return xasprintf("%s: %s", err->msg, strerror(err->status));
}

void
oci_error_free(struct oci_error *err)
{
  if (err == NULL)
    return;
  free(err->msg);
  free(err);
}
