/* config.json → struct oci_config.
 *
 * Every field is one line: a typed getter that knows the field's path, so a
 * wrong type reads "config.json: process.args[2]: expected string".  The path
 * lives on the stack as a chain of small structs and is only turned into text
 * when something is wrong, so the common case costs nothing.  Strings are
 * taken out of the parsed tree (which this file owns) rather than copied. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "oci-config.h"
#include "config-fields.h"
#include "json.h"
#include "util.h"

#define SUB(parent, k) (&(const struct oci_field_path){ .up = (parent), .key = (k) })
#define AT(parent, i) (&(const struct oci_field_path){ .up = (parent), .index = (i) })

typedef struct json_value json;

static void
path_print(FILE *f, const struct oci_field_path *p)
{
  if (p == NULL)
    return;
  path_print(f, p->up);
  if (p->key == NULL)
    fprintf(f, "[%zu]", p->index);
  else
    fprintf(f, "%s%s", p->up ? "." : "", p->key);
}

static int field_error(const struct oci_field_path *p, struct oci_error **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
field_error(const struct oci_field_path *p, struct oci_error **err, const char *fmt, ...)
{
  cleanup_free char *where = NULL;
  cleanup_free char *what = NULL;
  size_t size = 0;
  FILE *f;
  va_list ap;

  f = open_memstream(&where, &size);
  if (f == NULL)
    abort();
  path_print(f, p);
  fclose(f);

  va_start(ap, fmt);
  if (vasprintf(&what, fmt, ap) < 0)
    abort();
  va_end(ap);

  if (*where == '\0')
    return oci_error_set(err, 0, "%s", what);
  return oci_error_set(err, 0, "%s: %s", where, what);
}

/* A member that is absent or null; null means "not set" for every optional
 * field of the spec.  Once an error is pending every member reads as absent:
 * errors are sticky, so a parse function is a list of one-line getters
 * followed by `return ok(err);`, and the first error is the one reported. */
static json *
member(const json *obj, const char *key, struct oci_error **err)
{
  json *v;

  if (*err != NULL)
    return NULL;
  v = (json *)json_object_get(obj, key);
  return v && v->type != JSON_NULL ? v : NULL;
}

static int
ok(struct oci_error **err)
{
  return *err != NULL ? -1 : 0;
}

/* ---- scalars ---- */

static int
conv_string(json *v, const struct oci_field_path *p, char **out, struct oci_error **err)
{
  if (v->type != JSON_STRING)
    return field_error(p, err, "expected string");
  free(*out);
  *out = steal_pointer(&v->u.string);
  return 0;
}

static int
conv_bool(json *v, const struct oci_field_path *p, bool *out, struct oci_error **err)
{
  if (v->type != JSON_BOOL)
    return field_error(p, err, "expected boolean");
  *out = v->u.boolean;
  return 0;
}

static int
conv_unsigned(json *v, const struct oci_field_path *p, uint64_t max, const char *type, uint64_t *out,
              struct oci_error **err)
{
  uint64_t n;

  if (v->type != JSON_NUMBER)
    return field_error(p, err, "expected integer");
  if (json_number_uint64(v, &n) < 0)
    {
      if (errno == EINVAL)
        return field_error(p, err, "expected integer");
      return field_error(p, err, "%s out of range for %s", v->u.number, type);
    }
  if (n > max)
    return field_error(p, err, "%s out of range for %s", v->u.number, type);
  *out = n;
  return 0;
}

static int
conv_signed(json *v, const struct oci_field_path *p, int64_t min, int64_t max, const char *type, int64_t *out,
            struct oci_error **err)
{
  int64_t n;

  if (v->type != JSON_NUMBER)
    return field_error(p, err, "expected integer");
  if (json_number_int64(v, &n) < 0)
    {
      if (errno == EINVAL)
        return field_error(p, err, "expected integer");
      return field_error(p, err, "%s out of range for %s", v->u.number, type);
    }
  if (n < min || n > max)
    return field_error(p, err, "%s out of range for %s", v->u.number, type);
  *out = n;
  return 0;
}

static int
conv_u64(json *v, const struct oci_field_path *p, uint64_t *out, struct oci_error **err)
{
  return conv_unsigned(v, p, UINT64_MAX, "uint64", out, err);
}

