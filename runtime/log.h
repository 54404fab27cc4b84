/* Diagnostics of one ocirt invocation.
 *
 * With --log, records go to that file as logfmt lines
 * (time="..." level=debug msg="...") or, with --log-format json, as one JSON
 * object per line {"level","msg","time"} (containerd reads the last "error"
 * record).  Errors are also written to stderr as one line "ocirt: <msg>" so
 * that a user (or conmon) without the log sees them.
 *
 * --debug adds one record per step of the work (config read, namespaces,
 * cgroup writes, mounts, pivot_root, capabilities, exec ...): to the --log
 * file when there is one, to stderr otherwise (as runc).  The container init
 * and exec's children do not write them: their stderr may be the
 * container's.  They send each record over their sync socket
 * (ctx->log_sock) and the parent writes it. */
#ifndef RT_LOG_H
#define RT_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "context.h"
#include "error.h"

enum rt_log_level
{
  RT_LOG_ERROR,
  RT_LOG_WARNING,
  RT_LOG_INFO,
  RT_LOG_DEBUG,
};

/* Open ctx->log_path (append, close-on-exec) into ctx->log_fd. */
int rt_log_open(struct rt_context *ctx, struct oci_error **err);
void rt_log_close(struct rt_context *ctx);

/* Write one record: to the log file; a debug record without a log file to
 * stderr.  In a child with ctx->log_sock, the record is formatted into a
 * fixed buffer (no malloc, no clock) and sent to the parent instead. */
void rt_log(const struct rt_context *ctx, enum rt_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The parent's half: write a record a child sent (`level` as received). */
void rt_log_record(const struct rt_context *ctx, int level, const char *msg);

/* Append `s` to buf (of `size`, NUL terminated) as a double-quoted string
 * with `"`, `\` and control characters escaped; for messages that list
 * paths and arguments.  Truncates, never overflows, never allocates. */
void rt_log_append_quoted(char *buf, size_t size, const char *s);
/* Append the strings of v as ["a" "b"], the same way. */
void rt_log_append_strv(char *buf, size_t size, char *const *v, size_t n);

/* The one place an error is reported: stderr plus the log file. */
void rt_log_report_error(const struct rt_context *ctx, const struct oci_error *e);

/* Same, for code that has only a file descriptor and no context (the
 * container init after its parent has exited). */
void rt_log_write_fd(int fd, bool json, enum rt_log_level level, const char *msg);

/* RFC 3339 UTC timestamps: seconds ("2024-01-02T03:04:05Z") or nanoseconds. */
void rt_time_rfc3339(char *buf, size_t size, bool nanoseconds);

/* Nothing is evaluated without --debug: the arguments of a debug record
 * cost nothing on the hot path of create. */
#define rt_debug(ctx, ...)                                                                                   \
  do                                                                                                         \
    {                                                                                                        \
      if ((ctx)->debug)                                                                                      \
        rt_log((ctx), RT_LOG_DEBUG, __VA_ARGS__);                                                            \
    }                                                                                                        \
  while (0)

#endif
