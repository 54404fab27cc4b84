#include <config.h>

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "http.h"
#include "util.h"

#define DEFAULT_RETRIES 4
#define DEFAULT_BACKOFF_MS 500
#define MAX_BACKOFF_MS 10000
#define DEFAULT_MAX_RETRY_AFTER 60
#define DEFAULT_PARALLEL 3
#define CANCEL_POLL_MS 100
#define DEFAULT_MAX_BODY (1u << 20)
#define ERROR_BODY_MAX (64u << 10)
#define MAX_HEADERS 200
/* A short count makes libcurl fail the transfer with CURLE_WRITE_ERROR. */
#define WRITE_ERROR 0

struct img_http
{
  CURLM *multi;
  char *ca_file;
  char **insecure;
  unsigned retries;
  unsigned backoff_ms;
  unsigned max_retry_after;
  unsigned max_parallel;
  img_http_log_fn log;
  void *log_data;
  bool (*cancelled)(void *data);
  void *cancel_data;
};

/* One request across its attempts. */
struct transfer
{
  struct img_http *http;
  struct img_http_request *req;
  struct img_http_response *resp;
  struct oci_error **err;
  CURL *easy;
  struct curl_slist *headers;
  char errbuf[CURL_ERROR_SIZE];
  unsigned attempt;
  uint64_t next_start_ms; /* monotonic time before which the next attempt must not start */
  bool active, done, failed;
  bool status_checked; /* the first body byte of this attempt was seen */
  bool streaming;      /* this attempt's body goes to the sink */
  uint64_t skip;       /* bytes to drop: the server resent from 0 and there is no restart hook */
};

static uint64_t
now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
img_log_printf(img_http_log_fn log, void *data, const char *fmt, ...)
{
  cleanup_free char *line = NULL;
  va_list ap;

  if (log == NULL)
    return;
  va_start(ap, fmt);
  if (vasprintf(&line, fmt, ap) < 0)
    line = NULL;
  va_end(ap);
  if (line)
    log(data, line);
}

#define http_log(http, ...) img_log_printf((http)->log, (http)->log_data, __VA_ARGS__)

int
img_http_new(const struct img_http_opts *opts, struct img_http **out, struct oci_error **err)
{
  struct img_http *h;
  size_t n = 0;

  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return oci_error_set(err, 0, "initialising libcurl failed");
  h = xzalloc(sizeof *h);
  h->multi = curl_multi_init();
  if (h->multi == NULL)
    {
      free(h);
      return oci_error_fail(err, ENOMEM, "curl_multi_init failed");
    }
  h->ca_file = xstrdup(opts->ca_file);
  while (opts->insecure && opts->insecure[n])
    n++;
  h->insecure = xcalloc(n + 1, sizeof(char *));
  for (size_t i = 0; i < n; i++)
    h->insecure[i] = xstrdup(opts->insecure[i]);
  h->retries = opts->retries ? opts->retries : DEFAULT_RETRIES;
  h->backoff_ms = opts->backoff_ms ? opts->backoff_ms : DEFAULT_BACKOFF_MS;
  h->max_retry_after = opts->max_retry_after ? opts->max_retry_after : DEFAULT_MAX_RETRY_AFTER;
  h->max_parallel = opts->max_parallel ? opts->max_parallel : DEFAULT_PARALLEL;
  h->log = opts->log;
  h->log_data = opts->log_data;
  h->cancelled = opts->cancelled;
  h->cancel_data = opts->cancel_data;
  *out = h;
  return 0;
}

void
img_http_free(struct img_http *http)
{
  if (http == NULL)
    return;
  curl_multi_cleanup(http->multi);
  free(http->ca_file);
  for (char **s = http->insecure; s && *s; s++)
    free(*s);
  free(http->insecure);
  free(http);
}

bool
img_http_host_insecure(const struct img_http *http, const char *hostport)
{
  const char *colon = strrchr(hostport, ':');
  size_t hostlen = (colon && !strchr(colon, ']')) ? (size_t)(colon - hostport) : strlen(hostport);

  for (char **s = http->insecure; s && *s; s++)
    {
      if (strcasecmp(*s, hostport) == 0)
        return true;
      /* "host" without a port covers every port of that host */
      if (strchr(*s, ':') == NULL && strlen(*s) == hostlen && strncasecmp(*s, hostport, hostlen) == 0)
        return true;
    }
  return false;
}

