/* Running docker-credential-NAME: the process plumbing (pipes, spawn, wait)
 * and the get/store/erase protocol on top of it. */
#include <config.h>

#include <ctype.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

#include "cred-helper.h"
#include "json.h"
#include "util.h"

#define HELPER_OUTPUT_MAX (64u << 10)

extern char **environ;

static bool
helper_name_valid(const char *name)
{
  if (name == NULL || name[0] == '\0')
    return false;
  for (const char *c = name; *c; c++)
    if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
      return false;
  return true;
}

/* What a credential helper printed, and how it ended. */
struct helper_output
{
  char *out; /* stdout, NUL-terminated: may hold a secret, wiped when cleared */
  size_t out_len;
  char *diag; /* stderr, NUL-terminated */
  size_t diag_len;
  int status; /* the exit code, or 128 + the signal that killed it */
};

static void
helper_output_clear(struct helper_output *h)
{
  if (h->out)
    explicit_bzero(h->out, h->out_len);
  free(h->out);
  free(h->diag);
  memset(h, 0, sizeof *h);
}
#define cleanup_helper_output __attribute__((cleanup(helper_output_clear)))

/* Read what FD has into BUF (HELPER_OUTPUT_MAX bytes kept; the rest is read
 * and dropped so that the helper never blocks on a full pipe).  False at the
 * end of the stream. */
static bool
drain_into(int fd, char *buf, size_t *len)
{
  char scratch[4096];
  bool full = *len == HELPER_OUTPUT_MAX;
  ssize_t n;

  do
    n = full ? read(fd, scratch, sizeof scratch) : read(fd, buf + *len, HELPER_OUTPUT_MAX - *len);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return false;
  if (full)
    explicit_bzero(scratch, n);
  else
    *len += n;
  return true;
}

static int
pipe_ends(int *r, int *w, struct oci_error **err)
{
  int fds[2];

  if (pipe2(fds, O_CLOEXEC) < 0)
    return oci_error_errno(err, "pipe");
  *r = fds[0];
  *w = fds[1];
  return 0;
}

/* Feed INPUT to *IN_W while collecting *OUT_R and *ERR_R until the helper
 * has closed both; every one of them is closed (-1) on return. */
