/* A small JSON document model over yajl (the only file that includes yajl is
 * json.c).  Numbers keep their literal text so that int64/uint64 values stay
 * exact; every value remembers where it started for error messages. */
#ifndef OCI_JSON_H
#define OCI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum json_type
{
  JSON_NULL,
  JSON_BOOL,
  JSON_NUMBER,
  JSON_STRING,
  JSON_OBJECT,
  JSON_ARRAY,
};

struct json_value
{
  enum json_type type;
  union
  {
    bool boolean;
    char *number; /* literal text, e.g. "-12", "1e3", "18446744073709551615" */
    char *string;
    struct
    {
      char **keys;
      struct json_value **values;
      size_t len;
    } object;
    struct
    {
      struct json_value **items;
      size_t len;
    } array;
  } u;
};

/* Parse a whole document.  Syntax errors read
 * "<name>: line L, column C: <what yajl said>". */
int json_parse(const char *name, const char *text, size_t len, struct json_value **out,
               struct oci_error **err);
void json_value_free(struct json_value *v);

/* Last member with that key (JSON leaves duplicates undefined; we take the
 * last like most decoders), or NULL. */
const struct json_value *json_object_get(const struct json_value *obj, const char *key);

/* The member KEY of OBJ when it is a string, else NULL (OBJ may be NULL). */
const char *json_object_get_string(const struct json_value *obj, const char *key);

/* Exact conversions of a JSON_NUMBER; -1 with errno ERANGE/EINVAL when the
 * literal is not an integer or does not fit. */
int json_number_int64(const struct json_value *v, int64_t *out);
int json_number_uint64(const struct json_value *v, uint64_t *out);

/* Streaming writer.  Errors are sticky and reported by json_writer_finish. */
struct json_writer;
struct json_writer *json_writer_new(bool pretty); /* pretty: two-space indent */
/* Pretty output with the given indent unit ("\t" for `spec`, four spaces
 * for `features`, as runc prints them); NULL for compact output. */
struct json_writer *json_writer_new_indent(const char *indent);
void json_writer_free(struct json_writer *w);
void json_write_object_begin(struct json_writer *w);
void json_write_object_end(struct json_writer *w);
void json_write_array_begin(struct json_writer *w);
void json_write_array_end(struct json_writer *w);
void json_write_key(struct json_writer *w, const char *key);
void json_write_string(struct json_writer *w, const char *s);
void json_write_int64(struct json_writer *w, int64_t v);
void json_write_uint64(struct json_writer *w, uint64_t v);
void json_write_bool(struct json_writer *w, bool v);
void json_write_null(struct json_writer *w);
/* Write a parsed value back out (numbers keep their literal text). */
void json_write_value(struct json_writer *w, const struct json_value *v);
/* An object member that is left out when the value is NULL. */
void json_write_member_string(struct json_writer *w, const char *key, const char *v);
void json_write_member_strv(struct json_writer *w, const char *key, char *const *v, size_t len);
/* Hand over the document (NUL terminated) and reset the writer. */
int json_writer_finish(struct json_writer *w, char **out, size_t *len, struct oci_error **err);

static inline void
cleanup_json_valuep(struct json_value **v)
{
  json_value_free(*v);
}
static inline void
cleanup_json_writerp(struct json_writer **w)
{
  json_writer_free(*w);
}
#define cleanup_json_value __attribute__((cleanup(cleanup_json_valuep)))
#define cleanup_json_writer __attribute__((cleanup(cleanup_json_writerp)))

#endif
