#include <config.h>

#include <getopt.h>

#include "cli.h"
#include "container.h"

static const char usage[] = "run [options] <container-id>";
static const char help[] = "Create and start a container; in the foreground, wait for it, forward\n"
                           "signals to it, exit with its status (128+N if killed by signal N) and\n"
                           "delete it.\n"
                           "\n"
                           "  -b, --bundle DIR          bundle directory (default: current directory)\n"
                           "  -d, --detach              return once the container is started\n"
                           "      --pid-file FILE       write the container init's pid to FILE\n"
                           "      --console-socket SOCK send the pty master to this AF_UNIX socket\n"
                           "      --no-pivot            move the root and chroot instead of pivot_root\n"
                           "      --no-new-keyring      keep the caller's session keyring\n"
                           "      --preserve-fds N      pass fds 3..3+N-1 to the container\n";

enum
{
  OPT_PID_FILE = 256,
  OPT_CONSOLE_SOCKET,
  OPT_NO_PIVOT,
  OPT_NO_NEW_KEYRING,
  OPT_PRESERVE_FDS,
};

static const struct option options[] = {
  { "bundle", required_argument, NULL, 'b' },
  { "detach", no_argument, NULL, 'd' },
  { "pid-file", required_argument, NULL, OPT_PID_FILE },
  { "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
  { "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
  { "no-new-keyring", no_argument, NULL, OPT_NO_NEW_KEYRING },
  { "preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

int
cli_run(struct rt_context *ctx, int argc, char **argv, struct oci_error **err)
{
  struct rt_create_opts opts = { 0 };
  bool detach = false;
  int c, status;

  optind = 0;
  while ((c = getopt_long(argc, argv, "+:b:dh", options, NULL)) != -1)
    switch (c)
      {
      case 'b':
        opts.bundle = optarg;
        break;
      case 'd':
        detach = true;
        break;
      case OPT_PID_FILE:
        opts.pid_file = optarg;
        break;
      case OPT_CONSOLE_SOCKET:
        opts.console_socket = optarg;
        break;
      case OPT_NO_PIVOT:
        opts.no_pivot = true;
        break;
      case OPT_NO_NEW_KEYRING:
        opts.no_new_keyring = true;
        break;
      case OPT_PRESERVE_FDS:
        if (cli_parse_uint("--preserve-fds", optarg, &opts.preserve_fds, err) < 0)
          return -1;
        break;
      case 'h':
        return cli_print_help(usage, help);
      default:
        return cli_option_error(argv[0], c, argv, err);
      }
  if (argc - optind != 1)
    return cli_usage_error(usage, err);
  if (rt_container_run(ctx, argv[optind], &opts, detach, &status, err) < 0)
    return -1;
  return status;
}
