/* Layer application: changeset semantics (whiteouts, opaque dirs, hardlinks,
 * modes, owners) and safety (escapes refused or kept inside the rootfs,
 * digests verified).  Layers are built in memory with libarchive's writer. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "imgtool/digest.h"
#include "imgtool/layer.h"
#include "spec/util.h"
#include "tap.h"

/* ---- building layers ---- */

struct layer
{
  struct archive *a;
  char *buf;
  size_t cap;
  size_t used;
};

/* Layers' buffers, freed at the end (tests copy layers and share them). */
static char *buffers[64];
static size_t buffers_len;

static char *
layer_buffer(size_t size)
{
  if (buffers_len == sizeof buffers / sizeof *buffers)
    abort();
  return buffers[buffers_len++] = xmalloc(size);
}

static void
layer_begin(struct layer *l, const char *compression)
{
  l->cap = 8 << 20;
  l->buf = layer_buffer(l->cap);
  l->a = archive_write_new();
  archive_write_set_format_pax_restricted(l->a);
  if (strcmp(compression, "gzip") == 0)
    archive_write_add_filter_gzip(l->a);
  else if (strcmp(compression, "zstd") == 0)
    archive_write_add_filter_zstd(l->a);
  else if (strcmp(compression, "xz") == 0)
    archive_write_add_filter_xz(l->a);
  archive_write_set_bytes_in_last_block(l->a, 1);
  if (archive_write_open_memory(l->a, l->buf, l->cap, &l->used) != ARCHIVE_OK)
    abort();
}

static void
add(struct layer *l, const char *path, mode_t type, mode_t perm, const char *data_or_target,
    const char *hardlink)
{
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, path);
  archive_entry_set_mtime(e, 1000000000, 0);
  archive_entry_set_uid(e, 0);
  archive_entry_set_gid(e, 0);
  if (hardlink)
    {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_hardlink(e, hardlink);
      archive_entry_set_size(e, 0);
    }
  else
    {
      archive_entry_set_filetype(e, type);
      archive_entry_set_perm(e, perm);
      if (type == AE_IFLNK)
        archive_entry_set_symlink(e, data_or_target);
      if (type == AE_IFREG)
        archive_entry_set_size(e, data_or_target ? strlen(data_or_target) : 0);
      if (type == AE_IFCHR)
        archive_entry_set_rdev(e, makedev(1, 3));
    }
  if (archive_write_header(l->a, e) != ARCHIVE_OK)
    abort();
  if (type == AE_IFREG && !hardlink && data_or_target)
    archive_write_data(l->a, data_or_target, strlen(data_or_target));
  archive_entry_free(e);
}

static void
add_owned(struct layer *l, const char *path, uid_t uid, gid_t gid, mode_t perm, const char *data)
{
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, path);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, perm);
  archive_entry_set_uid(e, uid);
  archive_entry_set_gid(e, gid);
  archive_entry_set_mtime(e, 1234567890, 0);
  archive_entry_set_size(e, strlen(data));
  archive_write_header(l->a, e);
  archive_write_data(l->a, data, strlen(data));
  archive_entry_free(e);
}

static void
add_data(struct layer *l, const char *path, mode_t perm, const char *data, size_t len)
{
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, path);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, perm);
  archive_entry_set_mtime(e, 1000000000, 0);
  archive_entry_set_size(e, len);
  if (archive_write_header(l->a, e) != ARCHIVE_OK)
    abort();
  archive_write_data(l->a, data, len);
  archive_entry_free(e);
}

static void
layer_end(struct layer *l)
{
  archive_write_close(l->a);
  archive_write_free(l->a);
}

/* ---- helpers ---- */

static char tmpdir[] = "/tmp/test-layer-XXXXXX";
static char *warnings;

static void
collect_warning(void *data, const char *msg)
{
  char *old = warnings;
  warnings = xasprintf("%s%s\n", old ? old : "", msg);
  free(old);
}

struct mem
{
  const char *buf;
  size_t len;
  bool done;
};

static ssize_t
mem_read(void *data, const void **buf, struct oci_error **err)
{
  struct mem *m = data;
  if (m->done)
    return 0;
  m->done = true;
  *buf = m->buf;
  return m->len;
}

static int
apply_opts(int rootfd, struct layer *l, struct img_layer_opts *o, char **msg)
{
  cleanup_error struct oci_error *err = NULL;
  struct mem m = { l->buf, l->used, false };
  int r = img_layer_apply(rootfd, mem_read, &m, o, NULL, &err);
  if (msg)
    *msg = r < 0 ? oci_error_string(err) : NULL;
  return r;
}

static int
apply(int rootfd, struct layer *l, char **msg)
{
  struct img_layer_opts o = { .name = "test", .privileged = img_layer_privileged(), .warn = collect_warning };
  return apply_opts(rootfd, l, &o, msg);
}

