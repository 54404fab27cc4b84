/* Paths inside a root directory (see inroot.h). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "inroot.h"
#include "util.h"

/* openat2 fails with EAGAIN when a rename anywhere in the tree raced a
 * RESOLVE_IN_ROOT lookup: a few retries absorb a busy tree, but a rename
 * loop run by the container must not keep us spinning. */
#define MAX_RETRIES 32
/* Dangling symlinks followed while creating: the kernel's own limit on
 * links in one lookup (MAXSYMLINKS). */
#define MAX_HOPS 40

static uint64_t
resolve_of(unsigned how)
{
  return RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | ((how & OCI_ROOT_NO_SYMLINKS) ? RESOLVE_NO_SYMLINKS : 0);
}

int
oci_root_openat(int rootfd, const char *path, int flags, unsigned how)
{
  struct open_how oh = { .flags = (uint64_t)(flags | O_CLOEXEC), .resolve = resolve_of(how) };
  int fd = -1;

  for (int i = 0; i < MAX_RETRIES; i++)
    {
      fd = (int)syscall(SYS_openat2, rootfd, path, &oh, sizeof oh);
      if (fd >= 0 || (errno != EAGAIN && errno != EINTR))
        break;
    }
  return fd;
}

int
oci_root_open(int rootfd, const char *path, int flags, struct oci_error **err)
{
  int fd = oci_root_openat(rootfd, path, flags, 0);

  if (fd < 0)
    return oci_error_errno(err, "opening `%s` inside the root", path);
  return fd;
}

static bool
one_component(const char *name)
{
  return name[0] != '\0' && strchr(name, '/') == NULL && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

int
oci_dir_open(int dirfd, const char *name, int flags, struct oci_error **err)
{
  int fd;

  if (!one_component(name))
    return oci_error_set(err, EINVAL, "`%s` is not a single file name", name);
  fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return oci_error_errno(err, "opening `%s`", name);
  return fd;
}

int
oci_dir_mkdir_open(int dirfd, const char *name, mode_t mode, struct oci_error **err)
{
  if (!one_component(name))
    return oci_error_set(err, EINVAL, "`%s` is not a single file name", name);
  if (mkdirat(dirfd, name, mode) < 0)
    return oci_error_errno(err, "creating directory `%s`", name);
  return oci_dir_open(dirfd, name, O_PATH | O_DIRECTORY, err);
}

/* ---- the walk: a dangling symlink redirects it ---- */

/* Join `dir` (a path inside the root) and a symlink target the way the
 * kernel resolves it: absolute targets start over at the root. */
static char *
join_link(const char *dir, const char *target, const char *rest)
{
  const char *base = target[0] == '/' ? "" : dir;

  if (rest == NULL || rest[0] == '\0')
    return xasprintf("%s/%s", base, target);
  return xasprintf("%s/%s/%s", base, target, rest);
}

char *
oci_readlinkat(int dirfd, const char *name)
{
  char buf[PATH_MAX];
  ssize_t len = readlinkat(dirfd, name, buf, sizeof buf);

  if (len < 0)
    return NULL;
  if ((size_t)len >= sizeof buf)
    {
      errno = ENAMETOOLONG;
      return NULL;
    }
  buf[len] = '\0';
  return xstrdup(buf);
}

/* `name` in dirfd exists but a lookup cannot pass it: where the walk goes
 * next (-2 with *next), or why it stops (-1 with *err). */
static int
redirect(int dirfd, const char *name, const char *dir, const char *cur, const char *rest, unsigned how,
         char **next, struct oci_error **err)
{
  cleanup_free char *target = oci_readlinkat(dirfd, name);

  if (target == NULL && errno == ENAMETOOLONG)
    return oci_error_errno(err, "reading symlink `%s`", cur);
  if (target == NULL)
    return oci_error_set(err, ENOENT, "creating directory `%s`: raced with another change", cur);
  if (how & OCI_ROOT_NO_SYMLINKS)
    return oci_error_set(err, ELOOP, "`%s` is a symlink", cur);
  if (how & OCI_ROOT_NO_DANGLING)
    return oci_error_set(err, ENOENT, "opening directory `%s` (a dangling symlink)", cur);
  *next = join_link(dir, target, rest);
  return -2;
}

/* One pass of mkdir -p over `path`.  Returns the O_PATH fd of the directory,
 * -1 with *err on failure, or -2 with *next set when a dangling symlink
 * redirects the walk (the caller starts over with *next). */
static int
mkdir_p_pass(int rootfd, const char *path, mode_t mode, unsigned how, oci_root_created_fn created, void *data,
             char **next, struct oci_error **err)
{
  cleanup_free char *copy = xstrdup(path);
  cleanup_free char *prefix = xstrdup("");
  cleanup_close int parent = -1;
  char *save = NULL;

  parent = oci_root_openat(rootfd, "/", O_PATH | O_DIRECTORY, how);
  if (parent < 0)
    return oci_error_errno(err, "opening the root");

  for (char *comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save))
    {
      cleanup_free char *cur = NULL;
      int fd;

      /* `.` changes nothing; `..` is left to the kernel: a symlink before it
       * decides where it leads. */
      if (strcmp(comp, ".") == 0)
        continue;
      cur = xasprintf("%s/%s", prefix, comp);
      fd = oci_root_openat(rootfd, cur, O_PATH | O_DIRECTORY, how);

      if (fd < 0 && errno == ENOENT)
        {
          if (mkdirat(parent, comp, mode) < 0)
            {
              if (errno != EEXIST)
                return oci_error_errno(err, "creating directory `%s`", cur);
              /* Something appeared that a lookup cannot pass: a dangling symlink. */
              return redirect(parent, comp, prefix, cur, save, how, next, err);
            }
          if (created)
            created(data, cur + 1);
          fd = oci_root_openat(rootfd, cur, O_PATH | O_DIRECTORY, how);
        }
      if (fd < 0)
        return oci_error_errno(err, "opening directory `%s`", cur);
      close(parent);
      parent = fd;
      free(prefix);
      prefix = steal_pointer(&cur);
    }
  return steal_fd(&parent);
}

