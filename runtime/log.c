#include <config.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "spec/json.h"
#include "spec/util.h"
#include "log.h"
#include "sync.h"

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

/* One character of a logfmt (and Go %q-like) quoted string: at most 4 bytes. */
static size_t
escape_char(unsigned char c, char out[5])
{
  switch (c)
    {
    case '"':
      return (size_t)snprintf(out, 5, "\\\"");
    case '\\':
      return (size_t)snprintf(out, 5, "\\\\");
    case '\n':
      return (size_t)snprintf(out, 5, "\\n");
    case '\r':
      return (size_t)snprintf(out, 5, "\\r");
    case '\t':
      return (size_t)snprintf(out, 5, "\\t");
    default:
      if (c < 0x20 || c == 0x7f)
        return (size_t)snprintf(out, 5, "\\x%02x", c);
      out[0] = (char)c;
      out[1] = '\0';
      return 1;
    }
}

/* Append `s` quoted to buf (length *len, capacity size); stops, still NUL
 * terminated and with the closing quote, when the next piece would not fit. */
static void
append_quoted(char *buf, size_t size, size_t *len, const char *s)
{
  char piece[5];
  size_t n;

  if (*len + 3 > size)
    return;
  buf[(*len)++] = '"';
  for (; *s; s++)
    {
      n = escape_char((unsigned char)*s, piece);
      if (*len + n + 2 > size)
        break;
      memcpy(buf + *len, piece, n);
      *len += n;
    }
  buf[(*len)++] = '"';
  buf[*len] = '\0';
}

void
rt_log_append_quoted(char *buf, size_t size, const char *s)
{
  size_t len = strnlen(buf, size);

  if (len < size)
    append_quoted(buf, size, &len, s ? s : "");
}

void
rt_log_append_strv(char *buf, size_t size, char *const *v, size_t n)
{
  size_t len = strnlen(buf, size);

  if (len + 2 >= size)
    return;
  buf[len++] = '[';
  buf[len] = '\0';
  for (size_t i = 0; i < n && len + 2 < size; i++)
    {
      if (i)
        {
          buf[len++] = ' ';
          buf[len] = '\0';
        }
      append_quoted(buf, size, &len, v[i] ? v[i] : "");
    }
  if (len + 1 < size)
    {
      buf[len++] = ']';
      buf[len] = '\0';
    }
}

/* time="..." level=... msg="..." with the message escaped, so that any
 * logfmt reader gets the message back whole (quotes, backslashes and
 * newlines included). */
static char *
format_text(enum rt_log_level level, const char *msg, const char *when)
{
  size_t size = strlen(when) + strlen(msg) * 4 + 64;
  char *line = xmalloc(size);
  size_t len = (size_t)snprintf(line, size, "time=\"%s\" level=%s msg=", when, level_names[level]);

  append_quoted(line, size - 1, &len, msg);
  line[len++] = '\n';
  line[len] = '\0';
  return line;
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
    line = format_text(level, msg, when);
  /* One write per record keeps lines whole when several ocirt processes
   * append to the same file. */
  (void)oci_write_all(fd, line, strlen(line));
}

void
rt_log_record(const struct rt_context *ctx, int level, const char *msg)
{
  if (level < RT_LOG_ERROR || level > RT_LOG_DEBUG)
    level = RT_LOG_DEBUG;
  if (ctx->log_fd >= 0)
    rt_log_write_fd(ctx->log_fd, ctx->log_json, level, msg);
  else if (level == RT_LOG_DEBUG && ctx->debug)
    rt_log_write_fd(STDERR_FILENO, ctx->log_json, level, msg);
}

void
rt_log(const struct rt_context *ctx, enum rt_log_level level, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;

  if (ctx->log_sock >= 0)
    {
      /* In the container init: possibly under its seccomp filter already,
       * so only sendmsg, which the init needs for its "ready" anyway. */
      char text[RT_SYNC_TEXT_MAX];

      va_start(ap, fmt);
      vsnprintf(text, sizeof text, fmt, ap);
      va_end(ap);
      rt_sync_send_log(ctx->log_sock, level, text);
      return;
    }
  if (ctx->log_fd < 0 && level != RT_LOG_DEBUG)
    return;
  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  va_end(ap);
  if (msg)
    rt_log_record(ctx, level, msg);
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
