/* linux.seccomp through libseccomp. */
#ifndef RT_SECCOMP_H
#define RT_SECCOMP_H

#include <linux/filter.h>
#include <stdbool.h>
#include <sys/types.h>

#include "oci-config.h"
#include "spec/oci-features.h"
#include "spec/state.h"
#include "context.h"
#include "error.h"

/* A filter compiled to BPF once, by the parent, before anything is
 * created (so that a bad profile fails `create` early, naming the field):
 * the container's process, a fork, only hands the program to the kernel.
 * Compiling a profile of some 400 syscalls costs milliseconds. */
struct rt_seccomp_filter
{
  struct sock_filter *insns; /* NULL: no filter */
  unsigned short len;
  unsigned int flags; /* SECCOMP_FILTER_FLAG_* from linux.seccomp.flags */
  bool notify;        /* SCMP_ACT_NOTIFY rules: loading makes a listener */
};

/* Compile `sc` (NULL: no filter) into *out, or take the program from the
 * cache in `cache_dir` (NULL: none; seccomp-cache.c). */
int rt_seccomp_compile(const struct oci_seccomp *sc, const char *cache_dir, struct rt_seccomp_filter *out,
                       struct oci_error **err);
void rt_seccomp_filter_clear(struct rt_seccomp_filter *f);

/* Load the compiled filter into the calling process; no filter: nothing.
 * The order is child.c's: with process.noNewPrivileges right before
 * execve; without it, loading a filter needs CAP_SYS_ADMIN, so inside
 * rt_process_prepare(), right before the user and capabilities change
 * (and after everything runc does not do under the filter).  *listener
 * gets the notify listener of a filter with SCMP_ACT_NOTIFY rules, else -1. */
int rt_seccomp_load(const struct rt_seccomp_filter *f, int *listener, struct oci_error **err);

/* The parent's half of SCMP_ACT_NOTIFY: connect to linux.seccomp.listenerPath
 * and send the container process state (runtime-spec runtime.md: ociVersion,
 * fds ["seccompFd"], pid of the process under the filter, metadata =
 * listenerMetadata, state = `st`) as one message carrying `listener`
 * (SCM_RIGHTS), as runc and crun send it.  `listener` stays ours. */
int rt_seccomp_send_listener(const struct oci_seccomp *sc, const struct oci_state *st, pid_t pid,
                             int listener, struct oci_error **err);

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
