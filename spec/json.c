/* The JSON document model and writer.  This is the only file of the project
 * that includes yajl: everything else sees struct json_value and the
 * json_write_* calls, so the parser library could be swapped here alone. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "json.h"
#include "util.h"

/* Deep enough for any real document, shallow enough that the recursive
 * json_value_free() cannot exhaust the stack on hostile input. */
#define JSON_MAX_DEPTH 10000
#define JSON_WRITER_MAX_DEPTH 128

struct frame
{
  struct json_value *v;
  size_t cap;
};

struct parser
{
  struct json_value *root;
  struct frame *stack;
  size_t depth;
  size_t stack_cap;
  char *key; /* the member name waiting for its value */
  const char *reason;
};

void
json_value_free(struct json_value *v)
{
  if (v == NULL)
    return;
  switch (v->type)
    {
    case JSON_NUMBER:
      free(v->u.number);
      break;
    case JSON_STRING:
      free(v->u.string);
      break;
    case JSON_OBJECT:
      for (size_t i = 0; i < v->u.object.len; i++)
        {
          free(v->u.object.keys[i]);
          json_value_free(v->u.object.values[i]);
        }
      free(v->u.object.keys);
      free(v->u.object.values);
      break;
    case JSON_ARRAY:
      for (size_t i = 0; i < v->u.array.len; i++)
        json_value_free(v->u.array.items[i]);
      free(v->u.array.items);
      break;
    case JSON_NULL:
    case JSON_BOOL:
      break;
    }
  free(v);
}

static size_t
grow(size_t cap)
{
  return cap ? cap * 2 : 4;
}

/* Attach v to the container being built (or make it the root).  v is owned
 * by the tree from here on, so a failed parse frees everything via root. */
static int
attach(struct parser *p, struct json_value *v)
{
  struct frame *top;

  if (p->depth == 0)
    {
      p->root = v;
      return 1;
    }

  top = &p->stack[p->depth - 1];
  if (top->v->type == JSON_ARRAY)
    {
      if (top->v->u.array.len == top->cap)
        {
          top->cap = grow(top->cap);
          top->v->u.array.items = xrealloc(top->v->u.array.items, top->cap * sizeof(v));
        }
      top->v->u.array.items[top->v->u.array.len++] = v;
      return 1;
    }

  if (top->v->u.object.len == top->cap)
    {
      top->cap = grow(top->cap);
      top->v->u.object.keys = xrealloc(top->v->u.object.keys, top->cap * sizeof(char *));
      top->v->u.object.values = xrealloc(top->v->u.object.values, top->cap * sizeof(v));
    }
  top->v->u.object.keys[top->v->u.object.len] = steal_pointer(&p->key);
  top->v->u.object.values[top->v->u.object.len++] = v;
  return 1;
}

static struct json_value *
new_value(enum json_type type)
{
  struct json_value *v = xzalloc(sizeof *v);
  v->type = type;
  return v;
}

static int
on_null(void *ctx)
{
  return attach(ctx, new_value(JSON_NULL));
}

static int
on_bool(void *ctx, int b)
{
  struct json_value *v = new_value(JSON_BOOL);
  v->u.boolean = b != 0;
  return attach(ctx, v);
}

static int
on_number(void *ctx, const char *s, size_t len)
{
  struct json_value *v = new_value(JSON_NUMBER);
  v->u.number = xstrndup(s, len);
  return attach(ctx, v);
}

/* C strings cannot carry U+0000; silently truncating a path or an argument
 * at it would be worse than refusing the document. */
static char *
dup_text(struct parser *p, const unsigned char *s, size_t len)
{
  if (memchr(s, '\0', len) != NULL)
    {
      p->reason = "strings containing \\u0000 are not supported";
      return NULL;
    }
  return xstrndup((const char *)s, len);
}

static int
on_string(void *ctx, const unsigned char *s, size_t len)
{
  struct parser *p = ctx;
  struct json_value *v;
  char *text = dup_text(p, s, len);

  if (text == NULL)
    return 0;
  v = new_value(JSON_STRING);
  v->u.string = text;
  return attach(p, v);
}

