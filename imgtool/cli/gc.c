#include <config.h>

#include <stdio.h>

#include "spec/util.h"
#include "cli.h"

static const char help[] = "Usage: imgtool gc\n"
                           "\n"
                           "Delete every blob and partial download that no image in the store refers\n"
                           "to, and the cached layers no overlay bundle uses.  What an overlay bundle\n"
                           "uses stays (and gc names the bundle) until `imgtool unbundle`.  Waits for\n"
                           "running pulls and bundles to finish.\n";

static void
held(void *data, const struct img_store_bundle *b, size_t blobs)
{
  const struct img_cli *cli = data;
  if (!cli->quiet)
    printf("Kept %zu blob%s used by overlay bundle %s (%s)\n", blobs, blobs == 1 ? "" : "s", b->path,
           b->image);
}

int
img_cli_gc(struct img_cli *cli, int argc, char **argv, struct oci_error **err)
{
  static const struct img_cli_options o = { .cmd = "gc", .help = help };
  cleanup_store struct img_store *store = NULL;
  struct img_gc_report rep = { .held = held, .data = cli };
  char size[32];
  int first;

  first = img_cli_parse_options(cli, &o, argc, argv, err);
  if (first <= 0)
    return first;
  if (first != argc)
    return img_cli_usage_error(err, "gc", "no arguments expected");
  if (img_cli_open_store(cli, &store, err) < 0 || img_store_gc_report(store, &rep, err) < 0)
    return -1;
  img_cli_human_size(rep.freed, size, sizeof size);
  if (!cli->quiet)
    printf("Deleted %zu blobs, freed %s\n", rep.removed, size);
  if (!cli->quiet && rep.layers_removed)
    printf("Deleted %zu cached layers\n", rep.layers_removed);
  return 0;
}