static int
conv_u32(json *v, const struct oci_field_path *p, uint32_t *out, struct oci_error **err)
{
  uint64_t n;

  if (conv_unsigned(v, p, UINT32_MAX, "uint32", &n, err) < 0)
    return -1;
  *out = (uint32_t)n;
  return 0;
}

static int
conv_u16(json *v, const struct oci_field_path *p, uint16_t *out, struct oci_error **err)
{
  uint64_t n;

  if (conv_unsigned(v, p, UINT16_MAX, "uint16", &n, err) < 0)
    return -1;
  *out = (uint16_t)n;
  return 0;
}

static int
conv_i64(json *v, const struct oci_field_path *p, int64_t *out, struct oci_error **err)
{
  return conv_signed(v, p, INT64_MIN, INT64_MAX, "int64", out, err);
}

static int
conv_i32(json *v, const struct oci_field_path *p, int32_t *out, struct oci_error **err)
{
  int64_t n;

  if (conv_signed(v, p, INT32_MIN, INT32_MAX, "int32", &n, err) < 0)
    return -1;
  *out = (int32_t)n;
  return 0;
}

/* Getters for object members: absent/null leaves *out untouched. */

#define DEFINE_GET(name, type, conv)                                                                         \
  __attribute__((unused)) static int name(const json *obj, const struct oci_field_path *p, const char *key,  \
                                          type *out, struct oci_error **err)                                 \
  {                                                                                                          \
    json *v = member(obj, key, err);                                                                         \
    return v ? conv(v, SUB(p, key), out, err) : 0;                                                           \
  }                                                                                                          \
  __attribute__((unused)) static int name##_opt(const json *obj, const struct oci_field_path *p,             \
                                                const char *key, bool *has, type *out,                       \
                                                struct oci_error **err)                                      \
  {                                                                                                          \
    json *v = member(obj, key, err);                                                                         \
    if (v == NULL)                                                                                           \
      return 0;                                                                                              \
    *has = true;                                                                                             \
    return conv(v, SUB(p, key), out, err);                                                                   \
  }

DEFINE_GET(get_bool, bool, conv_bool)
DEFINE_GET(get_u64, uint64_t, conv_u64)
DEFINE_GET(get_u32, uint32_t, conv_u32)
DEFINE_GET(get_u16, uint16_t, conv_u16)
DEFINE_GET(get_i64, int64_t, conv_i64)
DEFINE_GET(get_i32, int32_t, conv_i32)

static int
get_string(const json *obj, const struct oci_field_path *p, const char *key, char **out,
           struct oci_error **err)
{
  json *v = member(obj, key, err);
  return v ? conv_string(v, SUB(p, key), out, err) : 0;
}

/* ---- containers ---- */

/* The member as an array (NULL when absent) or an error. */
static int
get_array_member(const json *obj, const struct oci_field_path *p, const char *key, json **out,
                 struct oci_error **err)
{
  json *v = member(obj, key, err);

  *out = NULL;
  if (v == NULL)
    return 0;
  if (v->type != JSON_ARRAY)
    return field_error(SUB(p, key), err, "expected array");
  *out = v;
  return 0;
}

/* String arrays are also NULL-terminated, so args and env go to execve as
 * they are. */
static int
get_string_array(const json *obj, const struct oci_field_path *p, const char *key, char ***out, size_t *len,
                 struct oci_error **err)
{
  json *a;
  char **strv;

  if (get_array_member(obj, p, key, &a, err) < 0)
    return -1;
  if (a == NULL || a->u.array.len == 0)
    return 0;

  strv = xcalloc(a->u.array.len + 1, sizeof(char *));
  *out = strv;
  *len = a->u.array.len;
  for (size_t i = 0; i < a->u.array.len; i++)
    conv_string(a->u.array.items[i], AT(SUB(p, key), i), &strv[i], err);
  return ok(err);
}

static int
get_u32_array(const json *obj, const struct oci_field_path *p, const char *key, uint32_t **out, size_t *len,
              struct oci_error **err)
{
  json *a;

  if (get_array_member(obj, p, key, &a, err) < 0)
    return -1;
  if (a == NULL || a->u.array.len == 0)
    return 0;

