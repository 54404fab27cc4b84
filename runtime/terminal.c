#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "inroot.h"
#include "terminal.h"
#include "unix-socket.h"
#include "util.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif

/* ---- the pty inside the container ---- */

static int
pty_name(int master, char *buf, size_t len, struct oci_error **err)
{
  unsigned int n;

  if (ioctl(master, TIOCGPTN, &n) < 0)
    return oci_error_errno(err, "reading the pty number (TIOCGPTN)");
  snprintf(buf, len, "/dev/pts/%u", n);
  return 0;
}

/* TIOCGPTPEER opens the slave through the master's own devpts mount, so no
 * path lookup can be redirected; the name is the fallback for old kernels. */
static int
open_slave(int master, const char *name, struct oci_error **err)
{
  int fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);

  if (fd >= 0)
    return fd;
  if (errno != EINVAL && errno != ENOTTY)
    return oci_error_errno(err, "opening the pty slave (TIOCGPTPEER)");
  fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return oci_error_errno(err, "opening the pty slave `%s`", name);
  return fd;
}

/* /dev/console, resolved inside the root (which is "/" by now) without
 * following symlinks out of it; created as an empty file when missing. */
static int
open_console_target(struct oci_error **err)
{
  cleanup_close int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int dev = -1;
  struct stat st;
  int fd;

  if (root < 0)
    return oci_error_errno(err, "opening `/`");
  dev = oci_root_openat(root, "dev", O_PATH | O_DIRECTORY, 0);
  if (dev < 0)
    return oci_error_errno(err, "opening `/dev` in the container");

  fd = openat(dev, "console", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0)
    close(fd);
  else if (errno != EEXIST)
    return oci_error_errno(err, "creating `/dev/console`");

  fd = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return oci_error_errno(err, "opening `/dev/console`");
  if (fstat(fd, &st) < 0 || S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))
    {
      close(fd);
      return oci_error_set(err, ENOTSUP, "`/dev/console` is a %s, not a file or device",
                           S_ISDIR(st.st_mode) ? "directory" : "symlink");
    }
  return fd;
}

