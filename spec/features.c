/* Emitting the features document; member order follows runtime-spec's Go
 * types (what `runc features` prints). */
#include <string.h>

#include "oci-features.h"
#include "json.h"
#include "util.h"

void
oci_strlist_add(struct oci_strlist *l, const char *s)
{
  /* lists here are a few dozen names, printed once */
  l->v = xrealloc(l->v, (l->len + 2) * sizeof(char *));
  l->v[l->len++] = xstrdup(s);
  l->v[l->len] = NULL;
  l->set = true;
}

void
oci_strlist_add_all(struct oci_strlist *l, const char *const *items)
{
  l->set = true;
  for (; *items; items++)
    oci_strlist_add(l, *items);
}

void
oci_strlist_clear(struct oci_strlist *l)
{
  for (size_t i = 0; i < l->len; i++)
    free(l->v[i]);
  free(l->v);
  *l = (struct oci_strlist){ 0 };
}

static void
put_list(struct json_writer *w, const char *key, const struct oci_strlist *l)
{
  if (!l->set)
    return;
  json_write_key(w, key);
  json_write_array_begin(w);
  for (size_t i = 0; i < l->len; i++)
    json_write_string(w, l->v[i]);
  json_write_array_end(w);
}

static void
put_bool(struct json_writer *w, const char *key, const struct oci_optbool *b)
{
  if (!b->set)
    return;
  json_write_key(w, key);
  json_write_bool(w, b->value);
}

static void
put_enabled(struct json_writer *w, const char *key, const struct oci_features_enabled *e)
{
  if (e == NULL)
    return;
  json_write_key(w, key);
  json_write_object_begin(w);
  put_bool(w, "enabled", &e->enabled);
  json_write_object_end(w);
}

static void
emit_cgroup(struct json_writer *w, const struct oci_features_cgroup *c)
{
  if (c == NULL)
    return;
  json_write_key(w, "cgroup");
  json_write_object_begin(w);
  put_bool(w, "v1", &c->v1);
  put_bool(w, "v2", &c->v2);
  put_bool(w, "systemd", &c->systemd);
  put_bool(w, "systemdUser", &c->systemd_user);
  put_bool(w, "rdma", &c->rdma);
  json_write_object_end(w);
}

static void
emit_seccomp(struct json_writer *w, const struct oci_features_seccomp *s)
{
  if (s == NULL)
    return;
  json_write_key(w, "seccomp");
  json_write_object_begin(w);
  put_bool(w, "enabled", &s->enabled);
  put_list(w, "actions", &s->actions);
  put_list(w, "operators", &s->operators);
  put_list(w, "archs", &s->archs);
  put_list(w, "knownFlags", &s->known_flags);
  put_list(w, "supportedFlags", &s->supported_flags);
  json_write_object_end(w);
}

static void
emit_linux(struct json_writer *w, const struct oci_features_linux *l)
{
  if (l == NULL)
    return;
  json_write_key(w, "linux");
  json_write_object_begin(w);
  put_list(w, "namespaces", &l->namespaces);
  put_list(w, "capabilities", &l->capabilities);
  emit_cgroup(w, l->cgroup);
  emit_seccomp(w, l->seccomp);
  put_enabled(w, "apparmor", l->apparmor);
  put_enabled(w, "selinux", l->selinux);
  if (l->intel_rdt)
    {
      json_write_key(w, "intelRdt");
      json_write_object_begin(w);
      put_bool(w, "enabled", &l->intel_rdt->enabled);
      put_bool(w, "schemata", &l->intel_rdt->schemata);
      put_bool(w, "monitoring", &l->intel_rdt->monitoring);
      json_write_object_end(w);
    }
  if (l->mount_extensions)
    {
      json_write_key(w, "mountExtensions");
      json_write_object_begin(w);
      put_enabled(w, "idmap", l->mount_extensions->idmap);
      json_write_object_end(w);
    }
  put_enabled(w, "netDevices", l->net_devices);
  if (l->memory_policy)
    {
      json_write_key(w, "memoryPolicy");
      json_write_object_begin(w);
      put_list(w, "modes", &l->memory_policy->modes);
      put_list(w, "flags", &l->memory_policy->flags);
      json_write_object_end(w);
    }
  json_write_object_end(w);
}

int
oci_features_emit(const struct oci_features *f, bool pretty, char **out, size_t *len, struct oci_error **err)
{
  cleanup_json_writer struct json_writer *w = json_writer_new_indent(pretty ? "    " : NULL);

  if (f->oci_version_min == NULL || f->oci_version_max == NULL)
    return oci_error_set(err, 0, "features: ociVersionMin and ociVersionMax are required");

  json_write_object_begin(w);
  json_write_key(w, "ociVersionMin");
  json_write_string(w, f->oci_version_min);
  json_write_key(w, "ociVersionMax");
  json_write_string(w, f->oci_version_max);
  put_list(w, "hooks", &f->hooks);
  put_list(w, "mountOptions", &f->mount_options);
  emit_linux(w, f->linux_);
  if (f->annotations_len > 0)
    {
      json_write_key(w, "annotations");
      json_write_object_begin(w);
      for (size_t i = 0; i < f->annotations_len; i++)
        {
          json_write_key(w, f->annotations[i].key);
          json_write_string(w, f->annotations[i].value);
        }
      json_write_object_end(w);
    }
  put_list(w, "potentiallyUnsafeConfigAnnotations", &f->potentially_unsafe_config_annotations);
  json_write_object_end(w);
  return json_writer_finish(w, out, len, err);
}

static void
linux_free(struct oci_features_linux *l)
{
  if (l == NULL)
    return;
  oci_strlist_clear(&l->namespaces);
  oci_strlist_clear(&l->capabilities);
  free(l->cgroup);
  if (l->seccomp)
    {
      oci_strlist_clear(&l->seccomp->actions);
      oci_strlist_clear(&l->seccomp->operators);
      oci_strlist_clear(&l->seccomp->archs);
      oci_strlist_clear(&l->seccomp->known_flags);
      oci_strlist_clear(&l->seccomp->supported_flags);
      free(l->seccomp);
    }
  free(l->apparmor);
  free(l->selinux);
  free(l->intel_rdt);
  if (l->mount_extensions)
    free(l->mount_extensions->idmap);
  free(l->mount_extensions);
  free(l->net_devices);
  if (l->memory_policy)
    {
      oci_strlist_clear(&l->memory_policy->modes);
      oci_strlist_clear(&l->memory_policy->flags);
      free(l->memory_policy);
    }
  free(l);
}

void
oci_features_free(struct oci_features *f)
{
  if (f == NULL)
    return;
  free(f->oci_version_min);
  free(f->oci_version_max);
  oci_strlist_clear(&f->hooks);
  oci_strlist_clear(&f->mount_options);
  linux_free(f->linux_);
  for (size_t i = 0; i < f->annotations_len; i++)
    {
      free(f->annotations[i].key);
      free(f->annotations[i].value);
    }
  free(f->annotations);
  oci_strlist_clear(&f->potentially_unsafe_config_annotations);
  free(f);
}
