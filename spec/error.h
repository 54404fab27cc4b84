/* The one error type of the project.
 *
 * Every fallible function takes `struct oci_error **err` last and returns a
 * negative int on failure (-1) after filling *err.  Callers add context on the
 * way up with oci_error_wrap(); only main() prints, once. */
#ifndef OCI_ERROR_H
#define OCI_ERROR_H

#include <stdarg.h>
#include <stdbool.h>

struct oci_error
{
  int status;   /* errno value callers may test (ENOENT, EINTR ...), or 0 */
  bool syscall; /* status is the errno of a failed system call: printed */
  char *msg;    /* context chain, outermost first; strerror(status) is NOT in it */
};

/* A system call failed with errno STATUS: fill *err (which must be NULL)
 * and return -1.  The message is printed with strerror (STATUS) appended. */
int oci_error_set(struct oci_error **err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int oci_error_setv(struct oci_error **err, int status, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* A failure that is no system call's (bad input, a refusal, HTTP 404):
 * STATUS only tells callers what kind it is (ENOENT: not found, EINTR:
 * interrupted, 0: nothing to test) and is never printed, since a strerror
 * such as "No such file or directory" would describe a file that does not
 * exist.  Returns -1. */
int oci_error_fail(struct oci_error **err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copy SRC (a worker's error) into *err, keeping its status and kind. */
int oci_error_copy(struct oci_error **err, const struct oci_error *src);

/* Shorthand for oci_error_set (err, errno, ...) that captures errno first. */
#define oci_error_errno(err, ...) oci_error_set((err), errno, __VA_ARGS__)

/* Prefix context: "CONTEXT: <old message>".  Returns -1 so that callers can
 * write `return oci_error_wrap (err, "mounting `%s`", dest);`. */
int oci_error_wrap(struct oci_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "<msg>: <strerror(status)>" for a system call's error, else "<msg>";
 * newly allocated. */
char *oci_error_string(const struct oci_error *err);

void oci_error_free(struct oci_error *err);

static inline void
cleanup_errorp(struct oci_error **e)
{
  if (*e)
    oci_error_free(*e);
}
#define cleanup_error __attribute__((cleanup(cleanup_errorp)))

#endif
