#include <config.h>

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "challenge.h"
#include "digest.h"
#include "image.h"
#include "json.h"
#include "reference.h"
#include "registry.h"
#include "store.h"
#include "util.h"

struct img_registry
{
  char *registry; /* as in references: "docker.io" */
  char *host;     /* API host: "registry-1.docker.io" */
  char *base;     /* "https://host" or, after falling back, "http://host" */
  bool may_use_http;
  bool tried_http;
  struct img_http *http;
  struct img_auth *auth;
  img_http_log_fn log;
  void *log_data;
};

#define reg_log(reg, ...) img_log_printf((reg)->log, (reg)->log_data, __VA_ARGS__)

/* Like docker, a registry on the loopback interface may speak plain HTTP:
 * nobody between us and it can tamper with the traffic. */
static bool
host_is_loopback(const char *hostport)
{
  size_t n = strcspn(hostport, ":");

  if (hostport[0] == '[')
    return strncmp(hostport, "[::1]", 5) == 0;
  return (n == 9 && strncmp(hostport, "localhost", 9) == 0) || strncmp(hostport, "127.", 4) == 0;
}

int
img_registry_open(const char *registry, const struct img_registry_opts *opts, struct img_registry **out,
                  struct oci_error **err)
{
  struct img_http_opts hopts = {
    .ca_file = opts->ca_file,
    .insecure = opts->insecure,
    .retries = opts->retries,
    .backoff_ms = opts->backoff_ms,
    .max_parallel = opts->max_parallel,
    .log = opts->log,
    .log_data = opts->log_data,
    .cancelled = opts->cancelled,
    .cancel_data = opts->cancel_data,
  };
  struct img_auth_opts aopts = {
    .creds = opts->creds,
    .creds_source = opts->creds_source,
    .docker_config_dir = opts->docker_config_dir,
    .podman_auth_file = opts->podman_auth_file,
  };
  cleanup_http struct img_http *http = NULL;
  struct img_registry *reg;

  if (img_http_new(&hopts, &http, err) < 0)
    return -1;
  reg = xzalloc(sizeof *reg);
  reg->registry = xstrdup(registry);
  reg->host = xstrdup(img_registry_api_host(registry));
  reg->base = xasprintf("https://%s", reg->host);
  reg->may_use_http = img_http_host_insecure(http, reg->host) || host_is_loopback(reg->host);
  reg->log = opts->log;
  reg->log_data = opts->log_data;
  if (img_auth_new(&aopts, http, &reg->auth, err) < 0)
    {
      img_registry_free(reg);
      return -1;
    }
  reg->http = steal_pointer(&http);
  *out = reg;
  return 0;
}

void
img_registry_free(struct img_registry *reg)
{
  if (reg == NULL)
    return;
  img_auth_free(reg->auth);
  img_http_free(reg->http);
  free(reg->registry);
  free(reg->host);
  free(reg->base);
  free(reg);
}

void
img_manifest_ref_clear(struct img_manifest_ref *m)
{
  free(m->digest);
  free(m->media_type);
  memset(m, 0, sizeof *m);
  m->size = -1;
}

static char *
repo_scope(const char *repo)
{
  return xasprintf("repository:%s:pull", repo);
}

/* The distribution error codes (distribution-spec "Error Codes") in words. */
static const char *
error_code_text(const char *code)
{
  static const struct
  {
    const char *code, *text;
  } map[] = {
    { "BLOB_UNKNOWN", "blob unknown to registry" },
    { "MANIFEST_UNKNOWN", "manifest unknown" },
    { "NAME_UNKNOWN", "repository name not known to registry" },
    { "NAME_INVALID", "invalid repository name" },
    { "DIGEST_INVALID", "provided digest did not match uploaded content" },
    { "MANIFEST_INVALID", "manifest invalid" },
    { "UNAUTHORIZED", "authentication required" },
    { "DENIED", "requested access to the resource is denied" },
    { "UNSUPPORTED", "the operation is unsupported" },
    { "TOOMANYREQUESTS", "too many requests" },
  };

  for (size_t i = 0; i < OCI_ARRAY_SIZE(map); i++)
    if (strcmp(code, map[i].code) == 0)
      return map[i].text;
  return NULL;
}

