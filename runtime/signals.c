#include <config.h>

#include <ctype.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spec/util.h"
#include "signals.h"

static int
parse_number(const char *s, long *out)
{
  char *end;

  if (!isdigit((unsigned char)s[0]))
    return -1;
  errno = 0;
  *out = strtol(s, &end, 10);
  if (errno || *end != '\0')
    return -1;
  return 0;
}

/* RTMIN, RTMIN+N, RTMAX, RTMAX-N: the numbers depend on the C library. */
static int
parse_realtime(const char *name, int *signo)
{
  long off = 0;

  if (strncasecmp(name, "RTMIN", 5) == 0)
    {
      if (name[5] != '\0' && (name[5] != '+' || parse_number(name + 6, &off) < 0))
        return -1;
      *signo = SIGRTMIN + (int)off;
    }
  else if (strncasecmp(name, "RTMAX", 5) == 0)
    {
      if (name[5] != '\0' && (name[5] != '-' || parse_number(name + 6, &off) < 0))
        return -1;
      *signo = SIGRTMAX - (int)off;
    }
  else
    return -1;
  return *signo >= SIGRTMIN && *signo <= SIGRTMAX ? 0 : -1;
}

int
rt_signal_parse(const char *text, int *signo, struct oci_error **err)
{
  const char *name = text;
  long n;

  if (parse_number(text, &n) == 0)
    {
      /* 0 checks that the process exists, as kill(2) does (runc accepts it). */
      if (n < 0 || n >= NSIG)
        return oci_error_set(err, 0, "invalid signal `%s`", text);
      *signo = (int)n;
      return 0;
    }
  if (strncasecmp(name, "SIG", 3) == 0)
    name += 3;
  for (int i = 1; i < SIGRTMIN; i++)
    {
      const char *abbrev = sigabbrev_np(i);
      if (abbrev && strcasecmp(abbrev, name) == 0)
        {
          *signo = i;
          return 0;
        }
    }
  if (parse_realtime(name, signo) == 0)
    return 0;
  return oci_error_set(err, 0, "unknown signal `%s`", text);
}
