/* The OCI container state (runtime-spec runtime.md "State"), plus the
 * fields runc adds to `runc state` output (rootfs, created, owner). */
#ifndef OCI_STATE_H
#define OCI_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "oci-config.h"
#include "error.h"

struct oci_state
{
  char *oci_version;
  char *id;
  char *status; /* creating | created | running | stopped | paused */
  pid_t pid;    /* 0 when stopped */
  char *bundle;
  char *rootfs;  /* runc extra */
  char *created; /* runc extra, RFC 3339 with nanoseconds */
  char *owner;   /* runc extra, "" for root */
  struct oci_kv *annotations;
  size_t annotations_len;
};

int oci_state_emit(const struct oci_state *st, bool pretty, char **out, size_t *len, struct oci_error **err);
/* runtime-spec runtime.md "State", containerProcessState: what a runtime
 * sends to linux.seccomp.listenerPath with the seccomp notify fd.  `pid`
 * is the process under the filter, `st` the container's state (its
 * ociVersion, id, status, pid, bundle and annotations only). */
int oci_process_state_emit(const struct oci_state *st, pid_t pid, const char *metadata, char **out,
                           size_t *len, struct oci_error **err);
int oci_state_parse(const char *name, const char *text, size_t len, struct oci_state **out,
                    struct oci_error **err);
void oci_state_free(struct oci_state *st);

#endif
