#include <config.h>

#include <stdio.h>
#include <string.h>

#include "spec/json.h"
#include "spec/util.h"
#include "cli.h"

static const char help[] = "Usage: imgtool inspect [--platform OS/ARCH[/VARIANT]] IMAGE\n"
                           "\n"
                           "Print IMAGE's digest (what the registry serves for the name: a\n"
                           "multi-platform image's index), manifestDigest (the platform's image\n"
                           "manifest), platform, execution config and layers as one JSON object on\n"
                           "stdout.  Does not pull: the image must be in the store (for the host's\n"
                           "platform, or --platform's) or be a local oci:/oci-archive: source.\n";

static void
kv(struct json_writer *w, const char *key, const struct oci_kv *m, size_t len, bool keys_only)
{
  if (m == NULL)
    return;
  json_write_key(w, key);
  if (keys_only)
    {
      json_write_array_begin(w);
      for (size_t i = 0; i < len; i++)
        json_write_string(w, m[i].key);
      json_write_array_end(w);
      return;
    }
  json_write_object_begin(w);
  for (size_t i = 0; i < len; i++)
    {
      json_write_key(w, m[i].key);
      json_write_string(w, m[i].value ? m[i].value : "");
    }
  json_write_object_end(w);
}

/* DIGEST: what the name resolves to at its source (an index or the manifest). */
static int
emit(const char *name, const char *digest, const struct img_image *img, struct oci_error **err)
{
  cleanup_json_writer struct json_writer *w = json_writer_new(true);
  const struct oci_image_config *c = img->config;
  const struct oci_image_exec_config *e = &c->config;
  cleanup_free char *out = NULL;
  size_t len;

  json_write_object_begin(w);
  json_write_member_string(w, "name", name);
  json_write_member_string(w, "digest", digest);
  json_write_member_string(w, "manifestDigest", img->manifest_digest);
  json_write_member_string(w, "mediaType",
                           img->manifest->media_type ? img->manifest->media_type : OCI_MT_MANIFEST);
  json_write_member_string(w, "created", c->created);
  json_write_member_string(w, "author", c->author);
  json_write_member_string(w, "os", c->os);
  json_write_member_string(w, "architecture", c->architecture);
  json_write_member_string(w, "variant", c->variant);
  json_write_key(w, "size");
  json_write_uint64(w, img->size);
  json_write_key(w, "config");
  json_write_object_begin(w);
  json_write_member_string(w, "User", e->user);
  json_write_member_strv(w, "Env", e->env, e->env_len);
  json_write_member_strv(w, "Entrypoint", e->entrypoint, e->entrypoint_len);
  json_write_member_strv(w, "Cmd", e->cmd, e->cmd_len);
  json_write_member_string(w, "WorkingDir", e->working_dir);
  kv(w, "Labels", e->labels, e->labels_len, false);
  kv(w, "ExposedPorts", e->exposed_ports, e->exposed_ports_len, true);
  kv(w, "Volumes", e->volumes, e->volumes_len, true);
  json_write_member_string(w, "StopSignal", e->stop_signal);
  json_write_object_end(w);
  json_write_key(w, "layers");
  json_write_array_begin(w);
  for (size_t i = 0; i < img->manifest->layers_len; i++)
    {
      const struct oci_descriptor *d = &img->manifest->layers[i];
      json_write_object_begin(w);
      json_write_member_string(w, "digest", d->digest);
      json_write_member_string(w, "diffID", c->diff_ids[i]);
      json_write_member_string(w, "mediaType", d->media_type);
      json_write_key(w, "size");
      json_write_int64(w, d->size);
      json_write_object_end(w);
    }
  json_write_array_end(w);
  json_write_object_end(w);
  if (json_writer_finish(w, &out, &len, err) < 0)
    return -1;
  printf("%s\n", out);
  return 0;
}

int
img_cli_inspect(struct img_cli *cli, int argc, char **argv, struct oci_error **err)
{
  static const struct option opts[]
      = { IMG_CLI_COMMON_OPTIONS, { "platform", required_argument, NULL, 'p' }, { 0 } };
  cleanup_store struct img_store *store = NULL;
  cleanup_image struct img_image *img = NULL;
  struct img_cli_image im = { 0 };
  const char *platform = NULL;
  const struct img_cli_options o
      = { .cmd = "inspect", .help = help, .shortopts = "qvhp:", .longopts = opts, .platform = &platform };
  int first, r;

  first = img_cli_parse_options(cli, &o, argc, argv, err);
  if (first <= 0)
    return first;
  if (argc - first != 1)
    return img_cli_usage_error(err, "inspect", "expected one IMAGE");
  if (strncmp(argv[first], "oci:", 4) != 0 && strncmp(argv[first], "oci-archive:", 12) != 0
      && img_cli_open_store(cli, &store, err) < 0)
    return -1;
  r = img_cli_find_image(cli, store, argv[first], false, platform, &im, err);
  if (r == 0)
    r = img_image_load(im.store, im.found->digest, im.found->media_type, platform, &img, err);
  if (r == 0)
    {
      cleanup_free char *name = img_reference_string(im.ref);
      r = emit(name, im.found->ref_digest, img, err);
    }
  img_cli_image_clear(&im);
  return r;
}
