/* Where registry credentials come from (--creds, docker's config.json and
 * the credential helpers it names, podman's auth.json), and how login and
 * logout save and erase them. */
#include <config.h>

#include <ctype.h>
#include <fcntl.h>
#include <pwd.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "atomic-file.h"
#include "base64.h"
#include "cred-helper.h"
#include "credentials.h"
#include "json.h"
#include "util.h"

#define CONFIG_MAX_SIZE (4u << 20)

/* ---- finding credentials ---- */

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
    return oci_error_fail(err, EFBIG, "`%s` is larger than %u bytes", path, CONFIG_MAX_SIZE);
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
      return oci_error_fail(err, EINVAL, "%s: expected a JSON object", path);
    }
  return 1;
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
  const char *auth = json_object_get_string(entry, "auth");
  const char *identity = json_object_get_string(entry, "identitytoken");
  const char *user = json_object_get_string(entry, "username");
  const char *pass = json_object_get_string(entry, "password");

  if (auth && auth[0])
    {
      size_t len;
      cleanup_free char *decoded = img_base64_decode(auth, &len);
      char *colon;
      if (decoded == NULL || strlen(decoded) != len || (colon = strchr(decoded, ':')) == NULL)
        {
          if (decoded)
            explicit_bzero(decoded, len);
          return oci_error_fail(err, EINVAL, "%s: malformed `auth` entry (expected base64 of user:password)",
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
    return oci_error_fail(err, EINVAL, "%s: expected USER:PASSWORD", source);
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
  const char *store = json_object_get_string(doc, "credsStore");

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
      r = img_cred_helper_get(helper, registry, out, err);
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
    return oci_error_fail(err, EINVAL, "%s: `auths` is not an object", path);
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

/* The docker config file (a symlinked one, as dotfiles make, is updated
 * where it points) and its contents (NULL when there is no file yet). */
static int
load_docker_config(const struct img_auth_opts *opts, char **path_out, struct json_value **doc,
                   struct oci_error **err)
{
  cleanup_free char *path = img_docker_config_path(opts);
  char *real;

  if (path == NULL)
    return oci_error_fail(err, ENOENT, "no home directory for the docker config file: set DOCKER_CONFIG");
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
  /* Durable, and private (0600) from its first byte: a login that said
   * it succeeded must survive a power cut, like docker's. */
  return oci_write_file_atomic(AT_FDCWD, path, text, len, 0600, OCI_DURABLE, err);
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
    return oci_error_fail(err, EINVAL, "invalid user name `%s`", username);
  if (load_docker_config(opts, &where->path, &doc, err) < 0)
    return -1;
  if (doc)
    helper = configured_helper(doc, registry, &per_registry);
  if (helper)
    {
      if (img_cred_helper_store(helper, registry, username, password, err) < 0)
        return -1;
      where->helper = xasprintf("docker-credential-%s", helper);
      /* What docker writes then: an empty entry under the server key, and no
       * plain-text copy left behind under any spelling of the registry. */
      return rewrite_auths(where->path, doc, registry, "", &removed, err);
    }

  cleanup_free char *pair = xasprintf("%s:%s", username, password);
  cleanup_free char *auth = img_base64_encode(pair, strlen(pair));
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
      erased = img_cred_helper_erase(helper, registry, err);
      if (erased < 0)
        return -1;
      if (erased)
        where->helper = xasprintf("docker-credential-%s", helper);
    }
  if (rewrite_auths(where->path, doc, registry, NULL, &removed, err) < 0)
    return -1;
  return erased || removed ? 1 : 0;
}