static void
exchange(int *in_w, int *out_r, int *err_r, const char *input, size_t input_len, struct helper_output *res)
{
  struct timespec zero = { 0, 0 };
  sigset_t set, old;
  size_t sent = 0;

  /* A helper that exits without reading stdin must not kill us with SIGPIPE. */
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  if (input_len == 0 || fcntl(*in_w, F_SETFL, O_NONBLOCK) < 0)
    close(steal_fd(in_w));
  while (*in_w >= 0 || *out_r >= 0 || *err_r >= 0)
    {
      struct pollfd p[3] = { { *in_w, POLLOUT, 0 }, { *out_r, POLLIN, 0 }, { *err_r, POLLIN, 0 } };
      if (poll(p, 3, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (p[0].revents)
        {
          ssize_t n = write(*in_w, input + sent, input_len - sent);
          if (n > 0)
            sent += n;
          if (sent == input_len || (n < 0 && errno != EAGAIN && errno != EINTR))
            close(steal_fd(in_w));
        }
      if (p[1].revents && !drain_into(*out_r, res->out, &res->out_len))
        close(steal_fd(out_r));
      if (p[2].revents && !drain_into(*err_r, res->diag, &res->diag_len))
        close(steal_fd(err_r));
    }
  if (*in_w >= 0)
    close(steal_fd(in_w));
  if (*out_r >= 0)
    close(steal_fd(out_r));
  if (*err_r >= 0)
    close(steal_fd(err_r));
  while (sigtimedwait(&set, NULL, &zero) > 0)
    ;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  res->out[res->out_len] = '\0';
  res->diag[res->diag_len] = '\0';
}

/* Run `docker-credential-NAME ACTION` (the credential helper protocol:
 * get, store, erase) with INPUT on its stdin, and collect what it prints.
 * Secrets travel on stdin only, never in argv or the environment.  Returns
 * 0 once the helper has run, whatever its exit status (in RES), -1 when it
 * could not be started. */
static int
run_helper(const char *name, const char *action, const char *input, size_t input_len,
           struct helper_output *res, struct oci_error **err)
{
  cleanup_free char *prog = NULL;
  cleanup_close int in_r = -1, in_w = -1, out_r = -1, out_w = -1, err_r = -1, err_w = -1;
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int r, status;

  memset(res, 0, sizeof *res);
  if (!helper_name_valid(name))
    return oci_error_fail(err, EINVAL, "invalid credential helper name `%s`", name);
  prog = xasprintf("docker-credential-%s", name);
  if (pipe_ends(&in_r, &in_w, err) < 0 || pipe_ends(&out_r, &out_w, err) < 0
      || pipe_ends(&err_r, &err_w, err) < 0)
    return -1;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r, 0);
  posix_spawn_file_actions_adddup2(&fa, out_w, 1);
  posix_spawn_file_actions_adddup2(&fa, err_w, 2);
  char *argv[] = { prog, (char *)action, NULL };
  r = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(steal_fd(&in_r));
  close(steal_fd(&out_w));
  close(steal_fd(&err_w));
  if (r != 0)
    {
      errno = r;
      return oci_error_errno(err, "running credential helper `%s`", prog);
    }

  res->out = xmalloc(HELPER_OUTPUT_MAX + 1);
  res->diag = xmalloc(HELPER_OUTPUT_MAX + 1);
  exchange(&in_w, &out_r, &err_r, input, input_len, res);
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return oci_error_errno(err, "waiting for `%s`", prog);
  res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return 0;
}

/* S without its leading and trailing white space, every occurrence of
 * SECRET (when not NULL) masked, control characters turned into spaces and
 * cut at about 400 bytes: one line fit for an error message. */
static char *
one_line(const char *s, const char *secret)
{
  size_t len, max = 400;
  char *line;

  while (isspace((unsigned char)*s))
    s++;
  len = strlen(s);
  while (len > 0 && isspace((unsigned char)s[len - 1]))
    len--;
  line = xstrndup(s, len);
  if (secret && secret[0])
    for (char *hit = line; (hit = strstr(hit, secret)) != NULL;)
      memset(hit, '*', strlen(secret));
  for (char *c = line; *c; c++)
    if (iscntrl((unsigned char)*c))
      *c = ' ';
  if (len <= max)
    return line;
  /* Not in the middle of a UTF-8 sequence. */
  while (max > 0 && (line[max] & 0xc0) == 0x80)
    max--;
  line[max] = '\0';
  char *cut = xasprintf("%s...", line);
  explicit_bzero(line, len);
  free(line);
  return cut;
}

/* "credential helper `docker-credential-NAME` failed to WHAT (exit status N):
 * its stderr; its stdout", SECRET masked. */
static int
helper_failed(const char *name, const char *what, const struct helper_output *res, const char *secret,
              struct oci_error **err)
{
  cleanup_free char *diag = one_line(res->diag, secret);
  cleanup_free char *out = one_line(res->out, secret);
  const char *sep = diag[0] && out[0] ? "; " : "";

  return oci_error_set(err, 0,
                       "credential helper `docker-credential-%s` failed to %s (exit status %d)%s%s%s%s", name,
                       what, res->status, diag[0] || out[0] ? ": " : "", diag, sep, out);
}

int
img_cred_helper_get(const char *name, const char *registry, struct img_credentials *out,
                    struct oci_error **err)
{
  cleanup_free char *key = img_auth_server_key(registry);
  cleanup_free char *prog = xasprintf("docker-credential-%s", name);
  cleanup_json_value struct json_value *doc = NULL;
  cleanup_helper_output struct helper_output res = { 0 };

  if (run_helper(name, "get", key, strlen(key), &res, err) < 0)
    return -1;
  if (res.status != 0)
    return 0;
  if (json_parse(prog, res.out, res.out_len, &doc, err) < 0)
    return oci_error_wrap(err, "credential helper `%s` answered", prog);
  const char *user = json_object_get_string(doc, "Username");
  const char *secret = json_object_get_string(doc, "Secret");
  if (secret == NULL || secret[0] == '\0')
    return 0;
  /* docker-credential-helpers: the username "<token>" marks an identity token. */
  if (user && strcmp(user, "<token>") == 0)
    out->identity_token = xstrdup(secret);
  else
    {
      out->username = xstrdup(user ? user : "");
      out->password = xstrdup(secret);
    }
  out->source = steal_pointer(&prog);
  return 1;
}

int
img_cred_helper_store(const char *name, const char *registry, const char *username, const char *password,
                      struct oci_error **err)
{
  cleanup_free char *key = img_auth_server_key(registry);
  cleanup_json_writer struct json_writer *w = json_writer_new(false);
  cleanup_helper_output struct helper_output res = { 0 };
  char *input = NULL;
  size_t len;
  int r;

  json_write_object_begin(w);
  json_write_member_string(w, "ServerURL", key);
  json_write_member_string(w, "Username", username);
  json_write_member_string(w, "Secret", password);
  json_write_object_end(w);
  if (json_writer_finish(w, &input, &len, err) < 0)
    return -1;
  /* Go's JSON encoder, and so docker, ends the document with a newline. */
  input = xrealloc(input, len + 2);
  input[len++] = '\n';
  input[len] = '\0';
  r = run_helper(name, "store", input, len, &res, err);
  explicit_bzero(input, len);
  free(input);
  if (r < 0)
    return -1;
  if (res.status != 0)
    return helper_failed(name, "store the credentials", &res, password, err);
  return 0;
}

int
img_cred_helper_erase(const char *name, const char *registry, struct oci_error **err)
{
  cleanup_free char *key = img_auth_server_key(registry);
  cleanup_free char *said = NULL;
  cleanup_helper_output struct helper_output res = { 0 };

  if (run_helper(name, "erase", key, strlen(key), &res, err) < 0)
    return -1;
  if (res.status == 0)
    return 1;
  /* docker-credential-helpers' answer for a server it does not know
   * (credentials.errCredentialsNotFoundMessage). */
  said = one_line(res.out, NULL);
  if (strcmp(said, "credentials not found in native keychain") == 0)
    return 0;
  return helper_failed(name, "erase the credentials", &res, NULL, err);
}