static int
on_key(void *ctx, const unsigned char *s, size_t len)
{
  struct parser *p = ctx;

  free(p->key);
  p->key = dup_text(p, s, len);
  return p->key != NULL;
}

static int
open_container(struct parser *p, enum json_type type)
{
  struct json_value *v;

  if (p->depth >= JSON_MAX_DEPTH)
    {
      p->reason = "nesting too deep";
      return 0;
    }
  v = new_value(type);
  attach(p, v);
  if (p->depth == p->stack_cap)
    {
      p->stack_cap = grow(p->stack_cap);
      p->stack = xrealloc(p->stack, p->stack_cap * sizeof(*p->stack));
    }
  p->stack[p->depth++] = (struct frame){ .v = v, .cap = 0 };
  return 1;
}

static int
on_start_map(void *ctx)
{
  return open_container(ctx, JSON_OBJECT);
}

static int
on_start_array(void *ctx)
{
  return open_container(ctx, JSON_ARRAY);
}

static int
on_end(void *ctx)
{
  struct parser *p = ctx;
  p->depth--;
  return 1;
}

static const yajl_callbacks callbacks = {
  .yajl_null = on_null,
  .yajl_boolean = on_bool,
  .yajl_number = on_number,
  .yajl_string = on_string,
  .yajl_start_map = on_start_map,
  .yajl_map_key = on_key,
  .yajl_end_map = on_end,
  .yajl_start_array = on_start_array,
  .yajl_end_array = on_end,
};

static void
cleanup_yajl_handlep(yajl_handle *h)
{
  if (*h)
    yajl_free(*h);
}

/* yajl's message is "parse error: X\n" or "lexical error: X.\n"; keep X. */
static char *
short_reason(yajl_handle h, const struct parser *p)
{
  cleanup_free char *full = NULL;
  unsigned char *msg;
  const char *s;
  size_t n;

  if (p->reason)
    return xstrdup(p->reason);

  msg = yajl_get_error(h, 0, NULL, 0);
  full = xstrdup((const char *)msg);
  yajl_free_error(h, msg);

  s = strstr(full, "error: ");
  s = s ? s + strlen("error: ") : full;
  n = strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '.' || s[n - 1] == ' '))
    n--;
  if (n == strlen("premature EOF") && strncmp(s, "premature EOF", n) == 0)
    return xstrdup("unexpected end of input");
  return xstrndup(s, n);
}

static int
syntax_error(const char *name, const char *text, size_t offset, const char *reason, struct oci_error **err)
{
  size_t line = 1, col = 1;

  for (size_t i = 0; i < offset; i++)
    {
      if (text[i] == '\n')
        {
          line++;
          col = 1;
        }
      else
        col++;
    }
  return oci_error_set(err, 0, "%s: line %zu, column %zu: %s", name, line, col, reason);
}

/* Only whitespace?  yajl accepts an empty stream as "no value"; a document
 * must have one. */
static bool
is_blank(const char *text, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n')
      return false;
  return true;
}

int
json_parse(const char *name, const char *text, size_t len, struct json_value **out, struct oci_error **err)
{
  __attribute__((cleanup(cleanup_yajl_handlep))) yajl_handle h = NULL;
  cleanup_free char *reason = NULL;
  struct parser p = { 0 };
  yajl_status st;
  size_t offset;

  if (is_blank(text, len))
    return syntax_error(name, text, len, "empty document", err);

  h = yajl_alloc(&callbacks, NULL, &p);
  if (h == NULL)
    abort();

  st = yajl_parse(h, (const unsigned char *)text, len);
  /* yajl counts the offending byte as consumed; point at it */
  offset = yajl_get_bytes_consumed(h);
  if (st != yajl_status_ok && offset > 0)
    offset--;
  if (st == yajl_status_ok)
    {
      st = yajl_complete_parse(h);
      /* complete_parse feeds yajl a private buffer; errors there are at EOF */
      offset = len;
    }

  if (st != yajl_status_ok)
    {
      reason = short_reason(h, &p);
      free(p.key);
      free(p.stack);
      json_value_free(p.root);
      return syntax_error(name, text, offset > len ? len : offset, reason, err);
    }

  free(p.key);
  free(p.stack);
  *out = p.root;
  return 0;
}

