#include <config.h>

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spec/atomic-file.h"
#include "spec/json.h"
#include "spec/util.h"
#include "cgroups.h"
#include "state.h"

int
rt_state_check_id(const char *id, struct oci_error **err)
{
  if (id == NULL || id[0] == '\0')
    return oci_error_set(err, 0, "container id cannot be empty");
  if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0 || strlen(id) > RT_ID_MAX)
    return oci_error_set(err, 0, "invalid container id `%s`", id);
  for (const char *p = id; *p; p++)
    if (!isalnum((unsigned char)*p) && strchr("_+-.", *p) == NULL)
      return oci_error_set(err, 0, "invalid container id `%s`", id);
  return 0;
}

static int
mkdir_p(const char *path, mode_t mode, struct oci_error **err)
{
  cleanup_free char *copy = xstrdup(path);

  if (mkdir(path, mode) == 0 || errno == EEXIST)
    return 0;
  if (errno != ENOENT)
    return oci_error_errno(err, "creating `%s`", path);
  for (char *p = copy + 1; *p; p++)
    {
      if (*p != '/')
        continue;
      *p = '\0';
      if (mkdir(copy, mode) < 0 && errno != EEXIST)
        return oci_error_errno(err, "creating `%s`", copy);
      *p = '/';
    }
  if (mkdir(path, mode) < 0 && errno != EEXIST)
    return oci_error_errno(err, "creating `%s`", path);
  return 0;
}

void
rt_state_unlock(int dirfd)
{
  (void)flock(dirfd, LOCK_UN);
}

int
rt_state_relock(int dirfd, const char *id, struct oci_error **err)
{
  struct stat st;

  if (flock(dirfd, LOCK_EX) < 0)
    return oci_error_errno(err, "locking container `%s`", id);
  /* A delete that held the lock before us has removed the directory. */
  if (fstat(dirfd, &st) < 0)
    return oci_error_errno(err, "stat of container `%s`", id);
  return st.st_nlink == 0;
}

static int
lock_dir(int dirfd, const char *id, struct oci_error **err)
{
  int r = rt_state_relock(dirfd, id, err);

  if (r > 0)
    return oci_error_set(err, 0, "container `%s` does not exist", id);
  return r;
}

int
rt_state_create(const char *root, const char *id, int *dirfd, struct oci_error **err)
{
  cleanup_free char *dir = NULL;
  cleanup_close int fd = -1;

  if (rt_state_check_id(id, err) < 0)
    return -1;
  if (mkdir_p(root, 0700, err) < 0)
    return -1;
  dir = xasprintf("%s/%s", root, id);
  if (mkdir(dir, 0700) < 0)
    {
      if (errno == EEXIST)
        return oci_error_set(err, 0, "container with given ID already exists");
      return oci_error_errno(err, "creating `%s`", dir);
    }
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return oci_error_errno(err, "opening `%s`", dir);
  if (lock_dir(fd, id, err) < 0)
    return -1;
  *dirfd = steal_fd(&fd);
  return 0;
}

int
rt_state_open(const char *root, const char *id, int *dirfd, struct oci_error **err)
{
  cleanup_free char *dir = NULL;
  cleanup_close int fd = -1;

  if (rt_state_check_id(id, err) < 0)
    return -1;
  dir = xasprintf("%s/%s", root, id);
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno == ENOENT)
        return oci_error_set(err, 0, "container `%s` does not exist", id);
      return oci_error_errno(err, "opening `%s`", dir);
    }
  if (lock_dir(fd, id, err) < 0)
    return -1;
  *dirfd = steal_fd(&fd);
  return 0;
}

int
rt_state_remove(const char *root, const char *id, int dirfd, struct oci_error **err)
{
  cleanup_free char *dir = xasprintf("%s/%s", root, id);
  cleanup_closedir DIR *d = NULL;
  struct dirent *de;
  int fd;

  fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return oci_error_errno(err, "opening `%s`", dir);
  d = fdopendir(fd);
  if (d == NULL)
    {
      close(fd);
      return oci_error_errno(err, "reading `%s`", dir);
    }
  while ((de = readdir(d)))
    {
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
        continue;
      if (unlinkat(dirfd, de->d_name, 0) < 0 && errno != ENOENT)
        return oci_error_errno(err, "removing `%s/%s`", dir, de->d_name);
    }
  if (rmdir(dir) < 0 && errno != ENOENT)
    return oci_error_errno(err, "removing `%s`", dir);
  return 0;
}

