/* Diagnostics of one ocirt invocation.
 *
 * With --log, records go to that file as text lines or, with --log-format
 * json, as one JSON object per line {"level","msg","time"} (containerd reads
 * the last "error" record).  Errors are also written to stderr as one line
 * "ocirt: <msg>" so that a user (or conmon) without the log sees them. */
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

/* Write one record to the log file only (debug records only with --debug). */
void rt_log(const struct rt_context *ctx, enum rt_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The one place an error is reported: stderr plus the log file. */
void rt_log_report_error(const struct rt_context *ctx, const struct oci_error *e);

/* Same, for code that has only a file descriptor and no context (the
 * container init after its parent has exited). */
void rt_log_write_fd(int fd, bool json, enum rt_log_level level, const char *msg);

/* RFC 3339 UTC timestamps: seconds ("2024-01-02T03:04:05Z") or nanoseconds. */
void rt_time_rfc3339(char *buf, size_t size, bool nanoseconds);

#define rt_debug(ctx, ...)                                                                                   \
  do                                                                                                         \
    {                                                                                                        \
      if ((ctx)->debug)                                                                                      \
        rt_log((ctx), RT_LOG_DEBUG, __VA_ARGS__);                                                            \
    }                                                                                                        \
  while (0)

#endif
