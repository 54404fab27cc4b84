#include <config.h>

#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spec/util.h"
#include "cli.h"
#include "exec.h"

static const char usage[] = "exec [options] <container-id> [command [args...]]";
static const char help[] = "Run a new process in a created or running container.  In the foreground,\n"
                           "wait for it, forward signals to it and exit with its status (128+N if\n"
                           "killed by signal N).\n"
                           "\n"
                           "  -p, --process FILE        the runtime-spec Process to run, used as given\n"
                           "      --console-socket SOCK send the pty master to this AF_UNIX socket\n"
                           "  -d, --detach              return once the process runs\n"
                           "      --pid-file FILE       write the process's host pid to FILE\n"
                           "  -t, --tty                 allocate a pseudo-terminal\n"
                           "      --cwd DIR             working directory inside the container\n"
                           "  -e, --env K=V             add an environment variable (repeatable)\n"
                           "  -u, --user UID[:GID]      run as this user\n"
                           "  -g, --additional-gids GID add a supplementary group (repeatable)\n"
                           "      --cgroup [CTRL[,CTRL]:]PATH  run in this existing sub-cgroup of the\n"
                           "                            container's (repeatable, one per controller)\n"
                           "  -c, --cap CAP             add a capability (repeatable)\n"
                           "      --no-new-privs        set no_new_privs\n"
                           "      --apparmor PROFILE    run under this AppArmor profile\n"
                           "      --process-label LABEL SELinux label (not supported: no SELinux)\n"
                           "      --preserve-fds N      pass fds 3..3+N-1 to the process\n"
                           "Without --process the container's own process settings are used with\n"
                           "COMMAND as args and the options above applied.\n";

enum
{
  OPT_CONSOLE_SOCKET = 256,
  OPT_PID_FILE,
  OPT_CWD,
  OPT_NO_NEW_PRIVS,
  OPT_PRESERVE_FDS,
  OPT_CGROUP,
  OPT_APPARMOR,
  OPT_PROCESS_LABEL,
};

