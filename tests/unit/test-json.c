/* The JSON model: parsing, exact integers, error positions, the writer. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "../../spec/json.h"
#include "../../spec/util.h"
#include "tap.h"

static struct json_value *
parse(const char *text)
{
  struct json_value *v = NULL;
  struct oci_error *err = NULL;

  if (json_parse("t.json", text, strlen(text), &v, &err) < 0)
    {
      printf("# unexpected error: %s\n", err->msg);
      oci_error_free(err);
      return NULL;
    }
  return v;
}

/* The error message for text, or "" when it parses. */
static char *
parse_error(const char *text, size_t len)
{
  struct json_value *v = NULL;
  struct oci_error *err = NULL;
  char *msg;

  if (json_parse("t.json", text, len, &v, &err) == 0)
    {
      json_value_free(v);
      return xstrdup("");
    }
  msg = xstrdup(err->msg);
  oci_error_free(err);
  return msg;
}

static void
check_error(const char *text, const char *want)
{
  cleanup_free char *got = parse_error(text, strlen(text));

  ok(strcmp(got, want) == 0, "error for %s", want);
  if (strcmp(got, want) != 0)
    printf("#   got:  %s\n#   want: %s\n", got, want);
}

static void
test_model(void)
{
  cleanup_json_value struct json_value *v
      = parse("{\"s\": \"x\", \"n\": -12, \"b\": true, \"z\": null, \"a\": [1, {}, []], \"s\": \"last\"}");
  const struct json_value *a;

  ok(v && v->type == JSON_OBJECT && v->u.object.len == 6, "object with 6 members");
  if (v == NULL)
    return;
  ok(strcmp(json_object_get(v, "s")->u.string, "last") == 0, "duplicate key: the last one wins");
  ok(json_object_get(v, "n")->type == JSON_NUMBER && strcmp(json_object_get(v, "n")->u.number, "-12") == 0,
     "number keeps its literal");
  ok(json_object_get(v, "b")->u.boolean, "true");
  ok(json_object_get(v, "z")->type == JSON_NULL, "null");
  ok(json_object_get(v, "missing") == NULL, "missing key is NULL");
  a = json_object_get(v, "a");
  ok(a->type == JSON_ARRAY && a->u.array.len == 3 && a->u.array.items[1]->type == JSON_OBJECT
         && a->u.array.items[2]->type == JSON_ARRAY && a->u.array.items[2]->u.array.len == 0,
     "array of mixed values");
  ok(json_object_get(a, "x") == NULL, "json_object_get on an array is NULL");
}

static void
test_integers(void)
{
  cleanup_json_value struct json_value *v
      = parse("[9223372036854775807, -9223372036854775808, 9223372036854775808,"
              " 18446744073709551615, 18446744073709551616, -1, 1.5, 1e3, -0, 0]");
  int64_t i = 0;
  uint64_t u = 0;

  if (v == NULL)
    {
      ok(0, "integer document parses");
      return;
    }
  ok(json_number_int64(v->u.array.items[0], &i) == 0 && i == INT64_MAX, "INT64_MAX exact");
  ok(json_number_int64(v->u.array.items[1], &i) == 0 && i == INT64_MIN, "INT64_MIN exact");
  errno = 0;
  ok(json_number_int64(v->u.array.items[2], &i) < 0 && errno == ERANGE, "INT64_MAX+1 is ERANGE");
  ok(json_number_uint64(v->u.array.items[2], &u) == 0 && u == 9223372036854775808ULL,
     "INT64_MAX+1 fits uint64");
  ok(json_number_uint64(v->u.array.items[3], &u) == 0 && u == UINT64_MAX, "UINT64_MAX exact");
  errno = 0;
  ok(json_number_uint64(v->u.array.items[4], &u) < 0 && errno == ERANGE, "UINT64_MAX+1 is ERANGE");
  errno = 0;
  ok(json_number_uint64(v->u.array.items[5], &u) < 0 && errno == ERANGE, "-1 is ERANGE for uint64");
  ok(json_number_int64(v->u.array.items[5], &i) == 0 && i == -1, "-1 as int64");
  errno = 0;
  ok(json_number_int64(v->u.array.items[6], &i) < 0 && errno == EINVAL, "1.5 is not an integer");
  errno = 0;
  ok(json_number_uint64(v->u.array.items[7], &u) < 0 && errno == EINVAL, "1e3 is not an integer literal");
  ok(json_number_uint64(v->u.array.items[8], &u) == 0 && u == 0, "-0 is 0 as uint64");
  ok(json_number_int64(v->u.array.items[9], &i) == 0 && i == 0, "0");
  errno = 0;
  ok(json_number_int64(NULL, &i) < 0 && errno == EINVAL, "NULL value is EINVAL");
}

