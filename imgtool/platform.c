#include <config.h>

#include <string.h>
#include <sys/utsname.h>

#include "platform.h"
#include "util.h"

void
img_platform_clear(struct img_platform *p)
{
  free(p->os);
  free(p->architecture);
  free(p->variant);
  free(p->os_version);
  memset(p, 0, sizeof *p);
}

static void
set(char **field, const char *value)
{
  free(*field);
  *field = value ? xstrdup(value) : NULL;
}

static bool
eq(const char *a, const char *b)
{
  return strcmp(a ? a : "", b ? b : "") == 0;
}

void
img_platform_normalise(struct img_platform *p)
{
  /* Copies: set() frees the fields these are compared after. */
  cleanup_free char *a = xstrdup(p->architecture ? p->architecture : "");
  cleanup_free char *v = xstrdup(p->variant ? p->variant : "");

  if (p->os)
    for (char *c = p->os; *c; c++)
      *c = (*c >= 'A' && *c <= 'Z') ? *c - 'A' + 'a' : *c;
  if (strcmp(a, "i386") == 0)
    set(&p->architecture, "386");
  else if (strcmp(a, "x86_64") == 0 || strcmp(a, "x86-64") == 0 || strcmp(a, "amd64") == 0)
    {
      set(&p->architecture, "amd64");
      if (strcmp(a, "amd64") != 0 || strcmp(v, "v1") == 0)
        set(&p->variant, NULL);
    }
  else if (strcmp(a, "aarch64") == 0 || strcmp(a, "arm64") == 0)
    {
      set(&p->architecture, "arm64");
      if (strcmp(v, "8") == 0 || strcmp(v, "v8") == 0)
        set(&p->variant, NULL);
    }
  else if (strcmp(a, "armhf") == 0)
    {
      set(&p->architecture, "arm");
      set(&p->variant, "v7");
    }
  else if (strcmp(a, "armel") == 0)
    {
      set(&p->architecture, "arm");
      set(&p->variant, "v6");
    }
  else if (strcmp(a, "arm") == 0)
    {
      if (v[0] == '\0' || strcmp(v, "7") == 0)
        set(&p->variant, "v7");
      else if (strcmp(v, "5") == 0 || strcmp(v, "6") == 0 || strcmp(v, "8") == 0)
        {
          cleanup_free char *nv = xasprintf("v%s", v);
          set(&p->variant, nv);
        }
    }
  if (p->variant && p->variant[0] == '\0')
    set(&p->variant, NULL);
}

int
img_platform_parse(const char *s, struct img_platform *out, struct oci_error **err)
{
  cleanup_free char *copy = xstrdup(s);
  char *colon, *parts[4] = { NULL };
  size_t n = 0;

  memset(out, 0, sizeof *out);
  colon = strchr(copy, ':');
  if (colon)
    {
      *colon = '\0';
      out->os_version = xstrdup(colon + 1);
    }
  for (char *save = NULL, *tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save))
    {
      if (n == 3)
        {
          img_platform_clear(out);
          return oci_error_fail(err, EINVAL, "invalid platform `%s`: expected os/arch[/variant]", s);
        }
      parts[n++] = tok;
    }
  if (n < 2)
    {
      img_platform_clear(out);
      return oci_error_fail(err, EINVAL, "invalid platform `%s`: expected os/arch[/variant]", s);
    }
  out->os = xstrdup(parts[0]);
  out->architecture = xstrdup(parts[1]);
  out->variant = xstrdup(parts[2]);
  img_platform_normalise(out);
  return 0;
}

int
img_platform_host(struct img_platform *out, struct oci_error **err)
{
  static const struct
  {
    const char *machine, *arch, *variant;
  } map[] = {
    { "x86_64", "amd64", NULL },    { "aarch64", "arm64", NULL }, { "armv7l", "arm", "v7" },
    { "armv6l", "arm", "v6" },      { "i686", "386", NULL },      { "i386", "386", NULL },
    { "ppc64le", "ppc64le", NULL }, { "s390x", "s390x", NULL },   { "riscv64", "riscv64", NULL },
  };
  struct utsname u;

  memset(out, 0, sizeof *out);
  if (uname(&u) < 0)
    return oci_error_errno(err, "uname");
  out->os = xstrdup("linux");
  for (size_t i = 0; i < OCI_ARRAY_SIZE(map); i++)
    if (strcmp(u.machine, map[i].machine) == 0)
      {
        out->architecture = xstrdup(map[i].arch);
        out->variant = xstrdup(map[i].variant);
        return 0;
      }
  out->architecture = xstrdup(u.machine);
  img_platform_normalise(out);
  return 0;
}