/* The next common case: only the last component is missing.  It is made
 * in its parent, found in one lookup, and opened from there: three calls
 * where the walk makes one per component.  -1 for anything else (`..` in
 * the path, a missing parent, something already there, an error): the
 * walk then does it again and says what happened. */
static int
mkdir_last(int rootfd, const char *path, mode_t mode, unsigned how, oci_root_created_fn created, void *data)
{
  struct open_how in_parent = { .flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
                                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
  cleanup_free char *copy = xstrdup(path);
  cleanup_free char *cur = xstrdup("");
  cleanup_close int parent = -1;
  const char *base = NULL;
  char *save = NULL;

  /* cur as the walk spells it, for `created`: "/a/b", no `.` */
  for (char *comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save))
    {
      if (strcmp(comp, ".") == 0)
        continue;
      if (strcmp(comp, "..") == 0)
        return -1;
      if (base != NULL)
        {
          char *longer = xasprintf("%s/%s", cur, base);
          free(cur);
          cur = longer;
        }
      base = comp;
    }
  if (base == NULL)
    return -1;
  parent = oci_root_openat(rootfd, cur[0] ? cur : "/", O_PATH | O_DIRECTORY, how);
  if (parent < 0 || mkdirat(parent, base, mode) < 0)
    return -1;
  if (created)
    {
      cleanup_free char *made = xasprintf("%s/%s", cur, base);
      created(data, made + 1);
    }
  return (int)syscall(SYS_openat2, parent, base, &in_parent, sizeof in_parent);
}

int
oci_root_mkdir_p(int rootfd, const char *path, mode_t mode, unsigned how, oci_root_created_fn created,
                 void *data, struct oci_error **err)
{
  cleanup_free char *cur = NULL;
  int fd = oci_root_openat(rootfd, path, O_PATH | O_DIRECTORY, how);

  /* The common case: it is already there. */
  if (fd >= 0)
    return fd;
  if (errno == ENOENT && (fd = mkdir_last(rootfd, path, mode, how, created, data)) >= 0)
    return fd;
  cur = xstrdup(path);
  for (int hop = 0; hop < MAX_HOPS; hop++)
    {
      char *next = NULL;

      fd = mkdir_p_pass(rootfd, cur, mode, how, created, data, &next, err);
      if (fd != -2)
        return fd;
      free(cur);
      cur = next;
    }
  return oci_error_set(err, ELOOP, "creating directory `%s`", path);
}

