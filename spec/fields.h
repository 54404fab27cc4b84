/* One description per JSON field.
 *
 * Each JSON object of a document is a table of `struct oci_field` rows: the
 * member's JSON name, its kind, where it lives in the C struct (offsetof),
 * and for containers the description of what they hold.  Generic code walks
 * the table to parse, emit and free, so adding a field to an object is one
 * table row plus one struct member.
 *
 * Conventions the walker relies on (those of oci-config.h): an optional
 * scalar has a `bool has_<member>` flag; an array is a pointer plus a
 * `size_t <member>_len`; string arrays are also NULL-terminated; a map (a
 * JSON object with free keys) is an array of elements holding their key.
 * A member that is absent or null is "not set"; unknown members are
 * ignored; a member given twice counts once, the last one. */
#ifndef OCI_FIELDS_H
#define OCI_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "json.h"

enum oci_field_kind
{
  OCI_FIELD_STRING, /* char *, NULL when absent */
  OCI_FIELD_BOOL,   /* bool */
  OCI_FIELD_INT,    /* int16_t .. int64_t (`size` bytes) */
  OCI_FIELD_UINT,   /* uint16_t .. uint64_t (`size` bytes) */
  OCI_FIELD_OBJECT, /* pointer to a struct of `size` bytes described by `fields`; NULL when absent */
  OCI_FIELD_STRUCT, /* a struct inside this one, described by `fields` */
  OCI_FIELD_ARRAY,  /* pointer + count at `len_offset`; `elem` describes one element of `size` bytes */
  OCI_FIELD_MAP,    /* like ARRAY, from a JSON object; each element keeps its key at `key_offset` */
};

enum
{
  /* Optional: a bool at `has_offset` says whether the member was given. */
  OCI_FIELD_HAS = 1 << 0,
  /* Emitted only when it says something: a bool when true, a struct when
   * one of its members is emitted. */
  OCI_FIELD_OMIT_EMPTY = 1 << 1,
  /* Parsed and freed from the table, but the emitter of the enclosing
   * object writes it itself (ociVersion, which it may compute). */
  OCI_FIELD_EMIT_BY_HAND = 1 << 2,
};

/* The values a field may take beyond what its C type allows, checked by
 * oci_fields_check (validation, not parsing: `update --resources` and the
 * like take any value of the type). */
struct oci_field_range
{
  int64_t min;
  int64_t max;
  const char *why; /* the message, e.g. "must be greater than zero"; NULL: "V is not in [min, max]" */
};

struct oci_field
{
  const char *name; /* JSON member name; NULL ends a table */
  enum oci_field_kind kind;
  unsigned flags;
  size_t offset;     /* of the member in the enclosing struct (element for `elem`) */
  size_t has_offset; /* OCI_FIELD_HAS */
  size_t size;       /* INT/UINT: of the member; OBJECT: of the struct; ARRAY/MAP: of one element */
  size_t len_offset; /* ARRAY/MAP */
  size_t key_offset; /* MAP: of the `char *` key in one element */
  const struct oci_field *fields;      /* OBJECT/STRUCT: the members, in emit order */
  const struct oci_field *elem;        /* ARRAY/MAP: one element, offset relative to it */
  const struct oci_field_range *range; /* INT/UINT: NULL when the type says it all */
};

/* ---- building tables ----
 * The kind and size of a scalar follow from the C type of the member, so a
 * row cannot disagree with the struct. */

#define OCI_FIELD_MEMBER_(type, member) (((type *)0)->member)

#define OCI_FIELD_SCALAR_KIND_(x)                                                                            \
  _Generic((x),                                                                                              \
      char *: OCI_FIELD_STRING,                                                                              \
      bool: OCI_FIELD_BOOL,                                                                                  \
      int16_t: OCI_FIELD_INT,                                                                                \
      int32_t: OCI_FIELD_INT,                                                                                \
      int64_t: OCI_FIELD_INT,                                                                                \
      uint16_t: OCI_FIELD_UINT,                                                                              \
      uint32_t: OCI_FIELD_UINT,                                                                              \
      uint64_t: OCI_FIELD_UINT)

/* A string, boolean or integer member, always emitted (strings: unless NULL).
 * An integer may be followed by OCI_RANGE(...). */
#define OCI_SCALAR(json, type, member, ...)                                                                  \
  {                                                                                                          \
    .name = (json), .kind = OCI_FIELD_SCALAR_KIND_(OCI_FIELD_MEMBER_(type, member)),                         \
    .offset = offsetof(type, member), .size = sizeof(OCI_FIELD_MEMBER_(type, member)), __VA_ARGS__           \
  }

#define OCI_RANGE(lo, hi)                                                                                    \
  .range = &(const struct oci_field_range) { .min = (lo), .max = (hi) }
#define OCI_RANGE_WHY(lo, hi, text)                                                                          \
  .range = &(const struct oci_field_range) { .min = (lo), .max = (hi), .why = (text) }

/* A boolean emitted only when true. */
#define OCI_FLAG(json, type, member)                                                                         \
  {                                                                                                          \
    .name = (json), .kind = OCI_FIELD_BOOL, .flags = OCI_FIELD_OMIT_EMPTY, .offset = offsetof(type, member), \
    .size = sizeof(bool),                                                                                    \
  }

