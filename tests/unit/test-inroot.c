/* spec/inroot.c: the escapes that the security tests of ocirt
 * (tests/runtime/security.bats) and imgtool (tests/imgtool/local.bats,
 * tests/unit/test-layer.c) try, against the module itself, plus the one
 * path normaliser.  Every root is a directory with a sibling `outside`
 * that must stay untouched. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inroot.h"
#include "util.h"
#include "tap.h"

static char tmpdir[] = "/tmp/test-inroot-XXXXXX";
static char outside[PATH_MAX];

/* ---- helpers ---- */

static bool
exists_at(int dirfd, const char *path)
{
  struct stat st;
  return fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool
host_exists(const char *rel)
{
  cleanup_free char *p = xasprintf("%s/%s", outside, rel);
  struct stat st;
  return lstat(p, &st) == 0;
}

/* The first bytes of the file fd reads. */
static char *
slurp_fd(int fd)
{
  static char buf[64];
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = '\0';
  return buf;
}

static void
write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  if (f == NULL)
    abort();
  fputs(text, f);
  fclose(f);
}

/* A fresh root tmpdir/NAME with a file `secret` saying "inside" in its own
 * /outside, so that an escape and a clamped lookup are told apart. */
static int
new_root(const char *name)
{
  cleanup_free char *root = xasprintf("%s/%s", tmpdir, name);
  cleanup_free char *in = xasprintf("%s/outside", root);
  cleanup_free char *secret = xasprintf("%s/secret", in);
  if (mkdir(root, 0755) < 0 || mkdir(in, 0755) < 0)
    abort();
  write_file(secret, "inside");
  int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    abort();
  return fd;
}

static void
link_in(int rootfd, const char *target, const char *name)
{
  if (symlinkat(target, rootfd, name) < 0)
    abort();
}

static int
status_of(struct oci_error *err)
{
  return err ? err->status : 0;
}

/* ---- the normaliser ---- */

static bool
clean_is(const char *in, unsigned flags, const char *want)
{
  cleanup_free char *got = oci_path_clean(in, flags);
  bool same = got != NULL && strcmp(got, want) == 0;
  if (!same)
    printf("# clean(%s, %u) = %s, want %s\n", in, flags, got ? got : "(null)", want);
  return same;
}

static void
test_normaliser(void)
{
  ok(clean_is("", 0, "/") && clean_is("/", 0, "/") && clean_is("a//b/./c/", 0, "/a/b/c"),
     "absolute form: empty and `.` components dropped, `/` for the root");
  ok(clean_is("/../../etc", 0, "/etc") && clean_is("/a/b/../c", 0, "/a/c") && clean_is("a/..", 0, "/")
         && clean_is("/proc/../x", 0, "/x"),
     "`..` drops a component and is clamped at the root");
  ok(clean_is("...", 0, "/...") && clean_is("/a/..b/.c", 0, "/a/..b/.c"),
     "names that start with dots are kept");
  ok(clean_is("./etc/passwd", OCI_PATH_RELATIVE, "etc/passwd") && clean_is("/", OCI_PATH_RELATIVE, "")
         && clean_is("a/../b", OCI_PATH_RELATIVE, "b") && clean_is("/../a", OCI_PATH_RELATIVE, "a"),
     "relative form: no leading `/`, the root is \"\"");
  ok(clean_is("../x", OCI_PATH_KEEP_FORM, "x") && clean_is("/../x", OCI_PATH_KEEP_FORM, "/x")
         && clean_is("a/..", OCI_PATH_KEEP_FORM, "") && clean_is("/", OCI_PATH_KEEP_FORM, "/")
         && clean_is("a//b/", OCI_PATH_KEEP_FORM, "a/b"),
     "kept form: absolute exactly when the input is");

  struct oci_error *err = NULL;
  char buf[PATH_MAX];
  ok(oci_path_clean_into("../../etc/x", OCI_PATH_RELATIVE | OCI_PATH_NO_DOTDOT, buf, sizeof buf, &err) < 0
         && strcmp(err->msg, "path has a `..` component") == 0,
     "OCI_PATH_NO_DOTDOT refuses `..`: %s", err ? err->msg : "accepted");
  oci_error_free(err);
  err = NULL;
  ok(oci_path_clean_into("a/b/..", OCI_PATH_NO_DOTDOT, buf, sizeof buf, &err) < 0, "... also at the end");
  oci_error_free(err);
  err = NULL;
  ok(oci_path_clean("x/../y", OCI_PATH_NO_DOTDOT) == NULL, "the allocating form returns NULL when refused");
  ok(oci_path_clean_into("a/..b", OCI_PATH_RELATIVE | OCI_PATH_NO_DOTDOT, buf, sizeof buf, &err) == 0
         && strcmp(buf, "a/..b") == 0,
     "`..b` is a name, not `..`");

  char small[4];
  ok(oci_path_clean_into("abc", OCI_PATH_RELATIVE, small, sizeof small, &err) == 0
         && strcmp(small, "abc") == 0,
     "a result that just fits");
  ok(oci_path_clean_into("abcd", OCI_PATH_RELATIVE, small, sizeof small, &err) < 0
         && strcmp(err->msg, "path is too long") == 0,
     "one byte more is too long");
  oci_error_free(err);
  err = NULL;
  ok(oci_path_clean_into("a/bc", OCI_PATH_RELATIVE, small, sizeof small, &err) < 0, "the separator counts");
  oci_error_free(err);
}