  *out = xcalloc(a->u.array.len, sizeof(uint32_t));
  *len = a->u.array.len;
  for (size_t i = 0; i < a->u.array.len; i++)
    conv_u32(a->u.array.items[i], AT(SUB(p, key), i), &(*out)[i], err);
  return ok(err);
}

typedef int (*parse_fn)(json *obj, const struct oci_field_path *p, void *out, struct oci_error **err);

/* An array of objects.  The array is attached to *out before its elements
 * are filled, so whatever a failure leaves behind is freed by the owner. */
static int
get_object_array(const json *obj, const struct oci_field_path *p, const char *key, size_t size, parse_fn fn,
                 void *out, size_t *len, struct oci_error **err)
{
  json *a;
  char *elems;

  if (get_array_member(obj, p, key, &a, err) < 0)
    return -1;
  if (a == NULL || a->u.array.len == 0)
    return 0;

  elems = xcalloc(a->u.array.len, size);
  *(void **)out = elems;
  *len = a->u.array.len;
  for (size_t i = 0; i < a->u.array.len; i++)
    {
      const struct oci_field_path *ep = AT(SUB(p, key), i);
      json *e = a->u.array.items[i];

      if (e->type != JSON_OBJECT)
        return field_error(ep, err, "expected object");
      if (fn(e, ep, elems + i * size, err) < 0)
        return -1;
    }
  return 0;
}

/* An optional object member, allocated and attached to *out before it is
 * filled (see get_object_array). */
static int
get_object(const json *obj, const struct oci_field_path *p, const char *key, size_t size, parse_fn fn,
           void *out, struct oci_error **err)
{
  json *v = member(obj, key, err);
  void *s;

  if (v == NULL)
    return 0;
  if (v->type != JSON_OBJECT)
    return field_error(SUB(p, key), err, "expected object");
  s = xzalloc(size);
  *(void **)out = s;
  return fn(v, SUB(p, key), s, err);
}

/* A member that must be an object when present; NULL when absent. */
static int
get_plain_object(const json *obj, const struct oci_field_path *p, const char *key, json **out,
                 struct oci_error **err)
{
  json *v = member(obj, key, err);

  *out = NULL;
  if (v == NULL)
    return 0;
  if (v->type != JSON_OBJECT)
    return field_error(SUB(p, key), err, "expected object");
  *out = v;
  return 0;
}

static int
get_kv_map(const json *obj, const struct oci_field_path *p, const char *key, struct oci_kv **out, size_t *len,
           struct oci_error **err)
{
  json *m;

  if (get_plain_object(obj, p, key, &m, err) < 0)
    return -1;
  if (m == NULL || m->u.object.len == 0)
    return 0;

  *out = xcalloc(m->u.object.len, sizeof(struct oci_kv));
  *len = m->u.object.len;
  for (size_t i = 0; i < m->u.object.len; i++)
    {
      struct oci_kv *kv = &(*out)[i];

      if (conv_string(m->u.object.values[i], SUB(SUB(p, key), m->u.object.keys[i]), &kv->value, err) < 0)
        return -1;
      kv->key = steal_pointer(&m->u.object.keys[i]);
    }
  return 0;
}

/* ---- the spec's objects, in config.md order ---- */

static int
parse_id_mapping(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_id_mapping *m = out;

  get_u32(o, p, "containerID", &m->container_id, err);
  get_u32(o, p, "hostID", &m->host_id, err);
  get_u32(o, p, "size", &m->size, err);
  return ok(err);
}

static int
parse_root(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_root *r = out;

  get_string(o, p, "path", &r->path, err);
  get_bool(o, p, "readonly", &r->readonly, err);
  return ok(err);
}

static int
parse_mount(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_mount *m = out;

  get_string(o, p, "destination", &m->destination, err);
  get_string(o, p, "source", &m->source, err);
  get_string(o, p, "type", &m->type, err);
  get_string_array(o, p, "options", &m->options, &m->options_len, err);
  get_object_array(o, p, "uidMappings", sizeof(struct oci_id_mapping), parse_id_mapping, &m->uid_mappings,
                   &m->uid_mappings_len, err);
  get_object_array(o, p, "gidMappings", sizeof(struct oci_id_mapping), parse_id_mapping, &m->gid_mappings,
                   &m->gid_mappings_len, err);
  return ok(err);
}

