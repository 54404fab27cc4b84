#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <linux/mempolicy.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spec/util.h"
#include "mempolicy.h"

/* Newer than this system's <linux/mempolicy.h> (Linux 6.9). */
#ifndef MPOL_WEIGHTED_INTERLEAVE
#define MPOL_WEIGHTED_INTERLEAVE 6
#endif

#define NODE_BITS (sizeof((struct rt_mempolicy *)0)->nodes * CHAR_BIT)

static const struct
{
  const char *name;
  int value;
  bool takes_nodes;
} modes[] = {
  { "MPOL_DEFAULT", MPOL_DEFAULT, false },
  { "MPOL_PREFERRED", MPOL_PREFERRED, true },
  { "MPOL_BIND", MPOL_BIND, true },
  { "MPOL_INTERLEAVE", MPOL_INTERLEAVE, true },
  { "MPOL_LOCAL", MPOL_LOCAL, false },
  { "MPOL_PREFERRED_MANY", MPOL_PREFERRED_MANY, true },
  { "MPOL_WEIGHTED_INTERLEAVE", MPOL_WEIGHTED_INTERLEAVE, true },
};

static const struct
{
  const char *name;
  int value;
} mode_flags[] = {
  { "MPOL_F_NUMA_BALANCING", MPOL_F_NUMA_BALANCING },
  { "MPOL_F_RELATIVE_NODES", MPOL_F_RELATIVE_NODES },
  { "MPOL_F_STATIC_NODES", MPOL_F_STATIC_NODES },
};

static int
parse_node(const char **s, unsigned long *out)
{
  char *end;

  if (!isdigit((unsigned char)**s))
    return -1;
  errno = 0;
  *out = strtoul(*s, &end, 10);
  if (errno || *out >= NODE_BITS)
    return -1;
  *s = end;
  return 0;
}

/* "0-3,7": the nodes in `mp`, and maxnode past the highest. */
static int
parse_nodes(const char *text, struct rt_mempolicy *mp, struct oci_error **err)
{
  const char *s = text;

  while (*s)
    {
      unsigned long lo, hi;
      if (parse_node(&s, &lo) < 0)
        return oci_error_set(err, 0, "linux.memoryPolicy.nodes: `%s` is not a list of nodes below %zu", text,
                             NODE_BITS);
      hi = lo;
      if (*s == '-')
        {
          s++;
          if (parse_node(&s, &hi) < 0 || hi < lo)
            return oci_error_set(err, 0, "linux.memoryPolicy.nodes: bad range in `%s`", text);
        }
      for (unsigned long n = lo; n <= hi; n++)
        mp->nodes[n / (sizeof(unsigned long) * CHAR_BIT)] |= 1UL << (n % (sizeof(unsigned long) * CHAR_BIT));
      if (hi + 1 > mp->maxnode)
        mp->maxnode = hi + 1;
      if (*s == ',')
        s++;
      else if (*s)
        return oci_error_set(err, 0, "linux.memoryPolicy.nodes: unexpected `%c` in `%s`", *s, text);
    }
  return 0;
}

int
rt_mempolicy_parse(const struct oci_memory_policy *p, struct rt_mempolicy *out, struct oci_error **err)
{
  size_t i;

  memset(out, 0, sizeof *out);
  out->mode = -1;
  if (p == NULL)
    return 0;
  for (i = 0; i < OCI_ARRAY_SIZE(modes); i++)
    if (p->mode && strcmp(p->mode, modes[i].name) == 0)
      break;
  if (i == OCI_ARRAY_SIZE(modes))
    return oci_error_set(err, 0, "linux.memoryPolicy.mode: unknown mode \"%s\"", p->mode ? p->mode : "");
  out->mode = modes[i].value;
  if (p->nodes && p->nodes[0] && !modes[i].takes_nodes)
    return oci_error_set(err, 0, "linux.memoryPolicy.nodes: %s takes no nodes", modes[i].name);
  if (modes[i].takes_nodes && (p->nodes == NULL || p->nodes[0] == '\0') && out->mode != MPOL_PREFERRED)
    return oci_error_set(err, 0, "linux.memoryPolicy.nodes: %s needs nodes", modes[i].name);
  if (p->nodes && parse_nodes(p->nodes, out, err) < 0)
    return -1;
  for (size_t f = 0; f < p->flags_len; f++)
    {
      size_t k;
      for (k = 0; k < OCI_ARRAY_SIZE(mode_flags); k++)
        if (strcmp(p->flags[f], mode_flags[k].name) == 0)
          break;
      if (k == OCI_ARRAY_SIZE(mode_flags))
        return oci_error_set(err, 0, "linux.memoryPolicy.flags[%zu]: unknown flag \"%s\"", f, p->flags[f]);
      out->mode |= mode_flags[k].value;
    }
  return 0;
}

int
rt_mempolicy_apply(const struct rt_mempolicy *mp, struct oci_error **err)
{
  if (mp->mode < 0)
    return 0;
  /* maxnode counts one past the highest bit, as the kernel reads it. */
  if (syscall(SYS_set_mempolicy, mp->mode, mp->maxnode ? mp->nodes : NULL, mp->maxnode ? mp->maxnode + 1 : 0) < 0)
    return oci_error_errno(err, "setting linux.memoryPolicy");
  return 0;
}

void
rt_mempolicy_features(struct oci_features_memory_policy *out)
{
  for (size_t i = 0; i < OCI_ARRAY_SIZE(modes); i++)
    oci_strlist_add(&out->modes, modes[i].name);
  for (size_t i = 0; i < OCI_ARRAY_SIZE(mode_flags); i++)
    oci_strlist_add(&out->flags, mode_flags[i].name);
}
