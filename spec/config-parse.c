/* config.json → struct oci_config: the entry points.  What each field is
 * and how it reads is described once, in config-fields.c; the generic
 * walker (fields.c) names the field of a wrong type ("config.json:
 * process.args[2]: expected string"). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci-config.h"
#include "config-fields.h"
#include "util.h"

int
oci_config_parse(const char *name, const char *text, size_t len, struct oci_config **out,
                 struct oci_error **err)
{
  return oci_fields_parse_document(name, text, len, oci_config_fields, sizeof **out, (void **)out, err);
}

int
oci_process_parse(const char *name, const char *text, size_t len, struct oci_process **out,
                  struct oci_error **err)
{
  return oci_fields_parse_document(name, text, len, oci_process_fields, sizeof **out, (void **)out, err);
}

int
oci_resources_parse(const char *name, const char *text, size_t len, struct oci_resources **out,
                    struct oci_error **err)
{
  return oci_fields_parse_document(name, text, len, oci_resources_fields, sizeof **out, (void **)out, err);
}

/* The whole file, NUL terminated; works for pipes and /proc files too. */
static int
read_file(const char *path, char **out, size_t *len, struct oci_error **err)
{
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  cleanup_free char *buf = NULL;
  size_t cap, n = 0;
  struct stat st;

  if (fd < 0 || fstat(fd, &st) < 0)
    return oci_error_errno(err, "%s", path);
  cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
  buf = xmalloc(cap);
  for (;;)
    {
      ssize_t r;

      if (n + 1 >= cap)
        buf = xrealloc(buf, cap *= 2);
      r = read(fd, buf + n, cap - n - 1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return oci_error_errno(err, "%s", path);
      if (r == 0)
        break;
      n += (size_t)r;
    }
  buf[n] = '\0';
  *out = steal_pointer(&buf);
  *len = n;
  return 0;
}

int
oci_config_parse_file(const char *path, struct oci_config **out, struct oci_error **err)
{
  cleanup_free char *text = NULL;
  const char *base = strrchr(path, '/');
  size_t len = 0;

  if (read_file(path, &text, &len, err) < 0)
    return -1;
  return oci_config_parse(base && base[1] ? base + 1 : path, text, len, out, err);
}
