/* The generic walker over `struct oci_field` tables: parse, emit, free.
 *
 * Integers are converted from the literal text json.c keeps, so every
 * uint64 and int64 is exact and a value beyond the member's type reads
 * "<path>: 18446744073709551616 out of range for uint64". */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fields.h"
#include "util.h"

typedef struct json_value json;
typedef struct oci_field_path path;

#define SUB(parent, k) (&(const path){ .up = (parent), .key = (k) })
#define AT(parent, i) (&(const path){ .up = (parent), .index = (i) })

#define MEMBER(base, offset, type) ((type *)((char *)(base) + (offset)))
#define CMEMBER(base, offset, type) ((const type *)((const char *)(base) + (offset)))

static void
path_print(FILE *f, const path *p)
{
  if (p == NULL)
    return;
  path_print(f, p->up);
  if (p->key == NULL)
    fprintf(f, "[%zu]", p->index);
  else
    fprintf(f, "%s%s", p->up ? "." : "", p->key);
}

static int field_error(const path *p, struct oci_error **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
field_error(const path *p, struct oci_error **err, const char *fmt, ...)
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

/* ---- parse ---- */

static int
out_of_range(const json *v, const path *p, const struct oci_field *f, struct oci_error **err)
{
  return field_error(p, err, "%s out of range for %sint%zu", v->u.number,
                     f->kind == OCI_FIELD_UINT ? "u" : "", f->size * 8);
}

static int
parse_uint(const struct oci_field *f, const json *v, const path *p, void *at, struct oci_error **err)
{
  uint64_t n, max = f->size >= 8 ? UINT64_MAX : (UINT64_C(1) << (f->size * 8)) - 1;

  if (json_number_uint64(v, &n) < 0)
    return errno == EINVAL ? field_error(p, err, "expected integer") : out_of_range(v, p, f, err);
  if (n > max)
    return out_of_range(v, p, f, err);
  switch (f->size)
    {
    case 2:
      *(uint16_t *)at = (uint16_t)n;
      return 0;
    case 4:
      *(uint32_t *)at = (uint32_t)n;
      return 0;
    case 8:
      *(uint64_t *)at = n;
      return 0;
    }
  abort(); /* a table row the macros cannot produce */
}

static int
parse_int(const struct oci_field *f, const json *v, const path *p, void *at, struct oci_error **err)
{
  int64_t n, max = f->size >= 8 ? INT64_MAX : (INT64_C(1) << (f->size * 8 - 1)) - 1;

  if (json_number_int64(v, &n) < 0)
    return errno == EINVAL ? field_error(p, err, "expected integer") : out_of_range(v, p, f, err);
  if (n < -max - 1 || n > max)
    return out_of_range(v, p, f, err);
  switch (f->size)
    {
    case 2:
      *(int16_t *)at = (int16_t)n;
      return 0;
    case 4:
      *(int32_t *)at = (int32_t)n;
      return 0;
    case 8:
      *(int64_t *)at = n;
      return 0;
    }
  abort();
}

static int parse_value(const struct oci_field *f, json *v, const path *p, void *base, struct oci_error **err);

/* Arrays and maps are attached to the struct before their elements are
 * filled, so whatever a failure leaves behind is freed with the owner. */
static char *
attach_elements(const struct oci_field *f, void *base, size_t len)
{
  /* one more NULL pointer: string arrays go to execve as they are */
  char *elems = xcalloc(len + (f->elem->kind == OCI_FIELD_STRING), f->size);

  *MEMBER(base, f->offset, void *) = elems;
  *MEMBER(base, f->len_offset, size_t) = len;
  return elems;
}

static int
parse_array(const struct oci_field *f, json *v, const path *p, void *base, struct oci_error **err)
{
  char *elems;

  if (v->type != JSON_ARRAY)
    return field_error(p, err, "expected array");
  if (v->u.array.len == 0)
    return 0;
  elems = attach_elements(f, base, v->u.array.len);
  for (size_t i = 0; i < v->u.array.len; i++)
    if (parse_value(f->elem, v->u.array.items[i], AT(p, i), elems + i * f->size, err) < 0)
      return -1;
  return 0;
}

static int
parse_map(const struct oci_field *f, json *v, const path *p, void *base, struct oci_error **err)
{
  char *elems;

  if (v->type != JSON_OBJECT)
    return field_error(p, err, "expected object");
  if (v->u.object.len == 0)
    return 0;
  elems = attach_elements(f, base, v->u.object.len);
  for (size_t i = 0; i < v->u.object.len; i++)
    {
      char *e = elems + i * f->size;

      if (parse_value(f->elem, v->u.object.values[i], SUB(p, v->u.object.keys[i]), e, err) < 0)
        return -1;
      *MEMBER(e, f->key_offset, char *) = steal_pointer(&v->u.object.keys[i]);
    }
  return 0;
}

/* One value (never null: null members are absent) into its place in `base`. */
static int
parse_value(const struct oci_field *f, json *v, const path *p, void *base, struct oci_error **err)
{
  void *at = MEMBER(base, f->offset, char);

  switch (f->kind)
    {
    case OCI_FIELD_STRING:
      if (v->type != JSON_STRING)
        return field_error(p, err, "expected string");
      free(*(char **)at);
      *(char **)at = steal_pointer(&v->u.string);
      return 0;
    case OCI_FIELD_BOOL:
      if (v->type != JSON_BOOL)
        return field_error(p, err, "expected boolean");
      *(bool *)at = v->u.boolean;
      return 0;
    case OCI_FIELD_INT:
    case OCI_FIELD_UINT:
      if (v->type != JSON_NUMBER)
        return field_error(p, err, "expected integer");
      return f->kind == OCI_FIELD_INT ? parse_int(f, v, p, at, err) : parse_uint(f, v, p, at, err);
    case OCI_FIELD_OBJECT:
      if (v->type != JSON_OBJECT)
        return field_error(p, err, "expected object");
      *(void **)at = xzalloc(f->size);
      return oci_fields_parse(f->fields, v, p, *(void **)at, err);
    case OCI_FIELD_STRUCT:
      if (v->type != JSON_OBJECT)
        return field_error(p, err, "expected object");
      return oci_fields_parse(f->fields, v, p, at, err);
    case OCI_FIELD_ARRAY:
      return parse_array(f, v, p, base, err);
    case OCI_FIELD_MAP:
      return parse_map(f, v, p, base, err);
    }
  abort();
}

/* Members in table order, so the first error reported is the first wrong
 * field of the table. */
int
oci_fields_parse(const struct oci_field *fields, json *obj, const path *p, void *base, struct oci_error **err)
{
  for (const struct oci_field *f = fields; f->name != NULL; f++)
    {
      json *v = (json *)json_object_get(obj, f->name);

      if (v == NULL || v->type == JSON_NULL)
        continue;
      if (f->flags & OCI_FIELD_HAS)
        *MEMBER(base, f->has_offset, bool) = true;
      if (parse_value(f, v, SUB(p, f->name), base, err) < 0)
        return -1;
    }
  return 0;
}

int
oci_fields_parse_document(const char *name, const char *text, size_t len, const struct oci_field *fields,
                          size_t size, void **out, struct oci_error **err)
{
  cleanup_json_value json *root = NULL;
  struct oci_error *local = NULL;
  void *s;

  *out = NULL;
  if (json_parse(name, text, len, &root, err) < 0)
    return -1;
  if (root->type != JSON_OBJECT)
    return oci_error_set(err, 0, "%s: expected a JSON object", name);
  s = xzalloc(size);
  if (oci_fields_parse(fields, root, NULL, s, &local) < 0)
    {
      oci_fields_free(fields, s);
      free(s);
      oci_error_wrap(&local, "%s", name);
      if (err != NULL && *err == NULL)
        *err = local;
      else
        oci_error_free(local);
      return -1;
    }
  *out = s;
  return 0;
}

/* ---- emit ---- */

static bool is_empty(const struct oci_field *f, const void *base);

bool
oci_fields_all_empty(const struct oci_field *fields, const void *base)
{
  for (const struct oci_field *f = fields; f->name != NULL; f++)
    if (!is_empty(f, base))
      return false;
  return true;
}

/* Whether the member is left out of the output. */
static bool
is_empty(const struct oci_field *f, const void *base)
{
  const void *at = CMEMBER(base, f->offset, char);

  if ((f->flags & OCI_FIELD_HAS) && !*CMEMBER(base, f->has_offset, bool))
    return true;
  switch (f->kind)
    {
    case OCI_FIELD_STRING:
    case OCI_FIELD_OBJECT:
      return *(void *const *)at == NULL;
    case OCI_FIELD_BOOL:
      return (f->flags & OCI_FIELD_OMIT_EMPTY) && !*(const bool *)at;
    case OCI_FIELD_INT:
    case OCI_FIELD_UINT:
      return false;
    case OCI_FIELD_STRUCT:
      return (f->flags & OCI_FIELD_OMIT_EMPTY) && oci_fields_all_empty(f->fields, at);
    case OCI_FIELD_ARRAY:
    case OCI_FIELD_MAP:
      return *CMEMBER(base, f->len_offset, size_t) == 0;
    }
  abort();
}

static int64_t
load_int(const struct oci_field *f, const void *at)
{
  switch (f->size)
    {
    case 2:
      return *(const int16_t *)at;
    case 4:
      return *(const int32_t *)at;
    case 8:
      return *(const int64_t *)at;
    }
  abort();
}

static uint64_t
load_uint(const struct oci_field *f, const void *at)
{
  switch (f->size)
    {
    case 2:
      return *(const uint16_t *)at;
    case 4:
      return *(const uint32_t *)at;
    case 8:
      return *(const uint64_t *)at;
    }
  abort();
}

static void
emit_value(struct json_writer *w, const struct oci_field *f, const void *base)
{
  const void *at = CMEMBER(base, f->offset, char);
  const char *elems;
  size_t len;

  switch (f->kind)
    {
    case OCI_FIELD_STRING:
      json_write_string(w, *(char *const *)at);
      return;
    case OCI_FIELD_BOOL:
      json_write_bool(w, *(const bool *)at);
      return;
    case OCI_FIELD_INT:
      json_write_int64(w, load_int(f, at));
      return;
    case OCI_FIELD_UINT:
      json_write_uint64(w, load_uint(f, at));
      return;
    case OCI_FIELD_OBJECT:
    case OCI_FIELD_STRUCT:
      json_write_object_begin(w);
      oci_fields_emit(w, f->fields, f->kind == OCI_FIELD_OBJECT ? *(void *const *)at : at);
      json_write_object_end(w);
      return;
    case OCI_FIELD_ARRAY:
    case OCI_FIELD_MAP:
      elems = *(char *const *)at;
      len = *CMEMBER(base, f->len_offset, size_t);
      if (f->kind == OCI_FIELD_ARRAY)
        json_write_array_begin(w);
      else
        json_write_object_begin(w);
      for (size_t i = 0; i < len; i++)
        {
          if (f->kind == OCI_FIELD_MAP)
            json_write_key(w, *CMEMBER(elems + i * f->size, f->key_offset, char *));
          emit_value(w, f->elem, elems + i * f->size);
        }
      if (f->kind == OCI_FIELD_ARRAY)
        json_write_array_end(w);
      else
        json_write_object_end(w);
      return;
    }
  abort();
}

void
oci_fields_emit(struct json_writer *w, const struct oci_field *fields, const void *base)
{
  for (const struct oci_field *f = fields; f->name != NULL; f++)
    {
      if ((f->flags & OCI_FIELD_EMIT_BY_HAND) || is_empty(f, base))
        continue;
      json_write_key(w, f->name);
      emit_value(w, f, base);
    }
}

/* ---- check ---- */

static int check_value(const struct oci_field *f, const void *base, const path *p, struct oci_error **err);

static int
check_range(const struct oci_field *f, const void *at, const path *p, struct oci_error **err)
{
  const struct oci_field_range *r = f->range;
  bool in;

  if (f->kind == OCI_FIELD_INT)
    {
      int64_t v = load_int(f, at);

      in = v >= r->min && v <= r->max;
      if (!in && r->why == NULL)
        return field_error(p, err, "%" PRId64 " is not in [%" PRId64 ", %" PRId64 "]", v, r->min, r->max);
    }
  else
    {
      uint64_t v = load_uint(f, at);

      /* the bounds of a uint64 field fit an int64 (none needs more) */
      in = (r->min < 0 || v >= (uint64_t)r->min) && r->max >= 0 && v <= (uint64_t)r->max;
      if (!in && r->why == NULL)
        return field_error(p, err, "%" PRIu64 " is not in [%" PRId64 ", %" PRId64 "]", v, r->min, r->max);
    }
  return in ? 0 : field_error(p, err, "%s", r->why);
}

static int
check_value(const struct oci_field *f, const void *base, const path *p, struct oci_error **err)
{
  const void *at = CMEMBER(base, f->offset, char);
  const char *elems;

  switch (f->kind)
    {
    case OCI_FIELD_STRING:
    case OCI_FIELD_BOOL:
      return 0;
    case OCI_FIELD_INT:
    case OCI_FIELD_UINT:
      return f->range ? check_range(f, at, p, err) : 0;
    case OCI_FIELD_OBJECT:
      return oci_fields_check(f->fields, *(void *const *)at, p, err);
    case OCI_FIELD_STRUCT:
      return oci_fields_check(f->fields, at, p, err);
    case OCI_FIELD_ARRAY:
    case OCI_FIELD_MAP:
      elems = *(char *const *)at;
      for (size_t i = 0; i < *CMEMBER(base, f->len_offset, size_t); i++)
        {
          const char *e = elems + i * f->size;
          const char *key = f->kind == OCI_FIELD_MAP ? *CMEMBER(e, f->key_offset, char *) : NULL;

          if (check_value(f->elem, e, key ? SUB(p, key) : AT(p, i), err) < 0)
            return -1;
        }
      return 0;
    }
  abort();
}

int
oci_fields_check(const struct oci_field *fields, const void *base, const path *p, struct oci_error **err)
{
  if (base == NULL)
    return 0;
  for (const struct oci_field *f = fields; f->name != NULL; f++)
    {
      if ((f->flags & OCI_FIELD_HAS) && !*CMEMBER(base, f->has_offset, bool))
        continue;
      if (check_value(f, base, SUB(p, f->name), err) < 0)
        return -1;
    }
  return 0;
}

/* ---- free ---- */

static void
free_value(const struct oci_field *f, void *base)
{
  void *at = MEMBER(base, f->offset, char);
  char *elems;

  switch (f->kind)
    {
    case OCI_FIELD_STRING:
      free(*(char **)at);
      return;
    case OCI_FIELD_BOOL:
    case OCI_FIELD_INT:
    case OCI_FIELD_UINT:
      return;
    case OCI_FIELD_OBJECT:
      if (*(void **)at == NULL)
        return;
      oci_fields_free(f->fields, *(void **)at);
      free(*(void **)at);
      return;
    case OCI_FIELD_STRUCT:
      oci_fields_free(f->fields, at);
      return;
    case OCI_FIELD_ARRAY:
    case OCI_FIELD_MAP:
      elems = *(char **)at;
      if (elems == NULL)
        return;
      for (size_t i = 0; i < *MEMBER(base, f->len_offset, size_t); i++)
        {
          free_value(f->elem, elems + i * f->size);
          if (f->kind == OCI_FIELD_MAP)
            free(*MEMBER(elems + i * f->size, f->key_offset, char *));
        }
      free(elems);
      return;
    }
  abort();
}

void
oci_fields_free(const struct oci_field *fields, void *base)
{
  if (base == NULL)
    return;
  for (const struct oci_field *f = fields; f->name != NULL; f++)
    free_value(f, base);
}
