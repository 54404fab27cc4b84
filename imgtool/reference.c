#include <config.h>

#include <ctype.h>
#include <string.h>

#include "reference.h"
#include "util.h"

/* distribution/reference: NameTotalLengthMax */
#define NAME_TOTAL_LENGTH_MAX 255
#define TAG_LENGTH_MAX 128

static bool
is_lower_alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_hex_lower(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return true;
}

/* The store only takes sha256 (img_digest_valid in store.h), but a
 * reference may name any digest Docker accepts. */
static bool
reference_digest_valid(const char *digest)
{
  const char *colon;
  size_t alg_len, hex_len;

  if (digest == NULL || (colon = strchr(digest, ':')) == NULL)
    return false;
  alg_len = colon - digest;
  hex_len = strlen(colon + 1);
  if (alg_len == 6 && strncmp(digest, "sha256", 6) == 0)
    return hex_len == 64 && is_hex_lower(colon + 1, 64);
  if (alg_len == 6 && strncmp(digest, "sha512", 6) == 0)
    return hex_len == 128 && is_hex_lower(colon + 1, 128);
  return false;
}

/* One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static bool
path_component_valid(const char *s, size_t n)
{
  size_t i = 0;

  if (n == 0 || !is_lower_alnum(s[0]))
    return false;
  while (i < n)
    {
      while (i < n && is_lower_alnum(s[i]))
        i++;
      if (i == n)
        return true;
      if (s[i] == '.')
        i++;
      else if (s[i] == '_')
        i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
      else if (s[i] == '-')
        while (i < n && s[i] == '-')
          i++;
      else
        return false;
      if (i == n || !is_lower_alnum(s[i]))
        return false;
    }
  return true;
}

static bool
repository_valid(const char *repo)
{
  const char *p = repo;

  for (;;)
    {
      const char *slash = strchr(p, '/');
      size_t n = slash ? (size_t)(slash - p) : strlen(p);
      if (!path_component_valid(p, n))
        return false;
      if (slash == NULL)
        return true;
      p = slash + 1;
    }
}

/* [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9], dot separated, optional
 * :port, or a bracketed IPv6 address. */
static bool
domain_valid(const char *d)
{
  const char *port = NULL;
  const char *end;

  if (d[0] == '[')
    {
      const char *close = strchr(d, ']');
      if (close == NULL || close == d + 1)
        return false;
      for (const char *c = d + 1; c < close; c++)
        if (!isxdigit((unsigned char)*c) && *c != ':')
          return false;
      if (close[1] == '\0')
        return true;
      if (close[1] != ':')
        return false;
      port = close + 2;
    }
  else
    {
      const char *colon = strchr(d, ':');
      end = colon ? colon : d + strlen(d);
      if (end == d)
        return false;
      for (const char *label = d; label < end;)
        {
          const char *dot = memchr(label, '.', end - label);
          const char *lend = dot ? dot : end;
          if (lend == label || label[0] == '-' || lend[-1] == '-')
            return false;
          for (const char *c = label; c < lend; c++)
            if (!isalnum((unsigned char)*c) && *c != '-')
              return false;
          label = dot ? dot + 1 : end;
          if (dot && label == end)
            return false;
        }
      if (colon)
        port = colon + 1;
    }
  if (port)
    {
      if (*port == '\0')
        return false;
      for (const char *c = port; *c; c++)
        if (!isdigit((unsigned char)*c))
          return false;
    }
  return true;
}

static bool
tag_valid(const char *tag)
{
  size_t n = strlen(tag);

  if (n == 0 || n > TAG_LENGTH_MAX)
    return false;
  if (!(isalnum((unsigned char)tag[0]) || tag[0] == '_'))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!(isalnum((unsigned char)tag[i]) || tag[i] == '_' || tag[i] == '.' || tag[i] == '-'))
      return false;
  return true;
}

static bool
has_upper(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (s[i] >= 'A' && s[i] <= 'Z')
      return true;
  return false;
}