/* "manifest unknown: <message>" from {"errors":[{"code","message"}]}, or
 * the HTTP status when the body says nothing useful. */
static char *
response_error_text(const struct img_http_response *resp)
{
  cleanup_json_value struct json_value *doc = NULL;
  cleanup_error struct oci_error *ignored = NULL;
  const struct json_value *errors, *e, *code, *msg;

  if (resp->body_len > 0 && json_parse("error body", resp->body, resp->body_len, &doc, &ignored) == 0
      && doc->type == JSON_OBJECT && (errors = json_object_get(doc, "errors")) && errors->type == JSON_ARRAY
      && errors->u.array.len > 0 && (e = errors->u.array.items[0])->type == JSON_OBJECT)
    {
      code = json_object_get(e, "code");
      msg = json_object_get(e, "message");
      const char *c = code && code->type == JSON_STRING ? code->u.string : NULL;
      const char *m = msg && msg->type == JSON_STRING ? msg->u.string : NULL;
      const char *t = c ? error_code_text(c) : NULL;
      if (t && m && strcasecmp(t, m) != 0)
        return xasprintf("%s: %s", t, m);
      if (t || m)
        return xstrdup(t ? t : m);
      if (c)
        return xstrdup(c);
    }
  if (resp->status == 429)
    return xstrdup("too many requests");
  return xasprintf("HTTP %ld", resp->status);
}

static int
status_errno(long status)
{
  switch (status)
    {
    case 401:
    case 403:
      return EACCES;
    case 404:
      return ENOENT;
    case 429:
      return EAGAIN;
    default:
      return EPROTO;
    }
}

/* "100;w=21600" → "100 per 21600 s" */
static char *
ratelimit_text(const char *v)
{
  long n = 0, w = 0;
  const char *win = v ? strstr(v, "w=") : NULL;

  if (v == NULL)
    return NULL;
  n = strtol(v, NULL, 10);
  if (win)
    w = strtol(win + 2, NULL, 10);
  return w > 0 ? xasprintf("%ld per %ld s", n, w) : xasprintf("%ld", n);
}

/* The first error code of a distribution error body, or NULL. */
static char *
response_error_code(const struct img_http_response *resp)
{
  cleanup_json_value struct json_value *doc = NULL;
  cleanup_error struct oci_error *ignored = NULL;
  const struct json_value *errors, *e, *code;

  if (resp->body_len > 0 && json_parse("error body", resp->body, resp->body_len, &doc, &ignored) == 0
      && doc->type == JSON_OBJECT && (errors = json_object_get(doc, "errors")) && errors->type == JSON_ARRAY
      && errors->u.array.len > 0 && (e = errors->u.array.items[0])->type == JSON_OBJECT
      && (code = json_object_get(e, "code")) && code->type == JSON_STRING)
    return xstrdup(code->u.string);
  return NULL;
}

/* Whether RESP says the repository itself is unknown: 404 NAME_UNKNOWN, or
 * (as Docker Hub answers for a name it does not have, to anyone) a 401 or
 * 403 whose challenge says the token's scope is not enough. */
static bool
repository_unknown(const struct img_http_response *resp)
{
  cleanup_free char *code = response_error_code(resp);

  if (resp->status == 404)
    return code && strcmp(code, "NAME_UNKNOWN") == 0;
  if (resp->status == 401 || resp->status == 403)
    {
      cleanup_challenge struct img_challenge ch = { 0 };
      cleanup_error struct oci_error *ignored = NULL;
      const char *www = img_http_header(resp, "www-authenticate");
      if (code && (strcmp(code, "NAME_UNKNOWN") == 0))
        return true;
      return www && img_challenge_parse(www, &ch, &ignored) == 0 && ch.error
             && strcmp(ch.error, "insufficient_scope") == 0;
    }
  return false;
}

/* REPO (NULL: not about one repository) is needed to name it when the
 * registry says it does not know it. */
