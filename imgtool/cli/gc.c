#include <config.h>

#include <stdio.h>

#include "spec/util.h"
#include "cli.h"

static const char help[] = "Usage: imgtool gc\n"
                           "\n"
                           "Delete every blob and partial download that no image in the store refers\n"
                           "to.  Waits for running pulls and bundles to finish.\n";

int
img_cli_gc(struct img_cli *cli, int argc, char **argv, struct oci_error **err)
{
  static const struct img_cli_options o = { .cmd = "gc", .help = help };
  cleanup_store struct img_store *store = NULL;
  size_t removed;
  uint64_t freed;
  char size[32];
  int first;

  first = img_cli_parse_options(cli, &o, argc, argv, err);
  if (first <= 0)
    return first;
  if (first != argc)
    return img_cli_usage_error(err, "gc", "no arguments expected");
  if (img_cli_open_store(cli, &store, err) < 0 || img_store_gc(store, &removed, &freed, err) < 0)
    return -1;
  img_cli_human_size(freed, size, sizeof size);
  if (!cli->quiet)
    printf("Deleted %zu blobs, freed %s\n", removed, size);
  return 0;
}
