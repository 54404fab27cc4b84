#include <config.h>

#include <ctype.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <openssl/evp.h>

#include "auth.h"
#include "json.h"
#include "reference.h"
#include "util.h"

#define CONFIG_MAX_SIZE (4u << 20)
#define HELPER_OUTPUT_MAX (64u << 10)
#define TOKEN_RESPONSE_MAX (1u << 20)
/* token.md: "When omitted, this defaults to 60 seconds". */
#define DEFAULT_EXPIRES_IN 60

extern char **environ;

/* ---- challenges ---- */

void
img_challenge_clear(struct img_challenge *c)
{
  free(c->scheme);
  free(c->realm);
  free(c->service);
  free(c->scope);
  free(c->error);
  memset(c, 0, sizeof *c);
}

static bool
is_tchar(char c)
{
  return c != '\0' && (isalnum((unsigned char)c) || strchr("!#$%&'*+-.^_`|~/", c) != NULL);
}

static const char *
skip_ws(const char *p)
{
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

/* A token68 or quoted-string value; *out newly allocated. */
static const char *
parse_value(const char *p, char **out)
{
  if (*p == '"')
    {
      size_t n = 0;
      char *v = xmalloc(strlen(p) + 1);
      for (p++; *p && *p != '"'; p++)
        {
          if (*p == '\\' && p[1])
            p++;
          v[n++] = *p;
        }
      if (*p != '"')
        {
          free(v);
          return NULL;
        }
      v[n] = '\0';
      *out = v;
      return p + 1;
    }
  const char *start = p;
  while (is_tchar(*p) || *p == '=' || *p == ':')
    p++;
  *out = xstrndup(start, p - start);
  return p;
}

/* After "scheme ", read name=value pairs until the end or until a bare token
 * followed by a space begins the next challenge. */
static const char *
parse_params(const char *p, struct img_challenge *c, bool keep, struct oci_error **err)
{
  for (;;)
    {
      const char *name, *q;
      size_t name_len;
      char *value = NULL;

      p = skip_ws(p);
      while (*p == ',' || *p == ' ' || *p == '\t')
        p++;
      if (*p == '\0')
        return p;
      name = p;
      while (is_tchar(*p))
        p++;
      name_len = p - name;
      q = skip_ws(p);
      if (name_len == 0)
        {
          oci_error_set(err, EINVAL, "malformed WWW-Authenticate: unexpected `%c`", *p);
          return NULL;
        }
      if (*q != '=')
        return name; /* the next challenge's scheme */
      p = parse_value(skip_ws(q + 1), &value);
      if (p == NULL)
        {
          oci_error_set(err, EINVAL, "malformed WWW-Authenticate: unterminated quoted value");
          return NULL;
        }
      if (keep)
        {
          char **slot = NULL;
          if (name_len == 5 && strncasecmp(name, "realm", 5) == 0)
            slot = &c->realm;
          else if (name_len == 7 && strncasecmp(name, "service", 7) == 0)
            slot = &c->service;
          else if (name_len == 5 && strncasecmp(name, "scope", 5) == 0)
            slot = &c->scope;
          else if (name_len == 5 && strncasecmp(name, "error", 5) == 0)
            slot = &c->error;
          if (slot)
            {
              free(*slot);
              *slot = steal_pointer(&value);
            }
        }
      free(value);
      p = skip_ws(p);
      if (*p != ',' && *p != '\0')
        {
          /* "realm=x service=y" is not HTTP, but some servers send it. */
          continue;
        }
    }
}

int
img_challenge_parse(const char *header, struct img_challenge *out, struct oci_error **err)
{
  struct img_challenge basic = { 0 };
  const char *p = header;
  cleanup_free char *first_scheme = NULL;

  memset(out, 0, sizeof *out);
  while (p && *(p = skip_ws(p)))
    {
      const char *s = p;
      cleanup_free char *scheme = NULL;
      struct img_challenge c = { 0 };
      bool want;

      while (*p == ',')
        p++;
      s = p = skip_ws(p);
      while (is_tchar(*p))
        p++;
      if (p == s)
        {
          img_challenge_clear(&basic);
          return oci_error_set(err, EINVAL, "malformed WWW-Authenticate `%s`", header);
        }
      scheme = xstrndup(s, p - s);
      for (char *x = scheme; *x; x++)
        *x = tolower((unsigned char)*x);
      if (first_scheme == NULL)
        first_scheme = xstrdup(scheme);
      want = (strcmp(scheme, "bearer") == 0 && out->scheme == NULL)
             || (strcmp(scheme, "basic") == 0 && basic.scheme == NULL);
      p = parse_params(p, &c, want, err);
      if (p == NULL)
        {
          img_challenge_clear(&c);
          img_challenge_clear(&basic);
          img_challenge_clear(out);
          return oci_error_wrap(err, "`%s`", header);
        }
      if (!want)
        continue;
      c.scheme = steal_pointer(&scheme);
      if (strcmp(c.scheme, "bearer") == 0)
        *out = c;
      else
        basic = c;
    }
  if (out->scheme)
    {
      img_challenge_clear(&basic);
      if (out->realm == NULL || out->realm[0] == '\0')
        {
          img_challenge_clear(out);
          return oci_error_set(err, EINVAL, "Bearer challenge without a realm: `%s`", header);
        }
      return 0;
    }
  if (basic.scheme)
    {
      *out = basic;
      return 0;
    }
  if (first_scheme)
    return oci_error_set(err, ENOTSUP, "not supported: authentication scheme `%s`", first_scheme);
  return oci_error_set(err, EINVAL, "empty WWW-Authenticate header");
}

/* ---- base64 ---- */

static char *
base64_encode(const char *s, size_t len)
{
  char *out = xmalloc(4 * ((len + 2) / 3) + 1);

  EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)len);
  return out;
}

