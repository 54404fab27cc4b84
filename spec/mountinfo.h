/* /proc/self/mountinfo: the one parser of the mount table, for ocirt's
 * mounts (propagation of the rootfs's parent, the host's cgroup hierarchies
 * to bind) and cgroup discovery, and for imgtool's unbundle (mounts inside a
 * bundle). */
#ifndef OCI_MOUNTINFO_H
#define OCI_MOUNTINFO_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* One line, its path fields unescaped. */
struct oci_mountinfo
{
  unsigned long long id;
  char *root;
  char *mountpoint;
  char *optional; /* "shared:1 master:2", "" when none */
  char *fstype;
  char *super_opts;
};

/* One line (with or without its newline); false when it is malformed. */
bool oci_mountinfo_parse_line(const char *line, struct oci_mountinfo *out);
void oci_mountinfo_clear(struct oci_mountinfo *mi);

/* The whole table, in order (malformed lines left out). */
int oci_mountinfo_read(struct oci_mountinfo **out, size_t *n, struct oci_error **err);
void oci_mountinfo_free(struct oci_mountinfo *mi, size_t n);

/* The table read at most once for everyone who needs it: the kernel makes
 * the text anew for every read, about 1.5 us per mount (a node with hundreds
 * of mounts pays a millisecond).  Zero-initialised: not read yet. */
struct oci_mount_table
{
  struct oci_mountinfo *mi;
  size_t n;
  bool read;
};

/* Read it unless it is read already. */
int oci_mount_table_get(struct oci_mount_table *t, struct oci_error **err);
/* Free it; the next get reads it anew. */
void oci_mount_table_clear(struct oci_mount_table *t);

#endif
