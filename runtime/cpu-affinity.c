#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "spec/util.h"
#include "cpu-affinity.h"
#include "log.h"

static int
parse_cpu(const char **s, unsigned long *out)
{
  char *end;

  if (!isdigit((unsigned char)**s))
    return -1;
  errno = 0;
  *out = strtoul(*s, &end, 10);
  if (errno || *out >= CPU_SETSIZE)
    return -1;
  *s = end;
  return 0;
}

/* "0-3,7" (the kernel's cpu list format, as in cpuset.cpus). */
static int
parse_list(const char *text, const char *field, const char *which, cpu_set_t *out, struct oci_error **err)
{
  const char *s = text;

  CPU_ZERO(out);
  while (*s)
    {
      unsigned long lo, hi;

      if (parse_cpu(&s, &lo) < 0)
        return oci_error_set(err, 0, "%s.execCPUAffinity.%s: `%s` is not a list of CPUs below %d", field,
                             which, text, CPU_SETSIZE);
      hi = lo;
      if (*s == '-')
        {
          s++;
          if (parse_cpu(&s, &hi) < 0 || hi < lo)
            return oci_error_set(err, 0, "%s.execCPUAffinity.%s: bad range in `%s`", field, which, text);
        }
      for (unsigned long c = lo; c <= hi; c++)
        CPU_SET(c, out);
      if (*s == ',')
        s++;
      else if (*s)
        return oci_error_set(err, 0, "%s.execCPUAffinity.%s: unexpected `%c` in `%s`", field, which, *s,
                             text);
    }
  return 0;
}

int
rt_cpu_affinity_parse(const struct oci_cpu_affinity *a, const char *field, struct rt_cpu_affinity *out,
                      struct oci_error **err)
{
  memset(out, 0, sizeof *out);
  if (a == NULL)
    return 0;
  out->has_initial = a->initial && a->initial[0];
  out->has_final = a->final && a->final[0];
  out->initial_list = a->initial;
  out->final_list = a->final;
  if (out->has_initial && parse_list(a->initial, field, "initial", &out->initial, err) < 0)
    return -1;
  if (out->has_final && parse_list(a->final, field, "final", &out->final, err) < 0)
    return -1;
  return 0;
}

int
rt_cpu_affinity_initial(const struct rt_context *log, const struct rt_cpu_affinity *a, pid_t pid,
                        struct oci_error **err)
{
  if (!a->has_initial)
    return 0;
  rt_debug(log,
           "affinity: process %d runs on CPUs %s (process.execCPUAffinity.initial) until it joins the cgroup",
           (int)pid, a->initial_list);
  if (sched_setaffinity(pid, sizeof a->initial, &a->initial) < 0)
    return oci_error_errno(err, "process.execCPUAffinity.initial: running on CPUs `%s`", a->initial_list);
  return 0;
}

int
rt_cpu_affinity_final(const struct rt_cpu_affinity *a, struct oci_error **err)
{
  if (!a->has_final)
    return 0;
  if (sched_setaffinity(0, sizeof a->final, &a->final) < 0)
    return oci_error_errno(err, "process.execCPUAffinity.final: running on CPUs `%s`", a->final_list);
  return 0;
}
