#include <config.h>

#include <getopt.h>

#include "cli.h"
#include "manage.h"

static const char usage[] = "pause <container-id>";
static const char help[] = "Freeze every process of the container (cgroup freezer); `state` then\n"
                           "reports \"paused\" until `resume`.\n";

int
cli_pause(struct rt_context *ctx, int argc, char **argv, struct oci_error **err)
{
  int r = cli_parse_no_options(argc, argv, 1, usage, help, err);

  if (r != 0)
    return r < 0 ? -1 : 0;
  return rt_container_pause(ctx, argv[optind], err) < 0 ? -1 : 0;
}