static int
new_root(const char *name)
{
  cleanup_free char *p = xasprintf("%s/%s", tmpdir, name);
  if (mkdir(p, 0755) < 0)
    abort();
  return open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static bool
exists(int rootfd, const char *p)
{
  struct stat st;
  return fstatat(rootfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static char *
slurp(int rootfd, const char *p)
{
  static char buf[4096];
  int fd = openat(rootfd, p, O_RDONLY | O_NOFOLLOW);
  if (fd < 0)
    return NULL;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n < 0 ? 0 : n] = '\0';
  return buf;
}

static void
digest_of(const void *buf, size_t len, char out[IMG_DIGEST_LEN])
{
  img_sha256_digest(buf, len, out);
}

/* ---- tests ---- */

static void
test_basic(void)
{
  struct layer l;
  struct stat st;
  int root = new_root("basic");
  layer_begin(&l, "gzip");
  add(&l, "./", AE_IFDIR, 0755, NULL, NULL);
  add(&l, "bin/", AE_IFDIR, 0755, NULL, NULL);
  add(&l, "bin/hello", AE_IFREG, 0755, "hello world\n", NULL);
  add(&l, "bin/hi", 0, 0, NULL, "bin/hello");
  add(&l, "bin/sh", AE_IFLNK, 0777, "/bin/hello", NULL);
  add(&l, "usr/bin/su", AE_IFREG, 04755, "su\n", NULL); /* parents not listed */
  add(&l, "ro/", AE_IFDIR, 0555, NULL, NULL);
  add(&l, "ro/file", AE_IFREG, 0444, "x", NULL);
  add(&l, "sticky/", AE_IFDIR, 01777, NULL, NULL);
  add(&l, "dev/null", AE_IFCHR, 0666, NULL, NULL);
  add_owned(&l, "home/user/file", 1000, 1000, 0640, "mine\n");
  layer_end(&l);

  char *msg = NULL;
  ok(apply(root, &l, &msg) == 0, "basic layer applies%s%s", msg ? ": " : "", msg ? msg : "");
  ok(slurp(root, "bin/hello") && strcmp(slurp(root, "bin/hello"), "hello world\n") == 0, "file content");
  struct stat a, b;
  ok(fstatat(root, "bin/hello", &a, 0) == 0 && fstatat(root, "bin/hi", &b, 0) == 0 && a.st_ino == b.st_ino
         && a.st_nlink == 2,
     "hardlink shares the inode");
  char target[64] = "";
  ssize_t n = readlinkat(root, "bin/sh", target, sizeof target - 1);
  ok(n > 0 && (target[n] = '\0', strcmp(target, "/bin/hello") == 0), "symlink target kept verbatim");
  ok(fstatat(root, "usr/bin/su", &st, 0) == 0 && (st.st_mode & 07777) == 04755, "setuid bit kept (mode %o)",
     st.st_mode & 07777);
  ok(fstatat(root, "ro", &st, 0) == 0 && (st.st_mode & 07777) == 0555, "read-only dir mode applied last");
  ok(exists(root, "ro/file"), "file inside a read-only dir");
  ok(fstatat(root, "sticky", &st, 0) == 0 && (st.st_mode & 07777) == 01777, "sticky dir");
  ok(fstatat(root, "bin/hello", &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime == 1000000000, "file mtime");
  ok(fstatat(root, "ro", &st, 0) == 0 && st.st_mtime == 1000000000, "dir mtime set after its children");
  if (img_layer_privileged())
    {
      ok(fstatat(root, "home/user/file", &st, 0) == 0 && st.st_uid == 1000 && st.st_gid == 1000
             && (st.st_mode & 07777) == 0640,
         "non-root owner applied");
      ok(fstatat(root, "dev/null", &st, 0) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3),
         "device node created as root");
    }
  else
    {
      ok(warnings && strstr(warnings, "dev/null") && strstr(warnings, "device node skipped"),
         "device node skipped with a warning");
      ok(!exists(root, "dev/null"), "no device node unprivileged");
    }
  close(root);
}

static void
test_device_unprivileged(void)
{
  struct layer l;
  int root = new_root("nodev");
  free(warnings);
  warnings = NULL;
  layer_begin(&l, "none");
  add(&l, "dev/null", AE_IFCHR, 0666, NULL, NULL);
  add(&l, "fifo", AE_IFIFO, 0600, NULL, NULL);
  layer_end(&l);
  struct img_layer_opts o = { .name = "nodev", .privileged = false, .warn = collect_warning };
  ok(apply_opts(root, &l, &o, NULL) == 0, "layer with a device applies unprivileged");
  ok(!exists(root, "dev/null") && warnings && strstr(warnings, "`dev/null`: device node skipped"),
     "device skipped with a warning naming it");
  struct stat st;
  ok(fstatat(root, "fifo", &st, 0) == 0 && S_ISFIFO(st.st_mode), "fifo created without privileges");
  close(root);
}

static void
test_whiteouts(void)
{
  struct layer lower, upper;
  int root = new_root("wh");
  layer_begin(&lower, "none");
  add(&lower, "a/x", AE_IFREG, 0644, "x", NULL);
  add(&lower, "a/y", AE_IFREG, 0644, "y", NULL);
  add(&lower, "a/sub/z", AE_IFREG, 0644, "z", NULL);
  add(&lower, "b/deep/file", AE_IFREG, 0644, "b", NULL);
  add(&lower, "c", AE_IFREG, 0644, "c", NULL);
  add(&lower, "keep", AE_IFREG, 0644, "k", NULL);
  layer_end(&lower);
  ok(apply(root, &lower, NULL) == 0, "lower layer");

  layer_begin(&upper, "gzip");
  add(&upper, "a/new", AE_IFREG, 0644, "new", NULL);
  /* Opaque after a file of the same layer: that file must survive. */
  add(&upper, "a/.wh..wh..opq", AE_IFREG, 0644, "", NULL);
  add(&upper, ".wh.b", AE_IFREG, 0644, "", NULL);
  add(&upper, "c2", AE_IFREG, 0644, "c2", NULL);
  add(&upper, ".wh.c2", AE_IFREG, 0644, "", NULL); /* same layer: not hidden */
  add(&upper, ".wh.c", AE_IFREG, 0644, "", NULL);
  add(&upper, ".wh.missing", AE_IFREG, 0644, "", NULL);
  add(&upper, ".wh..wh.plnk/123", AE_IFREG, 0644, "", NULL);
  layer_end(&upper);
  char *msg = NULL;
  ok(apply(root, &upper, &msg) == 0, "upper layer with whiteouts%s%s", msg ? ": " : "", msg ? msg : "");
  ok(exists(root, "a/new"), "opaque keeps this layer's entry listed before it");
  ok(!exists(root, "a/x") && !exists(root, "a/y") && !exists(root, "a/sub"), "opaque hides lower children");
  ok(!exists(root, "b"), "whiteout removes a lower directory tree");
  ok(!exists(root, "c"), "whiteout removes a lower file");
  ok(exists(root, "c2"), "whiteout does not hide a same-layer entry");
  ok(exists(root, "keep"), "unrelated file kept");
  ok(!exists(root, ".wh.b") && !exists(root, "a/.wh..wh..opq") && !exists(root, ".wh..wh.plnk"),
     "whiteout files are not created");
  close(root);
}

static void
test_replace(void)
{
  struct layer lower, upper;
  int root = new_root("replace");
  layer_begin(&lower, "none");
  add(&lower, "d/f", AE_IFREG, 0644, "f", NULL);
  add(&lower, "f", AE_IFREG, 0644, "old", NULL);
  add(&lower, "l", AE_IFLNK, 0777, "f", NULL);
  layer_end(&lower);
  apply(root, &lower, NULL);
  layer_begin(&upper, "none");
  add(&upper, "d", AE_IFREG, 0644, "now a file", NULL);
  add(&upper, "f", AE_IFDIR, 0700, NULL, NULL);
  add(&upper, "l", AE_IFREG, 0644, "not a link", NULL);
  layer_end(&upper);
  ok(apply(root, &upper, NULL) == 0, "type changes apply");
  struct stat st;
  ok(fstatat(root, "d", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode), "dir replaced by file");
  ok(fstatat(root, "f", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode), "file replaced by dir");
  ok(fstatat(root, "l", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode),
     "symlink replaced, not followed");
  ok(strcmp(slurp(root, "l"), "not a link") == 0 && fstatat(root, "f", &st, AT_SYMLINK_NOFOLLOW) == 0
         && S_ISDIR(st.st_mode),
     "writing through the old symlink did not touch its target");
  close(root);
}

/* A layer must never write outside rootfs: `outside` is a sibling of it. */
static void
test_escapes(void)
{
  char *msg = NULL;
  cleanup_free char *outside = xasprintf("%s/outside", tmpdir);
  mkdir(outside, 0755);
  int out = open(outside, O_RDONLY | O_DIRECTORY);

  struct layer l1;
  int root = new_root("esc1");
  layer_begin(&l1, "none");
  add(&l1, "../outside/pwned", AE_IFREG, 0644, "x", NULL);
  layer_end(&l1);
  ok(apply(root, &l1, &msg) < 0 && strstr(msg, "entry `../outside/pwned`") && strstr(msg, ".."),
     "`..` path refused, naming the entry: %s", msg);
  free(msg);

  /* An absolute symlink, then a file through it: RESOLVE_IN_ROOT keeps it
   * inside (the link resolves to rootfs/<outside>). */
  struct layer l2;
  int root2 = new_root("esc2");
  cleanup_free char *abs_target = xasprintf("%s", outside);
  layer_begin(&l2, "none");
  add(&l2, "evil", AE_IFLNK, 0777, abs_target, NULL);
  add(&l2, "evil/pwned", AE_IFREG, 0644, "x", NULL);
  layer_end(&l2);
  int r = apply(root2, &l2, &msg);
  ok(!exists(out, "pwned"), "absolute symlink parent does not escape (%s)", r < 0 ? msg : "kept inside");
  if (r < 0)
    ok(strstr(msg, "entry `evil/pwned`") != NULL, "error names the entry: %s", msg);
  else
    ok(exists(root2, abs_target + 1), "file landed inside the rootfs");
  free(msg);

  /* A relative symlink full of `..`, then a file through it. */
  struct layer l3;
  int root3 = new_root("esc3");
  layer_begin(&l3, "none");
  add(&l3, "up", AE_IFLNK, 0777, "../../../../../../../../../..", NULL);
  add(&l3, "up/tmp/pwned3", AE_IFREG, 0644, "x", NULL);
  layer_end(&l3);
  r = apply(root3, &l3, &msg);
  ok(r == 0 && exists(root3, "tmp/pwned3") && access("/tmp/pwned3", F_OK) < 0,
     "`..` symlink parent is clamped at the rootfs");
  free(msg);

  /* Hardlinks to host files. */
  struct layer l4;
  int root4 = new_root("esc4");
  layer_begin(&l4, "none");
  add(&l4, "passwd", 0, 0, NULL, "/etc/passwd");
  layer_end(&l4);
  r = apply(root4, &l4, &msg);
  struct stat host, st;
  stat("/etc/passwd", &host);
  ok(r < 0 && strstr(msg, "entry `passwd`") && strstr(msg, "hardlink target `/etc/passwd`"),
     "hardlink to a host file refused: %s", msg);
  ok(fstatat(root4, "passwd", &st, 0) < 0 || st.st_ino != host.st_ino, "no link to the host file");
  free(msg);

  struct layer l5;
  int root5 = new_root("esc5");
  layer_begin(&l5, "none");
  add(&l5, "passwd", 0, 0, NULL, "../../../../etc/passwd");
  layer_end(&l5);
  ok(apply(root5, &l5, &msg) < 0 && strstr(msg, ".."), "hardlink with `..` refused: %s", msg);
  free(msg);

  /* Hardlink through a symlinked directory pointing out. */
  struct layer l6;
  int root6 = new_root("esc6");
  layer_begin(&l6, "none");
  add(&l6, "etcdir", AE_IFLNK, 0777, "/etc", NULL);
  add(&l6, "passwd", 0, 0, NULL, "etcdir/passwd");
  layer_end(&l6);
  r = apply(root6, &l6, &msg);
  ok(r < 0 && (fstatat(root6, "passwd", &st, 0) < 0 || st.st_ino != host.st_ino),
     "hardlink through an absolute symlink stays inside: %s", msg ? msg : "");
  free(msg);

  struct layer l7;
  int root7 = new_root("esc7");
  layer_begin(&l7, "none");
  add(&l7, ".wh...", AE_IFREG, 0644, "", NULL);
  layer_end(&l7);
  ok(apply(root7, &l7, &msg) < 0 && strstr(msg, "invalid whiteout"), "whiteout of `..` refused: %s", msg);
  free(msg);

  DIR *d = fdopendir(dup(out));
  int count = 0;
  struct dirent *de;
  while ((de = readdir(d)))
    count += de->d_name[0] != '.';
  closedir(d);
  ok(count == 0, "nothing was written next to the rootfs");
  close(out);
  close(root);
  close(root2);
  close(root3);
  close(root4);
  close(root5);
  close(root6);
  close(root7);
}

static void
test_digests(void)
{
  char *msg = NULL;
  char digest[IMG_DIGEST_LEN], wrong[IMG_DIGEST_LEN];
  struct layer l, plain;

  layer_begin(&plain, "none");
  add(&plain, "f", AE_IFREG, 0644, "data", NULL);
  layer_end(&plain);
  char diff_id[IMG_DIGEST_LEN];
  digest_of(plain.buf, plain.used, diff_id);

  layer_begin(&l, "gzip");
  add(&l, "f", AE_IFREG, 0644, "data", NULL);
  layer_end(&l);
  digest_of(l.buf, l.used, digest);
  digest_of("nope", 4, wrong);

  struct img_layer_opts o = { .name = "L", .diff_id = diff_id, .digest = digest };
  int root = new_root("dig1");
  ok(apply_opts(root, &l, &o, &msg) == 0, "matching digest and diff_id%s%s", msg ? ": " : "", msg ? msg : "");
  free(msg);

  o.diff_id = wrong;
  int root2 = new_root("dig2");
  ok(apply_opts(root2, &l, &o, &msg) < 0 && strstr(msg, "layer L: diff_id mismatch: expected sha256:"),
     "diff_id mismatch: %s", msg);
  free(msg);

  o.diff_id = diff_id;
  o.digest = wrong;
  int root3 = new_root("dig3");
  ok(apply_opts(root3, &l, &o, &msg) < 0 && strstr(msg, "digest mismatch: expected"), "digest mismatch: %s",
     msg);
  free(msg);

  /* Corrupt the deflate stream in the middle. */
  struct layer bad = l;
  bad.buf = layer_buffer(l.used);
  memcpy(bad.buf, l.buf, l.used);
  for (size_t i = 12; i < bad.used - 8; i++)
    bad.buf[i] ^= 0x5a;
  int root4 = new_root("dig4");
  ok(apply(root4, &bad, &msg) < 0 && strstr(msg, "layer test"), "corrupt gzip refused: %s", msg);
  free(msg);

  /* Truncated. */
  struct layer cut = l;
  cut.used = l.used / 2;
  int root5 = new_root("dig5");
  ok(apply(root5, &cut, &msg) < 0, "truncated gzip refused: %s", msg);
  free(msg);

  struct layer x;
  layer_begin(&x, "xz");
  add(&x, "f", AE_IFREG, 0644, "data", NULL);
  layer_end(&x);
  int root6 = new_root("dig6");
  ok(apply(root6, &x, &msg) < 0 && strstr(msg, "not supported: xz compression"), "xz refused: %s", msg);
  free(msg);

  struct layer z;
  layer_begin(&z, "zstd");
  add(&z, "zfile", AE_IFREG, 0644, "zstd data", NULL);
  layer_end(&z);
  o.digest = NULL;
  o.diff_id = NULL;
  int root7 = new_root("dig7");
  ok(apply_opts(root7, &z, &o, &msg) == 0 && strcmp(slurp(root7, "zfile"), "zstd data") == 0,
     "zstd layer%s%s", msg ? ": " : "", msg ? msg : "");
  free(msg);
  close(root);
  close(root2);
  close(root3);
  close(root4);
  close(root5);
  close(root6);

  /* From a file, read and hashed ahead by a thread of its own. */
  cleanup_free char *blob = xasprintf("%s/blob", tmpdir);
  cleanup_close int bfd = open(blob, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ok(bfd >= 0 && write(bfd, l.buf, l.used) == (ssize_t)l.used, "blob written to a file");
  cleanup_error struct oci_error *e = NULL;
  o.diff_id = diff_id;
  o.digest = digest;
  int root8 = new_root("dig8");
  lseek(bfd, 0, SEEK_SET);
  ok(img_layer_apply_fd(root8, bfd, &o, NULL, &e) == 0 && strcmp(slurp(root8, "f"), "data") == 0,
     "a blob read from its file, digest and diff_id checked");
  o.digest = wrong;
  int root9 = new_root("dig9");
  lseek(bfd, 0, SEEK_SET);
  ok(img_layer_apply_fd(root9, bfd, &o, NULL, &e) < 0 && strstr(e->msg, "digest mismatch: expected"),
     "a file that is not its digest: %s", e ? e->msg : "(no error)");
  close(root8);
  close(root9);
  close(root7);
}

/* Files are written by a thread of their own: big files in pieces, more
 * files than it keeps open at once, attributes after the data, and its
 * failures named after their entry. */
static void
test_file_writer(void)
{
  char *msg = NULL;
  struct stat st;
  size_t big_len = (3u << 20) + 12345;
  char *big = xmalloc(big_len);
  for (size_t i = 0; i < big_len; i++)
    big[i] = (char)(i * 2654435761u >> 13);

  struct layer l;
  layer_begin(&l, "gzip");
  add_data(&l, "big", 0644, big, big_len);
  for (int i = 0; i < 300; i++)
    {
      char name[32], data[32];
      snprintf(name, sizeof name, "many/f%03d", i);
      snprintf(data, sizeof data, "file %d\n", i);
      add_data(&l, name, 0640, data, strlen(data));
    }
  add_data(&l, "wide", 0666, "w", 1);
  add_data(&l, "empty", 0600, "", 0);
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, "attr");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 04755);
  archive_entry_set_size(e, 4);
  archive_entry_xattr_add_entry(e, "user.test", "value", 5);
  archive_write_header(l.a, e);
  archive_write_data(l.a, "attr", 4);
  archive_entry_free(e);
  layer_end(&l);

  int root = new_root("writer");
  ok(apply(root, &l, &msg) == 0, "layer of many and big files applies%s%s", msg ? ": " : "", msg ? msg : "");
  free(msg);
  int fd = openat(root, "big", O_RDONLY);
  char *got = xmalloc(big_len + 1);
  ssize_t n = fd >= 0 ? read(fd, got, big_len + 1) : -1;
  ok(n == (ssize_t)big_len && memcmp(got, big, big_len) == 0,
     "a file of several pieces arrives whole (%zd bytes)", n);
  if (fd >= 0)
    close(fd);
  free(got);
  int good = 0;
  for (int i = 0; i < 300; i++)
    {
      char name[32], data[32];
      snprintf(name, sizeof name, "many/f%03d", i);
      snprintf(data, sizeof data, "file %d\n", i);
      const char *c = slurp(root, name);
      good += c && strcmp(c, data) == 0 && fstatat(root, name, &st, 0) == 0 && (st.st_mode & 07777) == 0640
              && st.st_mtime == 1000000000;
    }
  ok(good == 300, "300 small files with content, mode and mtime (%d right)", good);
  ok(fstatat(root, "wide", &st, 0) == 0 && (st.st_mode & 07777) == 0666, "mode beyond the umask set (%o)",
     st.st_mode & 07777);
  ok(fstatat(root, "empty", &st, 0) == 0 && st.st_size == 0 && (st.st_mode & 07777) == 0600, "empty file");
  char value[16] = "";
  int afd = openat(root, "attr", O_RDONLY);
  ok(afd >= 0 && fgetxattr(afd, "user.test", value, sizeof value) == 5 && memcmp(value, "value", 5) == 0,
     "xattr set after the data");
  ok(fstatat(root, "attr", &st, 0) == 0 && (st.st_mode & 07777) == 04755, "setuid kept after the write (%o)",
     st.st_mode & 07777);
  if (afd >= 0)
    close(afd);

  if (img_layer_privileged())
    {
      /* A setgid directory from a lower layer hands its group to new
       * files: a root:root file in it still needs its chown. */
      struct layer lower, upper;
      layer_begin(&lower, "none");
      struct archive_entry *d = archive_entry_new();
      archive_entry_set_pathname(d, "shared");
      archive_entry_set_filetype(d, AE_IFDIR);
      archive_entry_set_perm(d, 02775);
      archive_entry_set_gid(d, 50);
      archive_write_header(lower.a, d);
      archive_entry_free(d);
      layer_end(&lower);
      layer_begin(&upper, "none");
      add_owned(&upper, "shared/rootfile", 0, 0, 0644, "r");
      add_owned(&upper, "shared/staff", 0, 50, 0644, "s");
      layer_end(&upper);
      int root2 = new_root("setgid");
      ok(apply(root2, &lower, NULL) == 0 && apply(root2, &upper, &msg) == 0, "setgid parent layers apply%s%s",
         msg ? ": " : "", msg ? msg : "");
      free(msg);
      ok(fstatat(root2, "shared/rootfile", &st, 0) == 0 && st.st_gid == 0,
         "file in a setgid dir gets the group the layer says (%u)", (unsigned)st.st_gid);
      ok(fstatat(root2, "shared/staff", &st, 0) == 0 && st.st_gid == 50,
         "and the inherited one when it says so");
      close(root2);
    }
  else
    tap_skip(2, "setgid inheritance needs root");

  /* A write the kernel refuses: the error names the file. */
  struct rlimit old, small = { 1 << 20, 1 << 20 };
  getrlimit(RLIMIT_FSIZE, &old);
  small.rlim_max = old.rlim_max;
  signal(SIGXFSZ, SIG_IGN);
  setrlimit(RLIMIT_FSIZE, &small);
  int root3 = new_root("efbig");
  int r = apply(root3, &l, &msg);
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, SIG_DFL);
  ok(r < 0 && msg && strstr(msg, "entry `big`: write") && strstr(msg, "File too large"),
     "a failed write names its entry: %s", msg ? msg : "(no error)");
  free(msg);
  close(root3);
  close(root);
  free(big);
}