/* ---- lookups ---- */

static void
test_open(void)
{
  struct oci_error *err = NULL;
  int root = new_root("open");
  cleanup_close int fd = -1;

  fd = oci_root_openat(root, "../../../../outside/secret", O_RDONLY, 0);
  ok(fd >= 0 && strcmp(slurp_fd(fd), "inside") == 0, "`..` above the root is clamped at it");
  close(steal_fd(&fd));

  cleanup_free char *abs = xasprintf("%s/secret", outside);
  link_in(root, abs, "abs");
  fd = oci_root_openat(root, "abs", O_RDONLY, 0);
  ok(fd < 0 && errno == ENOENT, "an absolute symlink to a host file resolves inside the root (ENOENT)");
  link_in(root, "/outside/secret", "abs-in");
  fd = oci_root_openat(root, "abs-in", O_RDONLY, 0);
  ok(fd >= 0 && strcmp(slurp_fd(fd), "inside") == 0, "an absolute symlink starts over at the root");
  close(steal_fd(&fd));

  /* chain1 -> chain2/secret, chain2 -> ../../../<tmpdir>/outside */
  cleanup_free char *up = xasprintf("../../../..%s", outside);
  link_in(root, "chain2/secret", "chain1");
  link_in(root, up, "chain2");
  fd = oci_root_openat(root, "chain1", O_RDONLY, 0);
  ok(fd < 0 && errno == ENOENT, "a symlink chain pointing out stays inside (ENOENT)");

  link_in(root, "loop2", "loop1");
  link_in(root, "loop1", "loop2");
  fd = oci_root_openat(root, "loop1", O_RDONLY, 0);
  ok(fd < 0 && errno == ELOOP, "a symlink loop is ELOOP");

  fd = oci_root_openat(root, "abs-in", O_RDONLY, OCI_ROOT_NO_SYMLINKS);
  ok(fd < 0 && errno == ELOOP, "OCI_ROOT_NO_SYMLINKS refuses any symlink");

  ok(oci_root_open(root, "missing", O_RDONLY, &err) < 0 && status_of(err) == ENOENT
         && strcmp(err->msg, "opening `missing` inside the root") == 0,
     "oci_root_open names the path: %s", err ? err->msg : "opened");
  oci_error_free(err);
  close(root);
}

