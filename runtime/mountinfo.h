/* /proc/self/mountinfo: the one parser of the mount table, for the mounts
 * code (propagation of the rootfs's parent, the host's cgroup hierarchies to
 * bind) and for cgroup discovery. */
#ifndef RT_MOUNTINFO_H
#define RT_MOUNTINFO_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* One line, its path fields unescaped. */
struct rt_mountinfo
{
  char *root;
  char *mountpoint;
  char *optional; /* "shared:1 master:2", "" when none */
  char *fstype;
  char *super_opts;
};

/* One line (with or without its newline); false when it is malformed. */
bool rt_mountinfo_parse_line(const char *line, struct rt_mountinfo *out);
void rt_mountinfo_clear(struct rt_mountinfo *mi);

/* The whole table, in order (malformed lines left out). */
int rt_mountinfo_read(struct rt_mountinfo **out, size_t *n, struct oci_error **err);
void rt_mountinfo_free(struct rt_mountinfo *mi, size_t n);

#endif
