/* The generic field walker on a table of its own that uses every kind and
 * flag: round trip, what is left out, every type and range error naming
 * its field path, null/unknown/duplicate members, half-filled frees. */
#include <string.h>

#include "../../spec/fields.h"
#include "../../spec/util.h"
#include "tap.h"

struct t_inner
{
  char *s;
  bool has_n;
  int32_t n;
};

struct t_kv
{
  char *key;
  char *value;
};

struct t_named
{
  char *name; /* the map key */
  bool has_weight;
  uint16_t weight;
  char **tags;
  size_t tags_len;
};

struct t_doc
{
  char *version; /* emitted by hand */
  char *str;
  bool flag;
  bool always;
  bool has_maybe;
  bool maybe;
  int16_t i16;
  int32_t i32;
  int64_t i64;
  uint16_t u16;
  uint32_t u32;
  uint64_t u64;
  bool has_opt;
  int64_t opt;
  struct t_inner *obj;
  struct t_inner st;
  bool has_box;
  uint32_t box_height;
  uint32_t box_width;
  bool has_limit; /* "wrap": {"limit": N} */
  int64_t limit;
  char **strv;
  size_t strv_len;
  uint32_t *nums;
  size_t nums_len;
  struct t_inner *list;
  size_t list_len;
  struct t_kv *kv;
  size_t kv_len;
  struct t_named *named;
  size_t named_len;
};

static const struct oci_field inner_fields[] = {
  OCI_SCALAR("s", struct t_inner, s),
  OCI_OPTIONAL("n", struct t_inner, n, OCI_RANGE(-1, 7)),
  OCI_FIELDS_END,
};

static const struct oci_field box_fields[] = {
  OCI_SCALAR("height", struct t_doc, box_height),
  OCI_SCALAR("width", struct t_doc, box_width, OCI_RANGE_WHY(1, 1000, "must be between 1 and 1000")),
  OCI_FIELDS_END,
};

static const struct oci_field wrap_fields[] = {
  OCI_OPTIONAL("limit", struct t_doc, limit),
  OCI_FIELDS_END,
};

static const struct oci_field named_fields[] = {
  OCI_OPTIONAL("weight", struct t_named, weight, OCI_RANGE(0, 100)),
  OCI_STRV("tags", struct t_named, tags),
  OCI_FIELDS_END,
};

static const struct oci_field doc_fields[] = {
  { .name = "version",
    .kind = OCI_FIELD_STRING,
    .flags = OCI_FIELD_EMIT_BY_HAND,
    .offset = offsetof(struct t_doc, version) },
  OCI_SCALAR("str", struct t_doc, str),
  OCI_FLAG("flag", struct t_doc, flag),
  OCI_SCALAR("always", struct t_doc, always),
  OCI_OPTIONAL("maybe", struct t_doc, maybe),
  OCI_SCALAR("i16", struct t_doc, i16),
  OCI_SCALAR("i32", struct t_doc, i32),
  OCI_SCALAR("i64", struct t_doc, i64),
  OCI_SCALAR("u16", struct t_doc, u16),
  OCI_SCALAR("u32", struct t_doc, u32),
  OCI_SCALAR("u64", struct t_doc, u64),
  OCI_OPTIONAL("opt", struct t_doc, opt),
  OCI_OBJECT("obj", struct t_doc, obj, inner_fields),
  OCI_STRUCT("st", struct t_doc, st, inner_fields),
  OCI_INLINE_OPTIONAL("box", struct t_doc, box, box_fields),
  OCI_INLINE("wrap", wrap_fields),
  OCI_STRV("strv", struct t_doc, strv),
  OCI_ARRAY("nums", struct t_doc, nums, OCI_ELEM_SCALAR(uint32_t)),
  OCI_ARRAY("list", struct t_doc, list, OCI_ELEM_STRUCT(inner_fields)),
  OCI_MAP("kv", struct t_doc, kv, key, OCI_ELEM_STRING_AT(struct t_kv, value)),
  OCI_MAP("named", struct t_doc, named, name, OCI_ELEM_STRUCT(named_fields)),
  OCI_FIELDS_END,
};

