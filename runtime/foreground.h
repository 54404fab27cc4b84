/* Waiting in the foreground for a process ocirt started (`run`, `exec`):
 * signals are forwarded to it, its pty is relayed, and its end becomes our
 * exit status the way a shell reports it. */
#ifndef RT_FOREGROUND_H
#define RT_FOREGROUND_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

struct rt_foreground
{
  pid_t pid; /* our child */
  int status;
  bool exited;
};

/* Block every signal that will be forwarded, before the process exists, so
 * that neither its exit nor a signal meant for it slips by; *old receives
 * the previous mask.  With `sigfd`, also open a signalfd for them. */
int rt_foreground_begin(int *sigfd, sigset_t *old, struct oci_error **err);
void rt_foreground_end(const sigset_t *old);

/* Relay `master` (if >= 0) and forward signals until the child exits;
 * SIGPIPE is ignored meanwhile (the relay's stdout may be a closed pipe). */
int rt_foreground_wait(struct rt_foreground *w, int sigfd, int master, struct oci_error **err);

/* The exit status: the child's, or 128 + the signal that killed it. */
int rt_foreground_exit_code(const struct rt_foreground *w);

#endif
