/* /proc/self/mountinfo (see mountinfo.h). */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mountinfo.h"
#include "util.h"

void
oci_mountinfo_clear(struct oci_mountinfo *mi)
{
  free(mi->root);
  free(mi->mountpoint);
  free(mi->optional);
  free(mi->fstype);
  free(mi->super_opts);
  *mi = (struct oci_mountinfo){ 0 };
}

void
oci_mountinfo_free(struct oci_mountinfo *mi, size_t n)
{
  for (size_t i = 0; i < n; i++)
    oci_mountinfo_clear(&mi[i]);
  free(mi);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *
unescape(const char *s)
{
  char *out = xmalloc(strlen(s) + 1);
  size_t o = 0;

  for (size_t i = 0; s[i]; i++)
    {
      if (s[i] == '\\' && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7'
          && s[i + 3] >= '0' && s[i + 3] <= '7')
        {
          out[o++] = (char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
          i += 3;
          continue;
        }
      out[o++] = s[i];
    }
  out[o] = '\0';
  return out;
}

bool
oci_mountinfo_parse_line(const char *text, struct oci_mountinfo *out)
{
  cleanup_free char *line = xstrdup(text);
  char *fields[6];
  char *save = NULL;
  char *tok;
  char *optional = NULL;
  int n = 0;

  line[strcspn(line, "\n")] = '\0';
  /* id parent major:minor root mountpoint options [optional...] - fstype source super */
  for (tok = strtok_r(line, " ", &save); tok && n < 6; tok = strtok_r(NULL, " ", &save))
    fields[n++] = tok;
  if (n < 6)
    return false;
  for (; tok && strcmp(tok, "-") != 0; tok = strtok_r(NULL, " ", &save))
    {
      char *joined = optional ? xasprintf("%s %s", optional, tok) : xstrdup(tok);
      free(optional);
      optional = joined;
    }
  {
    char *fstype = tok ? strtok_r(NULL, " ", &save) : NULL;
    char *source = fstype ? strtok_r(NULL, " ", &save) : NULL;
    char *super = source ? strtok_r(NULL, " ", &save) : NULL;
    if (super == NULL)
      {
        free(optional);
        return false;
      }
    out->id = strtoull(fields[0], NULL, 10);
    out->root = unescape(fields[3]);
    out->mountpoint = unescape(fields[4]);
    out->optional = optional ? optional : xstrdup("");
    out->fstype = xstrdup(fstype);
    out->super_opts = xstrdup(super);
  }
  return true;
}

int
oci_mountinfo_read(struct oci_mountinfo **out, size_t *n, struct oci_error **err)
{
  cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
  cleanup_free char *line = NULL;
  size_t cap = 0;
  struct oci_mountinfo *mi = NULL;
  size_t len = 0;

  if (f == NULL)
    return oci_error_errno(err, "opening /proc/self/mountinfo");
  /* stdio picks 1 KiB for /proc files: read it in a few calls instead. */
  setvbuf(f, NULL, _IOFBF, 16384);
  while (getline(&line, &cap, f) > 0)
    {
      struct oci_mountinfo e;
      if (!oci_mountinfo_parse_line(line, &e))
        continue;
      mi = xrealloc(mi, (len + 1) * sizeof *mi);
      mi[len++] = e;
    }
  *out = mi;
  *n = len;
  return 0;
}

int
oci_mount_table_get(struct oci_mount_table *t, struct oci_error **err)
{
  if (t->read)
    return 0;
  if (oci_mountinfo_read(&t->mi, &t->n, err) < 0)
    return -1;
  t->read = true;
  return 0;
}

void
oci_mount_table_clear(struct oci_mount_table *t)
{
  oci_mountinfo_free(t->mi, t->n);
  *t = (struct oci_mount_table){ 0 };
}
