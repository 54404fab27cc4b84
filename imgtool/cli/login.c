#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "spec/util.h"
#include "cli.h"
#include "credentials.h"
#include "registry.h"

#define SECRET_MAX 4096

static const char help[] = "Usage: imgtool login [-u USER] [-p PASSWORD | --password-stdin] [REGISTRY]\n"
                           "\n"
                           "Check USER's password against REGISTRY (default docker.io) and store it where\n"
                           "pulls find it: through the credential helper docker's credentials file\n"
                           "($DOCKER_CONFIG/config.json or ~/.docker/config.json) names for REGISTRY\n"
                           "(credHelpers, credsStore), else in that file itself (mode 0600).  Nothing is\n"
                           "written when the registry refuses the credentials.  On a terminal, missing\n"
                           "values are asked for.\n"
                           "\n"
                           "  -u, --username USER    the user name\n"
                           "  -p, --password PASS    the password (visible to other users in `ps`)\n"
                           "      --password-stdin   read the password from stdin\n";

/* One line from FD (without its newline), at most SECRET_MAX bytes. */
static int
read_line(int fd, const char *what, char **out, struct oci_error **err)
{
  cleanup_free char *buf = xmalloc(SECRET_MAX + 1);
  size_t len = 0;

  while (len < SECRET_MAX)
    {
      ssize_t n = read(fd, buf + len, 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return oci_error_errno(err, "reading %s", what);
      if (n == 0 || buf[len] == '\n')
        break;
      len++;
    }
  if (len == SECRET_MAX)
    return oci_error_fail(err, EFBIG, "%s: longer than %u bytes", what, SECRET_MAX);
  if (len > 0 && buf[len - 1] == '\r')
    len--;
  buf[len] = '\0';
  *out = steal_pointer(&buf);
  return 0;
}

/* Ask on the terminal; the password without echo.  Echo goes off before the
 * question shows: TCSAFLUSH drops what was typed until then, so an answer
 * typed as soon as the question appears (a fast typist, expect) would
 * otherwise be echoed, then lost. */
static int
prompt(const char *question, bool secret, char **out, struct oci_error **err)
{
  cleanup_close int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  struct termios old, quiet;
  int r;

  if (tty < 0)
    return oci_error_errno(err, "no terminal to ask for the %s (use -u and --password-stdin)", question);
  if (secret && tcgetattr(tty, &old) == 0)
    {
      quiet = old;
      quiet.c_lflag &= ~(ECHO | ECHONL);
      tcsetattr(tty, TCSAFLUSH, &quiet);
      dprintf(tty, "%s: ", question);
      r = read_line(tty, question, out, err);
      tcsetattr(tty, TCSAFLUSH, &old);
      dprintf(tty, "\n");
      return r;
    }
  dprintf(tty, "%s: ", question);
  return read_line(tty, question, out, err);
}

static void
free_secret(char **s)
{
  if (*s)
    explicit_bzero(*s, strlen(*s));
  free(*s);
}

static void
http_log(void *data, const char *line)
{
  fprintf(stderr, "%s\n", line);
}

/* The command's locals, which keep owning (and freeing) the strings. */
struct login_options
{
  char **user;
  char **password;
  bool *from_stdin;
};

static bool
login_option(void *data, int c, const char *arg)
{
  struct login_options *own = data;
  switch (c)
    {
    case 'u':
      free(*own->user);
      *own->user = xstrdup(arg);
      return true;
    case 'p':
      free_secret(own->password);
      *own->password = xstrdup(arg);
      return true;
    case 's':
      *own->from_stdin = true;
      return true;
    default:
      return false;
    }
}

int
img_cli_login(struct img_cli *cli, int argc, char **argv, struct oci_error **err)
{
  static const struct option opts[] = { IMG_CLI_COMMON_OPTIONS,
                                        { "username", required_argument, NULL, 'u' },
                                        { "password", required_argument, NULL, 'p' },
                                        { "password-stdin", no_argument, NULL, 's' },
                                        { 0 } };
  cleanup_registry struct img_registry *reg = NULL;
  cleanup_free char *user = NULL;
  __attribute__((cleanup(free_secret))) char *password = NULL;
  __attribute__((cleanup(free_secret))) char *pair = NULL;
  cleanup_free char *registry = NULL;
  cleanup_credentials_place struct img_credentials_place where = { 0 };
  bool from_stdin = false;
  struct login_options own = { .user = &user, .password = &password, .from_stdin = &from_stdin };
  const struct img_cli_options o = {
    .cmd = "login", .help = help, .shortopts = "qvhu:p:", .longopts = opts, .own = login_option, .data = &own
  };
  int first;

  first = img_cli_parse_options(cli, &o, argc, argv, err);
  if (first <= 0)
    return first;
  if (argc - first > 1)
    return img_cli_usage_error(err, "login", "expected at most one REGISTRY");
  if (password && from_stdin)
    return img_cli_usage_error(err, "login", "--password and --password-stdin are mutually exclusive");
  if (from_stdin && user == NULL)
    return img_cli_usage_error(err, "login", "--password-stdin needs --username");
  if (user && (user[0] == '\0' || strchr(user, ':')))
    return img_cli_usage_error(err, "login", "--username: invalid user name `%s`", user);
  if (password && password[0] == '\0')
    return img_cli_usage_error(err, "login", "--password: empty password");
  registry = img_auth_normalise_server(first < argc ? argv[first] : IMG_DEFAULT_DOMAIN);
  if (registry[0] == '\0')
    return img_cli_usage_error(err, "login", "empty REGISTRY");

  if (password && !cli->quiet)
    fprintf(stderr, "imgtool: warning: --password is visible to other users; prefer --password-stdin\n");
  if (user == NULL && prompt("Username", false, &user, err) < 0)
    return -1;
  if (from_stdin && read_line(STDIN_FILENO, "the password from stdin", &password, err) < 0)
    return -1;
  if (password == NULL && prompt("Password", true, &password, err) < 0)
    return -1;
  if (user[0] == '\0' || strchr(user, ':'))
    return oci_error_fail(err, EINVAL, "invalid user name `%s`", user);
  if (password[0] == '\0')
    return oci_error_fail(err, EINVAL, "empty password");

  pair = xasprintf("%s:%s", user, password);
  struct img_registry_opts ro = {
    .creds = pair,
    .creds_source = "the command line",
    .ca_file = cli->ca_file,
    .insecure = cli->insecure,
    .log = cli->verbose ? http_log : NULL,
  };
  if (img_registry_open(registry, &ro, &reg, err) < 0 || img_registry_check_login(reg, err) < 0)
    return -1;

  struct img_auth_opts ao = { 0 };
  if (img_credentials_save(&ao, registry, user, password, &where, err) < 0)
    return oci_error_wrap(err, "saving the credentials for %s", registry);
  if (!cli->quiet)
    printf("Login Succeeded (credentials saved %s %s)\n", where.helper ? "by" : "in",
           where.helper ? where.helper : where.path);
  return 0;
}