static void
write_kv_object(struct json_writer *w, const struct oci_kv *kv, size_t n)
{
  json_write_object_begin(w);
  for (size_t i = 0; i < n; i++)
    {
      json_write_key(w, kv[i].key);
      json_write_string(w, kv[i].value);
    }
  json_write_object_end(w);
}

static void
write_opt_string(struct json_writer *w, const char *key, const char *value)
{
  if (value == NULL)
    return;
  json_write_key(w, key);
  json_write_string(w, value);
}

int
rt_state_stage(int dirfd, const struct rt_state *st, struct oci_error **err)
{
  cleanup_json_writer struct json_writer *w = json_writer_new(false);
  cleanup_free char *text = NULL;
  size_t len;

  json_write_object_begin(w);
  write_opt_string(w, "id", st->id);
  json_write_key(w, "pid");
  json_write_int64(w, st->pid);
  json_write_key(w, "startTime");
  json_write_uint64(w, st->start_time);
  write_opt_string(w, "bundle", st->bundle);
  write_opt_string(w, "rootfs", st->rootfs);
  write_opt_string(w, "created", st->created);
  write_opt_string(w, "cgroupPath", st->cgroup_path);
  json_write_key(w, "owner");
  json_write_uint64(w, st->owner);
  json_write_key(w, "annotations");
  write_kv_object(w, st->annotations, st->annotations_len);
  json_write_object_end(w);
  if (json_writer_finish(w, &text, &len, err) < 0)
    return oci_error_wrap(err, "encoding " RT_STATE_FILE);

  /* Not durable: the state dir is on tmpfs (/run), gone with a crash. */
  if (oci_write_file_atomic(dirfd, RT_STATE_STAGED, text, len, 0600, OCI_NOT_DURABLE, err) < 0)
    return oci_error_wrap(err, "saving " RT_STATE_FILE);
  return 0;
}

int
rt_state_publish(int dirfd, struct oci_error **err)
{
  if (renameat(dirfd, RT_STATE_STAGED, dirfd, RT_STATE_FILE) < 0)
    return oci_error_errno(err, "saving " RT_STATE_FILE);
  return 0;
}

static char *
get_string(const struct json_value *obj, const char *key)
{
  const struct json_value *v = json_object_get(obj, key);
  return v && v->type == JSON_STRING ? xstrdup(v->u.string) : NULL;
}

static int
get_uint64(const struct json_value *obj, const char *key, uint64_t *out)
{
  const struct json_value *v = json_object_get(obj, key);
  if (v == NULL || v->type != JSON_NUMBER)
    return -1;
  return json_number_uint64(v, out);
}

static void
get_annotations(const struct json_value *obj, struct rt_state *st)
{
  const struct json_value *a = json_object_get(obj, "annotations");

  if (a == NULL || a->type != JSON_OBJECT || a->u.object.len == 0)
    return;
  st->annotations = xcalloc(a->u.object.len, sizeof *st->annotations);
  for (size_t i = 0; i < a->u.object.len; i++)
    {
      const struct json_value *v = a->u.object.values[i];
      if (v->type != JSON_STRING)
        continue;
      st->annotations[st->annotations_len].key = xstrdup(a->u.object.keys[i]);
      st->annotations[st->annotations_len].value = xstrdup(v->u.string);
      st->annotations_len++;
    }
}