/* A layer that unpacks past max_unpacked stops there, whatever makes it
 * big: file data, the holes of a sparse file, many entries, or bytes after
 * the end of the archive. */
static int
apply_limited(int rootfd, struct layer *l, uint64_t limit, char **msg)
{
  struct img_layer_opts o
      = { .name = "test", .warn = collect_warning, .max_unpacked = limit, .max_unpacked_why = "test limit" };
  return apply_opts(rootfd, l, &o, msg);
}

static void
add_sparse(struct layer *l, const char *path, int64_t size, const char *data)
{
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, path);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, size);
  archive_entry_sparse_add_entry(e, 0, strlen(data));
  if (archive_write_header(l->a, e) != ARCHIVE_OK)
    abort();
  archive_write_data(l->a, data, strlen(data));
  archive_entry_free(e);
}

static void
test_limit(void)
{
  char *msg = NULL;
  struct stat st;
  struct layer zeros, sparse, many, plain;

  /* 20 MiB of zeros: about 20 kB of gzip. */
  size_t big_len = 20u << 20;
  cleanup_free char *big = xcalloc(1, big_len);
  layer_begin(&zeros, "gzip");
  add_data(&zeros, "zeros", 0644, big, big_len);
  layer_end(&zeros);
  int root = new_root("limit1");
  ok(apply_limited(root, &zeros, 8u << 20, &msg) < 0 && msg
         && strcmp(msg, "layer test: unpacks to more than 8.0 MiB (test limit)") == 0,
     "zeros past the limit refused: %s", msg ? msg : "(applied)");
  free(msg);
  ok(fstatat(root, "zeros", &st, 0) < 0 || st.st_size <= 8 << 20,
     "no more than the limit was written (%lld bytes)",
     fstatat(root, "zeros", &st, 0) == 0 ? (long long)st.st_size : 0);
  int root2 = new_root("limit2");
  ok(apply_limited(root2, &zeros, 32u << 20, &msg) == 0 && fstatat(root2, "zeros", &st, 0) == 0
         && st.st_size == (off_t)big_len,
     "the same layer under a larger limit%s%s", msg ? ": " : "", msg ? msg : "");
  free(msg);

  /* A sparse file of 1 GiB holding 4 bytes: its holes count. */
  layer_begin(&sparse, "gzip");
  add_sparse(&sparse, "sparse", 1ll << 30, "data");
  layer_end(&sparse);
  int root3 = new_root("limit3");
  ok(apply_limited(root3, &sparse, 16u << 20, &msg) < 0 && msg
         && strstr(msg, "unpacks to more than 16.0 MiB"),
     "a sparse file counts its holes: %s", msg ? msg : "(applied)");
  free(msg);
  ok(!exists(root3, "sparse"), "and is refused before it is created");
  int root4 = new_root("limit4");
  ok(apply_limited(root4, &sparse, 2ull << 30, &msg) == 0 && fstatat(root4, "sparse", &st, 0) == 0
         && st.st_size == 1ll << 30 && st.st_blocks < 1024,
     "under a larger limit, the file stays sparse%s%s", msg ? ": " : "", msg ? msg : "");
  free(msg);

  /* 3000 empty directories: 1.5 MB of tar, but a block each on disk. */
  layer_begin(&many, "gzip");
  for (int i = 0; i < 3000; i++)
    {
      char name[32];
      snprintf(name, sizeof name, "d%04d/", i);
      add(&many, name, AE_IFDIR, 0755, NULL, NULL);
    }
  layer_end(&many);
  int root5 = new_root("limit5");
  ok(apply_limited(root5, &many, 8u << 20, &msg) < 0 && msg && strstr(msg, "unpacks to more than 8.0 MiB"),
     "entries count a block each: %s", msg ? msg : "(applied)");
  free(msg);
  int root6 = new_root("limit6");
  ok(apply_limited(root6, &many, 16u << 20, &msg) == 0 && exists(root6, "d2999"),
     "the same layer under a larger limit%s%s", msg ? ": " : "", msg ? msg : "");
  free(msg);

  /* 20 MiB of zeros after the end of a plain tar: never written, but
   * inflated and hashed all the same. */
  layer_begin(&plain, "none");
  add(&plain, "f", AE_IFREG, 0644, "data", NULL);
  layer_end(&plain);
  struct layer trailing = plain;
  trailing.used = plain.used + big_len;
  trailing.buf = layer_buffer(trailing.used);
  memcpy(trailing.buf, plain.buf, plain.used);
  memset(trailing.buf + plain.used, 0, big_len);
  int root7 = new_root("limit7");
  ok(apply_limited(root7, &trailing, 8u << 20, &msg) < 0 && msg
         && strstr(msg, "unpacks to more than 8.0 MiB"),
     "bytes after the end of the archive count: %s", msg ? msg : "(applied)");
  free(msg);
  int root8 = new_root("limit8");
  ok(apply_limited(root8, &trailing, 0, &msg) == 0 && strcmp(slurp(root8, "f"), "data") == 0,
     "limit 0 is no limit%s%s", msg ? ": " : "", msg ? msg : "");
  free(msg);

  close(root);
  close(root2);
  close(root3);
  close(root4);
  close(root5);
  close(root6);
  close(root7);
  close(root8);
}