static int
response_error(struct img_registry *reg, const struct img_http_response *resp, const char *repo,
               const char *what, struct oci_error **err)
{
  cleanup_free char *text = response_error_text(resp);

  if (resp->status == 429)
    {
      cleanup_free char *limit = ratelimit_text(img_http_header(resp, "ratelimit-limit"));
      cleanup_free char *remaining = ratelimit_text(img_http_header(resp, "ratelimit-remaining"));
      const char *retry = img_http_header(resp, "retry-after");
      return oci_error_fail(
          err, EAGAIN,
          "%s: rate limit reached (429): %s%s%s%s%s%s%s; log in with `imgtool login %s` for a "
          "higher limit",
          what, text, limit ? "; limit " : "", limit ? limit : "", remaining ? ", remaining " : "",
          remaining ? remaining : "", retry ? "; retry after " : "", retry ? retry : "", reg->registry);
    }
  /* A registry cannot tell a stranger whether a private repository exists,
   * so "unknown" may also mean "not yours": say both. */
  if (repo && repository_unknown(resp))
    return oci_error_fail(err, resp->status == 404 ? ENOENT : EACCES,
                          "%s: repository %s/%s does not exist, or it is private and needs a login "
                          "(`imgtool login %s`, or --creds)",
                          what, reg->registry, repo, reg->registry);
  if (resp->status == 401 || resp->status == 403)
    {
      char status[32] = "";
      if (strncmp(text, "HTTP ", 5) != 0)
        snprintf(status, sizeof status, " (HTTP %ld)", resp->status);
      return oci_error_fail(
          err, EACCES,
          "%s: %s%s; if the repository is private, log in with `imgtool login %s` or use --creds", what, text,
          status, reg->registry);
    }
  return oci_error_fail(err, status_errno(resp->status), "%s: %s", what, text);
}

static void
log_ratelimit(struct img_registry *reg, const struct img_http_response *resp)
{
  const char *rem = img_http_header(resp, "ratelimit-remaining");

  if (rem)
    {
      cleanup_free char *r = ratelimit_text(rem);
      cleanup_free char *l = ratelimit_text(img_http_header(resp, "ratelimit-limit"));
      reg_log(reg, "%s: pull rate limit: %s remaining of %s", reg->registry, r, l ? l : "?");
    }
}

/* The token (or basic auth) for the 401 in RESP; *header owned by the cache. */
static int
answer_challenge(struct img_registry *reg, const struct img_http_response *resp, const char *scope,
                 const char **header, struct oci_error **err)
{
  cleanup_challenge struct img_challenge ch = { 0 };
  const char *www = img_http_header(resp, "www-authenticate");

  if (www == NULL)
    return oci_error_fail(err, EACCES, "%s answered 401 without a WWW-Authenticate challenge", reg->registry);
  if (img_challenge_parse(www, &ch, err) < 0)
    return oci_error_wrap(err, "%s", reg->registry);
  reg_log(reg, "%s: %s challenge, realm %s%s%s", reg->registry, ch.scheme, ch.realm ? ch.realm : "(none)",
          ch.error ? ", error " : "", ch.error ? ch.error : "");
  return img_auth_answer(reg->auth, reg->registry, &ch, scope, header, err);
}

static bool
fall_back_to_http(struct img_registry *reg, const struct img_http_response *resp)
{
  if (!resp->tls_failed || !reg->may_use_http || reg->tried_http)
    return false;
  reg->tried_http = true;
  free(reg->base);
  reg->base = xasprintf("http://%s", reg->host);
  reg_log(reg, "%s does not speak TLS; using plain HTTP", reg->host);
  return true;
}

/* Send REQ for PATH (under /v2/), answering one 401 with a token. */
static int
registry_send(struct img_registry *reg, const char *path, const char *scope, struct img_http_request *req,
              struct img_http_response *resp, struct oci_error **err)
{
  cleanup_free char *url = NULL;
  const char *header;
  int r;