static int
parse_rlimit(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_rlimit *r = out;

  get_string(o, p, "type", &r->type, err);
  get_u64(o, p, "soft", &r->soft, err);
  get_u64(o, p, "hard", &r->hard, err);
  return ok(err);
}

static int
parse_capabilities(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_capabilities *c = out;

  get_string_array(o, p, "bounding", &c->bounding, &c->bounding_len, err);
  get_string_array(o, p, "effective", &c->effective, &c->effective_len, err);
  get_string_array(o, p, "inheritable", &c->inheritable, &c->inheritable_len, err);
  get_string_array(o, p, "permitted", &c->permitted, &c->permitted_len, err);
  get_string_array(o, p, "ambient", &c->ambient, &c->ambient_len, err);
  return ok(err);
}

static int
parse_user(json *o, const struct oci_field_path *p, struct oci_user *u, struct oci_error **err)
{
  get_u32(o, p, "uid", &u->uid, err);
  get_u32(o, p, "gid", &u->gid, err);
  get_u32_opt(o, p, "umask", &u->has_umask, &u->umask, err);
  get_u32_array(o, p, "additionalGids", &u->additional_gids, &u->additional_gids_len, err);
  get_string(o, p, "username", &u->username, err);
  return ok(err);
}

static int
parse_scheduler(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_scheduler *s = out;

  get_string(o, p, "policy", &s->policy, err);
  get_i32_opt(o, p, "nice", &s->has_nice, &s->nice, err);
  get_i32_opt(o, p, "priority", &s->has_priority, &s->priority, err);
  get_string_array(o, p, "flags", &s->flags, &s->flags_len, err);
  get_u64_opt(o, p, "runtime", &s->has_runtime, &s->runtime, err);
  get_u64_opt(o, p, "deadline", &s->has_deadline, &s->deadline, err);
  get_u64_opt(o, p, "period", &s->has_period, &s->period, err);
  return ok(err);
}

static int
parse_io_priority(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_io_priority *io = out;

  get_string(o, p, "class", &io->class_, err);
  get_i32(o, p, "priority", &io->priority, err);
  return ok(err);
}

static int
parse_cpu_affinity(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_cpu_affinity *a = out;

  get_string(o, p, "initial", &a->initial, err);
  get_string(o, p, "final", &a->final, err);
  return ok(err);
}

static int
parse_process_fields(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_process *pr = out;
  json *box, *user;

  get_bool(o, p, "terminal", &pr->terminal, err);
  get_plain_object(o, p, "consoleSize", &box, err);
  if (box)
    {
      pr->has_console_size = true;
      get_u32(box, SUB(p, "consoleSize"), "height", &pr->console_height, err);
      get_u32(box, SUB(p, "consoleSize"), "width", &pr->console_width, err);
    }
  get_plain_object(o, p, "user", &user, err);
  if (user)
    parse_user(user, SUB(p, "user"), &pr->user, err);
  get_string_array(o, p, "args", &pr->args, &pr->args_len, err);
  get_string(o, p, "commandLine", &pr->command_line, err);
  get_string_array(o, p, "env", &pr->env, &pr->env_len, err);
  get_string(o, p, "cwd", &pr->cwd, err);
  get_object(o, p, "capabilities", sizeof(struct oci_capabilities), parse_capabilities, &pr->capabilities,
             err);
  get_object_array(o, p, "rlimits", sizeof(struct oci_rlimit), parse_rlimit, &pr->rlimits, &pr->rlimits_len,
                   err);
  get_bool(o, p, "noNewPrivileges", &pr->no_new_privileges, err);
  get_string(o, p, "apparmorProfile", &pr->apparmor_profile, err);
  get_i32_opt(o, p, "oomScoreAdj", &pr->has_oom_score_adj, &pr->oom_score_adj, err);
  get_object(o, p, "scheduler", sizeof(struct oci_scheduler), parse_scheduler, &pr->scheduler, err);
  get_string(o, p, "selinuxLabel", &pr->selinux_label, err);
  get_object(o, p, "ioPriority", sizeof(struct oci_io_priority), parse_io_priority, &pr->io_priority, err);
  get_object(o, p, "execCPUAffinity", sizeof(struct oci_cpu_affinity), parse_cpu_affinity,
             &pr->exec_cpu_affinity, err);
  return ok(err);
}