static int
bind_console(int slave, struct oci_error **err)
{
  cleanup_close int target = open_console_target(err);
  cleanup_close int tree = -1;

  if (target < 0)
    return -1;
  /* The new mount API needs no /proc in the container. */
  tree = (int)syscall(SYS_open_tree, slave, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (tree >= 0)
    {
      if (syscall(SYS_move_mount, tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
          < 0)
        return oci_error_errno(err, "bind-mounting the pty slave on `/dev/console`");
      return 0;
    }
  if (errno != ENOSYS)
    return oci_error_errno(err, "cloning the pty slave mount (open_tree)");

  {
    char src[64], dst[64];
    snprintf(src, sizeof src, "/proc/self/fd/%d", slave);
    snprintf(dst, sizeof dst, "/proc/self/fd/%d", target);
    if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
      return oci_error_errno(err, "bind-mounting the pty slave on `/dev/console`");
  }
  return 0;
}

int
rt_terminal_setup_in_container(const struct oci_process *proc, bool console, int *master,
                               struct oci_error **err)
{
  cleanup_close int m = -1;
  cleanup_close int slave = -1;
  char name[64];

  m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0)
    return oci_error_errno(err, "opening `/dev/ptmx` in the container");
  /* glibc's grantpt() is a check only on devpts (no pt_chown helper). */
  if (grantpt(m) < 0)
    return oci_error_errno(err, "grantpt");
  if (unlockpt(m) < 0)
    return oci_error_errno(err, "unlockpt");
  if (pty_name(m, name, sizeof name, err) < 0)
    return -1;
  slave = open_slave(m, name, err);
  if (slave < 0)
    return -1;

  if (console && bind_console(slave, err) < 0)
    return -1;

  if (proc && proc->has_console_size)
    {
      struct winsize ws
          = { .ws_row = (unsigned short)proc->console_height, .ws_col = (unsigned short)proc->console_width };
      if (ioctl(m, TIOCSWINSZ, &ws) < 0)
        return oci_error_errno(err, "process.consoleSize: setting the window size");
    }

  if (setsid() < 0)
    return oci_error_errno(err, "setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0)
    return oci_error_errno(err, "making `%s` the controlling terminal", name);
  for (int fd = 0; fd <= 2; fd++)
    if (dup2(slave, fd) < 0)
      return oci_error_errno(err, "dup2 of the pty slave to fd %d", fd);
  if (slave <= 2)
    slave = -1; /* it is one of stdio now: keep it open */

  *master = steal_fd(&m);
  return 0;
}

/* ---- the console socket ---- */

int
rt_console_socket_send(const char *path, int master, struct oci_error **err)
{
  cleanup_close int sock = -1;
  char name[64];

  if (pty_name(master, name, sizeof name, err) < 0)
    return -1;
  sock = rt_unix_connect(path, "the console socket", err);
  if (sock < 0)
    return -1;
  /* go-runc's recvFd wants exactly one message with one fd and a non-empty
   * payload: the pty name. */
  if (rt_unix_send_with_fd(sock, name, strlen(name), master) < 0)
    return oci_error_errno(err, "sending the pty master to the console socket `%s`", path);
  return 0;
}

/* ---- the foreground relay ---- */

struct saved_tty
{
  int fd;
  bool saved;
  struct termios attr;
};

static void
restore_ttyp(struct saved_tty *s)
{
  if (s->saved)
    tcsetattr(s->fd, TCSANOW, &s->attr);
}

static int
make_raw(struct saved_tty *s, struct oci_error **err)
{
  struct termios raw;

  if (tcgetattr(s->fd, &s->attr) < 0)
    return oci_error_errno(err, "reading the terminal attributes of stdin");
  raw = s->attr;
  cfmakeraw(&raw);
  if (tcsetattr(s->fd, TCSANOW, &raw) < 0)
    return oci_error_errno(err, "putting stdin in raw mode");
  s->saved = true;
  return 0;
}

static void
copy_window_size(int from, int to)
{
  struct winsize ws;

  if (ioctl(from, TIOCGWINSZ, &ws) == 0 && (ws.ws_row || ws.ws_col))
    ioctl(to, TIOCSWINSZ, &ws);
}

/* How long the pty must stay quiet before a piped stdin's EOF is passed on
 * (see send_eof_if_idle). */
#define EOF_QUIET_MS 100

struct relay
{
  int master;
  bool stdin_tty;
  bool stdin_open;
  bool stdout_broken;
  bool hung_up;
  int64_t last_activity_ms; /* last byte either way through the master */
  size_t in_len, in_off;
  char in[4096];
};

static int64_t
now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Output goes to the caller's stdout with blocking writes: our stdout is
 * not ours to make non-blocking.  Once it is gone the output is dropped
 * so that the container never blocks on a full pty. */
static void
write_stdout(struct relay *r, const char *buf, size_t len)
{
  if (r->stdout_broken)
    return;
  if (oci_write_all(STDOUT_FILENO, buf, len) < 0)
    r->stdout_broken = true;
}

/* Read everything the master has now; note a hang-up (EIO once no slave is
 * open any more). */
static int
drain_master(struct relay *r, struct oci_error **err)
{
  char buf[8192];

  for (;;)
    {
      ssize_t n = read(r->master, buf, sizeof buf);
      if (n > 0)
        {
          r->last_activity_ms = now_ms();
          write_stdout(r, buf, (size_t)n);
          continue;
        }
      if (n == 0 || errno == EIO)
        {
          r->hung_up = true;
          return 0;
        }
      if (errno == EAGAIN)
        return 0;
      if (errno != EINTR)
        return oci_error_errno(err, "reading from the pty master");
    }
}

static int
flush_input(struct relay *r, struct oci_error **err)
{
  while (r->in_off < r->in_len)
    {
      ssize_t n = write(r->master, r->in + r->in_off, r->in_len - r->in_off);
      if (n > 0)
        {
          r->in_off += (size_t)n;
          r->last_activity_ms = now_ms();
          continue;
        }
      if (errno == EAGAIN)
        return 0;
      if (errno == EIO)
        {
          r->hung_up = true;
          return 0;
        }
      if (errno != EINTR)
        return oci_error_errno(err, "writing to the pty master");
    }
  r->in_len = r->in_off = 0;
  return 0;
}

static void
read_stdin(struct relay *r)
{
  ssize_t n;

  do
    n = read(STDIN_FILENO, r->in, sizeof r->in);
  while (n < 0 && errno == EINTR);
  if (n > 0)
    {
      r->in_off = 0;
      r->in_len = (size_t)n;
      return;
    }
  if (n < 0 && errno == EAGAIN)
    return;
  r->stdin_open = false;
}

/* Whether the program has read everything we typed: the slave's input
 * queue, seen through a short-lived peer fd (holding one would hide the
 * hang-up).  Without TIOCGPTPEER we cannot tell and assume it has. */
static bool
slave_input_empty(int master)
{
  cleanup_close int slave = ioctl(master, TIOCGPTPEER, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  int n = 0;

  if (slave < 0)
    return true;
  if (ioctl(slave, FIONREAD, &n) < 0)
    return true;
  return n == 0;
}

/* A piped stdin has ended: a terminal has no EOF of its own, so type the
 * terminal's EOF character, as script(1) does, so that `echo hostname |
 * ocirt run` ends like `echo hostname | sh`.  It is typed only once the
 * program has read all earlier input and the pty has been quiet for a
 * moment (the program is most likely waiting in read()): a ^D typed while
 * the tty is being switched between canonical and raw mode (busybox sh's
 * line editor does that around every command) would be lost.  It is typed
 * again after every further quiet period -- a pipe at EOF keeps answering
 * EOF too.  A tty stdin never gets here: in raw mode the user's own ^D is
 * passed through as a byte. */
static int
send_eof_if_idle(struct relay *r)
{
  struct termios t;
  char eof = 4; /* ^D */
  int64_t idle = now_ms() - r->last_activity_ms;

  if (idle < EOF_QUIET_MS)
    return (int)(EOF_QUIET_MS - idle);
  if (!slave_input_empty(r->master))
    {
      r->last_activity_ms = now_ms();
      return EOF_QUIET_MS;
    }
  if (tcgetattr(r->master, &t) == 0 && t.c_cc[VEOF] != _POSIX_VDISABLE)
    eof = (char)t.c_cc[VEOF];
  r->in[0] = eof;
  r->in_off = 0;
  r->in_len = 1;
  r->last_activity_ms = now_ms();
  return EOF_QUIET_MS;
}

static int
handle_signals(int sigfd, const struct rt_relay_hooks *hooks, struct relay *r, struct oci_error **err)
{
  struct signalfd_siginfo si[16];
  ssize_t n;

  /* One read per wake-up: it returns what is pending without blocking,
   * whether or not the caller made the signalfd non-blocking. */
  do
    n = read(sigfd, si, sizeof si);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN)
    return 0;
  if (n < 0)
    return oci_error_errno(err, "reading the signalfd");
  for (size_t i = 0; i < (size_t)n / sizeof si[0]; i++)
    {
      if (si[i].ssi_signo == SIGWINCH)
        {
          if (r->stdin_tty)
            copy_window_size(STDIN_FILENO, r->master);
        }
      else if (hooks && hooks->on_signal)
        hooks->on_signal((int)si[i].ssi_signo, hooks->data);
    }
  return 0;
}

int
rt_terminal_relay(int master, int sigfd, const struct rt_relay_hooks *hooks, struct oci_error **err)
{
  __attribute__((cleanup(restore_ttyp))) struct saved_tty tty = { .fd = STDIN_FILENO };
  cleanup_free struct relay *r = xzalloc(sizeof *r);
  int timeout = -1;
  int fl;

  r->master = master;
  r->stdin_open = true;
  r->stdin_tty = isatty(STDIN_FILENO);
  r->last_activity_ms = now_ms();
  if (r->stdin_tty)
    {
      if (make_raw(&tty, err) < 0)
        return -1;
      copy_window_size(STDIN_FILENO, master);
    }
  /* The master is ours alone, unlike stdin/stdout. */
  fl = fcntl(master, F_GETFL);
  if (fl < 0 || fcntl(master, F_SETFL, fl | O_NONBLOCK) < 0)
    return oci_error_errno(err, "making the pty master non-blocking");

  while (!r->hung_up)
    {
      struct pollfd p[3] = {
        { .fd = r->stdin_open && r->in_len == 0 ? STDIN_FILENO : -1, .events = POLLIN },
        { .fd = master, .events = (short)(POLLIN | (r->in_len > 0 ? POLLOUT : 0)) },
        { .fd = sigfd, .events = POLLIN },
      };

      if (poll(p, 3, timeout) < 0)
        {
          if (errno == EINTR)
            continue;
          return oci_error_errno(err, "poll");
        }
      if (p[2].revents & POLLIN && handle_signals(sigfd, hooks, r, err) < 0)
        return -1;
      if (p[1].revents & (POLLIN | POLLHUP | POLLERR) && drain_master(r, err) < 0)
        return -1;
      if (p[0].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
        read_stdin(r);
      if (r->in_len > 0 && !r->hung_up && flush_input(r, err) < 0)
        return -1;
      if (hooks && hooks->child_exited && hooks->child_exited(hooks->data))
        {
          /* Something else may still hold the slave open: take what was
           * written before the container went away and stop. */
          return drain_master(r, err);
        }
      timeout = -1;
      if (!r->stdin_open && !r->stdin_tty && r->in_len == 0 && !r->hung_up)
        timeout = send_eof_if_idle(r);
    }
  return 0;
}
