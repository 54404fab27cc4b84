/* `checkpoint` and `restore`, with runc's options (go-runc and podman pass
 * them); the work is in checkpoint.c. */
#include <config.h>

#include <getopt.h>
#include <string.h>

#include "checkpoint.h"
#include "cli.h"

static const char checkpoint_usage[] = "checkpoint [options] <container-id>";
static const char checkpoint_help[]
    = "Save the container's processes with criu(8) and, unless --leave-running,\n"
      "stop them and delete the container (as runc does), so that `restore` can\n"
      "bring it back under the same id.\n"
      "\n"
      "      --image-path DIR          criu images (default: ./checkpoint)\n"
      "      --work-path DIR           criu's log dump.log (default: the image path)\n"
      "      --parent-path DIR         a previous pre-dump, relative to the image path\n"
      "      --leave-running           keep the container running after the dump\n"
      "      --pre-dump                only save memory, for a later dump\n"
      "      --tcp-established         save established TCP connections\n"
      "      --ext-unix-sk             allow external unix sockets\n"
      "      --shell-job               allow a shell job (a terminal outside)\n"
      "      --file-locks              save file locks\n"
      "      --auto-dedup              deduplicate memory images\n"
      "      --manage-cgroups-mode M   soft (default), full, strict or ignore\n"
      "      --empty-ns NS             do not save namespace NS (network only)\n";

static const char restore_usage[] = "restore [options] <container-id>";
static const char restore_help[]
    = "Create the container from the bundle and restore the processes saved by\n"
      "`checkpoint` into it.  In the foreground (without --detach), wait for\n"
      "its init, exit with its status and delete the container, as `run` does.\n"
      "\n"
      "  -b, --bundle DIR              bundle directory (default: current directory)\n"
      "  -d, --detach                  return once the container runs\n"
      "      --pid-file FILE           write the restored init's pid to FILE\n"
      "      --console-socket SOCK     where the restored pty master goes (terminal)\n"
      "      --no-pivot                accepted (criu sets up the root)\n"
      "      --no-subreaper            accepted\n"
      "      --image-path DIR          criu images (default: ./checkpoint)\n"
      "      --work-path DIR           criu's log restore.log (default: the image path)\n"
      "      --tcp-established         restore established TCP connections\n"
      "      --ext-unix-sk             allow external unix sockets\n"
      "      --shell-job               allow a shell job\n"
      "      --file-locks              restore file locks\n"
      "      --auto-dedup              deduplicate memory images\n"
      "      --manage-cgroups-mode M   soft (default), full, strict or ignore\n"
      "      --empty-ns NS             namespace NS was not saved (network only)\n";

enum
{
  OPT_IMAGE_PATH = 256,
  OPT_WORK_PATH,
  OPT_PARENT_PATH,
  OPT_LEAVE_RUNNING,
  OPT_PRE_DUMP,
  OPT_TCP,
  OPT_EXT_UNIX,
  OPT_SHELL_JOB,
  OPT_FILE_LOCKS,
  OPT_AUTO_DEDUP,
  OPT_CGROUPS_MODE,
  OPT_EMPTY_NS,
  OPT_PAGE_SERVER,
  OPT_LAZY_PAGES,
  OPT_STATUS_FD,
  OPT_LSM_PROFILE,
  OPT_PID_FILE,
  OPT_CONSOLE_SOCKET,
  OPT_NO_PIVOT,
  OPT_NO_SUBREAPER,
};

#define CRIU_OPTIONS                                                                                         \
  { "image-path", required_argument, NULL, OPT_IMAGE_PATH },                                                 \
      { "work-path", required_argument, NULL, OPT_WORK_PATH },                                               \
      { "tcp-established", no_argument, NULL, OPT_TCP }, { "ext-unix-sk", no_argument, NULL, OPT_EXT_UNIX }, \
      { "shell-job", no_argument, NULL, OPT_SHELL_JOB },                                                     \
      { "file-locks", no_argument, NULL, OPT_FILE_LOCKS },                                                   \
      { "auto-dedup", no_argument, NULL, OPT_AUTO_DEDUP },                                                   \
      { "manage-cgroups-mode", required_argument, NULL, OPT_CGROUPS_MODE },                                  \
      { "empty-ns", required_argument, NULL, OPT_EMPTY_NS },                                                 \
      { "lazy-pages", no_argument, NULL, OPT_LAZY_PAGES },                                                   \
      { "status-fd", required_argument, NULL, OPT_STATUS_FD },                                               \
  {                                                                                                          \
    "help", no_argument, NULL, 'h'                                                                           \
  }

static const struct option checkpoint_options[] = {
  CRIU_OPTIONS,
  { "parent-path", required_argument, NULL, OPT_PARENT_PATH },
  { "leave-running", no_argument, NULL, OPT_LEAVE_RUNNING },
  { "pre-dump", no_argument, NULL, OPT_PRE_DUMP },
  { "page-server", required_argument, NULL, OPT_PAGE_SERVER },
  { NULL, 0, NULL, 0 },
};

