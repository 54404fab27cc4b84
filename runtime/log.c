#include <config.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "spec/json.h"
#include "spec/util.h"
#include "log.h"

static const char *const level_names[] = {
  [RT_LOG_ERROR] = "error",
  [RT_LOG_WARNING] = "warning",
  [RT_LOG_INFO] = "info",
  [RT_LOG_DEBUG] = "debug",
};

/* UTC calendar date from days since 1970-01-01 (Howard Hinnant's
 * algorithm): gmtime_r would load /etc/localtime on the create path. */
static void
civil_from_days(long long z, int *y, unsigned *m, unsigned *d)
{
  z += 719468;
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;

  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int)(yoe + era * 400 + (*m <= 2));
}

void
rt_time_rfc3339(char *buf, size_t size, bool nanoseconds)
{
  struct timespec ts;
  long long days, secs;
  unsigned month, day;
  int year;

  clock_gettime(CLOCK_REALTIME, &ts);
  days = ts.tv_sec / 86400;
  secs = ts.tv_sec % 86400;
  if (secs < 0)
    {
      secs += 86400;
      days--;
    }
  civil_from_days(days, &year, &month, &day);
  if (nanoseconds)
    snprintf(buf, size, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%09ldZ", year, month, day, secs / 3600,
             secs / 60 % 60, secs % 60, ts.tv_nsec);
  else
    snprintf(buf, size, "%04d-%02u-%02uT%02lld:%02lld:%02lldZ", year, month, day, secs / 3600, secs / 60 % 60,
             secs % 60);
}

int
rt_log_open(struct rt_context *ctx, struct oci_error **err)
{
  if (ctx->log_path == NULL || ctx->log_path[0] == '\0')
    return 0;
  ctx->log_fd = open(ctx->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (ctx->log_fd < 0)
    return oci_error_errno(err, "opening log file `%s`", ctx->log_path);
  return 0;
}

void
rt_log_close(struct rt_context *ctx)
{
  if (ctx->log_fd >= 0)
    close(ctx->log_fd);
  ctx->log_fd = -1;
}

static char *
format_json(enum rt_log_level level, const char *msg, const char *when)
{
  cleanup_json_writer struct json_writer *w = json_writer_new(false);
  cleanup_error struct oci_error *err = NULL;
  char *out = NULL;
  size_t len;

  json_write_object_begin(w);
  json_write_key(w, "level");
  json_write_string(w, level_names[level]);
  json_write_key(w, "msg");
  json_write_string(w, msg);
  json_write_key(w, "time");
  json_write_string(w, when);
  json_write_object_end(w);
  if (json_writer_finish(w, &out, &len, &err) < 0)
    return NULL;
  return out;
}

void
rt_log_write_fd(int fd, bool json, enum rt_log_level level, const char *msg)
{
  cleanup_free char *line = NULL;
  char when[64];

  if (fd < 0)
    return;
  rt_time_rfc3339(when, sizeof when, false);
  if (json)
    {
      cleanup_free char *obj = format_json(level, msg, when);
      if (obj == NULL)
        return;
      line = xasprintf("%s\n", obj);
    }
  else
    line = xasprintf("time=\"%s\" level=%s msg=\"%s\"\n", when, level_names[level], msg);
  /* One write per record keeps lines whole when several ocirt processes
   * append to the same file. */
  (void)oci_write_all(fd, line, strlen(line));
}

void
rt_log(const struct rt_context *ctx, enum rt_log_level level, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;

  if (ctx->log_fd < 0)
    return;
  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  va_end(ap);
  if (msg)
    rt_log_write_fd(ctx->log_fd, ctx->log_json, level, msg);
}

void
rt_log_report_error(const struct rt_context *ctx, const struct oci_error *e)
{
  cleanup_free char *msg = oci_error_string(e);
  cleanup_free char *line = NULL;

  /* Without a log file, --log-format json applies to stderr (as runc). */
  if (ctx->log_fd < 0 && ctx->log_json)
    {
      rt_log_write_fd(STDERR_FILENO, true, RT_LOG_ERROR, msg);
      return;
    }
  rt_log_write_fd(ctx->log_fd, ctx->log_json, RT_LOG_ERROR, msg);
  line = xasprintf("ocirt: %s\n", msg);
  (void)oci_write_all(STDERR_FILENO, line, strlen(line));
}