static void
test_syntax_errors(void)
{
  cleanup_free char *nul = NULL;

  check_error("{\"a\": x}", "t.json: line 1, column 7: invalid char in json text");
  check_error("{\"a\": 1,}", "t.json: line 1, column 9: invalid object key (must be a string)");
  check_error("{\"a\": 1} x", "t.json: line 1, column 10: trailing garbage");
  check_error("{\"k\":1}\n\n   }", "t.json: line 3, column 4: trailing garbage");
  check_error("{\"a\":\n  [1, 2", "t.json: line 2, column 8: unexpected end of input");
  check_error("[1 2]", "t.json: line 1, column 4: after array element, I expect ',' or ']'");
  check_error("{\n\t\"a\" 1}",
              "t.json: line 2, column 6: object key and value must be separated by a colon (':')");
  check_error("", "t.json: line 1, column 1: empty document");
  check_error("  \n ", "t.json: line 2, column 2: empty document");
  check_error("[\"\\u0000\"]", "t.json: line 1, column 9: strings containing \\u0000 are not supported");
  check_error("{\"a\":\"\xff\"}", "t.json: line 1, column 7: invalid bytes in UTF8 string");
  check_error("{} {}", "t.json: line 1, column 4: trailing garbage");
  check_error("[-]", "t.json: line 1, column 2: malformed number, a digit is required after the minus sign");

  /* an embedded NUL byte in the input is a syntax error, not an early end */
  nul = parse_error("{}\0{}", 5);
  ok(strstr(nul, "line 1, column 3") != NULL, "NUL byte after the document is reported: %s", nul);
}

