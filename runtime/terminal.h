/* process.terminal: the pty, the console socket, and the foreground relay. */
#ifndef RT_TERMINAL_H
#define RT_TERMINAL_H

#include <stdbool.h>
#include <stdint.h>

#include "oci-config.h"
#include "error.h"

/* In the container's root (the init: after rt_rootfs_prepare()): open a
 * pty from the container's /dev/ptmx, bind its slave onto /dev/console when
 * `console` (the init; an exec'd process leaves the init's alone), make it
 * the controlling terminal of a new session and stdin/stdout/stderr, apply
 * process.consoleSize.  Returns the master fd (close-on-exec) in *master. */
int rt_terminal_setup_in_container(const struct oci_process *proc, bool console, int *master,
                                   struct oci_error **err);

/* Connect to the AF_UNIX stream socket at `path` and send `master` in one
 * SCM_RIGHTS message whose payload is the pty name (as runc/go-runc expect). */
int rt_console_socket_send(const char *path, int master, struct oci_error **err);

/* `ocirt run` in the foreground with a terminal: put our stdin in raw mode
 * (restored on return), copy stdin->master and master->stdout until the
 * master hangs up, propagate SIGWINCH window sizes.  `sigfd` is a signalfd
 * the caller owns (blocked signals: SIGWINCH plus those to forward), and
 * `on_signal` is called for every signal other than SIGWINCH. `child_exited`
 * is polled after each wake-up so the relay stops when the container is gone. */
struct rt_relay_hooks
{
  void (*on_signal)(int signo, void *data);
  bool (*child_exited)(void *data);
  void *data;
};
int rt_terminal_relay(int master, int sigfd, const struct rt_relay_hooks *hooks, struct oci_error **err);

#endif
