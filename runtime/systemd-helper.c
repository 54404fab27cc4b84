/* ocirt-systemd: the systemd cgroup driver's D-Bus half, run by ocirt
 * (cgroups-systemd-client.c) once per unit operation.  Not meant to be run
 * by hand; its interface is ocirt's, built and installed with it:
 *
 *   ocirt-systemd start --unit U --slice S [--is-slice] --pid N
 *                 --description TEXT [--user] [--v2] [--resources JSON]
 *   ocirt-systemd set   --unit U [--user] [--v2] [--resources JSON]
 *   ocirt-systemd stop  --unit U [--user]
 *
 * `start` prints the unit's cgroup.  On failure the one line printed is the
 * error, which ocirt reports as its own; the exit status is then 1. */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroups-systemd-bus.h"
#include "util.h"

struct request
{
  const char *op;
  struct rt_cg_sd_unit unit; /* strings borrowed from argv */
  bool v2;
  pid_t pid;
  const char *description;
  const char *resources; /* JSON, or NULL */
};

static int
parse_args(int argc, char **argv, struct request *rq, struct oci_error **err)
{
  static const struct option options[] = {
    { "unit", required_argument, NULL, 'u' },    { "slice", required_argument, NULL, 's' },
    { "is-slice", no_argument, NULL, 'S' },      { "pid", required_argument, NULL, 'p' },
    { "description", required_argument, NULL, 'd' }, { "user", no_argument, NULL, 'U' },
    { "v2", no_argument, NULL, '2' },            { "resources", required_argument, NULL, 'r' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  /* The operation first, then its options: getopt sees argv + 1, whose
   * "program name" is the operation. */
  if (argc < 2)
    return oci_error_fail(err, 0, "ocirt-systemd: usage: start|set|stop --unit UNIT ... (it is run by ocirt)");
  rq->op = argv[1];
  argc--;
  argv++;
  while ((c = getopt_long(argc, argv, "+", options, NULL)) != -1)
    switch (c)
      {
      case 'u': rq->unit.unit = optarg; break;
      case 's': rq->unit.slice = optarg; break;
      case 'S': rq->unit.is_slice = true; break;
      case 'p': rq->pid = (pid_t)strtol(optarg, NULL, 10); break;
      case 'd': rq->description = optarg; break;
      case 'U': rq->unit.user = true; break;
      case '2': rq->v2 = true; break;
      case 'r': rq->resources = optarg; break;
      default: return oci_error_fail(err, 0, "ocirt-systemd: bad option (it is run by ocirt)");
      }
  if (optind != argc || rq->unit.unit == NULL)
    return oci_error_fail(err, 0, "ocirt-systemd: usage: start|set|stop --unit UNIT ... (it is run by ocirt)");
  if (strcmp(rq->op, "start") == 0 && (rq->unit.slice == NULL || rq->pid <= 0 || rq->description == NULL))
    return oci_error_fail(err, 0, "ocirt-systemd: start needs --slice, --pid and --description");
  return 0;
}

static int
serve(const struct request *rq, struct oci_error **err)
{
  cleanup_free char *cgroup = NULL;
  struct oci_resources *res = NULL;
  int r;

  if (rq->resources
      && oci_resources_parse("linux.resources", rq->resources, strlen(rq->resources), &res, err) < 0)
    return -1;
  if (strcmp(rq->op, "start") == 0)
    {
      r = rt_sd_bus_start(&rq->unit, rq->description, rq->pid, rq->v2, res, &cgroup, err);
      if (r == 0)
        printf("%s\n", cgroup);
    }
  else if (strcmp(rq->op, "set") == 0)
    r = rt_sd_bus_set(rq->unit.unit, rq->unit.user, rq->v2, res, err);
  else if (strcmp(rq->op, "stop") == 0)
    r = rt_sd_bus_stop(rq->unit.unit, rq->unit.user, err);
  else
    r = oci_error_fail(err, 0, "ocirt-systemd: unknown operation `%s`", rq->op);
  oci_resources_free(res);
  return r;
}

int
main(int argc, char **argv)
{
  cleanup_error struct oci_error *err = NULL;
  struct request rq = { 0 };

  if (parse_args(argc, argv, &rq, &err) < 0 || serve(&rq, &err) < 0)
    {
      cleanup_free char *msg = oci_error_string(err);
      printf("%s\n", msg);
      return 1;
    }
  return fflush(stdout) == 0 ? 0 : 1;
}