static char *
base64_decode(const char *s, size_t *out_len)
{
  size_t len = strlen(s);
  char *out;
  int n;

  while (len > 0 && isspace((unsigned char)s[len - 1]))
    len--;
  if (len % 4 != 0)
    return NULL;
  out = xmalloc(len / 4 * 3 + 1);
  n = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)s, (int)len);
  if (n < 0)
    {
      free(out);
      return NULL;
    }
  /* EVP_DecodeBlock counts the padding as zero bytes. */
  if (len >= 1 && s[len - 1] == '=')
    n--;
  if (len >= 2 && s[len - 2] == '=')
    n--;
  out[n] = '\0';
  *out_len = n;
  return out;
}

/* ---- credentials ---- */

void
img_credentials_clear(struct img_credentials *c)
{
  /* Secrets do not linger in freed heap memory. */
  if (c->password)
    explicit_bzero(c->password, strlen(c->password));
  if (c->identity_token)
    explicit_bzero(c->identity_token, strlen(c->identity_token));
  free(c->username);
  free(c->password);
  free(c->identity_token);
  free(c->source);
  memset(c, 0, sizeof *c);
}

static bool
is_docker_hub(const char *host)
{
  return strcasecmp(host, "docker.io") == 0 || strcasecmp(host, "index.docker.io") == 0
         || strcasecmp(host, "registry-1.docker.io") == 0;
}

/* "https://index.docker.io/v1/" → "docker.io"; "http://h:5000/x" → "h:5000". */
char *
img_auth_normalise_server(const char *key)
{
  const char *p = strstr(key, "://");
  char *host;

  p = p ? p + 3 : key;
  host = xstrndup(p, strcspn(p, "/"));
  for (char *c = host; *c; c++)
    *c = tolower((unsigned char)*c);
  if (is_docker_hub(host))
    {
      free(host);
      host = xstrdup("docker.io");
    }
  return host;
}

char *
img_auth_server_key(const char *registry)
{
  if (is_docker_hub(registry))
    return xstrdup("https://index.docker.io/v1/");
  return xstrdup(registry);
}

static int
read_json_file(const char *path, struct json_value **out, struct oci_error **err)
{
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  cleanup_free char *buf = NULL;
  struct stat st;
  ssize_t n;

  *out = NULL;
  if (fd < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        return 0;
      return oci_error_errno(err, "open `%s`", path);
    }
  if (fstat(fd, &st) < 0)
    return oci_error_errno(err, "stat `%s`", path);
  if (st.st_size > CONFIG_MAX_SIZE)
    return oci_error_set(err, EFBIG, "`%s` is larger than %u bytes", path, CONFIG_MAX_SIZE);
  buf = xmalloc(st.st_size + 1);
  n = oci_read_all(fd, buf, st.st_size);
  if (n < 0)
    return oci_error_errno(err, "read `%s`", path);
  if (json_parse(path, buf, n, out, err) < 0)
    return -1;
  if ((*out)->type != JSON_OBJECT)
    {
      json_value_free(*out);
      *out = NULL;
      return oci_error_set(err, EINVAL, "%s: expected a JSON object", path);
    }
  return 1;
}