const struct json_value *
json_object_get(const struct json_value *obj, const char *key)
{
  if (obj == NULL || obj->type != JSON_OBJECT)
    return NULL;
  for (size_t i = obj->u.object.len; i > 0; i--)
    if (strcmp(obj->u.object.keys[i - 1], key) == 0)
      return obj->u.object.values[i - 1];
  return NULL;
}

const char *
json_object_get_string(const struct json_value *obj, const char *key)
{
  const struct json_value *v = obj ? json_object_get(obj, key) : NULL;

  return (v && v->type == JSON_STRING) ? v->u.string : NULL;
}

/* Integers only: "1.0" and "1e3" are numbers but not integer literals, and
 * accepting them would make "0.5" silently become 0. */
static int
check_integer_literal(const struct json_value *v)
{
  if (v == NULL || v->type != JSON_NUMBER || strpbrk(v->u.number, ".eE") != NULL)
    {
      errno = EINVAL;
      return -1;
    }
  return 0;
}

int
json_number_int64(const struct json_value *v, int64_t *out)
{
  long long n;
  char *end;

  if (check_integer_literal(v) < 0)
    return -1;
  errno = 0;
  n = strtoll(v->u.number, &end, 10);
  if (errno != 0 || *end != '\0')
    {
      if (errno == 0)
        errno = EINVAL;
      return -1;
    }
  *out = n;
  return 0;
}

int
json_number_uint64(const struct json_value *v, uint64_t *out)
{
  unsigned long long n;
  char *end;

  if (check_integer_literal(v) < 0)
    return -1;
  /* strtoull would wrap "-1" to UINT64_MAX */
  if (v->u.number[0] == '-')
    {
      if (strspn(v->u.number + 1, "0") == strlen(v->u.number + 1))
        {
          *out = 0;
          return 0;
        }
      errno = ERANGE;
      return -1;
    }
  errno = 0;
  n = strtoull(v->u.number, &end, 10);
  if (errno != 0 || *end != '\0')
    {
      if (errno == 0)
        errno = EINVAL;
      return -1;
    }
  *out = n;
  return 0;
}

/* ---- writer ---- */

struct json_writer
{
  yajl_gen g;
  yajl_gen_status status; /* first failure, sticky */
  char *indent;           /* NULL: compact */
  /* An opened container not yet written: yajl would print an empty one as
   * "[\n\n]", so it is only opened once something goes inside. */
  char pending;
  size_t depth;
};

static void
writer_configure(struct json_writer *w)
{
  if (w->indent)
    {
      yajl_gen_config(w->g, yajl_gen_beautify, 1);
      yajl_gen_config(w->g, yajl_gen_indent_string, w->indent);
    }
}

struct json_writer *
json_writer_new_indent(const char *indent)
{
  struct json_writer *w = xzalloc(sizeof *w);

  w->g = yajl_gen_alloc(NULL);
  if (w->g == NULL)
    abort();
  w->indent = indent ? xstrdup(indent) : NULL;
  writer_configure(w);
  return w;
}

struct json_writer *
json_writer_new(bool pretty)
{
  return json_writer_new_indent(pretty ? "  " : NULL);
}

void
json_writer_free(struct json_writer *w)
{
  if (w == NULL)
    return;
  yajl_gen_free(w->g);
  free(w->indent);
  free(w);
}

static void
note(struct json_writer *w, yajl_gen_status st)
{
  if (w->status == yajl_gen_status_ok)
    w->status = st;
}

static void
flush_pending(struct json_writer *w)
{
  char c = w->pending;

  if (c == 0)
    return;
  w->pending = 0;
  note(w, c == '{' ? yajl_gen_map_open(w->g) : yajl_gen_array_open(w->g));
}

/* yajl_gen keeps a fixed 128-entry state stack and reads past it once the
 * limit is hit, so the limit is enforced here, before yajl sees it. */
