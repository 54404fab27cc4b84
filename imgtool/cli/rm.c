#include <config.h>

#include <stdio.h>

#include "spec/util.h"
#include "cli.h"

static const char help[] = "Usage: imgtool rm [--platform OS/ARCH[/VARIANT]] IMAGE...\n"
                           "\n"
                           "Remove image names from the store, for every platform they are stored\n"
                           "for, or only for --platform's.  `NAME@sha256:...` removes every tag of\n"
                           "NAME that points there.  Prints each name removed.  Blobs stay until\n"
                           "`imgtool gc`.\n";

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
      cleanup_strv char **removed = NULL;
      if (img_store_remove_ref(store, name, ref->digest ? ref->digest : ref->tag, platform ? &only : NULL,
                               &removed, err)
          < 0)
        return -1;
      for (char **n = removed; !cli->quiet && *n; n++)
        printf("Untagged: %s\n", *n);
    }
  return 0;
}
