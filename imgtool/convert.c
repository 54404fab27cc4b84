#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spec/util.h"
#include "inroot.h"
#include "convert.h"
#include "layer.h"

#define ANN_PREFIX "org.opencontainers.image."

/* ---- /etc/passwd and /etc/group of the image ---- */

static bool
parse_id(const char *s, uint32_t *out)
{
  char *end;
  if (s == NULL || *s == '\0' || *s == '-' || *s == '+')
    return false;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v > UINT32_MAX - 1)
    return false;
  *out = v;
  return true;
}

static FILE *
open_etc(int rootfd, const char *path)
{
  int fd = oci_root_openat(rootfd, path, O_RDONLY, 0);
  if (fd < 0)
    return NULL;
  FILE *f = fdopen(fd, "re");
  if (f == NULL)
    close(fd);
  return f;
}

/* Split a colon-separated line in place into at most n fields. */
static size_t
split_fields(char *line, char **fields, size_t n)
{
  size_t i = 0;
  line[strcspn(line, "\n")] = '\0';
  while (i < n)
    {
      fields[i++] = line;
      char *c = strchr(line, ':');
      if (c == NULL)
        break;
      *c = '\0';
      line = c + 1;
    }
  return i;
}

/* One of the image's colon-separated databases (/etc/passwd, /etc/group),
 * read an entry at a time; a missing file reads as empty. */
struct etc_db
{
  FILE *f;
  char *line;
  size_t cap;
};

static void
etc_db_close(struct etc_db *db)
{
  if (db->f)
    fclose(db->f);
  free(db->line);
}

#define cleanup_etc_db __attribute__((cleanup(etc_db_close)))

/* The next entry split into at most n fields: how many; -1 at the end. */
static int
etc_db_next(struct etc_db *db, char **fields, size_t n)
{
  if (db->f == NULL || getline(&db->line, &db->cap, db->f) <= 0)
    return -1;
  return (int)split_fields(db->line, fields, n);
}

struct passwd_entry
{
  uint32_t uid, gid;
  char name[256];
};

/* By name, or by uid when name is NULL.  1 found, 0 not. */
static int
lookup_passwd(int rootfd, const char *name, uint32_t uid, struct passwd_entry *out)
{
  cleanup_etc_db struct etc_db db = { .f = open_etc(rootfd, "/etc/passwd") };
  char *fld[7];
  int n;

  while ((n = etc_db_next(&db, fld, 7)) >= 0)
    {
      uint32_t u, g;
      if (n < 4 || !parse_id(fld[2], &u) || !parse_id(fld[3], &g))
        continue;
      if (name ? strcmp(fld[0], name) == 0 : u == uid)
        {
          out->uid = u;
          out->gid = g;
          snprintf(out->name, sizeof out->name, "%s", fld[0]);
          return 1;
        }
    }
  return 0;
}

static int
lookup_group(int rootfd, const char *name, uint32_t *gid)
{
  cleanup_etc_db struct etc_db db = { .f = open_etc(rootfd, "/etc/group") };
  char *fld[4];
  int n;

  while ((n = etc_db_next(&db, fld, 4)) >= 0)
    if (n >= 3 && strcmp(fld[0], name) == 0 && parse_id(fld[2], gid))
      return 1;
  return 0;
}

/* Groups listing `user` as a member, except `primary`. */
static void
supplementary_groups(int rootfd, const char *user, uint32_t primary, struct oci_user *out)
{
  cleanup_etc_db struct etc_db db = { .f = open_etc(rootfd, "/etc/group") };
  char *fld[4];
  int n;

  while ((n = etc_db_next(&db, fld, 4)) >= 0)
    {
      uint32_t gid;
      if (n < 4 || !parse_id(fld[2], &gid) || gid == primary)
        continue;
      for (char *save = NULL, *m = strtok_r(fld[3], ",", &save); m; m = strtok_r(NULL, ",", &save))
        if (strcmp(m, user) == 0)
          {
            bool dup = false;
            for (size_t i = 0; i < out->additional_gids_len; i++)
              dup |= out->additional_gids[i] == gid;
            if (dup)
              break;
            out->additional_gids
                = xrealloc(out->additional_gids, (out->additional_gids_len + 1) * sizeof(uint32_t));
            out->additional_gids[out->additional_gids_len++] = gid;
            break;
          }
    }
}