const char *
img_http_header(const struct img_http_response *resp, const char *name)
{
  for (size_t i = resp->n_headers; i > 0; i--)
    if (strcasecmp(resp->headers[i - 1].name, name) == 0)
      return resp->headers[i - 1].value;
  return NULL;
}

static void
headers_clear(struct img_http_response *resp)
{
  for (size_t i = 0; i < resp->n_headers; i++)
    {
      free(resp->headers[i].name);
      free(resp->headers[i].value);
    }
  free(resp->headers);
  resp->headers = NULL;
  resp->n_headers = 0;
}

void
img_http_response_clear(struct img_http_response *resp)
{
  headers_clear(resp);
  free(resp->body);
  free(resp->url);
  memset(resp, 0, sizeof *resp);
}

char *
img_http_escape(const char *s)
{
  char *e = curl_easy_escape(NULL, s, 0);
  char *r;

  if (e == NULL)
    abort();
  r = xstrdup(e);
  curl_free(e);
  return r;
}

static size_t
header_cb(char *buf, size_t size, size_t nitems, void *data)
{
  struct transfer *t = data;
  struct img_http_response *resp = t->resp;
  size_t len = size * nitems;
  const char *colon, *v, *end = buf + len;

  /* Each response of a redirect chain starts with its status line: keep
   * only the headers of the last one. */
  if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0)
    {
      headers_clear(resp);
      return len;
    }
  colon = memchr(buf, ':', len);
  if (colon == NULL || resp->n_headers >= MAX_HEADERS)
    return len;
  v = colon + 1;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
    end--;
  resp->headers = xrealloc(resp->headers, (resp->n_headers + 1) * sizeof *resp->headers);
  resp->headers[resp->n_headers].name = xstrndup(buf, colon - buf);
  for (char *c = resp->headers[resp->n_headers].name; *c; c++)
    *c = tolower((unsigned char)*c);
  resp->headers[resp->n_headers].value = xstrndup(v, end - v);
  resp->n_headers++;
  return len;
}

static int
buffer_append(struct transfer *t, const char *buf, size_t len, size_t cap, bool truncate_silently)
{
  struct img_http_response *resp = t->resp;

  if (resp->body_len + len > cap)
    {
      if (truncate_silently)
        len = cap - resp->body_len;
      else
        return oci_error_fail(t->err, EFBIG, "%s: response larger than %zu bytes", t->req->url, cap);
    }
  resp->body = xrealloc(resp->body, resp->body_len + len + 1);
  memcpy(resp->body + resp->body_len, buf, len);
  resp->body_len += len;
  resp->body[resp->body_len] = '\0';
  return 0;
}

/* Decide, at the first body byte of an attempt, where the bytes go. */
static int
check_stream_start(struct transfer *t, long status, struct oci_error **err)
{
  struct img_http_request *req = t->req;
  const char *range;
  unsigned long long start;

  t->streaming = req->sink && (status == 200 || status == 206);
  if (!t->streaming)
    return 0;
  if (status == 200 && req->offset > 0)
    {
      http_log(t->http, "%s: server ignored Range, starting again from 0", req->url);
      if (req->restart)
        {
          if (req->restart(req->sink_data, err) < 0)
            return -1;
          req->offset = 0;
        }
      else
        t->skip = req->offset;
      return 0;
    }
  if (status == 206)
    {
      range = img_http_header(t->resp, "content-range");
      if (range == NULL || sscanf(range, "bytes %llu-", &start) != 1 || start != req->offset)
        return oci_error_fail(err, EPROTO, "%s: asked for bytes from %llu, got range `%s`", req->url,
                              (unsigned long long)req->offset, range ? range : "(none)");
    }
  return 0;
}

static size_t
write_cb(char *buf, size_t size, size_t nmemb, void *data)
{
  struct transfer *t = data;
  struct img_http_request *req = t->req;
  size_t len = size * nmemb;
  long status = 0;

  if (!t->status_checked)
    {
      t->status_checked = true;
      curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
      if (check_stream_start(t, status, t->err) < 0)
        return WRITE_ERROR;
    }
  if (!t->streaming)
    {
      bool is_error_body = req->sink != NULL;
      if (buffer_append(t, buf, len,
                        is_error_body ? ERROR_BODY_MAX : (req->max_body ? req->max_body : DEFAULT_MAX_BODY),
                        is_error_body)
          < 0)
        return WRITE_ERROR;
      return size * nmemb;
    }
  if (t->skip)
    {
      size_t drop = t->skip < len ? t->skip : len;
      t->skip -= drop;
      buf += drop;
      len -= drop;
      if (len == 0)
        return size * nmemb;
    }
  if (req->expected_size >= 0 && req->offset + len > (uint64_t)req->expected_size)
    {
      oci_error_fail(t->err, EFBIG, "%s: more than the expected %lld bytes", req->url,
                     (long long)req->expected_size);
      return WRITE_ERROR;
    }
  if (req->sink(req->sink_data, buf, len, t->err) < 0)
    return WRITE_ERROR;
  req->offset += len;
  return size * nmemb;
}