static int
parse_hook(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_hook *h = out;

  get_string(o, p, "path", &h->path, err);
  get_string_array(o, p, "args", &h->args, &h->args_len, err);
  get_string_array(o, p, "env", &h->env, &h->env_len, err);
  get_i32_opt(o, p, "timeout", &h->has_timeout, &h->timeout, err);
  return ok(err);
}

static int
get_hooks(const json *o, const struct oci_field_path *p, const char *key, struct oci_hook **out, size_t *len,
          struct oci_error **err)
{
  return get_object_array(o, p, key, sizeof(struct oci_hook), parse_hook, out, len, err);
}

static int
parse_hooks(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_hooks *h = out;

  get_hooks(o, p, "prestart", &h->prestart, &h->prestart_len, err);
  get_hooks(o, p, "createRuntime", &h->create_runtime, &h->create_runtime_len, err);
  get_hooks(o, p, "createContainer", &h->create_container, &h->create_container_len, err);
  get_hooks(o, p, "startContainer", &h->start_container, &h->start_container_len, err);
  get_hooks(o, p, "poststart", &h->poststart, &h->poststart_len, err);
  get_hooks(o, p, "poststop", &h->poststop, &h->poststop_len, err);
  return ok(err);
}

/* ---- linux ---- */

static int
parse_namespace(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_namespace *ns = out;

  get_string(o, p, "type", &ns->type, err);
  get_string(o, p, "path", &ns->path, err);
  return ok(err);
}

static int
parse_time_offset(const json *offsets, const struct oci_field_path *p, const char *clock, bool *has,
                  struct oci_time_offset *t, struct oci_error **err)
{
  json *o;

  get_plain_object(offsets, p, clock, &o, err);
  if (o == NULL)
    return ok(err);
  *has = true;
  get_i64(o, SUB(p, clock), "secs", &t->secs, err);
  get_u32(o, SUB(p, clock), "nanosecs", &t->nanosecs, err);
  return ok(err);
}

static int
parse_device(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_device *d = out;

  get_string(o, p, "type", &d->type, err);
  get_string(o, p, "path", &d->path, err);
  get_i64(o, p, "major", &d->major, err);
  get_i64(o, p, "minor", &d->minor, err);
  get_u32_opt(o, p, "fileMode", &d->has_file_mode, &d->file_mode, err);
  get_u32_opt(o, p, "uid", &d->has_uid, &d->uid, err);
  get_u32_opt(o, p, "gid", &d->has_gid, &d->gid, err);
  return ok(err);
}

static int
parse_intel_rdt(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_intel_rdt *r = out;

  get_string(o, p, "closID", &r->clos_id, err);
  get_string(o, p, "l3CacheSchema", &r->l3_cache_schema, err);
  get_string(o, p, "memBwSchema", &r->mem_bw_schema, err);
  get_string_array(o, p, "schemata", &r->schemata, &r->schemata_len, err);
  get_bool(o, p, "enableMonitoring", &r->enable_monitoring, err);
  return ok(err);
}

static int
parse_seccomp_arg(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_seccomp_arg *a = out;

  get_u32(o, p, "index", &a->index, err);
  get_u64(o, p, "value", &a->value, err);
  get_u64_opt(o, p, "valueTwo", &a->has_value_two, &a->value_two, err);
  get_string(o, p, "op", &a->op, err);
  return ok(err);
}

static int
parse_seccomp_syscall(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_seccomp_syscall *s = out;

  get_string_array(o, p, "names", &s->names, &s->names_len, err);
  get_string(o, p, "action", &s->action, err);
  get_u32_opt(o, p, "errnoRet", &s->has_errno_ret, &s->errno_ret, err);
  get_object_array(o, p, "args", sizeof(struct oci_seccomp_arg), parse_seccomp_arg, &s->args, &s->args_len,
                   err);
  return ok(err);
}

