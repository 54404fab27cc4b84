/* ocirt: global options, dispatch, and the one place errors are printed. */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spec/util.h"
#include "cli/cli.h"
#include "context.h"
#include "log.h"
#include "namespaces.h"

struct command
{
  const char *name;
  int (*fn)(struct rt_context *ctx, int argc, char **argv, struct oci_error **err);
  const char *summary;
};

static const struct command commands[] = {
  { "create", cli_create, "create a container" },
  { "start", cli_start, "run the process of a created container" },
  { "state", cli_state, "print the state of a container" },
  { "kill", cli_kill, "send a signal to a container" },
  { "delete", cli_delete, "delete a container" },
  { "run", cli_run, "create and start a container" },
  { "list", cli_list, "list containers" },
  { "spec", cli_spec, "write a default config.json" },
  { "exec", cli_exec, "run a new process in a container" },
  { "ps", cli_ps, "list the processes of a container" },
  { "pause", cli_pause, "freeze a container's processes" },
  { "resume", cli_resume, "thaw a paused container" },
  { "update", cli_update, "change the resource limits of a container" },
  { "events", cli_events, "print resource usage statistics" },
  { "features", cli_features, "print the features this runtime supports" },
  { "checkpoint", cli_checkpoint, "save a running container with criu" },
  { "restore", cli_restore, "restore a container saved by checkpoint" },
};

static const char global_help[]
    = "Global options:\n"
      "  --root DIR              state directory (default /run/ocirt, $XDG_RUNTIME_DIR/ocirt\n"
      "                          for non-root)\n"
      "  --log FILE              write diagnostics to FILE\n"
      "  --log-format text|json  format of log records: logfmt (default) or JSON lines\n"
      "  --debug                 log each step (config, namespaces, mounts ...) to\n"
      "                          the --log FILE, or else to stderr\n"
      "  --systemd-cgroup        cgroupsPath is slice:prefix:name\n"
      "  --cgroup-manager M      cgroupfs, systemd or disabled\n"
      "  --rootless true|false|auto  ignore cgroup permission errors when the\n"
      "                          config sets no limits (auto: when not real root)\n"
      "  --criu PATH             accepted for compatibility; ignored\n"
      "  -v, --version           print the version\n"
      "  -h, --help              print this help\n";

static int
print_version(void)
{
  printf("ocirt version %s\ncommit: %s\nspec: %s\n", PACKAGE_VERSION, OCIRT_COMMIT, OCI_SPEC_VERSION);
  return 0;
}

static int
print_help(void)
{
  printf("Usage: ocirt [global options] COMMAND [options] [ARGS]\n\nCommands:\n");
  for (size_t i = 0; i < OCI_ARRAY_SIZE(commands); i++)
    printf("  %-10s %s\n", commands[i].name, commands[i].summary);
  printf("\n%s\n`ocirt COMMAND --help` describes the options of a command.\n", global_help);
  return 0;
}