static bool
url_host_insecure(struct img_http *http, const char *url)
{
  CURLU *u = curl_url();
  char *host = NULL, *port = NULL;
  cleanup_free char *hostport = NULL;
  bool r = false;

  if (u == NULL)
    return false;
  if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK
      && curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
    {
      if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
        hostport = xasprintf("%s:%s", host, port);
      else
        hostport = xstrdup(host);
      r = img_http_host_insecure(http, hostport);
    }
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return r;
}

static void
transfer_release_easy(struct transfer *t)
{
  if (t->easy)
    {
      curl_multi_remove_handle(t->http->multi, t->easy);
      curl_easy_cleanup(t->easy);
      t->easy = NULL;
    }
  curl_slist_free_all(t->headers);
  t->headers = NULL;
  t->active = false;
}

static struct curl_slist *add_header(struct curl_slist *list, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct curl_slist *
add_header(struct curl_slist *list, const char *fmt, ...)
{
  cleanup_free char *line = NULL;
  struct curl_slist *r;
  va_list ap;

  va_start(ap, fmt);
  if (vasprintf(&line, fmt, ap) < 0)
    abort();
  va_end(ap);
  r = curl_slist_append(list, line);
  if (r == NULL)
    abort();
  return r;
}

static int
transfer_start(struct transfer *t)
{
  struct img_http_request *req = t->req;
  struct img_http *http = t->http;
  const char *method = req->method ? req->method : "GET";
  CURL *e;

  headers_clear(t->resp);
  free(t->resp->body);
  t->resp->body = NULL;
  t->resp->body_len = 0;
  t->resp->status = 0;
  t->resp->tls_failed = t->resp->connect_failed = false;
  t->status_checked = t->streaming = false;
  t->skip = 0;
  t->errbuf[0] = '\0';

  e = t->easy = curl_easy_init();
  if (e == NULL)
    return oci_error_fail(t->err, ENOMEM, "curl_easy_init failed");
  curl_easy_setopt(e, CURLOPT_URL, req->url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, t);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
  /* Never 1: a redirect to another host (a CDN) must not get our token. */
  curl_easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "imgtool/" PACKAGE_VERSION);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
  /* A stalled connection counts as dropped: under 1 KiB/s for 60 s. */
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL);
  if (http->ca_file)
    curl_easy_setopt(e, CURLOPT_CAINFO, http->ca_file);
  if (req->insecure_tls || url_host_insecure(http, req->url))
    {
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
  if (strcmp(method, "HEAD") == 0)
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  else if (strcmp(method, "POST") == 0)
    {
      curl_easy_setopt(e, CURLOPT_POST, 1L);
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
  if (!req->sink && strcmp(method, "HEAD") != 0)
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t)(req->max_body ? req->max_body : DEFAULT_MAX_BODY));

  if (req->accept)
    t->headers = add_header(t->headers, "Accept: %s", req->accept);
  if (req->authorization)
    t->headers = add_header(t->headers, "Authorization: %s", req->authorization);
  if (req->content_type)
    t->headers = add_header(t->headers, "Content-Type: %s", req->content_type);
  if (req->sink && req->offset > 0)
    t->headers = add_header(t->headers, "Range: bytes=%llu-", (unsigned long long)req->offset);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);

  if (curl_multi_add_handle(http->multi, e) != CURLM_OK)
    return oci_error_set(t->err, 0, "curl_multi_add_handle failed");
  t->active = true;
  t->attempt++;
  http_log(http, "%s %s%s", method, req->url, t->attempt > 1 ? " (retry)" : "");
  return 0;
}

static bool
curl_code_retryable(CURLcode c)
{
  switch (c)
    {
    case CURLE_COULDNT_CONNECT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
    }
}