static const char *
json_string_member(const struct json_value *obj, const char *key)
{
  const struct json_value *v = obj ? json_object_get(obj, key) : NULL;

  return (v && v->type == JSON_STRING) ? v->u.string : NULL;
}

/* The member of OBJ (an "auths" or "credHelpers" map) whose key names
 * REGISTRY, however the key is spelt. */
static const struct json_value *
find_server_entry(const struct json_value *obj, const char *registry)
{
  cleanup_free char *want = img_auth_normalise_server(registry);

  if (obj == NULL || obj->type != JSON_OBJECT)
    return NULL;
  for (size_t i = obj->u.object.len; i > 0; i--)
    {
      cleanup_free char *key = img_auth_normalise_server(obj->u.object.keys[i - 1]);
      if (strcmp(key, want) == 0)
        return obj->u.object.values[i - 1];
    }
  return NULL;
}

static int
creds_from_auths_entry(const struct json_value *entry, const char *source, struct img_credentials *out,
                       struct oci_error **err)
{
  const char *auth = json_string_member(entry, "auth");
  const char *identity = json_string_member(entry, "identitytoken");
  const char *user = json_string_member(entry, "username");
  const char *pass = json_string_member(entry, "password");

  if (auth && auth[0])
    {
      size_t len;
      cleanup_free char *decoded = base64_decode(auth, &len);
      char *colon;
      if (decoded == NULL || strlen(decoded) != len || (colon = strchr(decoded, ':')) == NULL)
        {
          if (decoded)
            explicit_bzero(decoded, len);
          return oci_error_set(err, EINVAL, "%s: malformed `auth` entry (expected base64 of user:password)",
                               source);
        }
      out->username = xstrndup(decoded, colon - decoded);
      out->password = xstrdup(colon + 1);
      explicit_bzero(decoded, len);
    }
  else if (user && pass)
    {
      out->username = xstrdup(user);
      out->password = xstrdup(pass);
    }
  if (identity && identity[0])
    out->identity_token = xstrdup(identity);
  if (out->username == NULL && out->identity_token == NULL)
    return 0;
  out->source = xstrdup(source);
  return 1;
}

static bool
helper_name_valid(const char *name)
{
  if (name == NULL || name[0] == '\0')
    return false;
  for (const char *c = name; *c; c++)
    if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
      return false;
  return true;
}

/* What a credential helper printed, and how it ended. */
struct helper_output
{
  char *out; /* stdout, NUL-terminated: may hold a secret, wiped when cleared */
  size_t out_len;
  char *diag; /* stderr, NUL-terminated */
  size_t diag_len;
  int status; /* the exit code, or 128 + the signal that killed it */
};

static void
helper_output_clear(struct helper_output *h)
{
  if (h->out)
    explicit_bzero(h->out, h->out_len);
  free(h->out);
  free(h->diag);
  memset(h, 0, sizeof *h);
}
#define cleanup_helper_output __attribute__((cleanup(helper_output_clear)))

/* Read what FD has into BUF (HELPER_OUTPUT_MAX bytes kept; the rest is read
 * and dropped so that the helper never blocks on a full pipe).  False at the
 * end of the stream. */
static bool
drain_into(int fd, char *buf, size_t *len)
{
  char scratch[4096];
  bool full = *len == HELPER_OUTPUT_MAX;
  ssize_t n;

  do
    n = full ? read(fd, scratch, sizeof scratch) : read(fd, buf + *len, HELPER_OUTPUT_MAX - *len);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return false;
  if (full)
    explicit_bzero(scratch, n);
  else
    *len += n;
  return true;
}

static int
pipe_ends(int *r, int *w, struct oci_error **err)
{
  int fds[2];

  if (pipe2(fds, O_CLOEXEC) < 0)
    return oci_error_errno(err, "pipe");
  *r = fds[0];
  *w = fds[1];
  return 0;
}

/* Feed INPUT to *IN_W while collecting *OUT_R and *ERR_R until the helper
 * has closed both; every one of them is closed (-1) on return. */
