#include <config.h>

#include <stdio.h>
#include <string.h>

#include "spec/util.h"
#include "cli.h"

static const char help[] = "Usage: imgtool rm [--platform OS/ARCH[/VARIANT]] IMAGE...\n"
                           "\n"
                           "Remove image names from the store, for every platform they are stored\n"
                           "for, or only for --platform's.  `NAME@sha256:...` removes every tag of\n"
                           "NAME that points there.  Prints each name removed.  Blobs stay until\n"
                           "`imgtool gc`, and as long as an overlay bundle uses them (rm names\n"
                           "such bundles).\n";

static bool
listed(const struct img_store_ref *refs, size_t len, const struct img_store_ref *r)
{
  for (size_t i = 0; i < len; i++)
    if (strcmp(refs[i].name ? refs[i].name : "", r->name ? r->name : "") == 0
        && strcmp(refs[i].digest, r->digest) == 0)
      return true;
  return false;
}

static bool
made_from(const struct img_store_bundle *b, const struct img_store_ref *r)
{
  return strcmp(b->manifest, r->digest) == 0 || strcmp(b->ref_digest, r->digest) == 0
         || strcmp(b->manifest, r->ref_digest) == 0 || strcmp(b->ref_digest, r->ref_digest) == 0;
}

/* The overlay bundles made from an entry that is in `before` but no longer
 * in the store: their blobs outlive the name (gc keeps them), which the
 * user should hear. */
static void
name_bundles(struct img_store *store, const struct img_store_ref *before, size_t before_len)
{
  cleanup_error struct oci_error *e = NULL;
  struct img_store_ref *after = NULL;
  struct img_store_bundle **v = NULL;
  size_t after_len = 0, len = 0;

  if (img_store_list_refs(store, &after, &after_len, &e) < 0
      || img_store_list_bundles(store, &v, &len, &e) < 0)
    {
      img_store_refs_free(after, after_len);
      return;
    }
  for (size_t i = 0; i < len; i++)
    for (size_t j = 0; j < before_len; j++)
      if (!listed(after, after_len, &before[j]) && made_from(v[i], &before[j]))
        {
          printf("Kept: its layers are used by overlay bundle %s\n", v[i]->path);
          break;
        }
  img_store_refs_free(after, after_len);
  img_store_bundles_free(v, len);
}

int
img_cli_rm(struct img_cli *cli, int argc, char **argv, struct oci_error **err)
{
  static const struct option opts[]
      = { IMG_CLI_COMMON_OPTIONS, { "platform", required_argument, NULL, 'p' }, { 0 } };
  cleanup_store struct img_store *store = NULL;
  cleanup_platform struct img_platform only = { 0 };
  const char *platform = NULL;
  const struct img_cli_options o
      = { .cmd = "rm", .help = help, .shortopts = "qvhp:", .longopts = opts, .platform = &platform };
  int first;

  first = img_cli_parse_options(cli, &o, argc, argv, err);
  if (first <= 0)
    return first;
  if (first >= argc)
    return img_cli_usage_error(err, "rm", "expected at least one IMAGE");
  if (platform && img_platform_parse(platform, &only, err) < 0)
    return -1;
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
      struct img_store_ref *before = NULL;
      size_t before_len = 0;
      cleanup_error struct oci_error *unlisted = NULL;
      if (!cli->quiet)
        img_store_list_refs(store, &before, &before_len, &unlisted);
      cleanup_strv char **removed = NULL;
      if (img_store_remove_ref(store, name, ref->digest ? ref->digest : ref->tag, platform ? &only : NULL,
                               &removed, err)
          < 0)
        {
          img_store_refs_free(before, before_len);
          return -1;
        }
      for (char **n = removed; !cli->quiet && *n; n++)
        printf("Untagged: %s\n", *n);
      if (!cli->quiet)
        name_bundles(store, before, before_len);
      img_store_refs_free(before, before_len);
    }
  return 0;
}