/* The host's / as the root: /proc/self/root and /proc/self/fd/N are magic
 * links, refused even where they would lead back into the root. */
static void
test_magic_links(void)
{
  struct oci_error *err = NULL;
  cleanup_close int host = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int fd = oci_root_openat(host, "/proc/self/root/etc", O_PATH, 0);
  ok(fd < 0 && errno == ELOOP, "/proc/self/root is refused (ELOOP)");

  cleanup_close int probe = open("/", O_PATH | O_CLOEXEC);
  cleanup_free char *byfd = xasprintf("/proc/self/fd/%d", probe);
  int fd2 = oci_root_openat(host, byfd, O_PATH, 0);
  ok(fd2 < 0 && errno == ELOOP, "/proc/self/fd/N is refused (ELOOP)");
  if (fd2 >= 0)
    close(fd2);

  cleanup_free char *made = xasprintf("proc/self/root%s/magic-made", tmpdir);
  int r = oci_root_mkdir_p(host, made, 0755, 0, NULL, NULL, &err);
  cleanup_free char *where = xasprintf("%s/magic-made", tmpdir);
  ok(r < 0 && status_of(err) == ELOOP && access(where, F_OK) < 0,
     "mkdir -p through /proc/self/root creates nothing: %s", err ? err->msg : "created");
  oci_error_free(err);
  err = NULL;
  cleanup_free char *file = xasprintf("/proc/self/root%s/magic-file", tmpdir);
  r = oci_root_mkfile(host, file, 0644, &err);
  cleanup_free char *fwhere = xasprintf("%s/magic-file", tmpdir);
  ok(r < 0 && status_of(err) == ELOOP && access(fwhere, F_OK) < 0,
     "creating a file through /proc/self/root creates nothing: %s", err ? err->msg : "created");
  oci_error_free(err);
}

/* ---- mkdir -p ---- */

struct heard
{
  char paths[8][64];
  int n;
};

static void
hear(void *data, const char *path)
{
  struct heard *h = data;
  if (h->n < 8)
    snprintf(h->paths[h->n++], sizeof h->paths[0], "%s", path);
}

/* mkdir -p NAME/MADE where NAME -> TARGET leads to the host's `outside`:
 * true when MADE lands in the root's copy of that path and not outside. */
static bool
mkdir_through(int root, const char *target, const char *name, const char *made)
{
  struct oci_error *err = NULL;
  cleanup_free char *path = xasprintf("%s/%s", name, made);
  cleanup_free char *inner = xasprintf("%s/%s", outside + 1, made);

  link_in(root, target, name);
  int fd = oci_root_mkdir_p(root, path, 0755, 0, NULL, NULL, &err);
  oci_error_free(err);
  if (fd < 0)
    return false;
  close(fd);
  return !host_exists(made) && exists_at(root, inner);
}