/* An entry with an xattr, or a character device with a given rdev. */
static void
add_special(struct layer *l, const char *path, mode_t type, dev_t rdev, const char *xattr, const char *value)
{
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, path);
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
  archive_entry_set_mtime(e, 1000000000, 0);
  if (type == AE_IFCHR)
    archive_entry_set_rdev(e, rdev);
  if (xattr)
    archive_entry_xattr_add_entry(e, xattr, value, strlen(value));
  if (archive_write_header(l->a, e) != ARCHIVE_OK)
    abort();
  archive_entry_free(e);
}

static bool
is_whiteout_at(int rootfd, const char *p)
{
  struct stat st;
  return fstatat(rootfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode)
         && st.st_rdev == makedev(0, 0);
}

static bool
opaque_at(int rootfd, const char *p)
{
  char v[4];
  int fd = openat(rootfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  bool r = fd >= 0 && fgetxattr(fd, "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y';
  if (fd >= 0)
    close(fd);
  return r;
}

/* Each layer into a directory of its own, in overlayfs's form. */
static void
test_overlay_form(void)
{
  struct layer lo, up;
  char *msg = NULL;

  if (!img_layer_privileged())
    {
      tap_skip(11, "the overlayfs form needs root (whiteouts are device nodes)");
      return;
    }
  int lower = new_root("ovl-lower");
  int upper = new_root("ovl-upper");
  layer_begin(&lo, "gzip");
  add(&lo, "a/", AE_IFDIR, 0755, NULL, NULL);
  add(&lo, "a/keep", AE_IFREG, 0644, "keep\n", NULL);
  add(&lo, "a/gone", AE_IFREG, 0644, "gone\n", NULL);
  add(&lo, "d/", AE_IFDIR, 0755, NULL, NULL);
  add(&lo, "d/old", AE_IFREG, 0644, "old\n", NULL);
  add(&lo, "lib/f", AE_IFREG, 04755, "f\n", NULL);
  layer_end(&lo);
  struct img_layer_opts o = { .name = "lower", .privileged = true, .warn = collect_warning, .overlay = true };
  ok(apply_opts(lower, &lo, &o, &msg) == 0, "lower layer applies in overlay form%s%s", msg ? ": " : "",
     msg ? msg : "");
  free(msg);

  layer_begin(&up, "none");
  add(&up, "a/.wh.gone", AE_IFREG, 0644, "", NULL);
  add(&up, "d/new", AE_IFREG, 0644, "new\n", NULL);
  add(&up, "d/.wh..wh..opq", AE_IFREG, 0644, "", NULL);
  add(&up, "link", 0, 0, NULL, "lib/f");
  add(&up, "mine", AE_IFREG, 0644, "mine\n", NULL);
  add(&up, ".wh.mine", AE_IFREG, 0644, "", NULL); /* the layer's own file: not hidden */
  add_special(&up, "steer/", AE_IFDIR, 0, "trusted.overlay.opaque", "y");
  add_special(&up, "zero", AE_IFCHR, makedev(0, 0), NULL, NULL);
  layer_end(&up);
  free(warnings);
  warnings = NULL;
  struct img_layer_opts o2 = { .name = "upper",
                               .privileged = true,
                               .warn = collect_warning,
                               .overlay = true,
                               .lowers = &lower,
                               .lowers_len = 1 };
  ok(apply_opts(upper, &up, &o2, &msg) == 0, "upper layer applies over it%s%s", msg ? ": " : "",
     msg ? msg : "");
  free(msg);
  ok(is_whiteout_at(upper, "a/gone") && !exists(upper, "a/keep") && !exists(upper, "a/.wh.gone"),
     "a whiteout is a 0/0 character device, nothing else of the lower dir");
  ok(exists(lower, "a/gone"), "the lower layer is untouched");
  ok(opaque_at(upper, "d") && exists(upper, "d/new") && !exists(upper, "d/.wh..wh..opq"),
     "an opaque dir has trusted.overlay.opaque=y and keeps this layer's entries");
  ok(!opaque_at(lower, "d") && exists(lower, "d/old"), "the lower dir is not opaque");
  struct stat a, b;
  ok(fstatat(lower, "lib/f", &a, 0) == 0 && fstatat(upper, "link", &b, 0) == 0 && a.st_ino == b.st_ino
         && (b.st_mode & 07777) == 04755,
     "a hardlink to a lower layer's file links to its inode");
  ok(exists(upper, "mine") && !is_whiteout_at(upper, "mine"),
     "a whiteout of the layer's own file is ignored");
  ok(!opaque_at(upper, "steer"), "the layer's own trusted.overlay.* xattrs are dropped");
  ok(!exists(upper, "zero") && warnings && strstr(warnings, "`zero`: a 0/0 character device skipped"),
     "a 0/0 device is skipped with a warning");

  /* A hardlink to a file a whiteout hid is refused. */
  struct layer bad;
  int root3 = new_root("ovl-bad");
  layer_begin(&bad, "none");
  add(&bad, "x", 0, 0, NULL, "a/gone");
  layer_end(&bad);
  int lowers2[] = { upper, lower };
  struct img_layer_opts o3
      = { .name = "bad", .privileged = true, .overlay = true, .lowers = lowers2, .lowers_len = 2 };
  ok(apply_opts(root3, &bad, &o3, &msg) < 0 && msg
         && strstr(msg, "hardlink target `a/gone` is not in the rootfs"),
     "a hardlink to a whited-out file is refused: %s", msg ? msg : "");
  free(msg);
  close(root3);
  close(lower);
  close(upper);
}

/* How many threads this process has. */
static size_t
threads(void)
{
  size_t n = 0;
  cleanup_closedir DIR *d = opendir("/proc/self/task");
  while (d && readdir(d))
    n++;
  return n - 2; /* . and .. */
}

/* A layer's blob written to a file, open at its start. */
static int
layer_file(const struct layer *l, const char *name)
{
  cleanup_free char *path = xasprintf("%s/%s", tmpdir, name);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, l->buf, l->used) != (ssize_t)l->used || lseek(fd, 0, SEEK_SET) != 0)
    abort();
  return fd;
}