static void
exchange(int *in_w, int *out_r, int *err_r, const char *input, size_t input_len, struct helper_output *res)
{
  struct timespec zero = { 0, 0 };
  sigset_t set, old;
  size_t sent = 0;

  /* A helper that exits without reading stdin must not kill us with SIGPIPE. */
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  if (input_len == 0 || fcntl(*in_w, F_SETFL, O_NONBLOCK) < 0)
    close(steal_fd(in_w));
  while (*in_w >= 0 || *out_r >= 0 || *err_r >= 0)
    {
      struct pollfd p[3] = { { *in_w, POLLOUT, 0 }, { *out_r, POLLIN, 0 }, { *err_r, POLLIN, 0 } };
      if (poll(p, 3, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (p[0].revents)
        {
          ssize_t n = write(*in_w, input + sent, input_len - sent);
          if (n > 0)
            sent += n;
          if (sent == input_len || (n < 0 && errno != EAGAIN && errno != EINTR))
            close(steal_fd(in_w));
        }
      if (p[1].revents && !drain_into(*out_r, res->out, &res->out_len))
        close(steal_fd(out_r));
      if (p[2].revents && !drain_into(*err_r, res->diag, &res->diag_len))
        close(steal_fd(err_r));
    }
  if (*in_w >= 0)
    close(steal_fd(in_w));
  if (*out_r >= 0)
    close(steal_fd(out_r));
  if (*err_r >= 0)
    close(steal_fd(err_r));
  while (sigtimedwait(&set, NULL, &zero) > 0)
    ;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  res->out[res->out_len] = '\0';
  res->diag[res->diag_len] = '\0';
}

/* Run `docker-credential-NAME ACTION` (the credential helper protocol:
 * get, store, erase) with INPUT on its stdin, and collect what it prints.
 * Secrets travel on stdin only, never in argv or the environment.  Returns
 * 0 once the helper has run, whatever its exit status (in RES), -1 when it
 * could not be started. */
static int
run_helper(const char *name, const char *action, const char *input, size_t input_len,
           struct helper_output *res, struct oci_error **err)
{
  cleanup_free char *prog = NULL;
  cleanup_close int in_r = -1, in_w = -1, out_r = -1, out_w = -1, err_r = -1, err_w = -1;
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int r, status;

  memset(res, 0, sizeof *res);
  if (!helper_name_valid(name))
    return oci_error_set(err, EINVAL, "invalid credential helper name `%s`", name);
  prog = xasprintf("docker-credential-%s", name);
  if (pipe_ends(&in_r, &in_w, err) < 0 || pipe_ends(&out_r, &out_w, err) < 0
      || pipe_ends(&err_r, &err_w, err) < 0)
    return -1;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r, 0);
  posix_spawn_file_actions_adddup2(&fa, out_w, 1);
  posix_spawn_file_actions_adddup2(&fa, err_w, 2);
  char *argv[] = { prog, (char *)action, NULL };
  r = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(steal_fd(&in_r));
  close(steal_fd(&out_w));
  close(steal_fd(&err_w));
  if (r != 0)
    {
      errno = r;
      return oci_error_errno(err, "running credential helper `%s`", prog);
    }

  res->out = xmalloc(HELPER_OUTPUT_MAX + 1);
  res->diag = xmalloc(HELPER_OUTPUT_MAX + 1);
  exchange(&in_w, &out_r, &err_r, input, input_len, res);
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return oci_error_errno(err, "waiting for `%s`", prog);
  res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return 0;
}

/* S without its leading and trailing white space, every occurrence of
 * SECRET (when not NULL) masked, control characters turned into spaces and
 * cut at about 400 bytes: one line fit for an error message. */
static char *
one_line(const char *s, const char *secret)
{
  size_t len, max = 400;
  char *line;

  while (isspace((unsigned char)*s))
    s++;
  len = strlen(s);
  while (len > 0 && isspace((unsigned char)s[len - 1]))
    len--;
  line = xstrndup(s, len);
  if (secret && secret[0])
    for (char *hit = line; (hit = strstr(hit, secret)) != NULL;)
      memset(hit, '*', strlen(secret));
  for (char *c = line; *c; c++)
    if (iscntrl((unsigned char)*c))
      *c = ' ';
  if (len <= max)
    return line;
  /* Not in the middle of a UTF-8 sequence. */
  while (max > 0 && (line[max] & 0xc0) == 0x80)
    max--;
  line[max] = '\0';
  char *cut = xasprintf("%s...", line);
  explicit_bzero(line, len);
  free(line);
  return cut;
}

/* "credential helper `docker-credential-NAME` failed to WHAT (exit status N):
 * its stderr; its stdout", SECRET masked. */
static int
helper_failed(const char *name, const char *what, const struct helper_output *res, const char *secret,
              struct oci_error **err)
{
  cleanup_free char *diag = one_line(res->diag, secret);
  cleanup_free char *out = one_line(res->out, secret);
  const char *sep = diag[0] && out[0] ? "; " : "";

  return oci_error_set(err, 0,
                       "credential helper `docker-credential-%s` failed to %s (exit status %d)%s%s%s%s", name,
                       what, res->status, diag[0] || out[0] ? ": " : "", diag, sep, out);
}

/* Run `docker-credential-NAME get` with the server key on stdin.  A helper
 * that knows nothing about the server exits non-zero: that is "no
 * credentials", not an error. */
static int
creds_from_helper(const char *name, const char *registry, struct img_credentials *out, struct oci_error **err)
{
  cleanup_free char *key = img_auth_server_key(registry);
  cleanup_free char *prog = xasprintf("docker-credential-%s", name);
  cleanup_json_value struct json_value *doc = NULL;
  cleanup_helper_output struct helper_output res = { 0 };

  if (run_helper(name, "get", key, strlen(key), &res, err) < 0)
    return -1;
  if (res.status != 0)
    return 0;
  if (json_parse(prog, res.out, res.out_len, &doc, err) < 0)
    return oci_error_wrap(err, "credential helper `%s` answered", prog);
  const char *user = json_string_member(doc, "Username");
  const char *secret = json_string_member(doc, "Secret");
  if (secret == NULL || secret[0] == '\0')
    return 0;
  /* docker-credential-helpers: the username "<token>" marks an identity token. */
  if (user && strcmp(user, "<token>") == 0)
    out->identity_token = xstrdup(secret);
  else
    {
      out->username = xstrdup(user ? user : "");
      out->password = xstrdup(secret);
    }
  out->source = steal_pointer(&prog);
  return 1;
}

char *
img_docker_config_path(const struct img_auth_opts *opts)
{
  const char *dir = opts->docker_config_dir ? opts->docker_config_dir : getenv("DOCKER_CONFIG");
  const char *home;

  if (dir && dir[0])
    return xasprintf("%s/config.json", dir);
  home = getenv("HOME");
  if (home == NULL || home[0] == '\0')
    {
      struct passwd *pw = getpwuid(getuid());
      home = pw ? pw->pw_dir : NULL;
    }
  return home ? xasprintf("%s/.docker/config.json", home) : NULL;
}

static char *
podman_auth_path(const struct img_auth_opts *opts)
{
  const char *p = opts->podman_auth_file ? opts->podman_auth_file : getenv("REGISTRY_AUTH_FILE");
  const char *run;

  if (p && p[0])
    return xstrdup(p);
  run = getenv("XDG_RUNTIME_DIR");
  if (run && run[0])
    return xasprintf("%s/containers/auth.json", run);
  return xasprintf("/run/containers/%u/auth.json", (unsigned)getuid());
}

static int
creds_from_flag(const char *creds, const char *source, struct img_credentials *out, struct oci_error **err)
{
  const char *colon = strchr(creds, ':');

  if (colon == NULL || colon == creds)
    return oci_error_set(err, EINVAL, "%s: expected USER:PASSWORD", source);
  out->username = xstrndup(creds, colon - creds);
  out->password = xstrdup(colon + 1);
  out->source = xstrdup(source);
  return 1;
}

/* The credential helper docker's config DOC names for REGISTRY: its
 * credHelpers entry, else credsStore; NULL for none.  *per_registry says
 * which of the two it was. */
static const char *
configured_helper(const struct json_value *doc, const char *registry, bool *per_registry)
{
  const struct json_value *helper = find_server_entry(json_object_get(doc, "credHelpers"), registry);
  const char *store = json_string_member(doc, "credsStore");

  *per_registry = helper && helper->type == JSON_STRING;
  if (*per_registry)
    return helper->u.string;
  return store && store[0] ? store : NULL;
}

static int
creds_from_docker_config(const struct img_auth_opts *opts, const char *registry, struct img_credentials *out,
                         struct oci_error **err)
{
  cleanup_free char *path = img_docker_config_path(opts);
  cleanup_json_value struct json_value *doc = NULL;
  const char *helper;
  bool per_registry;
  int r;

  if (path == NULL || (r = read_json_file(path, &doc, err)) <= 0)
    return path ? r : 0;
  helper = configured_helper(doc, registry, &per_registry);
  if (helper)
    {
      r = creds_from_helper(helper, registry, out, err);
      /* A registry's own helper is the only place for its credentials;
       * credsStore still lets an older auths entry answer. */
      if (r != 0 || per_registry)
        return r;
    }
  const struct json_value *entry = find_server_entry(json_object_get(doc, "auths"), registry);
  if (entry == NULL || entry->type != JSON_OBJECT)
    return 0;
  return creds_from_auths_entry(entry, path, out, err);
}

static int
creds_from_podman(const struct img_auth_opts *opts, const char *registry, struct img_credentials *out,
                  struct oci_error **err)
{
  cleanup_free char *path = podman_auth_path(opts);
  cleanup_json_value struct json_value *doc = NULL;
  const struct json_value *entry;
  int r;

  if ((r = read_json_file(path, &doc, err)) <= 0)
    return r;
  entry = find_server_entry(json_object_get(doc, "auths"), registry);
  if (entry == NULL || entry->type != JSON_OBJECT)
    return 0;
  return creds_from_auths_entry(entry, path, out, err);
}

int
img_credentials_lookup(const struct img_auth_opts *opts, const char *registry, struct img_credentials *out,
                       struct oci_error **err)
{
  int r;

  memset(out, 0, sizeof *out);
  if (opts->creds)
    return creds_from_flag(opts->creds, opts->creds_source ? opts->creds_source : "--creds", out, err);
  r = creds_from_docker_config(opts, registry, out, err);
  if (r != 0)
    {
      if (r < 0)
        img_credentials_clear(out);
      return r;
    }
  r = creds_from_podman(opts, registry, out, err);
  if (r < 0)
    img_credentials_clear(out);
  return r;
}

/* ---- saving credentials (login, logout) ---- */

void
img_credentials_place_clear(struct img_credentials_place *p)
{
  free(p->path);
  free(p->helper);
  memset(p, 0, sizeof *p);
}

/* The "auths" map without REGISTRY's entries, plus one under its key when
 * AUTH is not NULL: {"auth": AUTH}, or {} when AUTH is "" (docker's mark of
 * a login whose secret a credential helper keeps). */
static int
write_auths(struct json_writer *w, const struct json_value *old, const char *path, const char *registry,
            const char *auth, bool *removed, struct oci_error **err)
{
  cleanup_free char *want = img_auth_normalise_server(registry);

  if (old && old->type != JSON_OBJECT)
    return oci_error_set(err, EINVAL, "%s: `auths` is not an object", path);
  json_write_object_begin(w);
  for (size_t i = 0; old && i < old->u.object.len; i++)
    {
      cleanup_free char *key = img_auth_normalise_server(old->u.object.keys[i]);
      if (strcmp(key, want) == 0)
        {
          *removed = true;
          continue;
        }
      json_write_key(w, old->u.object.keys[i]);
      json_write_value(w, old->u.object.values[i]);
    }
  if (auth)
    {
      cleanup_free char *server = img_auth_server_key(want);
      json_write_key(w, server);
      json_write_object_begin(w);
      if (auth[0])
        json_write_member_string(w, "auth", auth);
      json_write_object_end(w);
    }
  json_write_object_end(w);
  return 0;
}

static int
mkdir_parents(const char *path, struct oci_error **err)
{
  cleanup_free char *dir = xstrdup(path);
  char *slash = strrchr(dir, '/');

  if (slash == NULL || slash == dir)
    return 0;
  *slash = '\0';
  for (char *c = dir + 1; *c; c++)
    if (*c == '/')
      {
        *c = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
          return oci_error_errno(err, "mkdir `%s`", dir);
        *c = '/';
      }
  /* Like docker: the directory holding secrets is private. */
  if (mkdir(dir, 0700) < 0 && errno != EEXIST)
    return oci_error_errno(err, "mkdir `%s`", dir);
  return 0;
}

/* Temporary file (mode 0600 from mkstemp) in the same directory, fsync,
 * rename over PATH, fsync of the directory: a reader sees the old file or
 * the new one, never a part of either. */
static int
replace_file(const char *path, const char *text, size_t len, struct oci_error **err)
{
  cleanup_free char *tmp = xasprintf("%s.tmp-XXXXXX", path);
  cleanup_free char *dir = xstrdup(path);
  char *slash = strrchr(dir, '/');
  cleanup_close int fd = mkostemp(tmp, O_CLOEXEC);

  if (fd < 0)
    return oci_error_errno(err, "create `%s`", tmp);
  if (oci_write_all(fd, text, len) < 0 || fsync(fd) < 0 || rename(tmp, path) < 0)
    {
      int saved = errno;
      unlink(tmp);
      return oci_error_set(err, saved, "write `%s`", path);
    }
  if (slash)
    {
      *(slash == dir ? slash + 1 : slash) = '\0';
      cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd >= 0)
        fsync(dfd);
    }
  return 0;
}