char *
img_platform_string(const struct img_platform *p)
{
  return xasprintf("%s/%s%s%s%s%s", p->os ? p->os : "?", p->architecture ? p->architecture : "?",
                   p->variant ? "/" : "", p->variant ? p->variant : "", p->os_version ? ":" : "",
                   p->os_version ? p->os_version : "");
}

void
img_platform_set(struct img_platform *out, const char *os, const char *arch, const char *variant)
{
  img_platform_clear(out);
  out->os = os ? xstrdup(os) : NULL;
  out->architecture = arch ? xstrdup(arch) : NULL;
  out->variant = variant ? xstrdup(variant) : NULL;
  img_platform_normalise(out);
}

bool
img_platform_equal(const struct img_platform *a, const struct img_platform *b)
{
  cleanup_platform struct img_platform na = { 0 };
  cleanup_platform struct img_platform nb = { 0 };

  img_platform_set(&na, a->os, a->architecture, a->variant);
  img_platform_set(&nb, b->os, b->architecture, b->variant);
  return eq(na.os, nb.os) && eq(na.architecture, nb.architecture) && eq(na.variant, nb.variant);
}

static int
variant_number(const char *v)
{
  if (v == NULL || v[0] != 'v')
    return -1;
  return atoi(v + 1);
}

int
img_platform_rank(const struct img_platform *want, const char *os, const char *arch, const char *variant)
{
  cleanup_platform struct img_platform have
      = { .os = xstrdup(os), .architecture = xstrdup(arch), .variant = xstrdup(variant) };
  const char *wa = want->architecture ? want->architecture : "";
  int rank = -1, wv, hv;

  img_platform_normalise(&have);
  if (!eq(have.os, want->os) || have.architecture == NULL)
    return -1;
  if (eq(have.architecture, wa) && eq(have.variant, want->variant))
    return 0;
  /* containerd's platformVector: older variants of the same family run too. */
  if (strcmp(wa, "amd64") == 0)
    {
      wv = want->variant ? variant_number(want->variant) : 1;
      if (strcmp(have.architecture, "amd64") == 0)
        {
          hv = have.variant ? variant_number(have.variant) : 1;
          if (hv >= 1 && hv < wv)
            rank = wv - hv;
        }
      else if (strcmp(have.architecture, "386") == 0)
        rank = wv;
    }
  else if (strcmp(wa, "arm") == 0 || strcmp(wa, "arm64") == 0)
    {
      bool is64 = strcmp(wa, "arm64") == 0;
      wv = is64 ? 8 : variant_number(want->variant);
      hv = variant_number(have.variant);
      if (strcmp(have.architecture, "arm") == 0 && hv >= 5 && hv <= wv)
        rank = (is64 ? 1 : 0) + (wv - hv);
    }
  return rank;
}

bool
img_descriptor_is_attestation(const struct oci_descriptor *d)
{
  const char *type = oci_kv_get(d->annotations, d->annotations_len, "vnd.docker.reference.type");

  if (type && strcmp(type, "attestation-manifest") == 0)
    return true;
  return d->platform && eq(d->platform->os, "unknown") && eq(d->platform->architecture, "unknown");
}

int
img_platform_select(const struct oci_image_index *index, const struct img_platform *want, size_t *chosen,
                    struct oci_error **err)
{
  cleanup_free char *offered = NULL;
  cleanup_free char *wanted = NULL;
  int best = -1;

  for (size_t i = 0; i < index->manifests_len; i++)
    {
      const struct oci_descriptor *d = &index->manifests[i];
      int r;
      if (d->platform == NULL || img_descriptor_is_attestation(d))
        continue;
      if (want->os_version && d->platform->os_version && !eq(want->os_version, d->platform->os_version))
        continue;
      r = img_platform_rank(want, d->platform->os, d->platform->architecture, d->platform->variant);
      if (r >= 0 && (best < 0 || r < best))
        {
          best = r;
          *chosen = i;
        }
    }
  if (best >= 0)
    return 0;

  offered = xstrdup("");
  for (size_t i = 0; i < index->manifests_len; i++)
    {
      const struct oci_descriptor *d = &index->manifests[i];
      struct img_platform p = { 0 };
      cleanup_free char *s = NULL;
      char *n;
      if (d->platform == NULL || img_descriptor_is_attestation(d))
        continue;
      p.os = d->platform->os;
      p.architecture = d->platform->architecture;
      p.variant = d->platform->variant;
      s = img_platform_string(&p);
      n = xasprintf("%s%s%s", offered, offered[0] ? ", " : "", s);
      free(offered);
      offered = n;
    }
  wanted = img_platform_string(want);
  return oci_error_fail(err, ENOENT,
                        "no image for platform %s (the index offers: %s); choose one with --platform", wanted,
                        offered[0] ? offered : "nothing runnable");
}