int
img_convert_user(const char *spec, int rootfd, struct oci_user *out, struct oci_error **err)
{
  struct passwd_entry pw;

  out->uid = out->gid = 0;
  if (spec == NULL || spec[0] == '\0')
    return 0;

  cleanup_free char *user = xstrdup(spec);
  char *group = strchr(user, ':');
  if (group)
    *group++ = '\0';

  if (user[0] == '\0')
    return oci_error_set(err, 0, "config.User `%s`: empty user name", spec);
  if (parse_id(user, &out->uid))
    {
      /* Numeric: verbatim; the primary group from passwd when listed. */
      if (group == NULL && lookup_passwd(rootfd, NULL, out->uid, &pw))
        out->gid = pw.gid;
    }
  else
    {
      if (!lookup_passwd(rootfd, user, 0, &pw))
        return oci_error_set(err, 0, "config.User `%s`: unknown user `%s` (not in the image's /etc/passwd)",
                             spec, user);
      out->uid = pw.uid;
      out->gid = pw.gid;
      if (group == NULL)
        supplementary_groups(rootfd, user, out->gid, out);
    }

  if (group)
    {
      if (group[0] == '\0')
        return oci_error_set(err, 0, "config.User `%s`: empty group name", spec);
      if (!parse_id(group, &out->gid) && !lookup_group(rootfd, group, &out->gid))
        return oci_error_set(err, 0, "config.User `%s`: unknown group `%s` (not in the image's /etc/group)",
                             spec, group);
    }
  return 0;
}

/* ---- the rest of the conversion ---- */

static char **
strv_concat(char **a, size_t a_len, char **b, size_t b_len, size_t *len)
{
  char **v = xcalloc(a_len + b_len + 1, sizeof *v);
  for (size_t i = 0; i < a_len; i++)
    v[i] = xstrdup(a[i]);
  for (size_t i = 0; i < b_len; i++)
    v[a_len + i] = xstrdup(b[i]);
  *len = a_len + b_len;
  return v;
}

static bool
env_has(char **env, size_t len, const char *entry)
{
  size_t n = strcspn(entry, "=");
  for (size_t i = 0; i < len; i++)
    if (strncmp(env[i], entry, n) == 0 && (env[i][n] == '=' || env[i][n] == '\0'))
      return true;
  return false;
}

/* The image's Env, plus the defaults whose names it does not set
 * (conversion.md: do not add variables the image names).  TERM only
 * with a terminal. */
static void
convert_env(const struct oci_image_exec_config *c, bool terminal, struct oci_process *p)
{
  size_t len;
  char **env = strv_concat(c->env, c->env_len, NULL, 0, &len);
  for (size_t i = 0; i < p->env_len; i++)
    {
      if (env_has(env, len, p->env[i]) || (!terminal && strncmp(p->env[i], "TERM=", 5) == 0))
        continue;
      env = xrealloc(env, (len + 2) * sizeof *env);
      env[len++] = xstrdup(p->env[i]);
      env[len] = NULL;
    }
  cleanup_strvp(&p->env);
  p->env = env;
  p->env_len = len;
}

static char *
join(char **v, size_t len, const char *sep)
{
  size_t n = 1;
  for (size_t i = 0; i < len; i++)
    n += strlen(v[i]) + strlen(sep);
  char *s = xzalloc(n);
  for (size_t i = 0; i < len; i++)
    {
      if (i)
        strcat(s, sep);
      strcat(s, v[i]);
    }
  return s;
}

static void
annotate(struct oci_config *cfg, const char *key, const char *value)
{
  if (value)
    oci_kv_set(&cfg->annotations, &cfg->annotations_len, key, value);
}

