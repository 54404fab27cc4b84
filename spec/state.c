/* The container state document, in the shape and member order of
 * `runc state` (runtime-spec "State" plus runc's rootfs, created, owner). */
#include <errno.h>
#include <string.h>

#include "json.h"
#include "state.h"
#include "util.h"

void
oci_state_free(struct oci_state *st)
{
  if (st == NULL)
    return;
  free(st->oci_version);
  free(st->id);
  free(st->status);
  free(st->bundle);
  free(st->rootfs);
  free(st->created);
  free(st->owner);
  if (st->annotations)
    for (size_t i = 0; i < st->annotations_len; i++)
      {
        free(st->annotations[i].key);
        free(st->annotations[i].value);
      }
  free(st->annotations);
  free(st);
}

static void
put_string(struct json_writer *w, const char *key, const char *value)
{
  json_write_key(w, key);
  json_write_string(w, value ? value : "");
}

static void
put_annotations(struct json_writer *w, const struct oci_state *st)
{
  if (st->annotations_len == 0)
    return;
  json_write_key(w, "annotations");
  json_write_object_begin(w);
  for (size_t i = 0; i < st->annotations_len; i++)
    {
      json_write_key(w, st->annotations[i].key);
      json_write_string(w, st->annotations[i].value);
    }
  json_write_object_end(w);
}

int
oci_state_emit(const struct oci_state *st, bool pretty, char **out, size_t *len, struct oci_error **err)
{
  cleanup_json_writer struct json_writer *w = json_writer_new(pretty);

  json_write_object_begin(w);
  put_string(w, "ociVersion", st->oci_version);
  put_string(w, "id", st->id);
  json_write_key(w, "pid");
  json_write_int64(w, st->pid);
  put_string(w, "status", st->status);
  put_string(w, "bundle", st->bundle);
  put_string(w, "rootfs", st->rootfs);
  put_string(w, "created", st->created);
  put_annotations(w, st);
  put_string(w, "owner", st->owner);
  json_write_object_end(w);
  return json_writer_finish(w, out, len, err);
}

int
oci_process_state_emit(const struct oci_state *st, pid_t pid, const char *metadata, char **out, size_t *len,
                       struct oci_error **err)
{
  cleanup_json_writer struct json_writer *w = json_writer_new(false);
  static char *const fds[] = { (char *)"seccompFd" };

  json_write_object_begin(w);
  put_string(w, "ociVersion", st->oci_version);
  json_write_member_strv(w, "fds", fds, OCI_ARRAY_SIZE(fds));
  json_write_key(w, "pid");
  json_write_int64(w, pid);
  /* Left out when empty, as runc and crun do. */
  if (metadata && metadata[0])
    put_string(w, "metadata", metadata);
  json_write_key(w, "state");
  json_write_object_begin(w);
  put_string(w, "ociVersion", st->oci_version);
  put_string(w, "id", st->id);
  put_string(w, "status", st->status);
  json_write_key(w, "pid");
  json_write_int64(w, st->pid);
  put_string(w, "bundle", st->bundle);
  put_annotations(w, st);
  json_write_object_end(w);
  json_write_object_end(w);
  return json_writer_finish(w, out, len, err);
}

static int
take_string(const struct json_value *doc, const char *key, char **out, struct oci_error **err)
{
  struct json_value *v = (struct json_value *)json_object_get(doc, key);

  if (v == NULL || v->type == JSON_NULL)
    return 0;
  if (v->type != JSON_STRING)
    return oci_error_set(err, 0, "%s: expected string", key);
  *out = steal_pointer(&v->u.string);
  return 0;
}

static int
take_annotations(const struct json_value *doc, struct oci_state *st, struct oci_error **err)
{
  struct json_value *m = (struct json_value *)json_object_get(doc, "annotations");

  if (m == NULL || m->type == JSON_NULL)
    return 0;
  if (m->type != JSON_OBJECT)
    return oci_error_set(err, 0, "annotations: expected object");
  if (m->u.object.len == 0)
    return 0;
  st->annotations = xcalloc(m->u.object.len, sizeof(struct oci_kv));
  st->annotations_len = m->u.object.len;
  for (size_t i = 0; i < m->u.object.len; i++)
    {
      struct json_value *v = m->u.object.values[i];

      if (v->type != JSON_STRING)
        return oci_error_set(err, 0, "annotations.%s: expected string", m->u.object.keys[i]);
      st->annotations[i].key = steal_pointer(&m->u.object.keys[i]);
      st->annotations[i].value = steal_pointer(&v->u.string);
    }
  return 0;
}

static int
state_from_json(const struct json_value *doc, struct oci_state *st, struct oci_error **err)
{
  const struct json_value *pid = json_object_get(doc, "pid");
  int64_t n = 0;

  if (pid && pid->type != JSON_NULL)
    {
      if (pid->type != JSON_NUMBER || json_number_int64(pid, &n) < 0)
        return oci_error_set(err, 0, "pid: expected integer");
      if (n < 0 || n > INT32_MAX)
        return oci_error_set(err, 0, "pid: %s out of range", pid->u.number);
      st->pid = (pid_t)n;
    }
  if (take_string(doc, "ociVersion", &st->oci_version, err) < 0 || take_string(doc, "id", &st->id, err) < 0
      || take_string(doc, "status", &st->status, err) < 0 || take_string(doc, "bundle", &st->bundle, err) < 0
      || take_string(doc, "rootfs", &st->rootfs, err) < 0
      || take_string(doc, "created", &st->created, err) < 0 || take_string(doc, "owner", &st->owner, err) < 0
      || take_annotations(doc, st, err) < 0)
    return -1;
  /* runtime-spec before 1.0.0-rc5 called it bundlePath */
  if (st->bundle == NULL && take_string(doc, "bundlePath", &st->bundle, err) < 0)
    return -1;
  return 0;
}

int
oci_state_parse(const char *name, const char *text, size_t len, struct oci_state **out,
                struct oci_error **err)
{
  cleanup_json_value struct json_value *doc = NULL;
  struct oci_state *st;

  if (json_parse(name, text, len, &doc, err) < 0)
    return -1;
  if (doc->type != JSON_OBJECT)
    return oci_error_set(err, 0, "%s: expected a JSON object", name);
  st = xzalloc(sizeof *st);
  if (state_from_json(doc, st, err) < 0)
    {
      oci_state_free(st);
      return oci_error_wrap(err, "%s", name);
    }
  *out = st;
  return 0;
}