  for (bool answered = false;;)
    {
      free(url);
      url = xasprintf("%s/v2/%s", reg->base, path);
      req->url = url;
      req->authorization = img_auth_cached(reg->auth, reg->registry, scope);
      img_http_response_clear(resp);
      r = img_http_send(reg->http, req, resp, err);
      if (r < 0 && fall_back_to_http(reg, resp))
        {
          oci_error_free(*err);
          *err = NULL;
          continue;
        }
      if (r < 0)
        return -1;
      if (resp->status != 401 || answered)
        break;
      if (answer_challenge(reg, resp, scope, &header, err) < 0)
        return -1;
      answered = true;
    }
  req->url = NULL;
  req->authorization = NULL;
  return 0;
}

static char *
media_type_of(const char *content_type)
{
  size_t n;

  if (content_type == NULL)
    return NULL;
  n = strcspn(content_type, ";");
  while (n > 0 && isspace((unsigned char)content_type[n - 1]))
    n--;
  return xstrndup(content_type, n);
}

static bool
is_schema1(const char *mt)
{
  return mt
         && (strcmp(mt, DOCKER_MT_SCHEMA1) == 0 || strcmp(mt, DOCKER_MT_SCHEMA1_PLAIN) == 0
             || strcmp(mt, "application/vnd.docker.distribution.manifest.v1+json") == 0);
}

static int
schema1_error(const char *what, struct oci_error **err)
{
  return oci_error_fail(
      err, ENOTSUP,
      "%s: not supported: Docker image manifest schema 1 (deprecated since 2017); the image must be "
      "pushed again with a current client",
      what);
}

/* A manifest's 404: an unknown repository, or only an unknown manifest in
 * it?  distribution answers MANIFEST_UNKNOWN either way (and a HEAD has no
 * body at all); its tag list says NAME_UNKNOWN for a repository it does not
 * have.  Any other answer (or none) leaves it an unknown manifest. */
static int
manifest_unknown(struct img_registry *reg, const char *repo, const char *scope, const char *what,
                 const char *missing, struct oci_error **err)
{
  cleanup_http_response struct img_http_response tags = { 0 };
  cleanup_error struct oci_error *ignored = NULL;
  cleanup_free char *path = xasprintf("%s/tags/list?n=1", repo);
  struct img_http_request req = { .max_body = 64 << 10 };

  if (registry_send(reg, path, scope, &req, &tags, &ignored) == 0 && tags.status != 200
      && repository_unknown(&tags))
    return response_error(reg, &tags, repo, what, err);
  return oci_error_fail(err, ENOENT, "%s: manifest unknown (%s)", what, missing);
}

int
img_registry_resolve(struct img_registry *reg, const char *repo, const char *tag,
                     struct img_manifest_ref *out, struct oci_error **err)
{
  cleanup_http_response struct img_http_response resp = { 0 };
  cleanup_free char *scope = repo_scope(repo);
  cleanup_free char *path = xasprintf("%s/manifests/%s", repo, tag);
  cleanup_free char *what = xasprintf("resolving %s/%s:%s", reg->registry, repo, tag);
  struct img_http_request req = { .method = "HEAD", .accept = IMG_MANIFEST_ACCEPT };
  const char *digest, *len;

  memset(out, 0, sizeof *out);
  out->size = -1;
  if (registry_send(reg, path, scope, &req, &resp, err) < 0)
    return oci_error_wrap(err, "%s", what);
  log_ratelimit(reg, &resp);
  if (resp.status != 200)
    {
      if (resp.status == 404)
        return manifest_unknown(reg, repo, scope, what, "no such tag", err);
      return response_error(reg, &resp, repo, what, err);
    }
  out->media_type = media_type_of(img_http_header(&resp, "content-type"));
  if (is_schema1(out->media_type))
    {
      img_manifest_ref_clear(out);
      return schema1_error(what, err);
    }
  len = img_http_header(&resp, "content-length");
  if (len)
    out->size = strtoll(len, NULL, 10);
  digest = img_http_header(&resp, "docker-content-digest");
  if (digest && img_digest_valid(digest))
    {
      out->digest = xstrdup(digest);
      return 0;
    }

