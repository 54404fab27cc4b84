/* Global options of one ocirt invocation, passed explicitly to every library
 * function that needs them (no global mutable state). */
#ifndef RT_CONTEXT_H
#define RT_CONTEXT_H

#include <stdbool.h>

struct rt_context
{
  const char *root;      /* state root: --root, default /run/ocirt */
  const char *cache_dir; /* compiled seccomp filters (seccomp-cache.c): beside
                            the default state root, or $OCIRT_SECCOMP_CACHE;
                            NULL: no cache */
  const char *log_path;  /* --log, NULL for none */
  bool log_json;         /* --log-format json */
  bool debug;            /* --debug */
  bool systemd_cgroup;   /* --systemd-cgroup */
  bool cgroups_disabled; /* --cgroup-manager disabled: no cgroup at all */
  bool rootless;         /* --rootless, or detected as runc does (rt_rootless_detect):
                            cgroup permission errors are not fatal without limits */
  int log_fd;            /* open --log file, -1 when none */
  int failure_status;    /* exit status when the command fails; 0: 1 */
  int log_sock;          /* in a child of create or exec: its records go to
                            the parent over this sync socket (the parent
                            writes them where they belong), -1 otherwise */
  const char *argv0;     /* for messages only */
};

#endif