static bool
enter(struct json_writer *w)
{
  flush_pending(w);
  if (w->depth + 1 >= JSON_WRITER_MAX_DEPTH)
    {
      note(w, yajl_max_depth_exceeded);
      return false;
    }
  w->depth++;
  return true;
}

static void
close_container(struct json_writer *w, char open, const char *empty)
{
  if (w->depth > 0)
    w->depth--;
  if (w->pending == open)
    {
      w->pending = 0;
      /* yajl prints a "number" verbatim with the right separators */
      note(w, yajl_gen_number(w->g, empty, 2));
      return;
    }
  flush_pending(w);
  note(w, open == '{' ? yajl_gen_map_close(w->g) : yajl_gen_array_close(w->g));
}

void
json_write_object_begin(struct json_writer *w)
{
  if (w->status != yajl_gen_status_ok)
    return;
  if (!enter(w))
    return;
  w->pending = '{';
}

void
json_write_object_end(struct json_writer *w)
{
  if (w->status != yajl_gen_status_ok)
    return;
  close_container(w, '{', "{}");
}

void
json_write_array_begin(struct json_writer *w)
{
  if (w->status != yajl_gen_status_ok)
    return;
  if (!enter(w))
    return;
  w->pending = '[';
}

void
json_write_array_end(struct json_writer *w)
{
  if (w->status != yajl_gen_status_ok)
    return;
  close_container(w, '[', "[]");
}

/* Length of the well-formed UTF-8 sequence at s[0], or 0. */
static size_t
utf8_seq_len(const unsigned char *s, size_t avail)
{
  unsigned char c = s[0];
  size_t n;
  uint32_t cp;

  if (c < 0x80)
    return 1;
  if ((c & 0xe0) == 0xc0)
    n = 2, cp = c & 0x1f;
  else if ((c & 0xf0) == 0xe0)
    n = 3, cp = c & 0x0f;
  else if ((c & 0xf8) == 0xf0)
    n = 4, cp = c & 0x07;
  else
    return 0;
  if (n > avail)
    return 0;
  for (size_t k = 1; k < n; k++)
    {
      if ((s[k] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[k] & 0x3f);
    }
  /* overlong forms, surrogates, beyond U+10FFFF */
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)
      || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
    return 0;
  return n;
}

static bool
utf8_valid(const unsigned char *s, size_t len)
{
  for (size_t i = 0, n; i < len; i += n)
    if ((n = utf8_seq_len(s + i, len - i)) == 0)
      return false;
  return true;
}

/* Invalid UTF-8 (a bundle path in Latin-1, say) becomes U+FFFD per byte, as
 * Go's encoder does, so that runc-compatible readers accept our output. */
static char *
utf8_sanitize(const char *s, size_t len)
{
  const unsigned char *u = (const unsigned char *)s;
  char *out = xmalloc(len * 3 + 1);
  size_t o = 0;

  for (size_t i = 0, n; i < len; i += n ? n : 1)
    {
      n = utf8_seq_len(u + i, len - i);
      if (n > 0)
        {
          memcpy(out + o, s + i, n);
          o += n;
        }
      else
        {
          memcpy(out + o, "\xef\xbf\xbd", 3);
          o += 3;
        }
    }
  out[o] = '\0';
  return out;
}

static void
write_text(struct json_writer *w, const char *s)
{
  size_t len = strlen(s);
  cleanup_free char *fixed = NULL;

  if (!utf8_valid((const unsigned char *)s, len))
    {
      fixed = utf8_sanitize(s, len);
      s = fixed;
      len = strlen(fixed);
    }
  note(w, yajl_gen_string(w->g, (const unsigned char *)s, len));
}

void
json_write_key(struct json_writer *w, const char *key)
{
  if (w->status != yajl_gen_status_ok)
    return;
  flush_pending(w);
  write_text(w, key);
}

void
json_write_string(struct json_writer *w, const char *s)
{
  if (w->status != yajl_gen_status_ok)
    return;
  flush_pending(w);
  if (s == NULL)
    {
      note(w, yajl_gen_null(w->g));
      return;
    }
  write_text(w, s);
}

