#include <config.h>

#include <stdio.h>
#include <string.h>

#include "spec/util.h"
#include "cli.h"
#include "overlay.h"

static const char help[] = "Usage: imgtool bundles [-q]\n"
                           "\n"
                           "List the overlay bundles whose layers come from the store: where they are,\n"
                           "the image they were made from, and whether their rootfs is mounted.\n"
                           "A bundle that is not mounted (after a reboot) is mounted again by\n"
                           "`imgtool bundle --remount DIR`; one whose directory is gone keeps its\n"
                           "layers from gc until `imgtool unbundle DIR` or removal of its record.\n"
                           "\n"
                           "  -q, --quiet    the directories only\n";

static const char *
state_text(enum img_bundle_state st)
{
  switch (st)
    {
    case IMG_BUNDLE_MOUNTED:
      return "mounted";
    case IMG_BUNDLE_NOT_MOUNTED:
      return "not mounted (imgtool bundle --remount DIR)";
    default:
      return "gone (the directory is not this bundle)";
    }
}

int
img_cli_bundles(struct img_cli *cli, int argc, char **argv, struct oci_error **err)
{
  static const struct img_cli_options o = { .cmd = "bundles", .help = help };
  cleanup_store struct img_store *store = NULL;
  struct img_store_bundle **v = NULL;
  size_t len = 0, width = strlen("BUNDLE");
  int first = img_cli_parse_options(cli, &o, argc, argv, err);

  if (first <= 0)
    return first;
  if (first != argc)
    return img_cli_usage_error(err, "bundles", "no arguments expected");
  if (img_cli_open_store(cli, &store, err) < 0 || img_store_list_bundles(store, &v, &len, err) < 0)
    return -1;
  for (size_t i = 0; i < len; i++)
    if (strlen(v[i]->path) > width)
      width = strlen(v[i]->path);
  if (!cli->quiet)
    printf("%-*s  %-30s  %s\n", (int)width, "BUNDLE", "IMAGE", "STATE");
  for (size_t i = 0; i < len; i++)
    {
      if (cli->quiet)
        printf("%s\n", v[i]->path);
      else
        printf("%-*s  %-30s  %s\n", (int)width, v[i]->path, v[i]->image, state_text(img_overlay_state(v[i])));
    }
  img_store_bundles_free(v, len);
  return 0;
}
