#include <config.h>

#include <getopt.h>

#include "cli.h"
#include "container.h"

static const char usage[] = "spec [options]";
static const char help[] = "Write a default config.json (runs `sh` with a terminal) into the bundle.\n"
                           "\n"
                           "  -b, --bundle DIR   bundle directory (default: current directory)\n"
                           "      --rootless     a configuration for an unprivileged user\n";

enum
{
  OPT_ROOTLESS = 256,
};

static const struct option options[] = {
  { "bundle", required_argument, NULL, 'b' },
  { "rootless", no_argument, NULL, OPT_ROOTLESS },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

int
cli_spec(struct rt_context *ctx, int argc, char **argv, struct oci_error **err)
{
  const char *bundle = NULL;
  bool rootless = false;
  int c;

  optind = 0;
  while ((c = getopt_long(argc, argv, "+:b:h", options, NULL)) != -1)
    switch (c)
      {
      case 'b':
        bundle = optarg;
        break;
      case OPT_ROOTLESS:
        rootless = true;
        break;
      case 'h':
        return cli_print_help(usage, help);
      default:
        return cli_option_error(argv[0], c, argv, err);
      }
  if (argc != optind)
    return cli_usage_error(usage, err);
  return rt_spec_write(bundle, rootless, err) < 0 ? -1 : 0;
}
