/* Parsing WWW-Authenticate: which challenge a registry's 401 asks us to answer. */
#include <config.h>

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "challenge.h"
#include "util.h"

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
          oci_error_fail(err, EINVAL, "malformed WWW-Authenticate: unexpected `%c`", *p);
          return NULL;
        }
      if (*q != '=')
        return name; /* the next challenge's scheme */
      p = parse_value(skip_ws(q + 1), &value);
      if (p == NULL)
        {
          oci_error_fail(err, EINVAL, "malformed WWW-Authenticate: unterminated quoted value");
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
          return oci_error_fail(err, EINVAL, "malformed WWW-Authenticate `%s`", header);
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
          return oci_error_fail(err, EINVAL, "Bearer challenge without a realm: `%s`", header);
        }
      return 0;
    }
  if (basic.scheme)
    {
      *out = basic;
      return 0;
    }
  if (first_scheme)
    return oci_error_fail(err, ENOTSUP, "not supported: authentication scheme `%s`", first_scheme);
  return oci_error_fail(err, EINVAL, "empty WWW-Authenticate header");
}
