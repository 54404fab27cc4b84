#include <config.h>

#include <stdio.h>
#include <string.h>

#include "spec/util.h"
#include "cli.h"

static const char help[] = "Usage: imgtool rm IMAGE...\n"
                           "\n"
                           "Remove image names from the store.  `NAME@sha256:...` removes every tag of\n"
                           "NAME that points there.  Blobs stay until `imgtool gc`, and as long as an\n"
                           "overlay bundle uses them (rm names such bundles).\n";

/* The overlay bundles made from manifest `digest`: their blobs outlive
 * the name (gc keeps them), which the user should hear. */
static void
name_bundles(struct img_store *store, const char *digest)
{
  cleanup_error struct oci_error *e = NULL;
  struct img_store_bundle **v = NULL;
  size_t len = 0;

  if (img_store_list_bundles(store, &v, &len, &e) < 0)
    return;
  for (size_t i = 0; i < len; i++)
    if (strcmp(v[i]->manifest, digest) == 0 || strcmp(v[i]->ref_digest, digest) == 0)
      printf("Kept: its layers are used by overlay bundle %s\n", v[i]->path);
  img_store_bundles_free(v, len);
}

int
img_cli_rm(struct img_cli *cli, int argc, char **argv, struct oci_error **err)
{
  static const struct img_cli_options o = { .cmd = "rm", .help = help };
  cleanup_store struct img_store *store = NULL;
  int first;

  first = img_cli_parse_options(cli, &o, argc, argv, err);
  if (first <= 0)
    return first;
  if (first >= argc)
    return img_cli_usage_error(err, "rm", "expected at least one IMAGE");
  if (img_cli_open_store(cli, &store, err) < 0)
    return -1;
  for (int i = first; i < argc; i++)
    {
      cleanup_img_reference struct img_reference *ref = NULL;
      if (img_reference_parse(argv[i], &ref, err) < 0)
        return -1;
      if (ref->transport != IMG_REF_REGISTRY)
        return oci_error_set(err, 0, "`%s`: rm works on the store, not on local sources", argv[i]);
      cleanup_free char *name = img_reference_name(ref);
      const char *tag = ref->digest ? ref->digest : ref->tag;
      cleanup_store_ref struct img_store_ref *found = NULL;
      cleanup_error struct oci_error *missing = NULL;
      img_store_get_ref(store, name, tag, &found, &missing);
      if (img_store_remove_ref(store, name, tag, err) < 0)
        return -1;
      if (!cli->quiet)
        {
          cleanup_free char *s = img_reference_string(ref);
          printf("Untagged: %s\n", s);
          if (found)
            name_bundles(store, found->digest);
        }
    }
  return 0;
}