static int
parse_seccomp(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_seccomp *s = out;

  get_string(o, p, "defaultAction", &s->default_action, err);
  get_u32_opt(o, p, "defaultErrnoRet", &s->has_default_errno_ret, &s->default_errno_ret, err);
  get_string_array(o, p, "architectures", &s->architectures, &s->architectures_len, err);
  get_string_array(o, p, "flags", &s->flags, &s->flags_len, err);
  get_string(o, p, "listenerPath", &s->listener_path, err);
  get_string(o, p, "listenerMetadata", &s->listener_metadata, err);
  get_object_array(o, p, "syscalls", sizeof(struct oci_seccomp_syscall), parse_seccomp_syscall, &s->syscalls,
                   &s->syscalls_len, err);
  return ok(err);
}

static int
parse_personality(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_personality *pe = out;

  get_string(o, p, "domain", &pe->domain, err);
  get_string_array(o, p, "flags", &pe->flags, &pe->flags_len, err);
  return ok(err);
}

/* "netDevices": {"<host name>": {"name": "<name in the container>"}} */
static int
get_net_devices(const json *o, const struct oci_field_path *p, struct oci_net_device **out, size_t *len,
                struct oci_error **err)
{
  const struct oci_field_path *mp = SUB(p, "netDevices");
  json *m;

  if (get_plain_object(o, p, "netDevices", &m, err) < 0)
    return -1;
  if (m == NULL || m->u.object.len == 0)
    return 0;

  *out = xcalloc(m->u.object.len, sizeof(struct oci_net_device));
  *len = m->u.object.len;
  for (size_t i = 0; i < m->u.object.len; i++)
    {
      const struct oci_field_path *ep = SUB(mp, m->u.object.keys[i]);
      struct oci_net_device *d = &(*out)[i];
      json *e = m->u.object.values[i];

      if (e->type != JSON_OBJECT)
        return field_error(ep, err, "expected object");
      if (get_string(e, ep, "name", &d->name, err) < 0)
        return -1;
      d->host_name = steal_pointer(&m->u.object.keys[i]);
    }
  return 0;
}

static int
parse_memory_policy(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_memory_policy *m = out;

  get_string(o, p, "mode", &m->mode, err);
  get_string(o, p, "nodes", &m->nodes, err);
  get_string_array(o, p, "flags", &m->flags, &m->flags_len, err);
  return ok(err);
}

static int
parse_linux(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_linux *l = out;
  json *offsets;

  get_object_array(o, p, "namespaces", sizeof(struct oci_namespace), parse_namespace, &l->namespaces,
                   &l->namespaces_len, err);
  get_object_array(o, p, "uidMappings", sizeof(struct oci_id_mapping), parse_id_mapping, &l->uid_mappings,
                   &l->uid_mappings_len, err);
  get_object_array(o, p, "gidMappings", sizeof(struct oci_id_mapping), parse_id_mapping, &l->gid_mappings,
                   &l->gid_mappings_len, err);
  get_plain_object(o, p, "timeOffsets", &offsets, err);
  if (offsets)
    {
      parse_time_offset(offsets, SUB(p, "timeOffsets"), "monotonic", &l->has_time_offset_monotonic,
                        &l->time_offset_monotonic, err);
      parse_time_offset(offsets, SUB(p, "timeOffsets"), "boottime", &l->has_time_offset_boottime,
                        &l->time_offset_boottime, err);
    }
  get_object_array(o, p, "devices", sizeof(struct oci_device), parse_device, &l->devices, &l->devices_len,
                   err);
  get_string(o, p, "cgroupsPath", &l->cgroups_path, err);
  if (*err == NULL)
    oci_fields_parse(oci_linux_resources_field, o, p, l, err);
  get_object(o, p, "intelRdt", sizeof(struct oci_intel_rdt), parse_intel_rdt, &l->intel_rdt, err);
  get_kv_map(o, p, "sysctl", &l->sysctl, &l->sysctl_len, err);
  get_object(o, p, "seccomp", sizeof(struct oci_seccomp), parse_seccomp, &l->seccomp, err);
  get_string(o, p, "rootfsPropagation", &l->rootfs_propagation, err);
  get_string_array(o, p, "maskedPaths", &l->masked_paths, &l->masked_paths_len, err);
  get_string_array(o, p, "readonlyPaths", &l->readonly_paths, &l->readonly_paths_len, err);
  get_string(o, p, "mountLabel", &l->mount_label, err);
  get_object(o, p, "personality", sizeof(struct oci_personality), parse_personality, &l->personality, err);
  get_net_devices(o, p, &l->net_devices, &l->net_devices_len, err);
  get_object(o, p, "memoryPolicy", sizeof(struct oci_memory_policy), parse_memory_policy, &l->memory_policy,
             err);
  return ok(err);
}

