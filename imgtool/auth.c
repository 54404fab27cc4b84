/* The bearer-token flow and the token cache. */
#include <config.h>

#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth.h"
#include "base64.h"
#include "json.h"
#include "reference.h"
#include "util.h"

#define TOKEN_RESPONSE_MAX (1u << 20)
/* token.md: "When omitted, this defaults to 60 seconds". */
#define DEFAULT_EXPIRES_IN 60

struct token_entry
{
  char *registry;
  char *scope;
  char *header; /* "Bearer …" or "Basic …" */
  uint64_t expires_ms;
};

struct img_auth
{
  struct img_auth_opts opts;
  char *creds;
  struct img_http *http;
  struct token_entry *tokens;
  size_t n_tokens;
  /* Credentials are looked up once per registry and only when a
   * challenge asks for them. */
  char *creds_registry;
  struct img_credentials cred;
  bool cred_looked_up;
  bool cred_found;
};

static uint64_t
wall_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
img_auth_new(const struct img_auth_opts *opts, struct img_http *http, struct img_auth **out,
             struct oci_error **err)
{
  struct img_auth *a = xzalloc(sizeof *a);

  a->creds = xstrdup(opts->creds);
  a->opts.creds = a->creds;
  a->opts.creds_source = opts->creds_source;
  a->opts.docker_config_dir = opts->docker_config_dir;
  a->opts.podman_auth_file = opts->podman_auth_file;
  a->http = http;
  *out = a;
  return 0;
}

static void
token_entry_clear(struct token_entry *t)
{
  if (t->header)
    explicit_bzero(t->header, strlen(t->header));
  free(t->registry);
  free(t->scope);
  free(t->header);
}

void
img_auth_free(struct img_auth *auth)
{
  if (auth == NULL)
    return;
  for (size_t i = 0; i < auth->n_tokens; i++)
    token_entry_clear(&auth->tokens[i]);
  free(auth->tokens);
  img_credentials_clear(&auth->cred);
  free(auth->creds_registry);
  if (auth->creds)
    explicit_bzero(auth->creds, strlen(auth->creds));
  free(auth->creds);
  free(auth);
}

static struct token_entry *
find_token(struct img_auth *auth, const char *registry, const char *scope)
{
  for (size_t i = 0; i < auth->n_tokens; i++)
    if (strcmp(auth->tokens[i].registry, registry) == 0
        && strcmp(auth->tokens[i].scope, scope ? scope : "") == 0)
      return &auth->tokens[i];
  return NULL;
}

const char *
img_auth_cached(struct img_auth *auth, const char *registry, const char *scope)
{
  struct token_entry *t = find_token(auth, registry, scope);

  if (t == NULL || wall_ms() >= t->expires_ms)
    return NULL;
  return t->header;
}

static const char *
store_token(struct img_auth *auth, const char *registry, const char *scope, char *header, long expires_in)
{
  struct token_entry *t = find_token(auth, registry, scope);
  /* Refresh a little early so that a token does not expire in flight. */
  long slack = expires_in > 60 ? 30 : expires_in / 4;

  if (t == NULL)
    {
      auth->tokens = xrealloc(auth->tokens, (auth->n_tokens + 1) * sizeof *auth->tokens);
      t = &auth->tokens[auth->n_tokens++];
      memset(t, 0, sizeof *t);
      t->registry = xstrdup(registry);
      t->scope = xstrdup(scope ? scope : "");
    }
  else
    {
      explicit_bzero(t->header, strlen(t->header));
      free(t->header);
    }
  t->header = header;
  t->expires_ms = wall_ms() + (uint64_t)(expires_in - slack) * 1000;
  return t->header;
}

static int
get_credentials(struct img_auth *auth, const char *registry, struct img_credentials **out,
                struct oci_error **err)
{
  int r;

  if (!auth->cred_looked_up || auth->creds_registry == NULL || strcmp(auth->creds_registry, registry) != 0)
    {
      img_credentials_clear(&auth->cred);
      free(auth->creds_registry);
      auth->creds_registry = xstrdup(registry);
      r = img_credentials_lookup(&auth->opts, registry, &auth->cred, err);
      if (r < 0)
        return -1;
      auth->cred_looked_up = true;
      auth->cred_found = r > 0;
    }
  *out = auth->cred_found ? &auth->cred : NULL;
  return 0;
}