static const struct option restore_options[] = {
  CRIU_OPTIONS,
  { "bundle", required_argument, NULL, 'b' },
  { "detach", no_argument, NULL, 'd' },
  { "pid-file", required_argument, NULL, OPT_PID_FILE },
  { "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
  { "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
  { "no-subreaper", no_argument, NULL, OPT_NO_SUBREAPER },
  { "lsm-profile", required_argument, NULL, OPT_LSM_PROFILE },
  { NULL, 0, NULL, 0 },
};

/* The options both commands share; 1 when `c` was not one of them. */
static int
criu_option(const char *cmd, int c, struct rt_criu_opts *o, struct oci_error **err)
{
  static const char *const modes[] = { "soft", "full", "strict", "ignore" };
  const char *name;

  switch (c)
    {
    case OPT_IMAGE_PATH:
      o->image_path = optarg;
      return 0;
    case OPT_WORK_PATH:
      o->work_path = optarg;
      return 0;
    case OPT_TCP:
      o->tcp_established = true;
      return 0;
    case OPT_EXT_UNIX:
      o->ext_unix_sk = true;
      return 0;
    case OPT_SHELL_JOB:
      o->shell_job = true;
      return 0;
    case OPT_FILE_LOCKS:
      o->file_locks = true;
      return 0;
    case OPT_AUTO_DEDUP:
      o->auto_dedup = true;
      return 0;
    case OPT_CGROUPS_MODE:
      for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
        if (strcmp(optarg, modes[i]) == 0)
          {
            o->manage_cgroups_mode = modes[i];
            return 0;
          }
      return oci_error_set(err, 0, "%s: invalid --manage-cgroups-mode `%s`: use soft, full, strict or ignore",
                           cmd, optarg);
    case OPT_EMPTY_NS:
      /* criu can leave out only the network namespace. */
      if (strcmp(optarg, "network") != 0)
        return oci_error_set(err, 0, "not supported: --empty-ns %s (criu supports network only)", optarg);
      o->empty_net = true;
      return 0;
    case OPT_LAZY_PAGES:
    case OPT_STATUS_FD:
    case OPT_PAGE_SERVER:
    case OPT_LSM_PROFILE:
      name = c == OPT_LAZY_PAGES    ? "--lazy-pages"
             : c == OPT_STATUS_FD   ? "--status-fd"
             : c == OPT_PAGE_SERVER ? "--page-server"
                                    : "--lsm-profile";
      return oci_error_set(err, 0, "not supported: %s %s", cmd, name);
    default:
      return 1;
    }
}

/* go-runc writes `-no-subreaper` with one dash (a Go flag habit): getopt
 * would read it as -n -o ...; take it out first. */
static void
drop_single_dash_no_subreaper(int *argc, char **argv)
{
  int j = 0;

  for (int i = 0; i < *argc; i++)
    if (strcmp(argv[i], "-no-subreaper") != 0)
      argv[j++] = argv[i];
  *argc = j;
  argv[j] = NULL;
}

int
cli_checkpoint(struct rt_context *ctx, int argc, char **argv, struct oci_error **err)
{
  struct rt_criu_opts o = { 0 };
  int c, r;

  optind = 0;
  while ((c = getopt_long(argc, argv, "+:h", checkpoint_options, NULL)) != -1)
    {
      r = criu_option("checkpoint", c, &o, err);
      if (r < 0)
        return -1;
      if (r == 0)
        continue;
      switch (c)
        {
        case OPT_PARENT_PATH:
          o.parent_path = optarg;
          break;
        case OPT_LEAVE_RUNNING:
          o.leave_running = true;
          break;
        case OPT_PRE_DUMP:
          o.pre_dump = true;
          break;
        case 'h':
          return cli_print_help(checkpoint_usage, checkpoint_help);
        default:
          return cli_option_error(argv[0], c, argv, err);
        }
    }
  if (argc - optind != 1)
    return cli_usage_error(checkpoint_usage, err);
  return rt_container_checkpoint(ctx, argv[optind], &o, err) < 0 ? -1 : 0;
}

int
cli_restore(struct rt_context *ctx, int argc, char **argv, struct oci_error **err)
{
  struct rt_restore_opts o = { 0 };
  int c, r, status;

  drop_single_dash_no_subreaper(&argc, argv);
  optind = 0;
  while ((c = getopt_long(argc, argv, "+:b:dh", restore_options, NULL)) != -1)
    {
      r = criu_option("restore", c, &o.criu, err);
      if (r < 0)
        return -1;
      if (r == 0)
        continue;
      switch (c)
        {
        case 'b':
          o.create.bundle = optarg;
          break;
        case 'd':
          o.detach = true;
          break;
        case OPT_PID_FILE:
          o.create.pid_file = optarg;
          break;
        case OPT_CONSOLE_SOCKET:
          o.create.console_socket = optarg;
          break;
        case OPT_NO_PIVOT:
          o.create.no_pivot = true;
          break;
        case OPT_NO_SUBREAPER:
          break;
        case 'h':
          return cli_print_help(restore_usage, restore_help);
        default:
          return cli_option_error(argv[0], c, argv, err);
        }
    }
  if (argc - optind != 1)
    return cli_usage_error(restore_usage, err);
  if (rt_container_restore(ctx, argv[optind], &o, &status, err) < 0)
    return -1;
  return status;
}