/* Statuses worth another attempt, from a registry or from a proxy answering
 * CONNECT: the server or the path to it may come back. */
static bool
status_retryable(long status)
{
  return status == 500 || status == 502 || status == 503 || status == 504;
}

/* A proxy answered CONNECT with a refusal (403, 407, ...): libcurl reports
 * it as a receive error, but asking again gets the same answer. */
static bool
proxy_refused(long connect_code)
{
  return connect_code >= 300 && !status_retryable(connect_code);
}

/* What to add to libcurl's message so that the user knows what to change. */
static const char *
failure_hint(CURLcode code, long connect_code)
{
  if (code == CURLE_PEER_FAILED_VERIFICATION)
    return " (give the registry's CA with --ca-file, or name the host with --insecure-registry)";
  if (connect_code == 407)
    return " (the proxy from the environment wants credentials: http://USER:PASS@HOST:PORT)";
  if (proxy_refused(connect_code))
    return " (the proxy from the environment refused the tunnel; no_proxy names hosts to reach directly)";
  return "";
}

/* The handshake itself failed (typically: the server does not speak TLS).
 * Certificate problems are not this: they must never lead to plain HTTP. */
static bool
curl_code_tls(CURLcode c)
{
  return c == CURLE_SSL_CONNECT_ERROR;
}

/* Seconds from a Retry-After value (delta-seconds or an HTTP date); -1 when
 * absent or unreadable. */
static long
retry_after_seconds(const char *v)
{
  char *end;
  long s;
  time_t t;

  if (v == NULL || *v == '\0')
    return -1;
  s = strtol(v, &end, 10);
  if (end != v && *end == '\0')
    return s < 0 ? 0 : s;
  t = curl_getdate(v, NULL);
  if (t < 0)
    return -1;
  s = (long)(t - time(NULL));
  return s < 0 ? 0 : s;
}

static uint64_t
backoff_delay(struct transfer *t)
{
  uint64_t d = t->http->backoff_ms;

  for (unsigned i = 1; i < t->attempt && d < MAX_BACKOFF_MS; i++)
    d *= 2;
  return d < MAX_BACKOFF_MS ? d : MAX_BACKOFF_MS;
}

/* Look at a finished attempt: retry it later, or mark it done. */
static void
transfer_finish(struct transfer *t, CURLcode code)
{
  struct img_http *http = t->http;
  struct img_http_response *resp = t->resp;
  const char *method = t->req->method ? t->req->method : "GET";
  char *url = NULL;
  bool can_retry = t->attempt <= http->retries;
  long ra, connect_code = 0;

  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &resp->status);
  curl_easy_getinfo(t->easy, CURLINFO_HTTP_CONNECTCODE, &connect_code);
  curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &url);
  free(resp->url);
  resp->url = xstrdup(url);
  transfer_release_easy(t);

  if (*t->err)
    {
      t->done = t->failed = true; /* a callback refused the data: retrying would not help */
      return;
    }
  if (code != CURLE_OK)
    {
      resp->tls_failed = curl_code_tls(code);
      resp->connect_failed = code == CURLE_COULDNT_CONNECT || code == CURLE_GOT_NOTHING;
      if (curl_code_retryable(code) && can_retry && !proxy_refused(connect_code))
        {
          uint64_t d = backoff_delay(t);
          http_log(http, "%s %s: %s; retrying in %llu ms", method, t->req->url,
                   t->errbuf[0] ? t->errbuf : curl_easy_strerror(code), (unsigned long long)d);
          t->next_start_ms = now_ms() + d;
          return;
        }
      if (code == CURLE_FILESIZE_EXCEEDED)
        {
          oci_error_fail(t->err, EFBIG, "%s %s: response larger than %zu bytes", method, t->req->url,
                         (size_t)(t->req->max_body ? t->req->max_body : DEFAULT_MAX_BODY));
          t->done = t->failed = true;
          return;
        }
      /* No errno: curl's text says it all, a strerror() after it would only repeat it. */
      oci_error_set(t->err, 0, "%s %s: %s%s", method, t->req->url,
                    t->errbuf[0] ? t->errbuf : curl_easy_strerror(code), failure_hint(code, connect_code));
      t->done = t->failed = true;
      return;
    }
  http_log(http, "%s %s: %ld", method, t->req->url, resp->status);
  if (status_retryable(resp->status) && can_retry)
    {
      uint64_t d = backoff_delay(t);
      http_log(http, "%s %s: server error %ld; retrying in %llu ms", method, t->req->url, resp->status,
               (unsigned long long)d);
      t->next_start_ms = now_ms() + d;
      return;
    }
  if (resp->status == 429 && can_retry)
    {
      ra = retry_after_seconds(img_http_header(resp, "retry-after"));
      if (ra >= 0 && ra <= (long)http->max_retry_after)
        {
          http_log(http, "%s %s: too many requests; waiting %ld s as Retry-After asks", method, t->req->url,
                   ra);
          t->next_start_ms = now_ms() + (uint64_t)ra * 1000;
          return;
        }
    }
  t->done = true;
}

