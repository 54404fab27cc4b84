#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "spec/util.h"
#include "cli.h"
#include "overlay.h"

static const char help[] = "Usage: imgtool unbundle DIR...\n"
                           "\n"
                           "Remove bundles made by `imgtool bundle`: an overlay bundle is unmounted\n"
                           "and its record dropped from the store (its layers stay in the store's\n"
                           "cache until `imgtool gc`).  A directory without the " IMG_BUNDLE_MARKER " file\n"
                           "that `bundle` writes is refused, as is a bundle with anything else\n"
                           "mounted inside it.  For a DIR that is gone (removed without unbundle),\n"
                           "the store's record of it is dropped.\n";

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
    {
      struct stat st;
      if (lstat(argv[i], &st) < 0 && errno == ENOENT)
        {
          cleanup_store struct img_store *store = NULL;
          int r = img_cli_open_store(cli, &store, err) < 0 ? -1 : img_bundle_forget(store, argv[i], err);
          if (r < 0)
            return -1;
          if (r == 1)
            {
              if (!cli->quiet)
                printf("Dropped the record of overlay bundle %s (its directory is gone)\n", argv[i]);
              continue;
            }
        }
      if (img_bundle_remove(argv[i], err) < 0)
        return -1;
    }
  return 0;
}