/* An optional boolean or integer with its `has_<member>` flag (and maybe OCI_RANGE). */
#define OCI_OPTIONAL(json, type, member, ...)                                                                \
  {                                                                                                          \
    .name = (json), .kind = OCI_FIELD_SCALAR_KIND_(OCI_FIELD_MEMBER_(type, member)), .flags = OCI_FIELD_HAS, \
    .offset = offsetof(type, member), .has_offset = offsetof(type, has_##member),                            \
    .size = sizeof(OCI_FIELD_MEMBER_(type, member)), __VA_ARGS__                                             \
  }

/* A pointer to a struct described by `table`. */
#define OCI_OBJECT(json, type, member, table)                                                                \
  {                                                                                                          \
    .name = (json), .kind = OCI_FIELD_OBJECT, .offset = offsetof(type, member),                              \
    .size = sizeof(*OCI_FIELD_MEMBER_(type, member)), .fields = (table),                                     \
  }

/* A JSON object whose members live in `type` itself at the offsets in
 * `table` (e.g. process.consoleSize), present when has_<member> is set. */
#define OCI_INLINE_OPTIONAL(json, type, member, table)                                                       \
  {                                                                                                          \
    .name = (json), .kind = OCI_FIELD_STRUCT, .flags = OCI_FIELD_HAS,                                        \
    .has_offset = offsetof(type, has_##member), .fields = (table),                                           \
  }

/* The same without a flag, emitted when one of its members is (linux.timeOffsets). */
#define OCI_INLINE(json, table)                                                                              \
  {                                                                                                          \
    .name = (json), .kind = OCI_FIELD_STRUCT, .flags = OCI_FIELD_OMIT_EMPTY, .fields = (table),              \
  }

/* A struct member, always emitted (process.user). */
#define OCI_STRUCT(json, type, member, table)                                                                \
  {                                                                                                          \
    .name = (json), .kind = OCI_FIELD_STRUCT, .offset = offsetof(type, member), .fields = (table),           \
  }

/* The same, present when has_<member> is set (linux.timeOffsets.monotonic). */
#define OCI_STRUCT_OPTIONAL(json, type, member, table)                                                       \
  {                                                                                                          \
    .name = (json), .kind = OCI_FIELD_STRUCT, .flags = OCI_FIELD_HAS, .offset = offsetof(type, member),      \
    .has_offset = offsetof(type, has_##member), .fields = (table),                                           \
  }

/* An element description for OCI_ARRAY/OCI_MAP. */
#define OCI_ELEM_STRUCT(table) (&(const struct oci_field){ .kind = OCI_FIELD_STRUCT, .fields = (table) })
#define OCI_ELEM_STRING (&(const struct oci_field){ .kind = OCI_FIELD_STRING })
#define OCI_ELEM_STRING_AT(type, member)                                                                     \
  (&(const struct oci_field){ .kind = OCI_FIELD_STRING, .offset = offsetof(type, member) })
#define OCI_ELEM_SCALAR(ctype)                                                                               \
  (&(const struct oci_field){ .kind = OCI_FIELD_SCALAR_KIND_((ctype)0), .size = sizeof(ctype) })

#define OCI_ARRAY(json, type, member, element)                                                               \
  {                                                                                                          \
    .name = (json), .kind = OCI_FIELD_ARRAY, .offset = offsetof(type, member),                               \
    .size = sizeof(*OCI_FIELD_MEMBER_(type, member)), .len_offset = offsetof(type, member##_len),            \
    .elem = (element),                                                                                       \
  }

/* An array of strings (NULL-terminated too). */
#define OCI_STRV(json, type, member) OCI_ARRAY(json, type, member, OCI_ELEM_STRING)

/* A JSON object with free keys; `key` is the member of the element that
 * holds the key, `element` describes the value (offsets relative to the
 * element). */
#define OCI_MAP(json, type, member, key, element)                                                            \
  {                                                                                                          \
    .name = (json), .kind = OCI_FIELD_MAP, .offset = offsetof(type, member),                                 \
    .size = sizeof(*OCI_FIELD_MEMBER_(type, member)), .len_offset = offsetof(type, member##_len),            \
    .key_offset = offsetof(__typeof__(*OCI_FIELD_MEMBER_(type, member)), key), .elem = (element),            \
  }

#define OCI_FIELDS_END                                                                                       \
  {                                                                                                          \
    .name = NULL                                                                                             \
  }

/* ---- the walker ---- */

/* Where a value is in the document, kept on the stack as a chain and only
 * turned into text ("process.args[2]") when something is wrong. */
struct oci_field_path
{
  const struct oci_field_path *up;
  const char *key; /* NULL for an array element */
  size_t index;
};

/* Parse a document whose top level is an object described by `fields` into
 * a new zeroed struct of `size` bytes.  Errors read "<name>: <path>: <what>"
 * ("config.json: process.args[2]: expected string"); on failure *out is
 * NULL and nothing is left allocated. */
int oci_fields_parse_document(const char *name, const char *text, size_t len, const struct oci_field *fields,
                              size_t size, void **out, struct oci_error **err);

/* Fill `base` from the members of the JSON object `obj` (at path `p`, NULL
 * for the top level).  Strings are taken out of `obj`.  What a failure
 * leaves behind is attached to `base` and freed by oci_fields_free. */
int oci_fields_parse(const struct oci_field *fields, struct json_value *obj, const struct oci_field_path *p,
                     void *base, struct oci_error **err);

/* Write the members of `base` (between the braces of an object the caller
 * opened): absent optionals, NULL strings and objects and empty arrays and
 * maps are left out, so that parse(emit(x)) == x. */
void oci_fields_emit(struct json_writer *w, const struct oci_field *fields, const void *base);

/* Whether oci_fields_emit would write no member of `base`. */
bool oci_fields_all_empty(const struct oci_field *fields, const void *base);

/* Check the ranges of the members of `base` and below (at path `p`) in
 * table order: "<path>: 8 is not in [0, 7]". */
int oci_fields_check(const struct oci_field *fields, const void *base, const struct oci_field_path *p,
                     struct oci_error **err);

/* Free what the members of `base` own (not `base` itself).  Accepts
 * half-filled structs. */
void oci_fields_free(const struct oci_field *fields, void *base);

#endif
