/* oci_write_file_atomic: the file appears whole under its name, replaces
 * what was there (a symlink included, never followed), takes its mode, and
 * leaves no temporary file behind, whether it succeeds or fails. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spec/atomic-file.h"
#include "spec/util.h"
#include "tap.h"

static char tmpdir[] = "/tmp/test-atomic-file-XXXXXX";

static char *
slurp(int dirfd, const char *name)
{
  cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  char buf[256];
  ssize_t n;

  if (fd < 0)
    return NULL;
  n = oci_read_all(fd, buf, sizeof buf - 1);
  if (n < 0)
    return NULL;
  return xstrndup(buf, (size_t)n);
}

/* Entries of DIR other than . and .., counted. */
static int
count_entries(int dirfd, const char *dir)
{
  cleanup_closedir DIR *d = NULL;
  int fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct dirent *de;
  int n = 0;

  if (fd < 0 || (d = fdopendir(fd)) == NULL)
    return -1;
  while ((de = readdir(d)) != NULL)
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
      n++;
  return n;
}

static bool
contents_are(int dirfd, const char *name, const char *want)
{
  cleanup_free char *got = slurp(dirfd, name);
  return got && strcmp(got, want) == 0;
}

static void
test_levels(int dirfd)
{
  static const struct
  {
    enum oci_durability level;
    const char *name;
  } levels[] = {
    { OCI_NOT_DURABLE, "not durable" },
    { OCI_DURABLE_CONTENTS, "durable contents" },
    { OCI_DURABLE, "durable" },
  };

  for (size_t i = 0; i < OCI_ARRAY_SIZE(levels); i++)
    {
      struct oci_error *err = NULL;
      struct stat st;

      ok(oci_write_file_atomic(dirfd, "f", "first", 5, 0640, levels[i].level, &err) == 0 && err == NULL,
         "%s: a new file is written", levels[i].name);
      ok(contents_are(dirfd, "f", "first"), "%s: it holds the bytes", levels[i].name);
      ok(fstatat(dirfd, "f", &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & 07777) == 0640,
         "%s: it has the mode asked for", levels[i].name);
      ok(oci_write_file_atomic(dirfd, "f", "second", 6, 0640, levels[i].level, &err) == 0,
         "%s: an existing file is replaced", levels[i].name);
      ok(contents_are(dirfd, "f", "second"), "%s: the new bytes, not a mix", levels[i].name);
      ok(count_entries(dirfd, ".") == 1, "%s: no temporary file is left", levels[i].name);
      unlinkat(dirfd, "f", 0);
    }
}

static void
test_paths(int dirfd)
{
  struct oci_error *err = NULL;
  cleanup_free char *abs = xasprintf("%s/sub/abs", tmpdir);

  ok(mkdirat(dirfd, "sub", 0755) == 0, "mkdir sub");
  ok(oci_write_file_atomic(dirfd, "sub/rel", "r", 1, 0644, OCI_DURABLE, &err) == 0,
     "a path with a directory, relative to dirfd");
  ok(oci_write_file_atomic(AT_FDCWD, abs, "a", 1, 0644, OCI_DURABLE, &err) == 0,
     "an absolute path with AT_FDCWD");
  ok(contents_are(dirfd, "sub/rel", "r") && contents_are(dirfd, "sub/abs", "a"), "both written");
  ok(count_entries(dirfd, "sub") == 2, "the temporary files were in sub/, and are gone");
}

/* The name is replaced, not the file a symlink there points to. */
static void
test_symlink_replaced(int dirfd)
{
  struct oci_error *err = NULL;

  ok(oci_write_file_atomic(dirfd, "target", "keep", 4, 0644, OCI_NOT_DURABLE, &err) == 0, "target written");
  ok(symlinkat("target", dirfd, "link") == 0, "symlink link -> target");
  ok(oci_write_file_atomic(dirfd, "link", "new", 3, 0644, OCI_NOT_DURABLE, &err) == 0, "link replaced");
  ok(contents_are(dirfd, "target", "keep"), "the symlink's target is untouched");
  ok(contents_are(dirfd, "link", "new"), "link is now a file with the new bytes");
}

static void
test_failures(int dirfd)
{
  struct oci_error *err = NULL;
  cleanup_free char *msg = NULL;

  ok(oci_write_file_atomic(dirfd, "missing/f", "x", 1, 0644, OCI_DURABLE, &err) < 0 && err
         && err->status == ENOENT,
     "a missing directory: ENOENT");
  msg = err ? oci_error_string(err) : NULL;
  ok(msg && strstr(msg, "missing/.f.tmp-") && strstr(msg, "No such file or directory"),
     "the message names the file: %s", msg ? msg : "(none)");
  oci_error_free(err);
  err = NULL;

  /* rename(2) cannot put a file over a non-empty directory. */
  ok(mkdirat(dirfd, "full", 0755) == 0 && mkdirat(dirfd, "full/x", 0755) == 0, "a non-empty directory");
  ok(oci_write_file_atomic(dirfd, "full", "x", 1, 0644, OCI_DURABLE, &err) < 0 && err, "cannot replace it");
  oci_error_free(err);
  err = NULL;
  ok(count_entries(dirfd, "full") == 1, "the directory is untouched");
  ok(count_entries(dirfd, ".") == 1, "the temporary file was removed");
}

int
main(void)
{
  cleanup_close int dirfd = -1;
  cleanup_free char *cmd = NULL;

  umask(022);
  if (mkdtemp(tmpdir) == NULL || (dirfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    {
      perror("mkdtemp");
      return 1;
    }
  test_levels(dirfd);
  test_failures(dirfd);
  cmd = xasprintf("rm -rf %s/full", tmpdir);
  ok(system(cmd) == 0, "rm full");
  test_paths(dirfd);
  test_symlink_replaced(dirfd);
  free(cmd);
  cmd = xasprintf("rm -rf %s", tmpdir);
  if (system(cmd) != 0)
    return 1;
  return tap_done();
}