/* The docker config file (a symlinked one, as dotfiles make, is updated
 * where it points) and its contents (NULL when there is no file yet). */
static int
load_docker_config(const struct img_auth_opts *opts, char **path_out, struct json_value **doc,
                   struct oci_error **err)
{
  cleanup_free char *path = img_docker_config_path(opts);
  char *real;

  if (path == NULL)
    return oci_error_set(err, ENOENT, "no home directory for the docker config file: set DOCKER_CONFIG");
  real = realpath(path, NULL);
  if (real)
    {
      free(path);
      path = real;
    }
  if (read_json_file(path, doc, err) < 0)
    return -1;
  *path_out = steal_pointer(&path);
  return 0;
}

/* Write DOC back to PATH with its auths map changed as write_auths does,
 * keeping every other key in its place.  Nothing is written when AUTH is
 * NULL and there was nothing to remove. */
static int
rewrite_auths(const char *path, const struct json_value *doc, const char *registry, const char *auth,
              bool *removed, struct oci_error **err)
{
  cleanup_json_writer struct json_writer *w = json_writer_new_indent("\t");
  cleanup_free char *text = NULL;
  const struct json_value *auths = doc ? json_object_get(doc, "auths") : NULL;
  bool wrote_auths = false;
  size_t len;

  *removed = false;
  json_write_object_begin(w);
  for (size_t i = 0; doc && i < doc->u.object.len; i++)
    {
      if (strcmp(doc->u.object.keys[i], "auths") == 0)
        {
          /* Duplicates collapse into the one lookups read (the last). */
          if (!wrote_auths)
            {
              json_write_key(w, "auths");
              if (write_auths(w, auths, path, registry, auth, removed, err) < 0)
                return -1;
            }
          wrote_auths = true;
          continue;
        }
      json_write_key(w, doc->u.object.keys[i]);
      json_write_value(w, doc->u.object.values[i]);
    }
  if (!wrote_auths)
    {
      json_write_key(w, "auths");
      if (write_auths(w, NULL, path, registry, auth, removed, err) < 0)
        return -1;
    }
  json_write_object_end(w);
  if (auth == NULL && !*removed)
    return 0;
  if (json_writer_finish(w, &text, &len, err) < 0)
    return oci_error_wrap(err, "%s", path);
  if (text[len - 1] != '\n')
    {
      text = xrealloc(text, len + 2);
      text[len++] = '\n';
      text[len] = '\0';
    }
  if (mkdir_parents(path, err) < 0)
    return -1;
  return replace_file(path, text, len, err);
}

