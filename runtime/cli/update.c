#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spec/util.h"
#include "cli.h"
#include "manage.h"

static const char usage[] = "update [options] <container-id>";
static const char help[] = "Change the cgroup limits of a container that is not stopped.\n"
                           "\n"
                           "  -r, --resources FILE        a runtime-spec LinuxResources object (JSON);\n"
                           "                              `-` reads it from stdin.  The options below\n"
                           "                              override its fields\n"
                           "      --memory N              memory limit (bytes; k, m, g suffixes)\n"
                           "      --memory-reservation N  memory soft limit\n"
                           "      --memory-swap N         memory+swap limit (-1: unlimited)\n"
                           "      --cpu-share N           relative CPU weight (also --cpu-shares)\n"
                           "      --cpu-period N          CFS period (microseconds)\n"
                           "      --cpu-quota N           CFS quota (microseconds; -1: unlimited)\n"
                           "      --cpuset-cpus LIST      CPUs to run on (0-3,5)\n"
                           "      --cpuset-mems LIST      memory nodes\n"
                           "      --pids-limit N          maximum number of processes (-1: unlimited)\n"
                           "      --blkio-weight N        block IO weight (10-1000)\n";

enum
{
  OPT_MEMORY = 256,
  OPT_MEMORY_RESERVATION,
  OPT_MEMORY_SWAP,
  OPT_CPU_SHARES,
  OPT_CPU_PERIOD,
  OPT_CPU_QUOTA,
  OPT_CPUSET_CPUS,
  OPT_CPUSET_MEMS,
  OPT_PIDS_LIMIT,
  OPT_BLKIO_WEIGHT,
};

static const struct option options[] = {
  { "resources", required_argument, NULL, 'r' },
  { "memory", required_argument, NULL, OPT_MEMORY },
  { "memory-reservation", required_argument, NULL, OPT_MEMORY_RESERVATION },
  { "memory-swap", required_argument, NULL, OPT_MEMORY_SWAP },
  { "cpu-shares", required_argument, NULL, OPT_CPU_SHARES },
  { "cpu-share", required_argument, NULL, OPT_CPU_SHARES },
  { "cpu-period", required_argument, NULL, OPT_CPU_PERIOD },
  { "cpu-quota", required_argument, NULL, OPT_CPU_QUOTA },
  { "cpuset-cpus", required_argument, NULL, OPT_CPUSET_CPUS },
  { "cpuset-mems", required_argument, NULL, OPT_CPUSET_MEMS },
  { "pids-limit", required_argument, NULL, OPT_PIDS_LIMIT },
  { "blkio-weight", required_argument, NULL, OPT_BLKIO_WEIGHT },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static int
read_resources(const char *path, struct oci_resources **out, struct oci_error **err)
{
  bool use_stdin = strcmp(path, "-") == 0;
  cleanup_close int fd = use_stdin ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
  cleanup_free char *text = NULL;
  size_t len;

  if (fd < 0)
    return oci_error_errno(err, "opening the resources file `%s`", path);
  if (cli_read_to_end(fd, &text, &len) < 0)
    return oci_error_errno(err, "reading the resources from `%s`", path);
  return oci_resources_parse(use_stdin ? "stdin" : path, text, len, out, err);
}

/* An integer with an optional binary unit (k, m, g, t; "b" and "ib"
 * tolerated), as runc's --memory accepts; -1 passes through. */
static int
parse_size(const char *option, const char *s, int64_t *out, struct oci_error **err)
{
  char *end;
  long long v;
  int shift = 0;

  errno = 0;
  v = strtoll(s, &end, 10);
  if (errno || end == s)
    return oci_error_set(err, 0, "%s: invalid value `%s`", option, s);
  switch (tolower((unsigned char)*end))
    {
    case 'k':
      shift = 10;
      break;
    case 'm':
      shift = 20;
      break;
    case 'g':
      shift = 30;
      break;
    case 't':
      shift = 40;
      break;
    }
  if (shift)
    end++;
  if (strcasecmp(end, "") != 0 && strcasecmp(end, "b") != 0 && strcasecmp(end, "ib") != 0)
    return oci_error_set(err, 0, "%s: invalid value `%s`", option, s);
  if (v < -1 || (shift && v < 0) || (shift && v > (INT64_MAX >> shift)))
    return oci_error_set(err, 0, "%s: invalid value `%s`", option, s);
  *out = (int64_t)v << shift;
  return 0;
}

static int
parse_int(const char *option, const char *s, int64_t min, int64_t *out, struct oci_error **err)
{
  char *end;
  long long v;

  errno = 0;
  v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < min)
    return oci_error_set(err, 0, "%s: invalid value `%s`", option, s);
  *out = v;
  return 0;
}

