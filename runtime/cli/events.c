#include <config.h>

#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spec/json.h"
#include "spec/util.h"
#include "cli.h"
#include "manage.h"

static const char usage[] = "events [--stats] [--interval DURATION] <container-id>";
static const char help[] = "Print the container's resource usage as JSON records\n"
                           "{\"type\":\"stats\",\"id\":...,\"data\":{cpu,memory,pids,blkio}}, one per line;\n"
                           "without --stats also {\"type\":\"oom\",\"id\":...} for each process the\n"
                           "OOM killer kills in the container.\n"
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

/* {"type":"oom","id":ID}: runc's record of an OOM kill, without data. */
static int
print_oom(const char *id, struct oci_error **err)
{
  struct json_writer *w = json_writer_new(false);
  cleanup_free char *json = NULL;
  size_t len;
  int r;

  json_write_object_begin(w);
  json_write_key(w, "type");
  json_write_string(w, "oom");
  json_write_key(w, "id");
  json_write_string(w, id);
  json_write_object_end(w);
  r = json_writer_finish(w, &json, &len, err);
  json_writer_free(w);
  return r < 0 ? -1 : cli_print_document(json, len, "event", err);
}

/* One record per OOM kill since *seen.  A container that cannot be read
 * any more (gone meanwhile) has nothing to report: the next stats record
 * ends the stream. */
static int
report_ooms(struct rt_context *ctx, const char *id, uint64_t *seen, struct oci_error **err)
{
  struct oci_error *ignored = NULL;
  uint64_t n;

  if (rt_container_oom_kills(ctx, id, &n, NULL, &ignored) < 0)
    {
      oci_error_free(ignored);
      return 0;
    }
  for (; *seen < n; (*seen)++)
    if (print_oom(id, err) < 0)
      return -1;
  return 0;
}

static struct timespec
ts_sub(struct timespec a, struct timespec b)
{
  struct timespec d = { a.tv_sec - b.tv_sec, a.tv_nsec - b.tv_nsec };

  if (d.tv_nsec < 0)
    d.tv_sec--, d.tv_nsec += 1000000000L;
  return d;
}

/* Wait `interval`, reporting OOM kills as they happen where the cgroup
 * notifies them (watch_fd), otherwise once at the end. */
static int
wait_interval(struct rt_context *ctx, const char *id, struct timespec interval, int watch_fd, uint64_t *seen,
              struct oci_error **err)
{
  struct timespec now, end;

  clock_gettime(CLOCK_MONOTONIC, &end);
  end.tv_sec += interval.tv_sec;
  end.tv_nsec += interval.tv_nsec;
  if (end.tv_nsec >= 1000000000L)
    end.tv_sec++, end.tv_nsec -= 1000000000L;
  for (;;)
    {
      clock_gettime(CLOCK_MONOTONIC, &now);
      struct timespec left = ts_sub(end, now);
      if (left.tv_sec < 0)
        break;
      if (watch_fd < 0)
        {
          while (nanosleep(&left, &left) < 0)
            ;
          break;
        }
      struct pollfd p = { .fd = watch_fd, .events = POLLIN };
      if (ppoll(&p, 1, &left, NULL) > 0)
        {
          char buf[4096];
          while (read(watch_fd, buf, sizeof buf) > 0)
            ;
          if (report_ooms(ctx, id, seen, err) < 0)
            return -1;
        }
    }
  return report_ooms(ctx, id, seen, err);
}

int
cli_events(struct rt_context *ctx, int argc, char **argv, struct oci_error **err)
{
  struct timespec interval = { .tv_sec = 5 };
  bool stats = false, stopped;
  cleanup_close int watch_fd = -1;
  uint64_t ooms = 0;
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
  const char *id = argv[optind];
  if (stats)
    return print_record(ctx, id, &stopped, err) < 0 ? -1 : 0;
  /* Kills before the stream started are not news. */
  if (rt_container_oom_kills(ctx, id, &ooms, &watch_fd, err) < 0)
    return -1;
  for (;;)
    {
      if (print_record(ctx, id, &stopped, err) < 0)
        {
          /* The stream ends with the container. */
          if (!stopped)
            return -1;
          oci_error_free(*err);
          *err = NULL;
          return 0;
        }
      if (wait_interval(ctx, id, interval, watch_fd, &ooms, err) < 0)
        return -1;
    }
}