static void
convert_annotations(const struct oci_image_config *img, struct oci_config *cfg)
{
  const struct oci_image_exec_config *c = &img->config;

  annotate(cfg, ANN_PREFIX "os", img->os);
  annotate(cfg, ANN_PREFIX "architecture", img->architecture);
  annotate(cfg, ANN_PREFIX "variant", img->variant);
  annotate(cfg, ANN_PREFIX "os.version", img->os_version);
  if (img->os_features_len)
    {
      cleanup_free char *f = join(img->os_features, img->os_features_len, ",");
      annotate(cfg, ANN_PREFIX "os.features", f);
    }
  annotate(cfg, ANN_PREFIX "author", img->author);
  annotate(cfg, ANN_PREFIX "created", img->created);
  annotate(cfg, ANN_PREFIX "stopSignal", c->stop_signal);
  if (c->exposed_ports_len)
    {
      cleanup_free char **keys = xcalloc(c->exposed_ports_len + 1, sizeof *keys);
      for (size_t i = 0; i < c->exposed_ports_len; i++)
        keys[i] = c->exposed_ports[i].key;
      cleanup_free char *ports = join(keys, c->exposed_ports_len, ",");
      annotate(cfg, ANN_PREFIX "exposedPorts", ports);
    }
  /* Labels last: on a conflict they win (conversion.md). */
  for (size_t i = 0; i < c->labels_len; i++)
    annotate(cfg, c->labels[i].key, c->labels[i].value);
}

/* Volumes become tmpfs mounts so that data written there stays out of the
 * rootfs, as umoci does. */
static int
convert_volumes(const struct oci_image_exec_config *c, struct oci_config *cfg, struct oci_error **err)
{
  static const char *const opts[] = { "rw", "nosuid", "nodev", "noexec", "relatime" };

  for (size_t i = 0; i < c->volumes_len; i++)
    {
      const char *dest = c->volumes[i].key;
      bool dup = false;
      if (dest[0] != '/')
        return oci_error_set(err, 0, "config.Volumes: `%s` is not an absolute path", dest);
      for (size_t j = 0; j < cfg->mounts_len; j++)
        dup |= strcmp(cfg->mounts[j].destination, dest) == 0;
      if (dup)
        continue;
      cfg->mounts = xrealloc(cfg->mounts, (cfg->mounts_len + 1) * sizeof *cfg->mounts);
      struct oci_mount *m = &cfg->mounts[cfg->mounts_len++];
      memset(m, 0, sizeof *m);
      m->destination = xstrdup(dest);
      m->type = xstrdup("tmpfs");
      m->source = xstrdup("tmpfs");
      m->options = xcalloc(OCI_ARRAY_SIZE(opts) + 1, sizeof(char *));
      for (size_t k = 0; k < OCI_ARRAY_SIZE(opts); k++)
        m->options[k] = xstrdup(opts[k]);
      m->options_len = OCI_ARRAY_SIZE(opts);
    }
  return 0;
}

int
img_convert_config(const struct oci_image_config *img, int rootfd, const struct img_convert_opts *o,
                   struct oci_config **out, struct oci_error **err)
{
  const struct oci_image_exec_config *c = &img->config;
  cleanup_config struct oci_config *cfg = oci_config_default(o->rootless, o->uid, o->gid);
  struct oci_process *p = cfg->process;

  if (c->entrypoint_len + c->cmd_len == 0)
    return oci_error_set(err, 0, "image config has neither Entrypoint nor Cmd: no command to run");

  /* An image's rootfs is meant to be written to (docker, umoci). */
  cfg->root->readonly = false;
  p->terminal = o->terminal;
  cleanup_strvp(&p->args);
  p->args = strv_concat(c->entrypoint, c->entrypoint_len, c->cmd, c->cmd_len, &p->args_len);
  convert_env(c, o->terminal, p);
  if (c->working_dir && c->working_dir[0])
    {
      free(p->cwd);
      p->cwd = c->working_dir[0] == '/' ? xstrdup(c->working_dir) : xasprintf("/%s", c->working_dir);
    }
  if (img_convert_user(c->user, rootfd, &p->user, err) < 0)
    return -1;
  convert_annotations(img, cfg);
  if (convert_volumes(c, cfg, err) < 0)
    return -1;
  *out = steal_pointer(&cfg);
  return 0;
}