static struct oci_memory *
memory_of(struct oci_resources *r)
{
  if (r->memory == NULL)
    r->memory = xzalloc(sizeof *r->memory);
  return r->memory;
}

static struct oci_cpu *
cpu_of(struct oci_resources *r)
{
  if (r->cpu == NULL)
    r->cpu = xzalloc(sizeof *r->cpu);
  return r->cpu;
}

static void
set_string(char **field, const char *v)
{
  free(*field);
  *field = xstrdup(v);
}

/* One command-line override; the options are applied after --resources,
 * whatever their order, as runc does. */
static int
apply_option(struct oci_resources *r, int c, const char *v, struct oci_error **err)
{
  int64_t n;

  switch (c)
    {
    case OPT_MEMORY:
      if (parse_size("--memory", v, &n, err) < 0)
        return -1;
      memory_of(r)->has_limit = true;
      memory_of(r)->limit = n;
      return 0;
    case OPT_MEMORY_RESERVATION:
      if (parse_size("--memory-reservation", v, &n, err) < 0)
        return -1;
      memory_of(r)->has_reservation = true;
      memory_of(r)->reservation = n;
      return 0;
    case OPT_MEMORY_SWAP:
      if (parse_size("--memory-swap", v, &n, err) < 0)
        return -1;
      memory_of(r)->has_swap = true;
      memory_of(r)->swap = n;
      return 0;
    case OPT_CPU_SHARES:
      if (parse_int("--cpu-shares", v, 0, &n, err) < 0)
        return -1;
      cpu_of(r)->has_shares = true;
      cpu_of(r)->shares = (uint64_t)n;
      return 0;
    case OPT_CPU_PERIOD:
      if (parse_int("--cpu-period", v, 0, &n, err) < 0)
        return -1;
      cpu_of(r)->has_period = true;
      cpu_of(r)->period = (uint64_t)n;
      return 0;
    case OPT_CPU_QUOTA:
      if (parse_int("--cpu-quota", v, -1, &n, err) < 0)
        return -1;
      cpu_of(r)->has_quota = true;
      cpu_of(r)->quota = n;
      return 0;
    case OPT_CPUSET_CPUS:
      set_string(&cpu_of(r)->cpus, v);
      return 0;
    case OPT_CPUSET_MEMS:
      set_string(&cpu_of(r)->mems, v);
      return 0;
    case OPT_PIDS_LIMIT:
      if (parse_int("--pids-limit", v, -1, &n, err) < 0)
        return -1;
      r->has_pids_limit = true;
      r->pids_limit = n;
      return 0;
    case OPT_BLKIO_WEIGHT:
      if (parse_int("--blkio-weight", v, 0, &n, err) < 0 || n > 1000)
        return *err ? -1 : oci_error_set(err, 0, "--blkio-weight: invalid value `%s`", v);
      if (r->block_io == NULL)
        r->block_io = xzalloc(sizeof *r->block_io);
      r->block_io->has_weight = true;
      r->block_io->weight = (uint16_t)n;
      return 0;
    }
  return oci_error_set(err, 0, "update: unexpected option");
}

struct override
{
  int c;
  const char *value;
};

int
cli_update(struct rt_context *ctx, int argc, char **argv, struct oci_error **err)
{
  cleanup_free struct override *ovs = NULL;
  struct oci_resources *res = NULL;
  const char *file = NULL;
  size_t n_ovs = 0;
  int c, r;

  optind = 0;
  while ((c = getopt_long(argc, argv, "+:r:h", options, NULL)) != -1)
    switch (c)
      {
      case 'r':
        file = optarg;
        break;
      case 'h':
        return cli_print_help(usage, help);
      case ':':
      case '?':
        return cli_option_error(argv[0], c, argv, err);
      default:
        ovs = xrealloc(ovs, (n_ovs + 1) * sizeof *ovs);
        ovs[n_ovs++] = (struct override){ c, optarg };
        break;
      }
  if (argc - optind != 1)
    return cli_usage_error(usage, err);
  if (file == NULL && n_ovs == 0)
    return oci_error_set(err, 0, "update: nothing to change (--resources or a limit option)");
  if (file && read_resources(file, &res, err) < 0)
    return -1;
  if (res == NULL)
    res = xzalloc(sizeof *res);
  r = 0;
  for (size_t i = 0; i < n_ovs && r == 0; i++)
    r = apply_option(res, ovs[i].c, ovs[i].value, err);
  if (r == 0)
    r = rt_container_update(ctx, argv[optind], res, err);
  oci_resources_free(res);
  return r < 0 ? -1 : 0;
}