/* `docker-credential-NAME store` with what docker sends on stdin:
 * {"ServerURL": key, "Username": …, "Secret": …}. */
static int
helper_store(const char *name, const char *registry, const char *username, const char *password,
             struct oci_error **err)
{
  cleanup_free char *key = img_auth_server_key(registry);
  cleanup_json_writer struct json_writer *w = json_writer_new(false);
  cleanup_helper_output struct helper_output res = { 0 };
  char *input = NULL;
  size_t len;
  int r;

  json_write_object_begin(w);
  json_write_member_string(w, "ServerURL", key);
  json_write_member_string(w, "Username", username);
  json_write_member_string(w, "Secret", password);
  json_write_object_end(w);
  if (json_writer_finish(w, &input, &len, err) < 0)
    return -1;
  /* Go's JSON encoder, and so docker, ends the document with a newline. */
  input = xrealloc(input, len + 2);
  input[len++] = '\n';
  input[len] = '\0';
  r = run_helper(name, "store", input, len, &res, err);
  explicit_bzero(input, len);
  free(input);
  if (r < 0)
    return -1;
  if (res.status != 0)
    return helper_failed(name, "store the credentials", &res, password, err);
  return 0;
}

/* `docker-credential-NAME erase` with the server key on stdin: 1 when the
 * helper erased them, 0 when it had none for the server. */