static int
parse_config_fields(json *o, const struct oci_field_path *p, void *out, struct oci_error **err)
{
  struct oci_config *c = out;

  get_string(o, p, "ociVersion", &c->oci_version, err);
  get_object(o, p, "root", sizeof(struct oci_root), parse_root, &c->root, err);
  get_object_array(o, p, "mounts", sizeof(struct oci_mount), parse_mount, &c->mounts, &c->mounts_len, err);
  get_object(o, p, "process", sizeof(struct oci_process), parse_process_fields, &c->process, err);
  get_string(o, p, "hostname", &c->hostname, err);
  get_string(o, p, "domainname", &c->domainname, err);
  get_kv_map(o, p, "annotations", &c->annotations, &c->annotations_len, err);
  get_object(o, p, "hooks", sizeof(struct oci_hooks), parse_hooks, &c->hooks, err);
  get_object(o, p, "linux", sizeof(struct oci_linux), parse_linux, &c->linux_, err);
  return ok(err);
}

/* ---- entry points ---- */

/* Parse a document whose top level is one of the spec's objects. */
static int
parse_document(const char *name, const char *text, size_t len, size_t size, parse_fn fn, void *out,
               struct oci_error **err)
{
  cleanup_json_value json *root = NULL;
  struct oci_error *local = NULL;

  if (json_parse(name, text, len, &root, err) < 0)
    return -1;
  if (root->type != JSON_OBJECT)
    return oci_error_set(err, 0, "%s: expected a JSON object", name);
  *(void **)out = xzalloc(size);
  /* the getters read *err to stop at the first error, so it must exist */
  if (fn(root, NULL, *(void **)out, &local) == 0)
    return 0;
  oci_error_wrap(&local, "%s", name);
  if (err != NULL && *err == NULL)
    *err = local;
  else
    oci_error_free(local);
  return -1;
}

int
oci_config_parse(const char *name, const char *text, size_t len, struct oci_config **out,
                 struct oci_error **err)
{
  struct oci_config *c = NULL;

  if (parse_document(name, text, len, sizeof *c, parse_config_fields, &c, err) < 0)
    {
      oci_config_free(c);
      return -1;
    }
  *out = c;
  return 0;
}

int
oci_process_parse(const char *name, const char *text, size_t len, struct oci_process **out,
                  struct oci_error **err)
{
  struct oci_process *p = NULL;

  if (parse_document(name, text, len, sizeof *p, parse_process_fields, &p, err) < 0)
    {
      oci_process_free(p);
      return -1;
    }
  *out = p;
  return 0;
}

int
oci_resources_parse(const char *name, const char *text, size_t len, struct oci_resources **out,
                    struct oci_error **err)
{
  return oci_fields_parse_document(name, text, len, oci_resources_fields, sizeof **out, (void **)out, err);
}

/* The whole file, NUL terminated; works for pipes and /proc files too. */
static int
read_file(const char *path, char **out, size_t *len, struct oci_error **err)
{
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  cleanup_free char *buf = NULL;
  size_t cap, n = 0;
  struct stat st;

  if (fd < 0 || fstat(fd, &st) < 0)
    return oci_error_errno(err, "%s", path);
  cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
  buf = xmalloc(cap);
  for (;;)
    {
      ssize_t r;

      if (n + 1 >= cap)
        buf = xrealloc(buf, cap *= 2);
      r = read(fd, buf + n, cap - n - 1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return oci_error_errno(err, "%s", path);
      if (r == 0)
        break;
      n += (size_t)r;
    }
  buf[n] = '\0';
  *out = steal_pointer(&buf);
  *len = n;
  return 0;
}

int
oci_config_parse_file(const char *path, struct oci_config **out, struct oci_error **err)
{
  cleanup_free char *text = NULL;
  const char *base = strrchr(path, '/');
  size_t len = 0;

  if (read_file(path, &text, &len, err) < 0)
    return -1;
  return oci_config_parse(base && base[1] ? base + 1 : path, text, len, out, err);
}
