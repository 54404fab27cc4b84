#include <config.h>

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "atomic-file.h"
#include "util.h"

/* Six characters that make a temporary name unique; getrandom may fail
 * early at boot or under seccomp, where the clock and the pid still differ
 * from one attempt to the next. */
static void
random_suffix(char out[7])
{
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  uint64_t bits = 0;
  struct timespec ts;

  if (getrandom(&bits, sizeof bits, GRND_NONBLOCK) != (ssize_t)sizeof bits)
    {
      clock_gettime(CLOCK_MONOTONIC, &ts);
      bits = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 40);
    }
  for (int i = 0; i < 6; i++, bits /= 36)
    out[i] = alphabet[bits % 36];
  out[6] = '\0';
}

/* Create the temporary file next to PATH: "DIR/.NAME.tmp-XXXXXX". */
static int
create_temp(int dirfd, const char *path, mode_t mode, char **tmp_out, struct oci_error **err)
{
  const char *slash = strrchr(path, '/');
  int dir_len = slash ? (int)(slash - path + 1) : 0;
  const char *name = slash ? slash + 1 : path;
  char suffix[7];

  for (int attempt = 0; attempt < 100; attempt++)
    {
      cleanup_free char *tmp = NULL;
      int fd;

      random_suffix(suffix);
      tmp = xasprintf("%.*s.%s.tmp-%s", dir_len, path, name, suffix);
      fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
      if (fd >= 0)
        {
          *tmp_out = steal_pointer(&tmp);
          return fd;
        }
      if (errno != EEXIST)
        return oci_error_errno(err, "creating `%s`", tmp);
    }
  return oci_error_set(err, EEXIST, "creating a temporary file for `%s`", path);
}

int
oci_fsync_dir(int fd, const char *what, struct oci_error **err)
{
  if (fsync(fd) < 0 && errno != EINVAL)
    return oci_error_errno(err, "fsync `%s`", what);
  return 0;
}

/* The directory that holds PATH, for its fsync. */
static int
sync_parent(int dirfd, const char *path, struct oci_error **err)
{
  const char *slash = strrchr(path, '/');
  cleanup_free char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
  cleanup_close int fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return oci_error_errno(err, "opening `%s`", dir);
  return oci_fsync_dir(fd, dir, err);
}

int
oci_write_file_atomic(int dirfd, const char *path, const void *data, size_t len, mode_t mode,
                      enum oci_durability durability, struct oci_error **err)
{
  cleanup_free char *tmp = NULL;
  cleanup_close int fd = create_temp(dirfd, path, mode, &tmp, err);
  int saved;

  if (fd < 0)
    return -1;
  if (oci_write_all(fd, data, len) < 0 || (durability != OCI_NOT_DURABLE && fsync(fd) < 0))
    {
      saved = errno;
      unlinkat(dirfd, tmp, 0);
      return oci_error_set(err, saved, "writing `%s`", tmp);
    }
  if (renameat(dirfd, tmp, dirfd, path) < 0)
    {
      saved = errno;
      unlinkat(dirfd, tmp, 0);
      return oci_error_set(err, saved, "renaming `%s` to `%s`", tmp, path);
    }
  if (durability == OCI_DURABLE)
    return sync_parent(dirfd, path, err);
  return 0;
}
