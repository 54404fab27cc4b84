#include <config.h>

#include "cli.h"
#include "container.h"

static const char usage[] = "run [options] <container-id>";
static const char help[] = "Create and start a container; in the foreground, wait for it, forward\n"
                           "signals to it, exit with its status (128+N if killed by signal N) and\n"
                           "delete it.\n"
                           "\n"
                           "  -b, --bundle DIR          bundle directory (default: current directory)\n"
                           "  -d, --detach              return once the container is started\n"
                           "      --keep                do not delete the container after it exits\n"
                           "      --pid-file FILE       write the container init's pid to FILE\n"
                           "      --console-socket SOCK send the pty master to this AF_UNIX socket\n"
                           "      --no-pivot            move the root and chroot instead of pivot_root\n"
                           "      --no-new-keyring      keep the caller's session keyring\n"
                           "      --preserve-fds N      pass fds 3..3+N-1 to the container\n";

int
cli_run(struct rt_context *ctx, int argc, char **argv, struct oci_error **err)
{
  struct rt_create_opts opts = { 0 };
  struct rt_run_opts run = { 0 };
  const char *id;
  int r, status;

  r = cli_parse_create_options(argc, argv, usage, help, &opts, &run, &id, err);
  if (r != 0)
    return r < 0 ? -1 : 0;
  if (rt_container_run(ctx, id, &opts, &run, &status, err) < 0)
    return -1;
  return status;
}
