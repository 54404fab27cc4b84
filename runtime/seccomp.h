/* linux.seccomp through libseccomp. */
#ifndef RT_SECCOMP_H
#define RT_SECCOMP_H

#include "oci-config.h"
#include "spec/oci-features.h"
#include "context.h"
#include "error.h"

/* Build the whole filter without loading it, so that `create` fails early
 * on an unknown action, architecture, flag or operator. */
int rt_seccomp_validate(const struct oci_seccomp *sc, struct oci_error **err);

/* Build and load the filter into the calling process.  NULL: nothing.
 * Ordering, as runc does it: with process.noNewPrivileges the init calls
 * this after rt_process_prepare() (which sets no_new_privs), as late as
 * possible before execve; without it, loading a filter needs CAP_SYS_ADMIN,
 * so the init must call this before rt_process_prepare() drops
 * capabilities -- the filter then also applies to the rest of the set-up. */
int rt_seccomp_load(const struct oci_seccomp *sc, struct oci_error **err);

/* --debug: one record describing the filter about to be loaded (default
 * action, rules, architectures); `when` says at which point ("now", "at
 * start, right before exec").  Call it BEFORE rt_seccomp_load: nothing is
 * logged under the filter. */
void rt_seccomp_debug(const struct rt_context *log, const struct oci_seccomp *sc, const char *when);

/* What this build and the kernel support, for `ocirt features`: the
 * actions, operators, architectures and flags parse_action & co. accept,
 * filtered by libseccomp's API level. */
void rt_seccomp_features(struct oci_features_seccomp *out);

/* libseccomp's version ("2.5.4"), newly allocated. */
char *rt_seccomp_version(void);

#endif
