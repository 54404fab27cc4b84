#include <config.h>

#include <getopt.h>

#include "cli.h"
#include "container.h"

static const char usage[] = "start <container-id>";
static const char help[] = "Run the process of a created container.\n";

int
cli_start(struct rt_context *ctx, int argc, char **argv, struct oci_error **err)
{
  int r = cli_parse_no_options(argc, argv, 1, usage, help, err);

  if (r != 0)
    return r < 0 ? -1 : 0;
  return rt_container_start(ctx, argv[optind], err) < 0 ? -1 : 0;
}