/* Every member set, compact and in table order (without "version"). */
static const char FULL[]
    = "{\"str\":\"s \\\"q\\\" \xc3\xa9\",\"flag\":true,\"always\":true,\"maybe\":false,"
      "\"i16\":-32768,\"i32\":2147483647,\"i64\":-9223372036854775808,"
      "\"u16\":65535,\"u32\":4294967295,\"u64\":18446744073709551615,\"opt\":0,"
      "\"obj\":{\"s\":\"o\",\"n\":-1},\"st\":{\"n\":7},\"box\":{\"height\":24,\"width\":80},"
      "\"wrap\":{\"limit\":-1},\"strv\":[\"a\",\"b\"],\"nums\":[0,4294967295],"
      "\"list\":[{\"s\":\"x\"},{},{\"n\":2}],\"kv\":{\"k1\":\"v1\",\"k2\":\"\"},"
      "\"named\":{\"eth0\":{\"weight\":10,\"tags\":[\"t\"]},\"eth1\":{}}}";

static int
parse(const char *text, struct t_doc **out, char **errmsg)
{
  struct oci_error *err = NULL;

  *errmsg = NULL;
  if (oci_fields_parse_document("t.json", text, strlen(text), doc_fields, sizeof(struct t_doc), (void **)out,
                                &err)
      < 0)
    {
      *errmsg = oci_error_string(err);
      oci_error_free(err);
      return -1;
    }
  return 0;
}

static char *
emit(const struct t_doc *d)
{
  cleanup_json_writer struct json_writer *w = json_writer_new(false);
  struct oci_error *err = NULL;
  char *out = NULL;
  size_t len = 0;

  json_write_object_begin(w);
  oci_fields_emit(w, doc_fields, d);
  json_write_object_end(w);
  if (json_writer_finish(w, &out, &len, &err) < 0)
    {
      out = xasprintf("ERROR %s", err->msg);
      oci_error_free(err);
    }
  return out;
}

static void
doc_free(struct t_doc *d)
{
  oci_fields_free(doc_fields, d);
  free(d);
}

static void
test_round_trip(void)
{
  struct t_doc *d = NULL;
  cleanup_free char *msg = NULL;
  cleanup_free char *out = NULL;

  ok(parse(FULL, &d, &msg) == 0, "every kind parses");
  if (d == NULL)
    {
      printf("#   %s\n", msg);
      return;
    }
  ok(d->i64 == INT64_MIN && d->u64 == UINT64_MAX && d->i16 == INT16_MIN && d->u32 == UINT32_MAX,
     "integers at the ends of their types are exact");
  ok(d->has_maybe && !d->maybe && d->has_opt && d->opt == 0 && d->has_box && d->box_width == 80
         && d->has_limit && d->limit == -1,
     "optional members set their has_ flag, inline objects fill the enclosing struct");
  ok(d->obj && strcmp(d->obj->s, "o") == 0 && d->obj->has_n && d->obj->n == -1 && d->st.n == 7,
     "objects and structs");
  ok(d->strv_len == 2 && d->strv[2] == NULL, "string arrays are NULL-terminated");
  ok(d->list_len == 3 && d->list[1].s == NULL && !d->list[1].has_n && d->list[2].n == 2, "array of objects");
  ok(d->kv_len == 2 && strcmp(d->kv[1].key, "k2") == 0 && strcmp(d->kv[1].value, "") == 0,
     "map of strings keeps document order");
  ok(d->named_len == 2 && strcmp(d->named[0].name, "eth0") == 0 && d->named[0].weight == 10
         && d->named[0].tags_len == 1 && d->named[1].tags == NULL,
     "map of objects");
  out = emit(d);
  ok(strcmp(out, FULL) == 0, "emit(parse(x)) == x");
  if (strcmp(out, FULL) != 0)
    printf("#   got:  %s\n#   want: %s\n", out, FULL);
  doc_free(d);
}

