#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spec/util.h"
#include "cli.h"
#include "platform.h"

bool
img_cli_common_option(struct img_cli *cli, int c, const char *arg)
{
  switch (c)
    {
    case 1001:
      cli->store_dir = arg;
      return true;
    case 1002:
      cli->creds = arg;
      return true;
    case 1003:
      cli->insecure = xrealloc(cli->insecure, (cli->insecure_len + 2) * sizeof *cli->insecure);
      cli->insecure[cli->insecure_len++] = arg;
      cli->insecure[cli->insecure_len] = NULL;
      return true;
    case 1004:
      cli->ca_file = arg;
      return true;
    case 'q':
      cli->quiet = true;
      return true;
    case 'v':
      cli->verbose = true;
      return true;
    default:
      return false;
    }
}

static int
check_platform(const char *arg, const char *cmd, struct oci_error **err)
{
  struct img_platform p = { 0 };
  cleanup_error struct oci_error *bad = NULL;

  if (img_platform_parse(arg, &p, &bad) < 0)
    return img_cli_usage_error(err, cmd, "%s", bad->msg);
  img_platform_clear(&p);
  return 0;
}

int
img_cli_parse_options(struct img_cli *cli, const struct img_cli_options *o, int argc, char **argv,
                      struct oci_error **err)
{
  static const struct option common[] = { IMG_CLI_COMMON_OPTIONS, { 0 } };
  /* The leading ':' makes a missing value ':' rather than '?'. */
  cleanup_free char *shortopts = xasprintf(":%s", o->shortopts ? o->shortopts : "qvh");
  const struct option *longopts = o->longopts ? o->longopts : common;
  int c;

  optind = 0;
  /* getopt's own messages would come before ours and name the command as
   * the program: say it once, as every other error is said. */
  opterr = 0;
  while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
    {
      /* A long option's text is the argument getopt just passed; a short
       * one may sit inside a cluster (-qZ), so optopt names it. */
      if (c == '?' && strncmp(argv[optind - 1], "--", 2) == 0)
        return img_cli_usage_error(err, o->cmd, optopt ? "option `%s` takes no value" : "unknown option `%s`",
                                   argv[optind - 1]);
      if (c == '?')
        return img_cli_usage_error(err, o->cmd, "unknown option `-%c`", optopt);
      if (c == ':')
        return img_cli_usage_error(err, o->cmd, "option `%s` needs a value", argv[optind - 1]);
      if (img_cli_common_option(cli, c, optarg))
        continue;
      if (c == 'h')
        return fputs(o->help, stdout), 0;
      if (c == 'p' && o->platform)
        {
          if (check_platform(optarg, o->cmd, err) < 0)
            return IMG_CLI_USAGE;
          *o->platform = optarg;
          continue;
        }
      if (o->own == NULL || !o->own(o->data, c, optarg))
        return img_cli_usage_error(err, o->cmd, "unknown option `%s`", argv[optind - 1]);
    }
  return optind;
}

int
img_cli_usage_error(struct oci_error **err, const char *cmd, const char *fmt, ...)
{
  va_list va;
  cleanup_free char *msg = NULL;

  va_start(va, fmt);
  if (vasprintf(&msg, fmt, va) < 0)
    abort();
  va_end(va);
  oci_error_fail(err, EINVAL, "%s (see `imgtool %s --help`)", msg, cmd);
  return IMG_CLI_USAGE;
}

int
img_cli_open_store(const struct img_cli *cli, struct img_store **out, struct oci_error **err)
{
  cleanup_free char *dflt = cli->store_dir ? NULL : img_store_default_dir();
  return img_store_open(cli->store_dir ? cli->store_dir : dflt, IMG_STORE_CREATE, out, err);
}

static void
http_log(void *data, const char *line)
{
  fprintf(stderr, "%s\n", line);
}

void
img_cli_pull_opts(const struct img_cli *cli, const char *platform, struct img_pull_opts *out)
{
  memset(out, 0, sizeof *out);
  out->registry.creds = cli->creds;
  out->registry.ca_file = cli->ca_file;
  out->registry.insecure = cli->insecure;
  out->registry.log = cli->verbose ? http_log : NULL;
  out->platform = platform;
  out->progress = cli->quiet ? NULL : stderr;
  out->progress_tty = !cli->quiet && isatty(STDERR_FILENO);
}

/* The store keeps one image per name and platform: take PLATFORM's, the
 * host's when NULL. */
static int
find_in_store(struct img_store *store, const struct img_reference *ref, const char *platform,
              struct img_store_ref **out, struct oci_error **err)
{
  cleanup_free char *name = img_reference_name(ref);
  cleanup_platform struct img_platform want = { 0 };

  if ((platform ? img_platform_parse(platform, &want, err) : img_platform_host(&want, err)) < 0)
    return -1;
  return img_store_get_ref(store, name, ref->digest ? ref->digest : ref->tag, &want, out, err);
}

int
img_cli_find_image(const struct img_cli *cli, struct img_store *store, const char *name, bool pull,
                   const char *platform, struct img_cli_image *out, struct oci_error **err)
{
  memset(out, 0, sizeof *out);
  if (img_reference_parse(name, &out->ref, err) < 0)
    return -1;

  if (out->ref->transport != IMG_REF_REGISTRY)
    {
      if (img_local_open(out->ref, &out->local, err) < 0)
        return -1;
      out->store = out->local->layout;
      return img_local_find(out->local, out->ref->tag, &out->found, err);
    }

  out->store = store;
  {
    cleanup_error struct oci_error *miss = NULL;
    if (find_in_store(store, out->ref, platform, &out->found, &miss) == 0)
      return 0;
    if (!pull || miss->status != ENOENT)
      {
        *err = steal_pointer(&miss);
        return -1;
      }
  }

  struct img_pull_opts po;
  __attribute__((cleanup(img_pulled_clear))) struct img_pulled pulled = { 0 };
  img_cli_pull_opts(cli, platform, &po);
  if (img_pull(store, out->ref, &po, &pulled, err) < 0)
    return -1;
  /* The image pulled may be for a compatible platform (386 on amd64). */
  return find_in_store(store, out->ref, pulled.platform, &out->found, err);
}

void
img_cli_image_clear(struct img_cli_image *im)
{
  img_store_ref_free(im->found);
  img_local_free(im->local);
  img_reference_free(im->ref);
  memset(im, 0, sizeof *im);
}

void
img_cli_human_size(uint64_t bytes, char *buf, size_t len)
{
  static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
  double v = bytes;
  size_t u = 0;
  while (v >= 1000 && u + 1 < OCI_ARRAY_SIZE(units))
    {
      v /= 1000;
      u++;
    }
  if (u == 0)
    snprintf(buf, len, "%" PRIu64 " B", bytes);
  else
    snprintf(buf, len, "%.1f %s", v, units[u]);
}