static void
test_unicode(void)
{
  cleanup_json_value struct json_value *v
      = parse("[\"\\u00e9\\u20ac\\ud83d\\ude00\", \"caf\xc3\xa9\", \"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]");

  if (v == NULL)
    {
      ok(0, "unicode document parses");
      return;
    }
  ok(strcmp(v->u.array.items[0]->u.string, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80") == 0,
     "\\u escapes and a surrogate pair decode to UTF-8");
  ok(strcmp(v->u.array.items[1]->u.string, "caf\xc3\xa9") == 0, "raw UTF-8 is kept");
  ok(strcmp(v->u.array.items[2]->u.string, "\"\\/\b\f\n\r\t") == 0, "short escapes decode");
}

static void
test_nesting(void)
{
  size_t n = 5000;
  cleanup_free char *deep = xmalloc(2 * n + 1);
  cleanup_free char *too_deep = xmalloc(2 * 20000 + 1);
  cleanup_free char *msg = NULL;
  struct json_value *v;
  size_t depth = 0;

  memset(deep, '[', n);
  memset(deep + n, ']', n);
  deep[2 * n] = '\0';
  v = parse(deep);
  for (const struct json_value *p = v; p && p->type == JSON_ARRAY;
       p = p->u.array.len ? p->u.array.items[0] : NULL)
    depth++;
  ok(depth == n, "5000 nested arrays parse (depth %zu)", depth);
  json_value_free(v);

  memset(too_deep, '[', 20000);
  memset(too_deep + 20000, ']', 20000);
  msg = parse_error(too_deep, 40000);
  ok(strcmp(msg, "t.json: line 1, column 10001: nesting too deep") == 0, "20000 nested arrays: %s", msg);
}

static char *
finish(struct json_writer *w)
{
  char *out = NULL;
  struct oci_error *err = NULL;
  size_t len = 0;

  if (json_writer_finish(w, &out, &len, &err) < 0)
    {
      out = xasprintf("ERROR %s", err->msg);
      oci_error_free(err);
      return out;
    }
  if (len != strlen(out))
    printf("# length mismatch\n");
  return out;
}

static void
test_writer(void)
{
  cleanup_json_writer struct json_writer *w = json_writer_new(false);
  cleanup_json_writer struct json_writer *pw = json_writer_new(true);
  cleanup_json_writer struct json_writer *tw = json_writer_new_indent("\t");
  cleanup_free char *compact = NULL, *pretty = NULL, *tabs = NULL, *bad = NULL, *again = NULL;
  cleanup_free char *utf = NULL, *incomplete = NULL;

  json_write_object_begin(w);
  json_write_key(w, "s");
  json_write_string(w, "q\"b\\n\n\x01/\xc3\xa9");
  json_write_key(w, "min");
  json_write_int64(w, INT64_MIN);
  json_write_key(w, "max");
  json_write_uint64(w, UINT64_MAX);
  json_write_key(w, "e");
  json_write_array_begin(w);
  json_write_array_end(w);
  json_write_key(w, "o");
  json_write_object_begin(w);
  json_write_object_end(w);
  json_write_key(w, "l");
  json_write_array_begin(w);
  json_write_bool(w, true);
  json_write_null(w);
  json_write_string(w, NULL);
  json_write_array_end(w);
  json_write_object_end(w);
  compact = finish(w);
  ok(strcmp(compact, "{\"s\":\"q\\\"b\\\\n\\n\\u0001/\xc3\xa9\",\"min\":-9223372036854775808,"
                     "\"max\":18446744073709551615,\"e\":[],\"o\":{},\"l\":[true,null,null]}")
         == 0,
     "compact output");
  printf("# %s\n", compact);

  json_write_object_begin(pw);
  json_write_key(pw, "a");
  json_write_array_begin(pw);
  json_write_int64(pw, 1);
  json_write_array_end(pw);
  json_write_key(pw, "e");
  json_write_array_begin(pw);
  json_write_array_end(pw);
  json_write_object_end(pw);
  pretty = finish(pw);
  ok(strcmp(pretty, "{\n  \"a\": [\n    1\n  ],\n  \"e\": []\n}\n") == 0,
     "pretty output, empty array inline");

  json_write_object_begin(tw);
  json_write_key(tw, "a");
  json_write_bool(tw, false);
  json_write_object_end(tw);
  tabs = finish(tw);
  ok(strcmp(tabs, "{\n\t\"a\": false\n}\n") == 0, "tab indent");

  json_write_object_begin(w);
  json_write_int64(w, 1);
  json_write_object_end(w);
  bad = finish(w);
  ok(strcmp(bad, "ERROR writing JSON: object member written without a key") == 0, "value without key: %s",
     bad);

  json_write_array_begin(w);
  json_write_int64(w, 1);
  incomplete = finish(w);
  ok(strcmp(incomplete, "ERROR writing JSON: incomplete document") == 0, "unclosed array is an error");

  json_write_string(w, "bad \xff\xfe end \xe2\x82");
  utf = finish(w);
  ok(strcmp(utf, "\"bad \xef\xbf\xbd\xef\xbf\xbd end \xef\xbf\xbd\xef\xbf\xbd\"") == 0,
     "invalid UTF-8 becomes U+FFFD: %s", utf);

  json_write_int64(w, 42);
  again = finish(w);
  ok(strcmp(again, "42") == 0, "writer is reusable after finish");
}

static void
test_write_value(void)
{
  const char *text
      = "{\"n\":1.5e10,\"big\":18446744073709551615,\"a\":[{},[],\"x\",null,false],\"u\":\"\xe2\x82\xac\"}";
  cleanup_json_value struct json_value *v = parse(text);
  cleanup_json_writer struct json_writer *w = json_writer_new(false);
  cleanup_free char *out = NULL;

  if (v == NULL)
    {
      ok(0, "document parses");
      return;
    }
  json_write_value(w, v);
  out = finish(w);
  ok(strcmp(out, text) == 0, "json_write_value reproduces the document: %s", out);
}

static void
test_writer_depth(void)
{
  cleanup_json_writer struct json_writer *w = json_writer_new(false);
  cleanup_free char *out = NULL;

  for (int i = 0; i < 200; i++)
    json_write_array_begin(w);
  json_write_int64(w, 1);
  for (int i = 0; i < 200; i++)
    json_write_array_end(w);
  out = finish(w);
  ok(strcmp(out, "ERROR writing JSON: nesting too deep") == 0, "writer depth limit is an error: %s", out);
}

int
main(void)
{
  test_model();
  test_integers();
  test_syntax_errors();
  test_unicode();
  test_nesting();
  test_writer();
  test_write_value();
  test_writer_depth();
  return tap_done();
}