static void
test_left_out(void)
{
  struct t_doc *d = NULL;
  cleanup_free char *msg = NULL;
  cleanup_free char *out = NULL;

  /* Empty containers, false flags, null members and an empty inline object
   * all disappear; plain integers, "always" and the struct stay. */
  ok(parse("{\"version\":\"1\",\"flag\":false,\"str\":null,\"obj\":null,\"wrap\":{},\"strv\":[],\"kv\":{},"
           "\"list\":[],\"named\":{},\"unknown\":[1,{\"x\":2}]}",
           &d, &msg)
         == 0,
     "null, empty and unknown members parse");
  ok(d && d->version && strcmp(d->version, "1") == 0 && d->strv == NULL && d->kv == NULL && d->list == NULL,
     "empty arrays and maps leave a NULL pointer");
  out = d ? emit(d) : NULL;
  ok(out
         && strcmp(out, "{\"always\":false,\"i16\":0,\"i32\":0,\"i64\":0,\"u16\":0,\"u32\":0,\"u64\":0,"
                        "\"st\":{}}")
                == 0,
     "only what says something is emitted; EMIT_BY_HAND members are left to the caller");
  if (out && strncmp(out, "{\"always\":false,\"i16", 20) != 0)
    printf("#   got: %s\n", out);
  doc_free(d);
}

static void
test_duplicates(void)
{
  struct t_doc *d = NULL;
  cleanup_free char *msg = NULL;

  /* the first duplicate is not even looked at */
  ok(parse("{\"str\":1,\"str\":\"b\"}", &d, &msg) == 0 && strcmp(d->str, "b") == 0,
     "a member given twice counts once, the last one");
  doc_free(d);
}

static void
check_error(const char *text, const char *want)
{
  struct t_doc *d = NULL;
  cleanup_free char *msg = NULL;

  ok(parse(text, &d, &msg) < 0 && d == NULL && msg && strcmp(msg, want) == 0, "%s", want);
  if (msg == NULL || strcmp(msg, want) != 0)
    printf("#   got: %s\n", msg ? msg : "(parsed)");
  doc_free(d);
}

static void
test_type_errors(void)
{
  check_error("{\"version\":1}", "t.json: version: expected string");
  check_error("{\"str\":[]}", "t.json: str: expected string");
  check_error("{\"flag\":1}", "t.json: flag: expected boolean");
  check_error("{\"always\":\"true\"}", "t.json: always: expected boolean");
  check_error("{\"maybe\":{}}", "t.json: maybe: expected boolean");
  check_error("{\"i16\":true}", "t.json: i16: expected integer");
  check_error("{\"i32\":\"1\"}", "t.json: i32: expected integer");
  check_error("{\"i64\":1.5}", "t.json: i64: expected integer");
  check_error("{\"u16\":1e3}", "t.json: u16: expected integer");
  check_error("{\"u32\":[]}", "t.json: u32: expected integer");
  check_error("{\"u64\":false}", "t.json: u64: expected integer");
  check_error("{\"opt\":\"x\"}", "t.json: opt: expected integer");
  check_error("{\"obj\":[]}", "t.json: obj: expected object");
  check_error("{\"obj\":{\"s\":1}}", "t.json: obj.s: expected string");
  check_error("{\"st\":\"x\"}", "t.json: st: expected object");
  check_error("{\"st\":{\"n\":\"x\"}}", "t.json: st.n: expected integer");
  check_error("{\"box\":1}", "t.json: box: expected object");
  check_error("{\"box\":{\"width\":-1}}", "t.json: box.width: -1 out of range for uint32");
  check_error("{\"wrap\":[]}", "t.json: wrap: expected object");
  check_error("{\"wrap\":{\"limit\":true}}", "t.json: wrap.limit: expected integer");
  check_error("{\"strv\":{}}", "t.json: strv: expected array");
  check_error("{\"strv\":[\"a\",null]}", "t.json: strv[1]: expected string");
  check_error("{\"nums\":[1,\"2\"]}", "t.json: nums[1]: expected integer");
  check_error("{\"nums\":[4294967296]}", "t.json: nums[0]: 4294967296 out of range for uint32");
  check_error("{\"list\":{}}", "t.json: list: expected array");
  check_error("{\"list\":[{},1]}", "t.json: list[1]: expected object");
  check_error("{\"list\":[{},{\"s\":\"a\"},{\"n\":[]}]}", "t.json: list[2].n: expected integer");
  check_error("{\"kv\":[]}", "t.json: kv: expected object");
  check_error("{\"kv\":{\"a.b\":1}}", "t.json: kv.a.b: expected string");
  check_error("{\"named\":{\"eth0\":\"x\"}}", "t.json: named.eth0: expected object");
  check_error("{\"named\":{\"eth0\":{\"tags\":[1]}}}", "t.json: named.eth0.tags[0]: expected string");
  check_error("[]", "t.json: expected a JSON object");
  check_error("{\"str\":", "t.json: line 1, column 8: unexpected end of input");
  /* the first wrong member of the table wins, whatever the document order */
  check_error("{\"u16\":\"x\",\"str\":1}", "t.json: str: expected string");
}