/* The caller was interrupted: end what is still running or waiting. */
static void
cancel_transfers(struct transfer *ts, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!ts[i].done)
      {
        transfer_release_easy(&ts[i]);
        ts[i].done = ts[i].failed = true;
        oci_error_fail(ts[i].err, EINTR, "%s: interrupted", ts[i].req->url);
      }
}

static int
run_transfers(struct img_http *http, struct transfer *ts, size_t n)
{
  size_t remaining = n;

  while (remaining > 0)
    {
      if (http->cancelled && http->cancelled(http->cancel_data))
        {
          cancel_transfers(ts, n);
          return 0;
        }
      uint64_t now = now_ms(), wake = UINT64_MAX;
      unsigned active = 0;
      int running, msgs, timeout;
      CURLMsg *m;

      for (size_t i = 0; i < n; i++)
        active += ts[i].active;
      for (size_t i = 0; i < n && active < http->max_parallel; i++)
        {
          struct transfer *t = &ts[i];
          if (t->done || t->active)
            continue;
          if (t->next_start_ms > now)
            {
              wake = t->next_start_ms < wake ? t->next_start_ms : wake;
              continue;
            }
          if (transfer_start(t) < 0)
            {
              transfer_release_easy(t);
              t->done = t->failed = true;
              remaining--;
              continue;
            }
          active++;
        }
      if (remaining == 0)
        break;

      if (curl_multi_perform(http->multi, &running) != CURLM_OK)
        return -1;
      while ((m = curl_multi_info_read(http->multi, &msgs)))
        {
          struct transfer *t = NULL;
          if (m->msg != CURLMSG_DONE)
            continue;
          curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
          if (t == NULL)
            for (size_t i = 0; i < n && t == NULL; i++)
              if (ts[i].easy == m->easy_handle)
                t = &ts[i];
          if (t == NULL)
            continue;
          transfer_finish(t, m->data.result);
          if (t->done)
            remaining--;
        }
      if (remaining == 0)
        break;
      timeout = http->cancelled ? CANCEL_POLL_MS : 1000;
      now = now_ms();
      if (wake != UINT64_MAX)
        timeout = wake <= now ? 0 : (wake - now < (uint64_t)timeout ? (int)(wake - now) : timeout);
      if (active == 0 && wake != UINT64_MAX && timeout > 0)
        {
          struct timespec ts_sleep = { timeout / 1000, (long)(timeout % 1000) * 1000000 };
          nanosleep(&ts_sleep, NULL);
          continue;
        }
      curl_multi_poll(http->multi, NULL, 0, timeout, NULL);
    }
  return 0;
}

int
img_http_send_many(struct img_http *http, struct img_http_request **reqs, struct img_http_response **resps,
                   struct oci_error **errs, size_t n)
{
  cleanup_free struct transfer *ts = xcalloc(n ? n : 1, sizeof *ts);
  int ret = 0;

  for (size_t i = 0; i < n; i++)
    {
      ts[i].http = http;
      ts[i].req = reqs[i];
      ts[i].resp = resps[i];
      ts[i].err = &errs[i];
    }
  if (run_transfers(http, ts, n) < 0)
    {
      for (size_t i = 0; i < n; i++)
        {
          if (!ts[i].done && errs[i] == NULL)
            oci_error_set(&errs[i], 0, "%s: transfer aborted (curl multi failure)", reqs[i]->url);
          transfer_release_easy(&ts[i]);
        }
      return -1;
    }
  for (size_t i = 0; i < n; i++)
    if (ts[i].failed || errs[i])
      ret = -1;
  return ret;
}

int
img_http_send(struct img_http *http, struct img_http_request *req, struct img_http_response *resp,
              struct oci_error **err)
{
  return img_http_send_many(http, &req, &resp, err, 1);
}
