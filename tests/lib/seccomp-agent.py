#!/usr/bin/env python3
"""A seccomp agent for the tests: the runtime's end of linux.seccomp.listenerPath.

    seccomp-agent.py SOCKET OUTDIR [--mkdir errno:N | --mkdir success]

Listens on the unix socket SOCKET.  Each connection is one container process:
the runtime sends the container process state (runtime-spec runtime.md,
"State": ociVersion, fds, pid, metadata, state) as the message and the
seccomp notify fd with SCM_RIGHTS.  The state goes to OUTDIR/state-N.json
(N counts connections from 1), the number of descriptors received to
OUTDIR/fds-N.  Notifications are then answered: mkdir and mkdirat as --mkdir
says (a fake success that creates nothing, or an errno), any other notified
syscall is let through (SECCOMP_USER_NOTIF_FLAG_CONTINUE); each answered
syscall is appended to OUTDIR/log as "N NAME PID".

Writes OUTDIR/ready once listening.  Runs until killed.
"""

import fcntl
import os
import select
import socket
import struct
import sys
import threading

# <linux/seccomp.h>: _IOWR('!', 0, struct seccomp_notif) (80 bytes) and
# _IOWR('!', 1, struct seccomp_notif_resp) (24 bytes).
NOTIF_RECV = 0xC0502100
NOTIF_SEND = 0xC0182101
NOTIF_SIZE = 80
FLAG_CONTINUE = 1

def syscall_name(nr):
    names = {83: "mkdir", 258: "mkdirat", 84: "rmdir", 90: "chmod", 91: "fchmod", 268: "fchmodat"}
    return names.get(nr, str(nr))


def answer(notif_fd, conn_no, mkdir, outdir):
    poller = select.poll()
    poller.register(notif_fd, select.POLLIN)
    while True:
        events = poller.poll()
        if any(ev & (select.POLLHUP | select.POLLERR) and not ev & select.POLLIN for _, ev in events):
            break
        buf = bytearray(NOTIF_SIZE)
        try:
            fcntl.ioctl(notif_fd, NOTIF_RECV, buf, True)
        except OSError:
            # ENOENT: the process went away (or was interrupted) before we read it
            continue
        notif_id, pid, _flags, nr = struct.unpack_from("<QIIi", buf)
        name = syscall_name(nr)
        val, error, flags = 0, 0, 0
        if name in ("mkdir", "mkdirat") and mkdir != "continue":
            if mkdir == "success":
                val = 0
            else:
                error = -int(mkdir.split(":", 1)[1])
        else:
            flags = FLAG_CONTINUE
        resp = bytearray(struct.pack("<QqiI", notif_id, val, error, flags))
        try:
            fcntl.ioctl(notif_fd, NOTIF_SEND, resp, True)
        except OSError:
            continue
        with open(os.path.join(outdir, "log"), "a") as f:
            f.write("%d %s %d\n" % (conn_no, name, pid))
    os.close(notif_fd)


def receive(conn, conn_no, mkdir, outdir):
    msg, fds, _flags, _addr = socket.recv_fds(conn, 65536, 16)
    conn.close()
    tmp = os.path.join(outdir, "state-%d.json.tmp" % conn_no)
    with open(tmp, "wb") as f:
        f.write(msg)
    with open(os.path.join(outdir, "fds-%d" % conn_no), "w") as f:
        f.write("%d\n" % len(fds))
    os.rename(tmp, os.path.join(outdir, "state-%d.json" % conn_no))
    for extra in fds[1:]:
        os.close(extra)
    if len(fds) > 0:
        answer(fds[0], conn_no, mkdir, outdir)


def main():
    path, outdir = sys.argv[1], sys.argv[2]
    mkdir = "continue"
    if len(sys.argv) > 4 and sys.argv[3] == "--mkdir":
        mkdir = sys.argv[4]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(16)
    open(os.path.join(outdir, "ready"), "w").close()
    conn_no = 0
    while True:
        conn, _ = srv.accept()
        conn_no += 1
        threading.Thread(target=receive, args=(conn, conn_no, mkdir, outdir), daemon=True).start()


if __name__ == "__main__":
    main()