static void
test_ranges(void)
{
  check_error("{\"i16\":32768}", "t.json: i16: 32768 out of range for int16");
  check_error("{\"i16\":-32769}", "t.json: i16: -32769 out of range for int16");
  check_error("{\"i32\":-2147483649}", "t.json: i32: -2147483649 out of range for int32");
  check_error("{\"i64\":9223372036854775808}", "t.json: i64: 9223372036854775808 out of range for int64");
  check_error("{\"i64\":-9223372036854775809}", "t.json: i64: -9223372036854775809 out of range for int64");
  check_error("{\"u16\":65536}", "t.json: u16: 65536 out of range for uint16");
  check_error("{\"u16\":-1}", "t.json: u16: -1 out of range for uint16");
  check_error("{\"u32\":4294967296}", "t.json: u32: 4294967296 out of range for uint32");
  check_error("{\"u64\":18446744073709551616}", "t.json: u64: 18446744073709551616 out of range for uint64");
  check_error("{\"u64\":-1}", "t.json: u64: -1 out of range for uint64");
  check_error("{\"opt\":9223372036854775808}", "t.json: opt: 9223372036854775808 out of range for int64");
}

static void
check_range(const char *text, const char *want)
{
  struct t_doc *d = NULL;
  cleanup_free char *msg = NULL;
  struct oci_error *err = NULL;

  if (parse(text, &d, &msg) < 0)
    {
      ok(0, "%s (did not parse: %s)", want ? want : "in range", msg);
      return;
    }
  if (oci_fields_check(doc_fields, d, NULL, &err) < 0)
    msg = oci_error_string(err);
  oci_error_free(err);
  ok(want ? msg && strcmp(msg, want) == 0 : msg == NULL, "%s", want ? want : text);
  if (want ? msg == NULL || strcmp(msg, want) != 0 : msg != NULL)
    printf("#   got: %s\n", msg ? msg : "(in range)");
  doc_free(d);
}

static void
test_check(void)
{
  check_range(FULL, NULL);
  /* box_width is 0, but box is not set */
  check_range("{}", NULL);
  check_range("{\"obj\":{\"n\":8}}", "obj.n: 8 is not in [-1, 7]");
  check_range("{\"st\":{\"n\":-2147483648}}", "st.n: -2147483648 is not in [-1, 7]");
  check_range("{\"list\":[{},{\"n\":7},{\"n\":-2}]}", "list[2].n: -2 is not in [-1, 7]");
  check_range("{\"box\":{\"width\":0}}", "box.width: must be between 1 and 1000");
  check_range("{\"named\":{\"eth0\":{},\"eth1\":{\"weight\":101}}}",
              "named.eth1.weight: 101 is not in [0, 100]");
  /* table order: obj before list */
  check_range("{\"list\":[{\"n\":9}],\"obj\":{\"n\":9}}", "obj.n: 9 is not in [-1, 7]");
}

static void
test_free(void)
{
  oci_fields_free(doc_fields, NULL);
  /* a failure deep inside leaves arrays, maps and objects attached; the
   * ASan run of the unit tests checks that they are all freed */
  check_error("{\"str\":\"a\",\"obj\":{\"s\":\"b\"},\"strv\":[\"c\"],\"kv\":{\"k\":\"v\"},"
              "\"named\":{\"eth0\":{\"tags\":[\"t\"]},\"eth1\":{\"tags\":[\"u\",2]}}}",
              "t.json: named.eth1.tags[1]: expected string");
  ok(1, "oci_fields_free accepts NULL");
}

int
main(void)
{
  test_round_trip();
  test_left_out();
  test_duplicates();
  test_type_errors();
  test_ranges();
  test_check();
  test_free();
  return tap_done();
}