/* A realm over plain HTTP only gets credentials on loopback: anywhere else
 * they would cross the network in clear text. */
static bool
realm_may_get_secrets(const char *realm)
{
  if (strncasecmp(realm, "https://", 8) == 0)
    return true;
  return strncasecmp(realm, "http://127.", 11) == 0 || strncasecmp(realm, "http://localhost", 16) == 0
         || strncasecmp(realm, "http://[::1]", 12) == 0;
}

static char *
token_query_url(const char *realm, const struct img_challenge *ch, const char *scope)
{
  cleanup_free char *url = NULL;
  const char *sep = strchr(realm, '?') ? "&" : "?";

  url = xstrdup(realm);
  if (ch->service)
    {
      cleanup_free char *e = img_http_escape(ch->service);
      char *n = xasprintf("%s%sservice=%s", url, sep, e);
      free(url);
      url = n;
      sep = "&";
    }
  /* Several scopes in one challenge are separated by spaces; the token
   * endpoint wants one scope= parameter each. */
  for (const char *p = scope; p && *p;)
    {
      size_t n = strcspn(p, " ");
      if (n > 0)
        {
          cleanup_free char *one = xstrndup(p, n);
          cleanup_free char *e = img_http_escape(one);
          char *u = xasprintf("%s%sscope=%s", url, sep, e);
          free(url);
          url = u;
          sep = "&";
        }
      p += n;
      while (*p == ' ')
        p++;
    }
  return steal_pointer(&url);
}

static char *
oauth_form(const struct img_challenge *ch, const char *scope, const char *refresh_token)
{
  cleanup_free char *rt = img_http_escape(refresh_token);
  cleanup_free char *svc = img_http_escape(ch->service ? ch->service : "");
  char *form = xasprintf("grant_type=refresh_token&refresh_token=%s&service=%s&client_id=imgtool", rt, svc);

  explicit_bzero(rt, strlen(rt));
  for (const char *p = scope; p && *p;)
    {
      size_t n = strcspn(p, " ");
      if (n > 0)
        {
          cleanup_free char *one = xstrndup(p, n);
          cleanup_free char *e = img_http_escape(one);
          char *f = xasprintf("%s&scope=%s", form, e);
          explicit_bzero(form, strlen(form));
          free(form);
          form = f;
        }
      p += n;
      while (*p == ' ')
        p++;
    }
  return form;
}

/* The distribution error body, or the first line of whatever came back,
 * for a message. */
static char *
token_error_detail(const struct img_http_response *resp)
{
  cleanup_json_value struct json_value *doc = NULL;
  cleanup_error struct oci_error *ignored = NULL;
  const struct json_value *errors;

  if (resp->body_len == 0)
    return xstrdup("");
  if (json_parse("token response", resp->body, resp->body_len, &doc, &ignored) == 0
      && doc->type == JSON_OBJECT)
    {
      errors = json_object_get(doc, "errors");
      if (errors && errors->type == JSON_ARRAY && errors->u.array.len > 0)
        {
          const char *m = json_object_get_string(errors->u.array.items[0], "message");
          const char *c = json_object_get_string(errors->u.array.items[0], "code");
          if (m)
            return xasprintf(": %s%s%s", c ? c : "", c ? ": " : "", m);
        }
      const char *d = json_object_get_string(doc, "details");
      if (d == NULL)
        d = json_object_get_string(doc, "error_description");
      if (d == NULL)
        d = json_object_get_string(doc, "error");
      if (d)
        return xasprintf(": %s", d);
    }
  return xasprintf(": %.*s", (int)strcspn(resp->body, "\r\n"), resp->body);
}

static int
fetch_token(struct img_auth *auth, const char *registry, const struct img_challenge *ch, const char *scope,
            struct img_credentials *cred, const char **header, struct oci_error **err)
{
  cleanup_http_response struct img_http_response resp = { 0 };
  cleanup_json_value struct json_value *doc = NULL;
  cleanup_free char *url = NULL;
  cleanup_free char *basic = NULL;
  cleanup_free char *form = NULL;
  struct img_http_request req = { 0 };
  const char *token;
  const struct json_value *exp;
  long expires_in = DEFAULT_EXPIRES_IN;
  int64_t v;