static const struct option options[] = {
  { "process", required_argument, NULL, 'p' },
  { "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
  { "detach", no_argument, NULL, 'd' },
  { "pid-file", required_argument, NULL, OPT_PID_FILE },
  { "tty", no_argument, NULL, 't' },
  { "cwd", required_argument, NULL, OPT_CWD },
  { "env", required_argument, NULL, 'e' },
  { "user", required_argument, NULL, 'u' },
  { "additional-gids", required_argument, NULL, 'g' },
  { "cgroup", required_argument, NULL, OPT_CGROUP },
  { "apparmor", required_argument, NULL, OPT_APPARMOR },
  { "process-label", required_argument, NULL, OPT_PROCESS_LABEL },
  { "cap", required_argument, NULL, 'c' },
  { "no-new-privs", no_argument, NULL, OPT_NO_NEW_PRIVS },
  { "preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static int
read_process(const char *path, struct oci_process **out, struct oci_error **err)
{
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  cleanup_free char *text = NULL;
  size_t len;

  if (fd < 0)
    return oci_error_errno(err, "opening the process file `%s`", path);
  if (cli_read_to_end(fd, &text, &len) < 0)
    return oci_error_errno(err, "reading the process file `%s`", path);
  return oci_process_parse(path, text, len, out, err);
}

static int
parse_id(const char *option, const char *s, uint32_t *out, struct oci_error **err)
{
  char *end;
  unsigned long v;

  errno = 0;
  v = strtoul(s, &end, 10);
  if (errno || end == s || *end || v > UINT32_MAX || s[0] == '-')
    return oci_error_set(err, 0, "%s: invalid id `%s`", option, s);
  *out = (uint32_t)v;
  return 0;
}

static int
parse_user(const char *value, struct rt_exec_opts *o, struct oci_error **err)
{
  cleanup_free char *copy = xstrdup(value);
  char *colon = strchr(copy, ':');

  if (colon)
    *colon = '\0';
  if (parse_id("--user", copy, &o->uid, err) < 0)
    return -1;
  o->gid = 0;
  if (colon && parse_id("--user", colon + 1, &o->gid, err) < 0)
    return -1;
  o->has_user = true;
  return 0;
}

static void
push(char ***v, size_t *n, char *s)
{
  *v = xrealloc(*v, (*n + 1) * sizeof **v);
  (*v)[(*n)++] = s;
}

static int
push_gid(const char *value, struct rt_exec_opts *o, struct oci_error **err)
{
  uint32_t gid;

  if (parse_id("--additional-gids", value, &gid, err) < 0)
    return -1;
  o->additional_gids = xrealloc(o->additional_gids, (o->additional_gids_len + 1) * sizeof gid);
  o->additional_gids[o->additional_gids_len++] = gid;
  return 0;
}

struct parsed
{
  struct rt_exec_opts o;
  const char *process_file;
};

static int
parse(int argc, char **argv, struct parsed *p, struct oci_error **err)
{
  int c;

  optind = 0;
  while ((c = getopt_long(argc, argv, "+:p:dte:u:g:c:h", options, NULL)) != -1)
    switch (c)
      {
      case 'p':
        p->process_file = optarg;
        break;
      case OPT_CONSOLE_SOCKET:
        p->o.console_socket = optarg;
        break;
      case 'd':
        p->o.detach = true;
        break;
      case OPT_PID_FILE:
        p->o.pid_file = optarg;
        break;
      case 't':
        p->o.tty = true;
        break;
      case OPT_CWD:
        p->o.cwd = optarg;
        break;
      case 'e':
        push(&p->o.env, &p->o.env_len, optarg);
        break;
      case 'u':
        if (parse_user(optarg, &p->o, err) < 0)
          return -1;
        break;
      case 'g':
        if (push_gid(optarg, &p->o, err) < 0)
          return -1;
        break;
      case OPT_APPARMOR:
        p->o.apparmor = optarg;
        break;
      case OPT_PROCESS_LABEL:
        p->o.process_label = optarg;
        break;
      case OPT_CGROUP:
        push(&p->o.cgroups, &p->o.cgroups_len, optarg);
        break;
      case 'c':
        push(&p->o.caps, &p->o.caps_len, optarg);
        break;
      case OPT_NO_NEW_PRIVS:
        p->o.no_new_privs = true;
        break;
      case OPT_PRESERVE_FDS:
        if (cli_parse_uint("--preserve-fds", optarg, &p->o.preserve_fds, err) < 0)
          return -1;
        break;
      case 'h':
        cli_print_help(usage, help);
        return 1;
      default:
        return cli_option_error(argv[0], c, argv, err);
      }
  if (argc - optind < 1)
    return cli_usage_error(usage, err);
  p->o.args = argv + optind + 1;
  p->o.args_len = (size_t)(argc - optind - 1);
  return 0;
}

int
cli_exec(struct rt_context *ctx, int argc, char **argv, struct oci_error **err)
{
  struct parsed p = { 0 };
  cleanup_free char **env = NULL;
  cleanup_free char **caps = NULL;
  cleanup_free char **cgroups = NULL;
  cleanup_free uint32_t *gids = NULL;
  struct oci_process *proc = NULL;
  int r, status = 0;

  r = parse(argc, argv, &p, err);
  env = p.o.env;
  caps = p.o.caps;
  cgroups = p.o.cgroups;
  gids = p.o.additional_gids;
  if (r != 0)
    return r < 0 ? -1 : 0;
  /* Past the options, a failure is exec's own: runc exits 255 then, so that
   * a caller can tell it from the program's status. */
  ctx->failure_status = 255;
  if (p.process_file)
    {
      if (read_process(p.process_file, &proc, err) < 0)
        return -1;
      p.o.process = proc;
    }
  else if (p.o.args_len == 0)
    return oci_error_set(err, 0, "exec: either --process or a command is required");
  r = rt_container_exec(ctx, argv[optind], &p.o, &status, err);
  oci_process_free(proc);
  return r < 0 ? -1 : status;
}
