#include <config.h>

#include <getopt.h>

#include "cli.h"
#include "container.h"

static const char usage[] = "create [options] <container-id>";
static const char help[] = "Create a container from the bundle; `start` runs its process.\n"
                           "\n"
                           "  -b, --bundle DIR          bundle directory (default: current directory)\n"
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
  OPT_KEEP,
};

static const struct option options[] = {
  { "bundle", required_argument, NULL, 'b' },
  { "pid-file", required_argument, NULL, OPT_PID_FILE },
  { "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
  { "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
  { "no-new-keyring", no_argument, NULL, OPT_NO_NEW_KEYRING },
  { "preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS },
  { "detach", no_argument, NULL, 'd' },
  { "keep", no_argument, NULL, OPT_KEEP },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

int
cli_parse_create_options(int argc, char **argv, const char *usage_text, const char *help_text,
                         struct rt_create_opts *opts, struct rt_run_opts *run, const char **id,
                         struct oci_error **err)
{
  struct rt_run_opts ignored = { 0 };
  int c;

  optind = 0;
  while ((c = getopt_long(argc, argv, "+:b:dh", options, NULL)) != -1)
    switch (c)
      {
      case 'b':
        opts->bundle = optarg;
        break;
      case 'd':
        (run ? run : &ignored)->detach = true;
        break;
      case OPT_KEEP:
        if (run == NULL)
          return oci_error_set(err, 0, "%s: unknown option `%s`", argv[0], argv[optind - 1]);
        run->keep = true;
        break;
      case OPT_PID_FILE:
        opts->pid_file = optarg;
        break;
      case OPT_CONSOLE_SOCKET:
        opts->console_socket = optarg;
        break;
      case OPT_NO_PIVOT:
        opts->no_pivot = true;
        break;
      case OPT_NO_NEW_KEYRING:
        opts->no_new_keyring = true;
        break;
      case OPT_PRESERVE_FDS:
        if (cli_parse_uint("--preserve-fds", optarg, &opts->preserve_fds, err) < 0)
          return -1;
        break;
      case 'h':
        cli_print_help(usage_text, help_text);
        return 1;
      default:
        return cli_option_error(argv[0], c, argv, err);
      }
  if (argc - optind != 1)
    return cli_usage_error(usage_text, err);
  *id = argv[optind];
  return 0;
}

int
cli_create(struct rt_context *ctx, int argc, char **argv, struct oci_error **err)
{
  struct rt_create_opts opts = { 0 };
  const char *id;
  int r;

  /* create always detaches; go-runc passes -d anyway. */
  r = cli_parse_create_options(argc, argv, usage, help, &opts, NULL, &id, err);
  if (r != 0)
    return r < 0 ? -1 : 0;
  return rt_container_create(ctx, id, &opts, err) < 0 ? -1 : 0;
}