  if (cred && !realm_may_get_secrets(ch->realm))
    return oci_error_fail(err, EPERM, "refusing to send credentials for %s to `%s` over plain HTTP", registry,
                          ch->realm);
  req.max_body = TOKEN_RESPONSE_MAX;
  /* As docker does: the realm an insecure registry names is as insecure as
   * the registry itself (plain HTTP is still refused for credentials). */
  req.insecure_tls = img_http_host_insecure(auth->http, img_registry_api_host(registry));
  if (cred && cred->identity_token)
    {
      form = oauth_form(ch, scope, cred->identity_token);
      url = xstrdup(ch->realm);
      req.method = "POST";
      req.content_type = "application/x-www-form-urlencoded";
      req.body = form;
      req.body_len = strlen(form);
    }
  else
    {
      url = token_query_url(ch->realm, ch, scope);
      if (cred)
        {
          cleanup_free char *pair = xasprintf("%s:%s", cred->username, cred->password);
          cleanup_free char *b64 = img_base64_encode(pair, strlen(pair));
          basic = xasprintf("Basic %s", b64);
          explicit_bzero(pair, strlen(pair));
          explicit_bzero(b64, strlen(b64));
          req.authorization = basic;
        }
    }
  req.url = url;
  int r = img_http_send(auth->http, &req, &resp, err);
  if (basic)
    explicit_bzero(basic, strlen(basic));
  if (form)
    explicit_bzero(form, strlen(form));
  if (r < 0)
    return oci_error_wrap(err, "fetching a token for %s", registry);
  if (resp.status == 401 || resp.status == 403)
    {
      cleanup_free char *detail = token_error_detail(&resp);
      if (cred)
        return oci_error_fail(
            err, EACCES, "authenticating to %s with credentials from %s: invalid username/password (%ld)%s",
            registry, cred->source, resp.status, detail);
      return oci_error_fail(err, EACCES,
                            "authenticating to %s: token server refused an anonymous token (%ld)%s", registry,
                            resp.status, detail);
    }
  if (resp.status != 200)
    {
      cleanup_free char *detail = token_error_detail(&resp);
      return oci_error_fail(err, EPROTO, "fetching a token for %s from `%s`: HTTP %ld%s", registry, ch->realm,
                            resp.status, detail);
    }
  if (json_parse("token response", resp.body, resp.body_len, &doc, err) < 0)
    return oci_error_wrap(err, "fetching a token for %s", registry);
  token = json_object_get_string(doc, "token");
  if (token == NULL || token[0] == '\0')
    token = json_object_get_string(doc, "access_token");
  if (token == NULL || token[0] == '\0')
    return oci_error_fail(err, EPROTO, "token response from `%s` holds no token", ch->realm);
  exp = json_object_get(doc, "expires_in");
  if (exp && exp->type == JSON_NUMBER && json_number_int64(exp, &v) == 0 && v > 0)
    expires_in = v > 86400 * 365 ? 86400 * 365 : (long)v;
  *header = store_token(auth, registry, scope, xasprintf("Bearer %s", token), expires_in);
  return 0;
}

int
img_auth_answer(struct img_auth *auth, const char *registry, const struct img_challenge *ch,
                const char *scope, const char **header, struct oci_error **err)
{
  struct img_credentials *cred = NULL;
  struct token_entry *old = find_token(auth, registry, scope);

  if (old)
    old->expires_ms = 0;
  if (get_credentials(auth, registry, &cred, err) < 0)
    return -1;
  if (strcmp(ch->scheme, "basic") == 0)
    {
      if (cred == NULL || cred->username == NULL)
        return oci_error_fail(err, EACCES,
                              "%s requires a user name and password: use `imgtool login %s` or --creds",
                              registry, registry);
      cleanup_free char *pair = xasprintf("%s:%s", cred->username, cred->password);
      cleanup_free char *b64 = img_base64_encode(pair, strlen(pair));
      explicit_bzero(pair, strlen(pair));
      *header = store_token(auth, registry, scope, xasprintf("Basic %s", b64), 86400);
      explicit_bzero(b64, strlen(b64));
      return 0;
    }
  return fetch_token(auth, registry, ch, scope, cred, header, err);
}