static int
helper_erase(const char *name, const char *registry, struct oci_error **err)
{
  cleanup_free char *key = img_auth_server_key(registry);
  cleanup_free char *said = NULL;
  cleanup_helper_output struct helper_output res = { 0 };

  if (run_helper(name, "erase", key, strlen(key), &res, err) < 0)
    return -1;
  if (res.status == 0)
    return 1;
  /* docker-credential-helpers' answer for a server it does not know
   * (credentials.errCredentialsNotFoundMessage). */
  said = one_line(res.out, NULL);
  if (strcmp(said, "credentials not found in native keychain") == 0)
    return 0;
  return helper_failed(name, "erase the credentials", &res, NULL, err);
}

int
img_credentials_save(const struct img_auth_opts *opts, const char *registry, const char *username,
                     const char *password, struct img_credentials_place *where, struct oci_error **err)
{
  cleanup_json_value struct json_value *doc = NULL;
  const char *helper = NULL;
  bool per_registry, removed;
  int r;

  memset(where, 0, sizeof *where);
  if (username[0] == '\0' || strchr(username, ':'))
    return oci_error_set(err, EINVAL, "invalid user name `%s`", username);
  if (load_docker_config(opts, &where->path, &doc, err) < 0)
    return -1;
  if (doc)
    helper = configured_helper(doc, registry, &per_registry);
  if (helper)
    {
      if (helper_store(helper, registry, username, password, err) < 0)
        return -1;
      where->helper = xasprintf("docker-credential-%s", helper);
      /* What docker writes then: an empty entry under the server key, and no
       * plain-text copy left behind under any spelling of the registry. */
      return rewrite_auths(where->path, doc, registry, "", &removed, err);
    }

  cleanup_free char *pair = xasprintf("%s:%s", username, password);
  cleanup_free char *auth = base64_encode(pair, strlen(pair));
  r = rewrite_auths(where->path, doc, registry, auth, &removed, err);
  explicit_bzero(pair, strlen(pair));
  explicit_bzero(auth, strlen(auth));
  return r;
}