static void
test_mkdir_p(void)
{
  struct oci_error *err = NULL;
  struct heard h = { 0 };
  int root = new_root("mkdir");
  int fd;

  fd = oci_root_mkdir_p(root, "/a//b/./c", 0700, 0, hear, &h, &err);
  struct stat st;
  ok(fd >= 0 && fstatat(root, "a/b/c", &st, 0) == 0 && S_ISDIR(st.st_mode), "mkdir -p makes every component");
  ok(h.n == 3 && strcmp(h.paths[0], "a") == 0 && strcmp(h.paths[1], "a/b") == 0
         && strcmp(h.paths[2], "a/b/c") == 0,
     "each directory made is heard of, relative to the root");
  ok(fstatat(root, "a/b", &st, 0) == 0 && (st.st_mode & 0777) == (0700 & ~umask(022)), "with the mode given");
  close(fd);
  h.n = 0;
  fd = oci_root_mkdir_p(root, "a/b", 0755, 0, hear, &h, &err);
  ok(fd >= 0 && h.n == 0, "an existing directory is opened, nothing heard");
  close(fd);

  /* Only the last component missing: made in its parent (mkdir_last). */
  h.n = 0;
  fd = oci_root_mkdir_p(root, "/a//b/./d", 0700, 0, hear, &h, &err);
  ok(fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && exists_at(root, "a/b/d") && h.n == 1
         && strcmp(h.paths[0], "a/b/d") == 0,
     "a missing last component is made, heard of once as the walk spells it, and opened");
  close(fd);
  link_in(root, "/last-target", "a/b/dl3");
  h.n = 0;
  fd = oci_root_mkdir_p(root, "a/b/dl3", 0755, 0, hear, &h, &err);
  ok(fd >= 0 && exists_at(root, "last-target") && !host_exists("last-target") && h.n == 1,
     "a dangling symlink as the last component: its target is made inside the root");
  close(fd);
  fd = oci_root_mkdir_p(root, "a/b/../g", 0755, 0, NULL, NULL, &err);
  ok(fd >= 0 && exists_at(root, "a/g"), "`..` before the last component is the kernel's to resolve");
  close(fd);

  fd = oci_root_mkdir_p(root, "../../../x/y", 0755, 0, NULL, NULL, &err);
  ok(fd >= 0 && exists_at(root, "x/y") && !host_exists("../x"),
     "`..` above the root is clamped while creating");
  close(fd);

  /* mkdir -p through a symlink to outside: absolute, then relative. */
  ok(mkdir_through(root, outside, "esc", "made"),
     "mkdir -p through an absolute symlink to outside creates inside the root");
  cleanup_free char *up = xasprintf("../../../../../..%s", outside);
  ok(mkdir_through(root, up, "up", "made2"),
     "mkdir -p through a relative symlink full of `..` creates inside the root");

  /* A dangling symlink: its target is created inside the root, or refused. */
  link_in(root, "/dangling/target", "dl");
  h.n = 0;
  fd = oci_root_mkdir_p(root, "dl/sub", 0755, OCI_ROOT_NO_DANGLING, hear, &h, &err);
  ok(fd < 0 && status_of(err) == ENOENT && !exists_at(root, "dangling") && h.n == 0,
     "OCI_ROOT_NO_DANGLING: a dangling symlink on the way is refused: %s", err ? err->msg : "created");
  oci_error_free(err);
  err = NULL;
  fd = oci_root_mkdir_p(root, "dl/sub", 0755, 0, NULL, NULL, &err);
  ok(fd >= 0 && exists_at(root, "dangling/target/sub"), "otherwise its target is created inside the root");
  close(fd);

  link_in(root, "/", "to-root");
  fd = oci_root_mkdir_p(root, "to-root/s", 0755, OCI_ROOT_NO_SYMLINKS, NULL, NULL, &err);
  ok(fd < 0 && status_of(err) == ELOOP && !exists_at(root, "s"), "OCI_ROOT_NO_SYMLINKS: a symlink is ELOOP");
  oci_error_free(err);
  err = NULL;
  link_in(root, "/nowhere", "dl2");
  fd = oci_root_mkdir_p(root, "dl2", 0755, OCI_ROOT_NO_SYMLINKS, NULL, NULL, &err);
  ok(fd < 0 && status_of(err) == ELOOP && !exists_at(root, "nowhere"), "... a dangling one too");
  oci_error_free(err);
  err = NULL;

  link_in(root, "l2/x", "l1");
  link_in(root, "l1/x", "l2");
  fd = oci_root_mkdir_p(root, "l1/sub", 0755, 0, NULL, NULL, &err);
  ok(fd < 0 && status_of(err) == ELOOP, "a symlink loop on the way is ELOOP: %s", err ? err->msg : "created");
  oci_error_free(err);
  err = NULL;

  if (mknodat(root, "file", S_IFREG | 0644, 0) < 0)
    abort();
  fd = oci_root_mkdir_p(root, "file/sub", 0755, 0, NULL, NULL, &err);
  ok(fd < 0 && status_of(err) == ENOTDIR, "a file on the way is ENOTDIR");
  oci_error_free(err);
  close(root);
}