/* splitDockerDomain: the text before the first '/' is a domain only when it
 * looks like one (a '.', a ':', "localhost", or not all lowercase). */
static void
split_domain(const char *name, char **domain, char **remainder)
{
  const char *slash = strchr(name, '/');
  size_t n = slash ? (size_t)(slash - name) : 0;

  if (slash == NULL
      || (memchr(name, '.', n) == NULL && memchr(name, ':', n) == NULL
          && !(n == 9 && strncmp(name, "localhost", 9) == 0) && !has_upper(name, n)))
    {
      *domain = xstrdup(IMG_DEFAULT_DOMAIN);
      *remainder = xstrdup(name);
    }
  else
    {
      *domain = xstrndup(name, n);
      *remainder = xstrdup(slash + 1);
    }
  if (strcmp(*domain, "index.docker.io") == 0)
    {
      free(*domain);
      *domain = xstrdup(IMG_DEFAULT_DOMAIN);
    }
  if (strcmp(*domain, IMG_DEFAULT_DOMAIN) == 0 && strchr(*remainder, '/') == NULL)
    {
      char *prefixed = xasprintf("library/%s", *remainder);
      free(*remainder);
      *remainder = prefixed;
    }
}

/* `oci:DIR[:tag]`: the tag is the text after the last ':' when it holds no
 * '/', so that directories containing ':' still work when a tag is given. */
static int
parse_local(const char *str, const char *rest, enum img_ref_transport transport, struct img_reference **ref,
            struct oci_error **err)
{
  struct img_reference *r;
  const char *colon = strrchr(rest, ':');
  cleanup_free char *path = NULL;
  cleanup_free char *tag = NULL;

  if (colon && strchr(colon, '/') == NULL)
    {
      path = xstrndup(rest, colon - rest);
      tag = xstrdup(colon + 1);
      if (!tag_valid(tag))
        return oci_error_fail(err, EINVAL, "invalid reference `%s`: invalid tag `%s`", str, tag);
    }
  else
    path = xstrdup(rest);
  if (path[0] == '\0')
    return oci_error_fail(err, EINVAL, "invalid reference `%s`: missing path", str);

  r = xzalloc(sizeof *r);
  r->transport = transport;
  r->path = steal_pointer(&path);
  r->tag = steal_pointer(&tag);
  *ref = r;
  return 0;
}

