/* struct oci_config → config.json.
 *
 * Members come in the order of runtime-spec's Go types (what `runc spec`
 * prints), the order of the tables in config-fields.c; absent optionals and
 * empty arrays are left out, so that parse(emit(x)) == x for everything the
 * parser can produce. */
#include "oci-config.h"
#include "config-fields.h"
#include "json.h"
#include "util.h"

typedef struct json_writer writer;

static void
put_string(writer *w, const char *key, const char *s)
{
  json_write_member_string(w, key, s);
}

int
oci_config_emit(const struct oci_config *cfg, bool pretty, char **out, size_t *len, struct oci_error **err)
{
  /* tabs, as `runc spec` writes config.json */
  cleanup_json_writer writer *w = json_writer_new_indent(pretty ? "\t" : NULL);

  json_write_object_begin(w);
  put_string(w, "ociVersion", cfg->oci_version ? cfg->oci_version : oci_config_min_version(cfg));
  oci_fields_emit(w, oci_config_fields, cfg);
  json_write_object_end(w);
  return json_writer_finish(w, out, len, err);
}

int
oci_resources_emit(const struct oci_resources *res, char **out, size_t *len, struct oci_error **err)
{
  cleanup_json_writer writer *w = json_writer_new_indent(NULL);

  json_write_object_begin(w);
  oci_fields_emit(w, oci_resources_fields, res);
  json_write_object_end(w);
  return json_writer_finish(w, out, len, err);
}