  /* No usable digest header: GET the manifest by tag and hash it. */
  {
    cleanup_http_response struct img_http_response get = { 0 };
    struct img_http_request greq = { .accept = IMG_MANIFEST_ACCEPT, .max_body = OCI_MANIFEST_MAX_SIZE };
    char d[IMG_DIGEST_LEN];
    if (registry_send(reg, path, scope, &greq, &get, err) < 0)
      {
        img_manifest_ref_clear(out);
        return oci_error_wrap(err, "%s", what);
      }
    if (get.status != 200)
      {
        img_manifest_ref_clear(out);
        return response_error(reg, &get, repo, what, err);
      }
    img_sha256_digest(get.body, get.body_len, d);
    out->digest = xstrdup(d);
    out->size = get.body_len;
  }
  return 0;
}

/* The body's mediaType (when present) must agree with Content-Type, and
 * schema 1 is refused whatever the headers say. */
static int
check_manifest_body(const char *what, const char *content_type, const char *buf, size_t len,
                    char **media_type, struct oci_error **err)
{
  cleanup_json_value struct json_value *doc = NULL;
  const struct json_value *mt, *sv;
  int64_t version = 0;

  if (json_parse(what, buf, len, &doc, err) < 0)
    return -1;
  if (doc->type != JSON_OBJECT)
    return oci_error_fail(err, EINVAL, "%s: not a JSON object", what);
  sv = json_object_get(doc, "schemaVersion");
  if (sv && sv->type == JSON_NUMBER && json_number_int64(sv, &version) == 0 && version == 1)
    return schema1_error(what, err);
  mt = json_object_get(doc, "mediaType");
  if (mt && mt->type == JSON_STRING)
    {
      if (is_schema1(mt->u.string))
        return schema1_error(what, err);
      if (content_type && strcmp(content_type, mt->u.string) != 0)
        return oci_error_fail(err, EPROTO,
                              "%s: Content-Type `%s` does not match the manifest's mediaType `%s`", what,
                              content_type, mt->u.string);
      *media_type = xstrdup(mt->u.string);
      return 0;
    }
  if (content_type && (oci_media_type_is_index(content_type) || oci_media_type_is_manifest(content_type)))
    {
      *media_type = xstrdup(content_type);
      return 0;
    }
  /* Neither says: tell index from manifest by shape (umoci writes no mediaType). */
  const char *sniffed = oci_image_sniff_media_type(what, buf, len, err);
  if (sniffed == NULL)
    return -1;
  *media_type = xstrdup(sniffed);
  return 0;
}

int
img_registry_get_manifest(struct img_registry *reg, const char *repo, const char *digest, char **buf,
                          size_t *len, char **media_type, struct oci_error **err)
{
  cleanup_http_response struct img_http_response resp = { 0 };
  cleanup_free char *scope = repo_scope(repo);
  cleanup_free char *path = xasprintf("%s/manifests/%s", repo, digest);
  cleanup_free char *what = xasprintf("manifest %s/%s@%s", reg->registry, repo, digest);
  cleanup_free char *content_type = NULL;
  struct img_http_request req = { .accept = IMG_MANIFEST_ACCEPT, .max_body = OCI_MANIFEST_MAX_SIZE };
  const char *header_digest;
  char got[IMG_DIGEST_LEN];

  if (!img_digest_valid(digest))
    return oci_error_fail(err, EINVAL, "%s: unsupported digest", what);
  if (registry_send(reg, path, scope, &req, &resp, err) < 0)
    {
      if ((*err)->status == EFBIG)
        {
          oci_error_free(*err);
          *err = NULL;
          return oci_error_fail(err, EFBIG, "%s: larger than the %u MiB limit for manifests", what,
                                OCI_MANIFEST_MAX_SIZE >> 20);
        }
      return oci_error_wrap(err, "fetching %s", what);
    }
  log_ratelimit(reg, &resp);
  if (resp.status == 404 && !repository_unknown(&resp))
    return manifest_unknown(reg, repo, scope, what, "no such digest", err);
  if (resp.status != 200)
    return response_error(reg, &resp, repo, what, err);

  img_sha256_digest(resp.body, resp.body_len, got);
  if (strcmp(got, digest) != 0)
    return oci_error_fail(err, EBADMSG, "%s: digest mismatch: expected %s got %s", what, digest, got);
  header_digest = img_http_header(&resp, "docker-content-digest");
  if (header_digest && strcmp(header_digest, got) != 0)
    return oci_error_fail(err, EBADMSG, "%s: Docker-Content-Digest %s does not match the content (%s)", what,
                          header_digest, got);
  content_type = media_type_of(img_http_header(&resp, "content-type"));
  if (is_schema1(content_type))
    return schema1_error(what, err);
  if (content_type && !oci_media_type_is_index(content_type) && !oci_media_type_is_manifest(content_type))
    {
      /* Some registries answer application/json; the body then decides. */
      free(content_type);
      content_type = NULL;
    }
  if (check_manifest_body(what, content_type, resp.body, resp.body_len, media_type, err) < 0)
    return -1;
  *len = resp.body_len;
  *buf = steal_pointer(&resp.body);
  return 0;
}