int
img_reference_parse(const char *str, struct img_reference **ref, struct oci_error **err)
{
  cleanup_free char *name = NULL;
  cleanup_free char *digest = NULL;
  cleanup_free char *tag = NULL;
  cleanup_free char *domain = NULL;
  cleanup_free char *repo = NULL;
  struct img_reference *r;
  const char *at, *last_slash, *colon;

  *ref = NULL;
  if (str == NULL || str[0] == '\0')
    return oci_error_fail(err, EINVAL, "invalid reference: empty");
  if (strncmp(str, "oci:", 4) == 0)
    return parse_local(str, str + 4, IMG_REF_OCI_LAYOUT, ref, err);
  if (strncmp(str, "oci-archive:", 12) == 0)
    return parse_local(str, str + 12, IMG_REF_OCI_ARCHIVE, ref, err);
  if (strncmp(str, "docker://", 9) == 0)
    str += 9;

  at = strchr(str, '@');
  if (at)
    {
      digest = xstrdup(at + 1);
      if (!reference_digest_valid(digest))
        return oci_error_fail(err, EINVAL, "invalid reference `%s`: invalid digest `%s`", str, digest);
      name = xstrndup(str, at - str);
    }
  else
    name = xstrdup(str);

  if (strlen(name) == 64 && is_hex_lower(name, 64))
    return oci_error_fail(
        err, EINVAL, "invalid reference `%s`: cannot specify 64-byte hexadecimal strings as a name", str);

  last_slash = strrchr(name, '/');
  colon = strrchr(last_slash ? last_slash : name, ':');
  if (colon)
    {
      tag = xstrdup(colon + 1);
      name[colon - name] = '\0';
      if (!tag_valid(tag))
        return oci_error_fail(err, EINVAL, "invalid reference `%s`: invalid tag `%s`", str, tag);
    }

  split_domain(name, &domain, &repo);
  if (!domain_valid(domain))
    return oci_error_fail(err, EINVAL, "invalid reference `%s`: invalid registry `%s`", str, domain);
  if (has_upper(repo, strlen(repo)))
    return oci_error_fail(err, EINVAL, "invalid reference `%s`: repository name (%s) must be lowercase", str,
                          repo);
  if (!repository_valid(repo))
    return oci_error_fail(err, EINVAL, "invalid reference `%s`: invalid repository name `%s`", str, repo);
  if (strlen(domain) + 1 + strlen(repo) > NAME_TOTAL_LENGTH_MAX)
    return oci_error_fail(err, EINVAL, "invalid reference `%s`: repository name longer than %d characters",
                          str, NAME_TOTAL_LENGTH_MAX);

  r = xzalloc(sizeof *r);
  r->transport = IMG_REF_REGISTRY;
  r->registry = steal_pointer(&domain);
  r->repository = steal_pointer(&repo);
  r->digest = steal_pointer(&digest);
  /* ParseDockerRef: when a digest is given the tag is dropped. */
  if (r->digest == NULL)
    r->tag = tag ? steal_pointer(&tag) : xstrdup(IMG_DEFAULT_TAG);
  *ref = r;
  return 0;
}

void
img_reference_free(struct img_reference *ref)
{
  if (ref == NULL)
    return;
  free(ref->registry);
  free(ref->repository);
  free(ref->tag);
  free(ref->digest);
  free(ref->path);
  free(ref);
}

struct img_reference *
img_reference_dup(const struct img_reference *ref)
{
  struct img_reference *r = xzalloc(sizeof *r);

  r->transport = ref->transport;
  r->registry = xstrdup(ref->registry);
  r->repository = xstrdup(ref->repository);
  r->tag = xstrdup(ref->tag);
  r->digest = xstrdup(ref->digest);
  r->path = xstrdup(ref->path);
  return r;
}

static char *
with_suffix(const char *base, const struct img_reference *ref)
{
  if (ref->digest)
    return xasprintf("%s@%s", base, ref->digest);
  if (ref->tag)
    return xasprintf("%s:%s", base, ref->tag);
  return xstrdup(base);
}

char *
img_reference_name(const struct img_reference *ref)
{
  switch (ref->transport)
    {
    case IMG_REF_OCI_LAYOUT:
      return xasprintf("oci:%s", ref->path);
    case IMG_REF_OCI_ARCHIVE:
      return xasprintf("oci-archive:%s", ref->path);
    case IMG_REF_REGISTRY:
    default:
      return xasprintf("%s/%s", ref->registry, ref->repository);
    }
}

char *
img_reference_string(const struct img_reference *ref)
{
  cleanup_free char *name = img_reference_name(ref);

  return with_suffix(name, ref);
}

char *
img_reference_familiar(const struct img_reference *ref)
{
  cleanup_free char *name = NULL;
  const char *repo;

  if (ref->transport != IMG_REF_REGISTRY || strcmp(ref->registry, IMG_DEFAULT_DOMAIN) != 0)
    return img_reference_string(ref);
  repo = ref->repository;
  if (strncmp(repo, "library/", 8) == 0 && strchr(repo + 8, '/') == NULL)
    repo += 8;
  name = xstrdup(repo);
  return with_suffix(name, ref);
}

const char *
img_registry_api_host(const char *registry)
{
  if (strcmp(registry, IMG_DEFAULT_DOMAIN) == 0 || strcmp(registry, "index.docker.io") == 0)
    return IMG_DOCKER_HUB_HOST;
  return registry;
}
