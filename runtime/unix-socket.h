#ifndef RT_UNIX_SOCKET_H
#define RT_UNIX_SOCKET_H

#include <stddef.h>

#include "error.h"

/* The unix sockets ocirt hands descriptors over: the sync socket between
 * the runtime and its child, a client's console socket (the pty master) and
 * a seccomp agent's listenerPath (the listener). */

/* A connected SOCK_STREAM socket to `path`, or -1 with an error naming
 * `what` (such as "the console socket") and the path. */
int rt_unix_connect(const char *path, const char *what, struct oci_error **err);

/* One message: `len` bytes of `buf` and, unless `fd` is -1, that descriptor
 * as its one SCM_RIGHTS right, so that a peer reads both with one recvmsg
 * (go-runc's console reader and seccomp agents require it).  0, or -1 with
 * errno (EMSGSIZE for a short send). */
int rt_unix_send_with_fd(int sock, const void *buf, size_t len, int fd);

#endif