void
json_write_int64(struct json_writer *w, int64_t v)
{
  if (w->status != yajl_gen_status_ok)
    return;
  flush_pending(w);
  note(w, yajl_gen_integer(w->g, (long long)v));
}

void
json_write_uint64(struct json_writer *w, uint64_t v)
{
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%" PRIu64, v);
  if (w->status != yajl_gen_status_ok)
    return;

  flush_pending(w);
  note(w, yajl_gen_number(w->g, buf, (size_t)n));
}

void
json_write_bool(struct json_writer *w, bool v)
{
  if (w->status != yajl_gen_status_ok)
    return;
  flush_pending(w);
  note(w, yajl_gen_bool(w->g, v));
}

void
json_write_null(struct json_writer *w)
{
  if (w->status != yajl_gen_status_ok)
    return;
  flush_pending(w);
  note(w, yajl_gen_null(w->g));
}

static const char *
gen_status_string(yajl_gen_status st)
{
  switch (st)
    {
    case yajl_gen_keys_must_be_strings:
      return "object member written without a key";
    case yajl_max_depth_exceeded:
      return "nesting too deep";
    case yajl_gen_in_error_state:
      return "writer in error state";
    case yajl_gen_generation_complete:
      return "value written after the end of the document";
    case yajl_gen_invalid_number:
      return "invalid number";
    case yajl_gen_no_buf:
      return "no output buffer";
    case yajl_gen_invalid_string:
      return "invalid UTF-8 string";
    case yajl_gen_status_ok:
      break;
    }
  return "unknown error";
}

static void
writer_reset(struct json_writer *w)
{
  yajl_gen_free(w->g);
  w->g = yajl_gen_alloc(NULL);
  if (w->g == NULL)
    abort();
  writer_configure(w);
  w->status = yajl_gen_status_ok;
  w->pending = 0;
  w->depth = 0;
}

int
json_writer_finish(struct json_writer *w, char **out, size_t *len, struct oci_error **err)
{
  const unsigned char *buf = NULL;
  size_t n = 0;
  const char *what = NULL;

  if (w->status != yajl_gen_status_ok)
    what = gen_status_string(w->status);
  else if (w->depth != 0 || yajl_gen_get_buf(w->g, &buf, &n) != yajl_gen_status_ok || n == 0)
    what = "incomplete document";
  if (what)
    {
      writer_reset(w);
      return oci_error_set(err, 0, "writing JSON: %s", what);
    }

  *out = xstrndup((const char *)buf, n);
  if (len)
    *len = n;
  writer_reset(w);
  return 0;
}

void
json_write_value(struct json_writer *w, const struct json_value *v)
{
  if (w->status != yajl_gen_status_ok)
    return;
  switch (v->type)
    {
    case JSON_NULL:
      json_write_null(w);
      break;
    case JSON_BOOL:
      json_write_bool(w, v->u.boolean);
      break;
    case JSON_NUMBER:
      flush_pending(w);
      note(w, yajl_gen_number(w->g, v->u.number, strlen(v->u.number)));
      break;
    case JSON_STRING:
      json_write_string(w, v->u.string);
      break;
    case JSON_OBJECT:
      json_write_object_begin(w);
      for (size_t i = 0; i < v->u.object.len; i++)
        {
          json_write_key(w, v->u.object.keys[i]);
          json_write_value(w, v->u.object.values[i]);
        }
      json_write_object_end(w);
      break;
    case JSON_ARRAY:
      json_write_array_begin(w);
      for (size_t i = 0; i < v->u.array.len; i++)
        json_write_value(w, v->u.array.items[i]);
      json_write_array_end(w);
      break;
    }
}

void
json_write_member_string(struct json_writer *w, const char *key, const char *v)
{
  if (v == NULL)
    return;
  json_write_key(w, key);
  json_write_string(w, v);
}

void
json_write_member_strv(struct json_writer *w, const char *key, char *const *v, size_t len)
{
  if (v == NULL)
    return;
  json_write_key(w, key);
  json_write_array_begin(w);
  for (size_t i = 0; i < len; i++)
    json_write_string(w, v[i]);
  json_write_array_end(w);
}