int
img_registry_check_login(struct img_registry *reg, struct oci_error **err)
{
  cleanup_http_response struct img_http_response resp = { 0 };
  cleanup_free char *what = xasprintf("logging in to %s", reg->registry);
  struct img_http_request req = { 0 };

  /* /v2/ asks for a token with no scope: the realm checks the password
   * and the registry checks the token it signed. */
  if (registry_send(reg, "", NULL, &req, &resp, err) < 0)
    return oci_error_wrap(err, "%s", what);
  if (resp.status == 200)
    return 0;
  if (resp.status == 401 || resp.status == 403)
    {
      cleanup_free char *text = response_error_text(&resp);
      return oci_error_fail(err, EACCES, "%s: credentials refused: %s (%ld)", what, text, resp.status);
    }
  return response_error(reg, &resp, NULL, what, err);
}

/* Sink into a memory buffer with a cap, for configs. */
struct mem_sink
{
  char *buf;
  size_t len, max;
};

static int
mem_sink_write(void *data, const void *buf, size_t len, struct oci_error **err)
{
  struct mem_sink *m = data;

  if (m->len + len > m->max)
    return oci_error_fail(err, EFBIG, "blob larger than %zu bytes", m->max);
  m->buf = xrealloc(m->buf, m->len + len + 1);
  memcpy(m->buf + m->len, buf, len);
  m->len += len;
  m->buf[m->len] = '\0';
  return 0;
}

static int
mem_sink_restart(void *data, struct oci_error **err)
{
  struct mem_sink *m = data;

  m->len = 0;
  return 0;
}

int
img_registry_get_blob(struct img_registry *reg, const char *repo, const char *digest, size_t max, char **buf,
                      size_t *len, struct oci_error **err)
{
  struct mem_sink m = { .max = max };
  struct img_registry_blob b = {
    .digest = digest, .size = -1, .sink = mem_sink_write, .restart = mem_sink_restart, .sink_data = &m
  };
  char got[IMG_DIGEST_LEN];

  if (img_registry_fetch_blobs(reg, repo, &b, 1, err) < 0)
    {
      free(m.buf);
      return -1;
    }
  img_sha256_digest(m.buf ? m.buf : "", m.len, got);
  if (strcmp(got, digest) != 0)
    {
      free(m.buf);
      return oci_error_fail(err, EBADMSG, "blob %s: digest mismatch: expected %s got %s", digest, digest,
                            got);
    }
  if (m.buf == NULL)
    m.buf = xstrdup("");
  *buf = m.buf;
  *len = m.len;
  return 0;
}

struct blob_batch
{
  struct img_http_request *reqs;
  struct img_http_response *resps;
  struct img_http_request **req_ptrs;
  struct img_http_response **resp_ptrs;
  char **urls;
  size_t n;
};

static void
blob_batch_clear(struct blob_batch *b)
{
  for (size_t i = 0; i < b->n; i++)
    {
      img_http_response_clear(&b->resps[i]);
      free(b->urls[i]);
    }
  free(b->reqs);
  free(b->resps);
  free(b->req_ptrs);
  free(b->resp_ptrs);
  free(b->urls);
}