/* Split "a/b/c" into "a/b" and "c"; trailing slashes are dropped. */
static int
split_path(const char *path, char **dir, char **base, struct oci_error **err)
{
  cleanup_free char *copy = xstrdup(path);
  size_t len = strlen(copy);
  char *slash;

  while (len > 1 && copy[len - 1] == '/')
    copy[--len] = '\0';
  slash = strrchr(copy, '/');
  *base = xstrdup(slash ? slash + 1 : copy);
  *dir = slash ? xstrndup(copy, (size_t)(slash - copy)) : xstrdup("");
  if ((*base)[0] == '\0' || strcmp(*base, ".") == 0 || strcmp(*base, "..") == 0)
    {
      /* The caller's cleanup frees them too. */
      free(steal_pointer(dir));
      free(steal_pointer(base));
      return oci_error_set(err, 0, "`%s` does not name a file", path);
    }
  return 0;
}

int
oci_root_mkfile(int rootfd, const char *path, mode_t mode, struct oci_error **err)
{
  cleanup_free char *cur = xstrdup(path);

  for (int hop = 0; hop < MAX_HOPS; hop++)
    {
      cleanup_free char *dir = NULL;
      cleanup_free char *base = NULL;
      cleanup_free char *target = NULL;
      cleanup_close int dirfd = -1;
      int fd;

      fd = oci_root_openat(rootfd, cur, O_PATH, 0);
      if (fd >= 0)
        return fd;
      if (errno != ENOENT)
        return oci_error_errno(err, "opening `%s`", cur);
      if (split_path(cur, &dir, &base, err) < 0)
        return -1;
      dirfd = oci_root_mkdir_p(rootfd, dir, 0755, 0, NULL, NULL, err);
      if (dirfd < 0)
        return -1;
      /* O_EXCL: never follow a symlink planted at the last component. */
      fd = openat(dirfd, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
      if (fd >= 0)
        {
          close(fd);
          continue;
        }
      if (errno != EEXIST)
        return oci_error_errno(err, "creating file `%s`", cur);
      /* A dangling symlink: create its target, inside the root.  Anything
       * else that appeared is found by the next lookup. */
      target = oci_readlinkat(dirfd, base);
      if (target != NULL)
        {
          char *next = join_link(dir, target, NULL);
          free(cur);
          cur = next;
        }
    }
  return oci_error_set(err, ELOOP, "creating file `%s`", path);
}

/* ---- the normaliser ---- */

int
oci_path_clean_into(const char *in, unsigned flags, char *out, size_t outlen, struct oci_error **err)
{
  bool abs = !(flags & OCI_PATH_RELATIVE) && (!(flags & OCI_PATH_KEEP_FORM) || in[0] == '/');
  size_t min = abs ? 1 : 0;
  size_t o = 0;

  if (outlen < min + 1)
    return oci_error_set(err, 0, "path is too long");
  if (abs)
    out[o++] = '/';
  for (const char *p = in; *p;)
    {
      size_t n = strcspn(p, "/");

      if (n == 2 && p[0] == '.' && p[1] == '.')
        {
          if (flags & OCI_PATH_NO_DOTDOT)
            return oci_error_set(err, 0, "path has a `..` component");
          /* Drop the last component, never climbing above the start. */
          while (o > min && out[o - 1] != '/')
            o--;
          if (o > min)
            o--;
        }
      else if (n > 0 && !(n == 1 && p[0] == '.'))
        {
          size_t sep = o > min ? 1 : 0;

          if (o + sep + n + 1 > outlen)
            return oci_error_set(err, 0, "path is too long");
          if (sep)
            out[o++] = '/';
          memcpy(out + o, p, n);
          o += n;
        }
      p += n;
      p += *p == '/';
    }
  out[o] = '\0';
  return 0;
}

char *
oci_path_clean(const char *path, unsigned flags)
{
  size_t len = strlen(path) + 2;
  cleanup_free char *out = xmalloc(len);
  cleanup_error struct oci_error *err = NULL;

  /* Never too long: the clean form is at most one `/` longer. */
  if (oci_path_clean_into(path, flags, out, len, &err) < 0)
    return NULL;
  return steal_pointer(&out);
}
