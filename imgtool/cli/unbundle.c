#include <config.h>

#include <stdio.h>

#include "spec/util.h"
#include "cli.h"
#include "overlay.h"

static const char help[] = "Usage: imgtool unbundle DIR...\n"
                           "\n"
                           "Remove bundles made by `imgtool bundle`: an overlay bundle is unmounted\n"
                           "and its record dropped from the store (its layers stay in the store's\n"
                           "cache until `imgtool gc`).  A directory without the " IMG_BUNDLE_MARKER " file\n"
                           "that `bundle` writes is refused, as is a bundle with anything else\n"
                           "mounted inside it.\n";

int
img_cli_unbundle(struct img_cli *cli, int argc, char **argv, struct oci_error **err)
{
  static const struct img_cli_options o = { .cmd = "unbundle", .help = help };
  int first = img_cli_parse_options(cli, &o, argc, argv, err);

  if (first <= 0)
    return first;
  if (first >= argc)
    return img_cli_usage_error(err, "unbundle", "expected at least one DIR");
  for (int i = first; i < argc; i++)
    if (img_bundle_remove(argv[i], err) < 0)
      return -1;
  return 0;
}
