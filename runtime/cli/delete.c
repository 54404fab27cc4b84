#include <config.h>

#include <getopt.h>

#include "cli.h"
#include "container.h"

static const char usage[] = "delete [--force] <container-id>";
static const char help[] = "Delete a stopped (or created) container.\n"
                           "\n"
                           "  -f, --force   kill a running container first\n";

static const struct option options[] = {
  { "force", no_argument, NULL, 'f' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

int
cli_delete(struct rt_context *ctx, int argc, char **argv, struct oci_error **err)
{
  bool force = false;
  int c;

  optind = 0;
  while ((c = getopt_long(argc, argv, "+:fh", options, NULL)) != -1)
    switch (c)
      {
      case 'f':
        force = true;
        break;
      case 'h':
        return cli_print_help(usage, help);
      default:
        return cli_option_error(argv[0], c, argv, err);
      }
  if (argc - optind != 1)
    return cli_usage_error(usage, err);
  return rt_container_delete(ctx, argv[optind], force, err) < 0 ? -1 : 0;
}