static const struct command *
find_command(const char *name)
{
  for (size_t i = 0; i < OCI_ARRAY_SIZE(commands); i++)
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

static bool
parse_bool(const char *v)
{
  return v == NULL || strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
}

enum
{
  OPT_ROOT = 256,
  OPT_LOG,
  OPT_LOG_FORMAT,
  OPT_DEBUG,
  OPT_SYSTEMD_CGROUP,
  OPT_CGROUP_MANAGER,
  OPT_ROOTLESS,
  OPT_CRIU,
};

static const struct option global_options[] = {
  { "root", required_argument, NULL, OPT_ROOT },
  { "log", required_argument, NULL, OPT_LOG },
  { "log-format", required_argument, NULL, OPT_LOG_FORMAT },
  { "debug", no_argument, NULL, OPT_DEBUG },
  { "systemd-cgroup", optional_argument, NULL, OPT_SYSTEMD_CGROUP },
  { "cgroup-manager", required_argument, NULL, OPT_CGROUP_MANAGER },
  { "rootless", optional_argument, NULL, OPT_ROOTLESS },
  { "criu", required_argument, NULL, OPT_CRIU },
  { "version", no_argument, NULL, 'v' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

/* Older go-runc passes `--systemd-cgroup <value>` as two words: take the
 * next word as the value unless it is an option or a command. */
static void
systemd_cgroup_value(int argc, char **argv, struct rt_context *ctx)
{
  const char *value = optarg;

  if (value == NULL && optind < argc && argv[optind][0] != '-' && find_command(argv[optind]) == NULL)
    value = argv[optind++];
  ctx->systemd_cgroup = parse_bool(value);
  if (ctx->systemd_cgroup)
    ctx->cgroups_disabled = false;
}

/* crun's --cgroup-manager: one driver of three, the last of it and
 * --systemd-cgroup (runc's name for "systemd") wins.  "disabled": no cgroup
 * at all, the container stays in ours and linux.resources is not applied,
 * as under crun. */
static int
cgroup_manager_value(const char *value, struct rt_context *ctx, struct oci_error **err)
{
  if (strcmp(value, "cgroupfs") != 0 && strcmp(value, "systemd") != 0 && strcmp(value, "disabled") != 0)
    return oci_error_set(err, 0, "invalid --cgroup-manager `%s`: use cgroupfs, systemd or disabled", value);
  ctx->systemd_cgroup = strcmp(value, "systemd") == 0;
  ctx->cgroups_disabled = strcmp(value, "disabled") == 0;
  return 0;
}

enum rootless
{
  ROOTLESS_AUTO,
  ROOTLESS_TRUE,
  ROOTLESS_FALSE,
};

/* `--rootless=V` or, as runc's flag parser allows, `--rootless V`. */
static int
rootless_value(int argc, char **argv, enum rootless *out, struct oci_error **err)
{
  static const char *const names[]
      = { [ROOTLESS_AUTO] = "auto", [ROOTLESS_TRUE] = "true", [ROOTLESS_FALSE] = "false" };
  const char *value = optarg;

  if (value == NULL && optind < argc)
    for (size_t i = 0; i < OCI_ARRAY_SIZE(names); i++)
      if (strcmp(argv[optind], names[i]) == 0)
        value = argv[optind++];
  if (value == NULL)
    value = "true";
  for (size_t i = 0; i < OCI_ARRAY_SIZE(names); i++)
    if (strcmp(value, names[i]) == 0)
      {
        *out = (enum rootless)i;
        return 0;
      }
  return oci_error_set(err, 0, "invalid --rootless `%s`: use true, false or auto", value);
}

/* runc's rule: rootless unless we are real root, and never with the
 * systemd cgroup manager, which asks systemd for the cgroup. */
static bool
rootless_detect(const struct rt_context *ctx)
{
  if (ctx->systemd_cgroup)
    return false;
  return geteuid() != 0 || rt_ns_in_user_namespace();
}

/* Returns 1 when the invocation is finished (--version, --help). */
static int
parse_global(int argc, char **argv, struct rt_context *ctx, struct oci_error **err)
{
  enum rootless rootless = ROOTLESS_AUTO;
  int c;

  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:vh", global_options, NULL)) != -1)
    switch (c)
      {
      case OPT_ROOT:
        ctx->root = optarg;
        break;
      case OPT_LOG:
        ctx->log_path = optarg;
        break;
      case OPT_LOG_FORMAT:
        if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
          return oci_error_set(err, 0, "invalid --log-format `%s`: use text or json", optarg);
        ctx->log_json = strcmp(optarg, "json") == 0;
        break;
      case OPT_DEBUG:
        ctx->debug = true;
        break;
      case OPT_SYSTEMD_CGROUP:
        systemd_cgroup_value(argc, argv, ctx);
        break;
      case OPT_CGROUP_MANAGER:
        if (cgroup_manager_value(optarg, ctx, err) < 0)
          return -1;
        break;
      case OPT_ROOTLESS:
        if (rootless_value(argc, argv, &rootless, err) < 0)
          return -1;
        break;
      case OPT_CRIU:
        break;
      case 'v':
        print_version();
        return 1;
      case 'h':
        print_help();
        return 1;
      default:
        return cli_option_error(NULL, c, argv, err);
      }
  ctx->rootless = rootless == ROOTLESS_AUTO ? rootless_detect(ctx) : rootless == ROOTLESS_TRUE;
  return 0;
}

/* Where ocirt's runtime files go, as runc chooses its state root:
 * $XDG_RUNTIME_DIR/NAME for an unprivileged user, and for uid 0 in a user
 * namespace (rootless podman) unless $USER says root; real root keeps
 * /run/NAME even when XDG_RUNTIME_DIR is set. */
static char *
runtime_dir(const char *name)
{
  const char *xdg = getenv("XDG_RUNTIME_DIR");
  const char *user = getenv("USER");

  if (geteuid() == 0 && (!rt_ns_in_user_namespace() || (user && strcmp(user, "root") == 0)))
    return xasprintf("/run/%s", name);
  if (xdg && xdg[0])
    return xasprintf("%s/%s", xdg, name);
  return xasprintf("/run/user/%u/%s", (unsigned)geteuid(), name);
}

/* OCIRT_SECCOMP_CACHE names another directory, or "off"; the default sits
 * beside the default state root. */
static char *
seccomp_cache_dir(void)
{
  const char *env = getenv("OCIRT_SECCOMP_CACHE");

  if (env == NULL || env[0] == '\0')
    return runtime_dir("ocirt-seccomp");
  if (strcmp(env, "off") == 0)
    return NULL;
  return xstrdup(env);
}

static void
log_command_line(const struct rt_context *ctx, int argc, char **argv)
{
  size_t len = 1;
  char *line, *p;

  for (int i = 0; i < argc; i++)
    len += strlen(argv[i]) + 1;
  p = line = xmalloc(len);
  for (int i = 0; i < argc; i++)
    p += sprintf(p, i ? " %s" : "%s", argv[i]);
  rt_log(ctx, RT_LOG_DEBUG, "command line: %s", line);
  free(line);
}

int
main(int argc, char **argv)
{
  cleanup_error struct oci_error *err = NULL;
  cleanup_free char *root = NULL, *cache_dir = NULL;
  struct rt_context ctx = { .log_fd = -1, .log_sock = -1, .argv0 = argv[0] };
  const struct command *cmd;
  int r;

  r = parse_global(argc, argv, &ctx, &err);
  if (r > 0)
    return fflush(stdout) == EOF ? 1 : 0;
  if (r == 0 && rt_log_open(&ctx, &err) < 0)
    r = -1;
  if (r == 0 && optind >= argc)
    r = oci_error_set(&err, 0, "no command given; see `ocirt --help`");
  if (r == 0)
    {
      if (ctx.root == NULL)
        ctx.root = root = runtime_dir("ocirt");
      ctx.cache_dir = cache_dir = seccomp_cache_dir();
      cmd = find_command(argv[optind]);
      if (cmd == NULL)
        r = oci_error_set(&err, 0, "unknown command `%s`; see `ocirt --help`", argv[optind]);
      else
        {
          if (ctx.debug)
            log_command_line(&ctx, argc, argv);
          r = cmd->fn(&ctx, argc - optind, argv + optind, &err);
        }
    }
  if (r < 0)
    {
      rt_log_report_error(&ctx, err);
      r = ctx.failure_status ? ctx.failure_status : 1;
    }
  if (fflush(stdout) == EOF && r == 0)
    r = 1;
  rt_log_close(&ctx);
  return r;
}