/* ---- create a file ---- */

static void
test_mkfile(void)
{
  struct oci_error *err = NULL;
  int root = new_root("mkfile");
  struct stat st;
  int fd;

  fd = oci_root_mkfile(root, "/d/e/f", 0600, &err);
  ok(fd >= 0 && fstatat(root, "d/e/f", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)
         && (st.st_mode & 0777) == (0600 & ~umask(022)),
     "an empty file, its parents made");
  close(fd);
  fd = oci_root_mkfile(root, "outside/secret", 0600, &err);
  ok(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 6, "what exists is opened, not truncated");
  close(fd);

  /* A dangling symlink pointing out: absolute and relative. */
  cleanup_free char *abs = xasprintf("%s/planted", outside);
  link_in(root, abs, "df");
  fd = oci_root_mkfile(root, "df", 0644, &err);
  cleanup_free char *inner = xasprintf("%s/planted", outside + 1);
  ok(fd >= 0 && !host_exists("planted") && exists_at(root, inner),
     "a file through an absolute dangling symlink is created inside the root");
  close(fd);
  link_in(root, "../../../outside/planted2", "df2");
  fd = oci_root_mkfile(root, "df2", 0644, &err);
  ok(fd >= 0 && !host_exists("planted2") && exists_at(root, "outside/planted2"),
     "a file through a relative dangling symlink full of `..` is created inside the root");
  close(fd);
  cleanup_free char *dir_out = xasprintf("%s/pdir/planted3", outside);
  link_in(root, dir_out, "df3");
  fd = oci_root_mkfile(root, "df3", 0644, &err);
  ok(fd >= 0 && !host_exists("pdir"), "... and its missing parents too");
  close(fd);

  link_in(root, "f2", "f1");
  link_in(root, "f1", "f2");
  fd = oci_root_mkfile(root, "f1", 0644, &err);
  ok(fd < 0 && status_of(err) == ELOOP, "a symlink loop at the last component is ELOOP");
  oci_error_free(err);
  err = NULL;

  fd = oci_root_mkfile(root, "/", 0644, &err);
  ok(fd >= 0, "the root itself exists: opened");
  close(fd);
  fd = oci_root_mkfile(root, "nope/..", 0644, &err);
  ok(fd < 0 && err && strcmp(err->msg, "`nope/..` does not name a file") == 0,
     "a path ending in `..` that is missing names no file: %s", err ? err->msg : "created");
  oci_error_free(err);
  close(root);
}

static void
test_readlink(void)
{
  int root = new_root("readlink");
  cleanup_free char *longest = xmalloc(PATH_MAX);
  memset(longest, 'x', PATH_MAX - 1);
  longest[PATH_MAX - 1] = '\0';
  link_in(root, longest, "long");
  cleanup_free char *got = oci_readlinkat(root, "long");
  ok(got != NULL && strlen(got) == PATH_MAX - 1, "the longest target is read whole");
  errno = 0;
  ok(oci_readlinkat(root, "outside") == NULL && errno == EINVAL, "no symlink: NULL, EINVAL");
  close(root);
}

static void
cleanup_tmpdir(void)
{
  cleanup_free char *cmd = xasprintf("rm -rf '%s'", tmpdir);
  if (system(cmd) != 0)
    printf("# could not remove %s\n", tmpdir);
}

int
main(void)
{
  if (mkdtemp(tmpdir) == NULL)
    abort();
  snprintf(outside, sizeof outside, "%s/outside", tmpdir);
  if (mkdir(outside, 0755) < 0)
    abort();
  umask(022);

  test_normaliser();
  test_open();
  test_magic_links();
  test_mkdir_p();
  test_mkfile();
  test_readlink();

  cleanup_tmpdir();
  return tap_done();
}
