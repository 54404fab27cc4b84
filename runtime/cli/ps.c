#include <config.h>

#include <fcntl.h>
#include <getopt.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spec/util.h"
#include "cli.h"
#include "manage.h"

static const char usage[] = "ps [--format table|json] <container-id> [ps options]";
static const char help[] = "List the processes of the container's cgroup: as a JSON array of host\n"
                           "pids, or as the lines of ps(1) (run with the given options, default\n"
                           "-ef) whose PID column is one of them.\n"
                           "\n"
                           "  -f, --format table|json  output format (default table)\n";

static const struct option options[] = {
  { "format", required_argument, NULL, 'f' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static int
print_json(const pid_t *pids, size_t n, struct oci_error **err)
{
  putchar('[');
  for (size_t i = 0; i < n; i++)
    printf(i ? ",%d" : "%d", (int)pids[i]);
  putchar(']');
  putchar('\n');
  if (fflush(stdout) == EOF)
    return oci_error_errno(err, "writing the process list");
  return 0;
}

/* The whole stdout of `ps ARGS...`. */
static int
run_ps(char **args, size_t nargs, char **out, struct oci_error **err)
{
  cleanup_free char **argv = xcalloc(nargs + 3, sizeof *argv);
  cleanup_free char *text = NULL;
  posix_spawn_file_actions_t fa;
  size_t len = 0, cap = 0;
  int fds[2], status, r;
  pid_t pid;
  ssize_t got;

  argv[0] = (char *)"ps";
  if (nargs == 0)
    argv[1] = (char *)"-ef";
  else
    memcpy(argv + 1, args, nargs * sizeof *argv);
  if (pipe2(fds, O_CLOEXEC) < 0)
    return oci_error_errno(err, "creating a pipe");
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  r = posix_spawnp(&pid, "ps", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (r != 0)
    {
      close(fds[0]);
      errno = r;
      return oci_error_errno(err, "running ps");
    }
  do
    {
      if (cap - len < 4096)
        text = xrealloc(text, cap = cap * 2 + 4096);
      got = read(fds[0], text + len, cap - len - 1);
      if (got > 0)
        len += (size_t)got;
    }
  while (got > 0 || (got < 0 && errno == EINTR));
  close(fds[0]);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return oci_error_set(err, 0, "ps failed (status %d)", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  text[len] = '\0';
  *out = steal_pointer(&text);
  return 0;
}

/* Index of the whitespace-separated field named PID in the header. */
static int
pid_column(const char *header)
{
  cleanup_free char *copy = xstrdup(header);
  char *save = NULL;
  int i = 0;

  for (char *f = strtok_r(copy, " \t", &save); f; f = strtok_r(NULL, " \t", &save), i++)
    if (strcmp(f, "PID") == 0)
      return i;
  return -1;
}

static bool
line_pid_in(const char *line, int column, const pid_t *pids, size_t n)
{
  cleanup_free char *copy = xstrdup(line);
  char *save = NULL, *f = strtok_r(copy, " \t", &save);
  long pid;

  for (int i = 0; f && i < column; i++)
    f = strtok_r(NULL, " \t", &save);
  if (f == NULL)
    return false;
  pid = strtol(f, NULL, 10);
  for (size_t i = 0; i < n; i++)
    if (pids[i] == pid)
      return true;
  return false;
}

static int
print_table(const pid_t *pids, size_t n, char **args, size_t nargs, struct oci_error **err)
{
  cleanup_free char *text = NULL;
  char *save = NULL, *line;
  int column;

  if (run_ps(args, nargs, &text, err) < 0)
    return -1;
  line = strtok_r(text, "\n", &save);
  if (line == NULL || (column = pid_column(line)) < 0)
    return oci_error_set(err, 0, "ps: no PID column in its output");
  puts(line);
  while ((line = strtok_r(NULL, "\n", &save)))
    if (line_pid_in(line, column, pids, n))
      puts(line);
  if (fflush(stdout) == EOF)
    return oci_error_errno(err, "writing the process list");
  return 0;
}

int
cli_ps(struct rt_context *ctx, int argc, char **argv, struct oci_error **err)
{
  cleanup_free pid_t *pids = NULL;
  const char *format = "table";
  size_t n = 0;
  int c;

  optind = 0;
  while ((c = getopt_long(argc, argv, "+:f:h", options, NULL)) != -1)
    switch (c)
      {
      case 'f':
        format = optarg;
        break;
      case 'h':
        return cli_print_help(usage, help);
      default:
        return cli_option_error(argv[0], c, argv, err);
      }
  if (argc - optind < 1)
    return cli_usage_error(usage, err);
  if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
    return oci_error_set(err, 0, "invalid format option `%s`", format);
  if (rt_container_pids(ctx, argv[optind], &pids, &n, err) < 0)
    return -1;
  if (strcmp(format, "json") == 0)
    {
      if (argc - optind > 1)
        return oci_error_set(err, 0, "ps options cannot be used with --format json");
      return print_json(pids, n, err) < 0 ? -1 : 0;
    }
  return print_table(pids, n, argv + optind + 1, (size_t)(argc - optind - 1), err) < 0 ? -1 : 0;
}
