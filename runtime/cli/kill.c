#include <config.h>

#include <getopt.h>
#include <signal.h>

#include "cli.h"
#include "container.h"
#include "signals.h"

static const char usage[] = "kill [--all] <container-id> [signal]";
static const char help[] = "Send a signal (default TERM; a name or a number) to the container init.\n"
                           "\n"
                           "  -a, --all   signal every process of the container's cgroup\n";

static const struct option options[] = {
  { "all", no_argument, NULL, 'a' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

int
cli_kill(struct rt_context *ctx, int argc, char **argv, struct oci_error **err)
{
  bool all = false;
  int signo = SIGTERM;
  int c;

  optind = 0;
  while ((c = getopt_long(argc, argv, "+:ah", options, NULL)) != -1)
    switch (c)
      {
      case 'a':
        all = true;
        break;
      case 'h':
        return cli_print_help(usage, help);
      default:
        return cli_option_error(argv[0], c, argv, err);
      }
  if (argc - optind < 1 || argc - optind > 2)
    return cli_usage_error(usage, err);
  if (argc - optind == 2 && rt_signal_parse(argv[optind + 1], &signo, err) < 0)
    return -1;
  return rt_container_kill(ctx, argv[optind], signo, all, err) < 0 ? -1 : 0;
}