int
img_credentials_erase(const struct img_auth_opts *opts, const char *registry,
                      struct img_credentials_place *where, struct oci_error **err)
{
  cleanup_json_value struct json_value *doc = NULL;
  const char *helper = NULL;
  bool per_registry, removed;
  int erased = 0;

  memset(where, 0, sizeof *where);
  if (load_docker_config(opts, &where->path, &doc, err) < 0)
    return -1;
  if (doc)
    helper = configured_helper(doc, registry, &per_registry);
  if (helper)
    {
      erased = helper_erase(helper, registry, err);
      if (erased < 0)
        return -1;
      if (erased)
        where->helper = xasprintf("docker-credential-%s", helper);
    }
  if (rewrite_auths(where->path, doc, registry, NULL, &removed, err) < 0)
    return -1;
  return erased || removed ? 1 : 0;
}

/* ---- tokens ---- */

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
          const char *m = json_string_member(errors->u.array.items[0], "message");
          const char *c = json_string_member(errors->u.array.items[0], "code");
          if (m)
            return xasprintf(": %s%s%s", c ? c : "", c ? ": " : "", m);
        }
      const char *d = json_string_member(doc, "details");
      if (d == NULL)
        d = json_string_member(doc, "error_description");
      if (d == NULL)
        d = json_string_member(doc, "error");
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
    return oci_error_set(err, EPERM, "refusing to send credentials for %s to `%s` over plain HTTP", registry,
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
          cleanup_free char *b64 = base64_encode(pair, strlen(pair));
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
        return oci_error_set(
            err, EACCES, "authenticating to %s with credentials from %s: invalid username/password (%ld)%s",
            registry, cred->source, resp.status, detail);
      return oci_error_set(err, EACCES,
                           "authenticating to %s: token server refused an anonymous token (%ld)%s", registry,
                           resp.status, detail);
    }
  if (resp.status != 200)
    {
      cleanup_free char *detail = token_error_detail(&resp);
      return oci_error_set(err, EPROTO, "fetching a token for %s from `%s`: HTTP %ld%s", registry, ch->realm,
                           resp.status, detail);
    }
  if (json_parse("token response", resp.body, resp.body_len, &doc, err) < 0)
    return oci_error_wrap(err, "fetching a token for %s", registry);
  token = json_string_member(doc, "token");
  if (token == NULL || token[0] == '\0')
    token = json_string_member(doc, "access_token");
  if (token == NULL || token[0] == '\0')
    return oci_error_set(err, EPROTO, "token response from `%s` holds no token", ch->realm);
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
        return oci_error_set(err, EACCES,
                             "%s requires a user name and password: use `imgtool login %s` or --creds",
                             registry, registry);
      cleanup_free char *pair = xasprintf("%s:%s", cred->username, cred->password);
      cleanup_free char *b64 = base64_encode(pair, strlen(pair));
      explicit_bzero(pair, strlen(pair));
      *header = store_token(auth, registry, scope, xasprintf("Basic %s", b64), 86400);
      explicit_bzero(b64, strlen(b64));
      return 0;
    }
  return fetch_token(auth, registry, ch, scope, cred, header, err);
}
