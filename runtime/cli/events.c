#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spec/util.h"
#include "cli.h"
#include "manage.h"

static const char usage[] = "events [--stats] [--interval DURATION] <container-id>";
static const char help[] = "Print the container's resource usage as JSON records\n"
                           "{\"type\":\"stats\",\"id\":...,\"data\":{cpu,memory,pids,blkio}}, one per line.\n"
                           "\n"
                           "      --stats              print one record and exit\n"
                           "      --interval DURATION  time between records (default 5s; 500ms, 2s, 1m);\n"
                           "                           stops when the container stops\n";

enum
{
  OPT_STATS = 256,
  OPT_INTERVAL,
};

static const struct option options[] = {
  { "stats", no_argument, NULL, OPT_STATS },
  { "interval", required_argument, NULL, OPT_INTERVAL },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

/* A Go-style duration with one unit: ms, s, m, h (go-runc sends "5s"). */
static int
parse_duration(const char *s, struct timespec *out, struct oci_error **err)
{
  static const struct
  {
    const char *unit;
    double seconds;
  } units[] = { { "ms", 1e-3 }, { "s", 1 }, { "m", 60 }, { "h", 3600 } };
  char *end;
  double v = strtod(s, &end);

  for (size_t i = 0; end != s && v > 0 && i < OCI_ARRAY_SIZE(units); i++)
    if (strcmp(end, units[i].unit) == 0)
      {
        double secs = v * units[i].seconds;
        out->tv_sec = (time_t)secs;
        out->tv_nsec = (long)((secs - (double)out->tv_sec) * 1e9);
        return 0;
      }
  return oci_error_set(err, 0, "--interval: invalid duration `%s`", s);
}

static int
print_record(struct rt_context *ctx, const char *id, bool *stopped, struct oci_error **err)
{
  cleanup_free char *json = NULL;
  size_t len;

  if (rt_container_stats(ctx, id, &json, &len, stopped, err) < 0)
    return -1;
  return cli_print_document(json, len, "stats", err);
}

int
cli_events(struct rt_context *ctx, int argc, char **argv, struct oci_error **err)
{
  struct timespec interval = { .tv_sec = 5 };
  bool stats = false, stopped;
  int c;

  optind = 0;
  while ((c = getopt_long(argc, argv, "+:h", options, NULL)) != -1)
    switch (c)
      {
      case OPT_STATS:
        stats = true;
        break;
      case OPT_INTERVAL:
        if (parse_duration(optarg, &interval, err) < 0)
          return -1;
        break;
      case 'h':
        return cli_print_help(usage, help);
      default:
        return cli_option_error(argv[0], c, argv, err);
      }
  if (argc - optind != 1)
    return cli_usage_error(usage, err);
  if (stats)
    return print_record(ctx, argv[optind], &stopped, err) < 0 ? -1 : 0;
  for (;;)
    {
      if (print_record(ctx, argv[optind], &stopped, err) < 0)
        {
          /* The stream ends with the container. */
          if (!stopped)
            return -1;
          oci_error_free(*err);
          *err = NULL;
          return 0;
        }
      while (nanosleep(&interval, &interval) < 0)
        ;
    }
}