static int
read_file_at(int dirfd, const char *name, char **out, size_t *len, struct oci_error **err)
{
  cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
  cleanup_free char *buf = NULL;
  size_t size = 0, cap = 4096;
  ssize_t r;

  if (fd < 0)
    return oci_error_errno(err, "opening %s", name);
  buf = xmalloc(cap);
  for (;;)
    {
      if (size + 1 >= cap)
        buf = xrealloc(buf, cap *= 2);
      r = read(fd, buf + size, cap - size - 1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return oci_error_errno(err, "reading %s", name);
      if (r == 0)
        break;
      size += r;
    }
  buf[size] = '\0';
  *len = size;
  *out = steal_pointer(&buf);
  return 0;
}

int
rt_state_load(int dirfd, const char *id, struct rt_state **out, struct oci_error **err)
{
  cleanup_json_value struct json_value *doc = NULL;
  cleanup_free char *text = NULL;
  cleanup_rt_state struct rt_state *st = NULL;
  uint64_t pid = 0, owner = 0, start_time = 0;
  size_t len = 0;

  if (read_file_at(dirfd, RT_STATE_FILE, &text, &len, err) < 0)
    {
      if ((*err)->status == ENOENT)
        {
          oci_error_free(*err);
          *err = NULL;
          return oci_error_set(err, 0, "container `%s` does not exist", id);
        }
      return -1;
    }
  if (json_parse(RT_STATE_FILE, text, len, &doc, err) < 0)
    return -1;
  if (doc->type != JSON_OBJECT)
    return oci_error_set(err, 0, RT_STATE_FILE ": expected an object");

  st = xzalloc(sizeof *st);
  st->id = get_string(doc, "id");
  if (get_uint64(doc, "pid", &pid) < 0 || get_uint64(doc, "startTime", &start_time) < 0 || st->id == NULL)
    return oci_error_set(err, 0, RT_STATE_FILE " of container `%s` is corrupt", id);
  st->pid = (pid_t)pid;
  st->start_time = start_time;
  (void)get_uint64(doc, "owner", &owner);
  st->owner = (uid_t)owner;
  st->bundle = get_string(doc, "bundle");
  st->rootfs = get_string(doc, "rootfs");
  st->created = get_string(doc, "created");
  st->cgroup_path = get_string(doc, "cgroupPath");
  get_annotations(doc, st);
  *out = steal_pointer(&st);
  return 0;
}

void
rt_state_free(struct rt_state *st)
{
  if (st == NULL)
    return;
  free(st->id);
  free(st->bundle);
  free(st->rootfs);
  free(st->created);
  free(st->cgroup_path);
  for (size_t i = 0; i < st->annotations_len; i++)
    {
      free(st->annotations[i].key);
      free(st->annotations[i].value);
    }
  free(st->annotations);
  free(st);
}

int
rt_proc_start_time(pid_t pid, unsigned long long *start_time)
{
  char path[64], buf[1024];
  cleanup_close int fd = -1;
  ssize_t n;
  char *p;
  char state;

  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  n = read(fd, buf, sizeof buf - 1);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  /* comm may contain spaces and parentheses: fields start after the last ')'. */
  p = strrchr(buf, ')');
  if (p == NULL || sscanf(p + 2, "%c", &state) != 1)
    return -1;
  if (state == 'Z' || state == 'X')
    return -1;
  /* Skip fields 3..21 to reach field 22. */
  p += 2;
  for (int field = 3; field < 22; field++)
    {
      p = strchr(p, ' ');
      if (p == NULL)
        return -1;
      p++;
    }
  if (sscanf(p, "%llu", start_time) != 1)
    return -1;
  return 0;
}

enum rt_status
rt_state_status(int dirfd, const struct rt_state *st)
{
  unsigned long long start_time;

  if (st == NULL)
    return RT_STATUS_CREATING;
  if (st->pid <= 0 || rt_proc_start_time(st->pid, &start_time) < 0 || start_time != st->start_time)
    return RT_STATUS_STOPPED;
  if (faccessat(dirfd, RT_PAUSED_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0 && st->cgroup_path)
    {
      cleanup_cgroup struct rt_cgroup *cg = NULL;
      cleanup_error struct oci_error *ignored = NULL;

      if (rt_cgroup_open(st->cgroup_path, &cg, &ignored) == 0 && rt_cgroup_frozen(cg))
        return RT_STATUS_PAUSED;
    }
  if (faccessat(dirfd, RT_EXEC_FIFO, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    return RT_STATUS_CREATED;
  return RT_STATUS_RUNNING;
}

const char *
rt_status_name(enum rt_status s)
{
  switch (s)
    {
    case RT_STATUS_CREATING:
      return "creating";
    case RT_STATUS_CREATED:
      return "created";
    case RT_STATUS_RUNNING:
      return "running";
    case RT_STATUS_STOPPED:
      return "stopped";
    case RT_STATUS_PAUSED:
      return "paused";
    }
  return "unknown";
}

static int
compare_names(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int
rt_state_list(const char *root, char ***ids, size_t *n, struct oci_error **err)
{
  cleanup_closedir DIR *d = opendir(root);
  cleanup_strv char **names = NULL;
  size_t len = 0, cap = 0;
  struct dirent *de;

  *ids = NULL;
  *n = 0;
  if (d == NULL)
    {
      if (errno == ENOENT)
        return 0;
      return oci_error_errno(err, "opening `%s`", root);
    }
  names = xcalloc(1, sizeof *names);
  while ((de = readdir(d)))
    {
      if (de->d_type != DT_DIR || rt_state_check_id(de->d_name, NULL) < 0)
        continue;
      if (len + 2 > cap)
        {
          cap = cap ? cap * 2 : 16;
          names = xrealloc(names, cap * sizeof *names);
        }
      names[len++] = xstrdup(de->d_name);
      names[len] = NULL;
    }
  qsort(names, len, sizeof *names, compare_names);
  *ids = steal_pointer(&names);
  *n = len;
  return 0;
}