int
img_registry_fetch_blobs(struct img_registry *reg, const char *repo, struct img_registry_blob *blobs,
                         size_t n, struct oci_error **errs)
{
  __attribute__((cleanup(blob_batch_clear))) struct blob_batch b = { 0 };
  cleanup_free char *scope = repo_scope(repo);
  cleanup_free size_t *todo = xcalloc(n ? n : 1, sizeof *todo);
  size_t n_todo = n;
  int ret = 0;

  b.n = n;
  b.reqs = xcalloc(n ? n : 1, sizeof *b.reqs);
  b.resps = xcalloc(n ? n : 1, sizeof *b.resps);
  b.req_ptrs = xcalloc(n ? n : 1, sizeof *b.req_ptrs);
  b.resp_ptrs = xcalloc(n ? n : 1, sizeof *b.resp_ptrs);
  b.urls = xcalloc(n ? n : 1, sizeof *b.urls);
  for (size_t i = 0; i < n; i++)
    todo[i] = i;

  /* A round sends every pending blob; a 401 (an expired token) gets one
   * more round with a fresh token, a TLS failure one more over HTTP. */
  for (int round = 0; n_todo > 0 && round < 3; round++)
    {
      const char *auth_header = img_auth_cached(reg->auth, reg->registry, scope);
      cleanup_free struct oci_error **round_errs = xcalloc(n_todo, sizeof *round_errs);
      size_t next = 0;
      bool need_token = false;

      for (size_t k = 0; k < n_todo; k++)
        {
          size_t i = todo[k];
          free(b.urls[i]);
          b.urls[i] = xasprintf("%s/v2/%s/blobs/%s", reg->base, repo, blobs[i].digest);
          img_http_response_clear(&b.resps[i]);
          b.reqs[i] = (struct img_http_request){
            .url = b.urls[i],
            .authorization = auth_header,
            .sink = blobs[i].sink,
            .restart = blobs[i].restart,
            .sink_data = blobs[i].sink_data,
            .offset = blobs[i].offset,
            .expected_size = blobs[i].size,
          };
          b.req_ptrs[k] = &b.reqs[i];
          b.resp_ptrs[k] = &b.resps[i];
        }
      img_http_send_many(reg->http, b.req_ptrs, b.resp_ptrs, round_errs, n_todo);

      for (size_t k = 0; k < n_todo; k++)
        {
          size_t i = todo[k];
          struct img_http_response *resp = &b.resps[i];
          blobs[i].offset = b.reqs[i].offset;
          if (round_errs[k])
            {
              if (fall_back_to_http(reg, resp) || (reg->tried_http && resp->tls_failed))
                {
                  oci_error_free(round_errs[k]);
                  todo[next++] = i;
                  continue;
                }
              errs[i] = steal_pointer(&round_errs[k]);
              oci_error_wrap(&errs[i], "blob %s", blobs[i].digest);
              ret = -1;
              continue;
            }
          if (resp->status == 200 || resp->status == 206)
            continue;
          if (resp->status == 401 && round == 0)
            {
              need_token = true;
              todo[next++] = i;
              continue;
            }
          cleanup_free char *what = xasprintf("blob %s", blobs[i].digest);
          response_error(reg, resp, repo, what, &errs[i]);
          ret = -1;
        }
      n_todo = next;
      if (need_token && n_todo > 0)
        {
          const char *header;
          struct img_http_response *first = NULL;
          for (size_t k = 0; k < n_todo && first == NULL; k++)
            if (b.resps[todo[k]].status == 401)
              first = &b.resps[todo[k]];
          if (first && answer_challenge(reg, first, scope, &header, &errs[todo[0]]) < 0)
            {
              for (size_t k = 1; k < n_todo; k++)
                oci_error_fail(&errs[todo[k]], EACCES, "blob %s: not authorised", blobs[todo[k]].digest);
              return -1;
            }
        }
    }
  for (size_t k = 0; k < n_todo; k++)
    if (errs[todo[k]] == NULL)
      {
        cleanup_free char *what = xasprintf("blob %s", blobs[todo[k]].digest);
        response_error(reg, &b.resps[todo[k]], repo, what, &errs[todo[k]]);
        ret = -1;
      }
  return ret;
}