/* Layers started ahead (as imgtool bundle starts the next one while it
 * applies one): nothing is written before they are applied, each is
 * applied in its turn over the one before, and a failure to start is told
 * when the layer is applied. */
static void
test_ahead(void)
{
  struct img_layer_opts o = { .name = "ahead" };
  cleanup_error struct oci_error *e = NULL;
  struct layer lower, upper, x;
  cleanup_free char *big = xmalloc(3 << 20);

  memset(big, 'b', 3 << 20);
  layer_begin(&lower, "gzip");
  add(&lower, "gone", AE_IFREG, 0644, "old", NULL);
  add(&lower, "kept", AE_IFREG, 0600, "lower", NULL);
  add_data(&lower, "big", 0644, big, 3 << 20);
  layer_end(&lower);
  layer_begin(&upper, "gzip");
  add(&upper, ".wh.gone", AE_IFREG, 0644, "", NULL);
  add(&upper, "kept", AE_IFREG, 0640, "upper", NULL);
  add(&upper, "new", AE_IFREG, 0644, "new", NULL);
  layer_end(&upper);
  layer_begin(&x, "xz");
  add(&x, "f", AE_IFREG, 0644, "data", NULL);
  layer_end(&x);

  cleanup_close int lfd = layer_file(&lower, "ahead-lower");
  cleanup_close int ufd = layer_file(&upper, "ahead-upper");
  cleanup_close int xfd = layer_file(&x, "ahead-xz");
  int root = new_root("ahead");
  struct img_layer_ahead *a = img_layer_ahead_start(lfd, false);
  struct img_layer_ahead *b = img_layer_ahead_start(ufd, false);
  /* The caller's fds may go at once: the layers keep their own. */
  close(steal_fd(&lfd));
  close(steal_fd(&ufd));
  ok(!exists(root, "gone") && !exists(root, "kept"), "nothing written before a layer is applied");
  ok(img_layer_apply_ahead(root, a, &o, NULL, &e) == 0, "the lower layer applies%s%s", e ? ": " : "",
     e ? e->msg : "");
  ok(img_layer_apply_ahead(root, b, &o, NULL, &e) == 0, "then the upper one%s%s", e ? ": " : "",
     e ? e->msg : "");
  struct stat st;
  ok(!exists(root, "gone") && strcmp(slurp(root, "kept"), "upper") == 0 && fstatat(root, "kept", &st, 0) == 0
         && (st.st_mode & 07777) == 0640 && strcmp(slurp(root, "new"), "new") == 0,
     "the upper layer's whiteout, replacement and new file are there");
  ok(fstatat(root, "big", &st, 0) == 0 && st.st_size == 3 << 20, "a big file arrives whole (%lld bytes)",
     (long long)st.st_size);
  img_layer_ahead_free(a);
  img_layer_ahead_free(b);

  /* Started, never applied: its threads are stopped when it is freed.
   * The layer is larger than the read-ahead, so its decompressing thread is
   * still there, waiting for room. */
  struct layer huge;
  size_t huge_len = 48 << 20;
  cleanup_free char *zeros = xcalloc(1, huge_len);
  layer_begin(&huge, "gzip");
  add_data(&huge, "zeros", 0644, zeros, huge_len);
  layer_end(&huge);
  cleanup_close int hfd = layer_file(&huge, "ahead-huge");
  size_t before = threads();
  struct img_layer_ahead *d = img_layer_ahead_start(hfd, true);
  size_t running = threads();
  img_layer_ahead_free(d);
  ok(running > before && threads() == before,
     "a layer started and never applied stops its threads (%zu, %zu, %zu)", before, running, threads());

  struct img_layer_ahead *c = img_layer_ahead_start(xfd, false);
  int root2 = new_root("ahead2");
  ok(img_layer_apply_ahead(root2, c, &o, NULL, &e) < 0 && strstr(e->msg, "layer ahead: ")
         && strstr(e->msg, "not supported: xz compression"),
     "a layer that failed to start says why when applied: %s", e ? e->msg : "(no error)");
  img_layer_ahead_free(c);
  close(root);
  close(root2);
}

int
main(void)
{
  if (mkdtemp(tmpdir) == NULL)
    return 99;
  test_basic();
  test_device_unprivileged();
  test_whiteouts();
  test_replace();
  test_escapes();
  test_digests();
  test_file_writer();
  test_limit();
  test_overlay_form();
  test_ahead();
  cleanup_free char *cmd = xasprintf("chmod -R u+w '%s' && rm -rf '%s'", tmpdir, tmpdir);
  if (system(cmd) != 0)
    return 99;
  for (size_t i = 0; i < buffers_len; i++)
    free(buffers[i]);
  return tap_done();
}
