/* HTTP for the registry client: a thin layer over libcurl's multi interface.
 *
 * What it owns: TLS (system CAs or --ca-file; unverified only for hosts named
 * with --insecure-registry), proxies from the environment (libcurl reads
 * http_proxy/https_proxy/no_proxy itself), redirects that never carry our
 * Authorization header to another host, retries with exponential backoff for
 * 5xx answers and dropped connections, resumption of streamed bodies with
 * Range, 429 answers waited out when Retry-After is short, and caps on what
 * is buffered in memory.  What it does not own: authentication (a 401 is
 * handed back to the caller, which fetches a token and sends again). */
#ifndef IMG_HTTP_H
#define IMG_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct img_http;

/* Verbose diagnostics (one line, no newline, never a secret). */
typedef void (*img_http_log_fn)(void *data, const char *line);
/* Format one line and hand it to `log` (nothing when log is NULL). */
void img_log_printf(img_http_log_fn log, void *data, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct img_http_opts
{
  const char *ca_file;         /* PEM bundle replacing the system CAs; NULL for the system store */
  const char *const *insecure; /* NULL-terminated "host" or "host:port" allowed without TLS checks */
  unsigned retries;            /* extra attempts after the first; 0 means the default (4) */
  unsigned backoff_ms;         /* first retry delay, doubled each time; 0 means 500 ms */
  unsigned max_retry_after;    /* longest Retry-After (s) waited out on 429; 0 means 60 */
  unsigned max_parallel;       /* transfers at once in img_http_send_many; 0 means 3 */
  img_http_log_fn log;
  void *log_data;
  /* Polled at least every 100 ms while transfers run (NULL: never): true
   * ends every unfinished one with an EINTR error, "interrupted". */
  bool (*cancelled)(void *data);
  void *cancel_data;
};

int img_http_new(const struct img_http_opts *opts, struct img_http **out, struct oci_error **err);
void img_http_free(struct img_http *http);

/* True when HOSTPORT ("host" or "host:port") was named as insecure. */
bool img_http_host_insecure(const struct img_http *http, const char *hostport);

/* Streamed bodies go to a sink.  restart: the server ignored Range and sends
 * the whole body again, so drop what was written (may be NULL when the
 * transfer always starts at 0).  progress: called after each write. */
typedef int (*img_http_sink_fn)(void *data, const void *buf, size_t len, struct oci_error **err);
typedef int (*img_http_restart_fn)(void *data, struct oci_error **err);

struct img_http_request
{
  const char *method; /* "GET" (default when NULL), "HEAD" or "POST" */
  const char *url;
  const char *accept;        /* Accept header value, or NULL */
  const char *authorization; /* Authorization header value, or NULL; never logged */
  const char *content_type;  /* POST */
  const char *body;
  size_t body_len;
  size_t max_body;   /* buffered responses: larger ones fail; 0 means 1 MiB */
  bool insecure_tls; /* skip certificate checks (the caller decided the host is insecure) */

  img_http_sink_fn sink; /* streamed 2xx bodies; NULL to buffer */
  img_http_restart_fn restart;
  void *sink_data;
  uint64_t offset;       /* in/out: bytes the sink already holds (sent as Range) */
  int64_t expected_size; /* streamed: refuse more bytes than this; -1 when unknown */
};

struct img_http_header
{
  char *name; /* lowercase */
  char *value;
};

struct img_http_response
{
  long status; /* 0 when no answer arrived */
  char *body;  /* buffered body; for streamed requests, only a non-2xx body (≤ 64 KiB) */
  size_t body_len;
  struct img_http_header *headers; /* of the final response after redirects */
  size_t n_headers;
  char *url;           /* effective URL after redirects */
  bool tls_failed;     /* the TLS handshake failed (wrong protocol, bad certificate) */
  bool connect_failed; /* nothing listened, or the connection dropped before an answer */
};

/* Send one request, retrying as described above.  Returns 0 once any HTTP
 * answer is final (including 4xx: look at resp->status), -1 when no answer
 * could be had or a callback failed. */
int img_http_send(struct img_http *http, struct img_http_request *req, struct img_http_response *resp,
                  struct oci_error **err);

/* Send N requests concurrently (at most max_parallel at once).  errs[i]
 * receives each request's own failure; the call returns -1 when any failed,
 * after all finished. */
int img_http_send_many(struct img_http *http, struct img_http_request **reqs,
                       struct img_http_response **resps, struct oci_error **errs, size_t n);

/* Case-insensitive lookup in a response; NULL when absent. */
const char *img_http_header(const struct img_http_response *resp, const char *name);
void img_http_response_clear(struct img_http_response *resp);

/* URL-encode S for a query string.  Newly allocated. */
char *img_http_escape(const char *s);

static inline void
cleanup_http_responsep(struct img_http_response *r)
{
  img_http_response_clear(r);
}
static inline void
cleanup_httpp(struct img_http **h)
{
  img_http_free(*h);
}
#define cleanup_http_response __attribute__((cleanup(cleanup_http_responsep)))
#define cleanup_http __attribute__((cleanup(cleanup_httpp)))

#endif
