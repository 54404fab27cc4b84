#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "spec/json.h"
#include "spec/mountinfo.h"
#include "spec/util.h"
#include "bundle.h"
#include "digest.h"
#include "layer.h"
#include "overlay.h"

/* ---- the layer cache ---- */

/* The chain IDs of img's layers, as hex (image-spec config.md). */
static char **
chain_ids(const struct img_image *img)
{
  size_t n = img->manifest->layers_len;
  char **v = xcalloc(n + 1, sizeof *v);
  char prev[IMG_DIGEST_LEN] = "";

  for (size_t i = 0; i < n; i++)
    {
      const char *diff_id = img->config->diff_ids[i];
      char d[IMG_DIGEST_LEN];
      if (i == 0)
        snprintf(d, sizeof d, "%s", diff_id);
      else
        {
          cleanup_free char *text = xasprintf("%s %s", prev, diff_id);
          img_sha256_digest(text, strlen(text), d);
        }
      memcpy(prev, d, sizeof prev);
      v[i] = xstrdup(d + 7);
    }
  return v;
}

static bool
layer_cached(int lfd, const char *chain)
{
  struct stat st;
  return fstatat(lfd, chain, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* The directories of the layers below layer i, top first. */
struct lowers
{
  int *fds;
  size_t len;
};

static void
lowers_clear(struct lowers *l)
{
  for (size_t k = 0; k < l->len; k++)
    if (l->fds[k] >= 0)
      close(l->fds[k]);
  free(l->fds);
}
#define cleanup_lowers __attribute__((cleanup(lowers_clear)))

static int
open_lowers(int lfd, char **chains, size_t i, struct lowers *l, struct oci_error **err)
{
  l->fds = xcalloc(i + 1, sizeof *l->fds);
  for (size_t k = 0; k < i; k++)
    {
      l->fds[k] = openat(lfd, chains[i - 1 - k], O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      if (l->fds[k] < 0)
        return oci_error_errno(err, "open `layers/%s`", chains[i - 1 - k]);
      l->len = k + 1;
    }
  return 0;
}

/* Unpack layer i into tmpfd, its lower layers (already cached) beside it. */
static int
unpack_layer(struct img_store *s, const struct img_image *img, size_t i, char **chains, int lfd, int tmpfd,
             const struct img_bundle_opts *o, struct oci_error **err)
{
  const struct oci_descriptor *d = &img->manifest->layers[i];
  const char *diff_id = img->config->diff_ids[i];
  struct img_layer_stats st = { 0 };
  cleanup_lowers struct lowers lowers = { 0 };
  cleanup_close int fd = -1;
  cleanup_free char *why = NULL;
  uint64_t size, limit;

  if (open_lowers(lfd, chains, i, &lowers, err) < 0)
    return -1;
  if (!img_bundle_layer_media_type_ok(d->media_type))
    return oci_error_set(err, 0, "layer %s: not supported: media type `%s`", d->digest, d->media_type);
  if (img_store_open_blob(s, d->digest, &fd, &size, err) < 0)
    return -1;
  if (size != (uint64_t)d->size)
    return oci_error_set(err, 0, "layer %s: %" PRIu64 " bytes, the manifest says %" PRId64, d->digest, size,
                         d->size);
  if (img_bundle_layer_limit(o, tmpfd, d->size, &limit, &why, err) < 0)
    return -1;
  bool checked = img_store_diff_id_checked(s, d->digest, diff_id);
  struct img_layer_opts lo = {
    .name = d->digest,
    .diff_id = checked ? NULL : diff_id,
    .digest = d->digest,
    .privileged = img_layer_privileged(),
    .warn = img_bundle_layer_warning,
    .warn_data = (void *)o,
    .cancelled = o->cancelled,
    .cancel_data = o->cancel_data,
    .max_unpacked = limit,
    .max_unpacked_why = why,
    .overlay = true,
    .lowers = lowers.fds,
    .lowers_len = lowers.len,
  };
  if (img_layer_apply_fd(tmpfd, fd, &lo, &st, err) < 0)
    return -1;
  if (!checked)
    img_store_note_diff_id(s, d->digest, diff_id);
  return 0;
}

/* Layer i in the cache: there already, or unpacked now under the layer's
 * lock (a second bundle of the same image waits, then finds it). */
static int
ensure_layer(struct img_store *s, const struct img_image *img, size_t i, char **chains,
             const struct img_bundle_opts *o, struct oci_error **err)
{
  int lfd = img_store_layers_fd(s, err);
  if (lfd < 0)
    return -1;
  if (layer_cached(lfd, chains[i]))
    return 0;
  cleanup_free char *lock_name = xasprintf("layer %s", chains[i]);
  cleanup_close int lock = img_store_lock_image(s, lock_name, err);
  if (lock < 0)
    return -1;
  if (layer_cached(lfd, chains[i]))
    return 0;

  cleanup_free char *tmp = xasprintf(".tmp-%s", chains[i]);
  cleanup_free char *tmp_path = xasprintf("%s/layers/%s", img_store_dir(s), tmp);
  /* Left by an unpack that died: we hold the lock, so nobody is filling it. */
  if (img_remove_tree(tmp_path, err) < 0)
    return -1;
  if (mkdirat(lfd, tmp, 0755) < 0)
    return oci_error_errno(err, "mkdir `%s`", tmp_path);
  cleanup_close int tmpfd = openat(lfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  int r = tmpfd < 0 ? oci_error_errno(err, "open `%s`", tmp_path)
                    : unpack_layer(s, img, i, chains, lfd, tmpfd, o, err);
  /* Shared by every bundle and never checked again: on disk before its
   * name says it is complete. */
  if (r == 0 && syncfs(tmpfd) < 0)
    r = oci_error_errno(err, "sync `%s`", tmp_path);
  if (r == 0 && renameat(lfd, tmp, lfd, chains[i]) < 0)
    r = oci_error_errno(err, "rename `%s`", tmp_path);
  if (r < 0)
    {
      cleanup_error struct oci_error *ignored = NULL;
      img_remove_tree(tmp_path, &ignored);
      return -1;
    }
  img_bundle_log(o, false, "layer %zu/%zu %.19s: unpacked into the store's cache", i + 1,
                 img->manifest->layers_len, img->manifest->layers[i].digest);
  return 0;
}

/* ---- mounting ---- */

/* lowerdir names are relative to layers/ (we chdir there): 65 bytes a
 * layer keeps well over a hundred layers within the page mount(2) takes. */
static int
mount_overlay(int lfd, char **chains, size_t n, const char *abs_dir, struct oci_error **err)
{
  cleanup_free char *target = xasprintf("%s/rootfs", abs_dir);
  size_t len = 0;

  if (n == 0)
    return oci_error_set(err, 0, "not supported: --overlay of an image without layers");
  if (strpbrk(abs_dir, ",:\\") != NULL)
    return oci_error_set(err, 0, "not supported: an overlay bundle path with `,`, `:` or `\\` (`%s`)",
                         abs_dir);
  for (size_t i = 0; i < n; i++)
    len += strlen(chains[i]) + 1;
  cleanup_free char *opts = xmalloc(len + 2 * strlen(abs_dir) + 64);
  char *p = opts + sprintf(opts, "lowerdir=");
  for (size_t i = n; i-- > 0;)
    p += sprintf(p, "%s%s", chains[i], i ? ":" : "");
  sprintf(p, ",upperdir=%s/.overlay/upper,workdir=%s/.overlay/work", abs_dir, abs_dir);
  if (strlen(opts) >= (size_t)sysconf(_SC_PAGESIZE))
    return oci_error_set(err, 0, "not supported: %zu layers in one overlay mount (the options exceed a page)",
                         n);

  cleanup_close int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (cwd < 0 || fchdir(lfd) < 0)
    return oci_error_errno(err, "chdir to the store's layers");
  int r = mount("overlay", target, "overlay", 0, opts);
  int saved = errno;
  if (fchdir(cwd) < 0)
    abort(); /* the cwd we came from is gone: relative paths would lie */
  if (r < 0)
    return oci_error_set(err, saved, "mount overlay on `%s`", target);
  return 0;
}

static int
mkdir_overlay_dirs(const char *abs_dir, struct oci_error **err)
{
  static const char *const dirs[] = { ".overlay", ".overlay/upper", ".overlay/work" };
  cleanup_close int dfd = open(abs_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return oci_error_errno(err, "open `%s`", abs_dir);
  for (size_t i = 0; i < OCI_ARRAY_SIZE(dirs); i++)
    if (mkdirat(dfd, dirs[i], i ? 0755 : 0700) < 0 && errno != EEXIST)
      return oci_error_errno(err, "mkdir `%s/%s`", abs_dir, dirs[i]);
  return 0;
}

static char *
platform_of(const struct oci_image_config *c)
{
  return xasprintf("%s/%s%s%s", c->os, c->architecture, c->variant ? "/" : "", c->variant ? c->variant : "");
}

static int
ensure_and_mount(struct img_store *s, const struct img_image *img, char **chains, const char *abs_dir,
                 const struct img_bundle_opts *o, struct oci_error **err)
{
  size_t n = img->manifest->layers_len;
  for (size_t i = 0; i < n; i++)
    if (ensure_layer(s, img, i, chains, o, err) < 0)
      return oci_error_wrap(err, "layer %zu of %zu", i + 1, n);
  int lfd = img_store_layers_fd(s, err);
  if (lfd < 0 || mkdir_overlay_dirs(abs_dir, err) < 0)
    return -1;
  return mount_overlay(lfd, chains, n, abs_dir, err);
}

int
img_overlay_mount_image(struct img_store *s, const struct img_image *img, const char *abs_dir,
                        const struct img_bundle_opts *o, struct img_store_bundle *rec, struct oci_error **err)
{
  size_t n = img->manifest->layers_len;

  rec->chains = chain_ids(img);
  rec->chains_len = n;
  rec->manifest = xstrdup(img->manifest_digest);
  rec->platform = platform_of(img->config);
  rec->blobs = xcalloc(n + 2, sizeof *rec->blobs);
  rec->blobs[rec->blobs_len++] = xstrdup(img->manifest->config.digest);
  for (size_t i = 0; i < n; i++)
    rec->blobs[rec->blobs_len++] = xstrdup(img->manifest->layers[i].digest);
  return ensure_and_mount(s, img, rec->chains, abs_dir, o, err);
}

void
img_overlay_unmount_quietly(const char *abs_dir)
{
  cleanup_free char *target = xasprintf("%s/rootfs", abs_dir);
  if (umount2(target, UMOUNT_NOFOLLOW) < 0)
    umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW);
}

/* ---- the marker ---- */

int
img_bundle_write_marker(int bundlefd, const char *kind, const char *store, const char *id,
                        struct oci_error **err)
{
  cleanup_json_writer struct json_writer *w = json_writer_new(true);
  cleanup_free char *text = NULL;
  size_t len;

  json_write_object_begin(w);
  json_write_member_string(w, "kind", kind);
  json_write_member_string(w, "store", store);
  json_write_member_string(w, "id", id);
  json_write_object_end(w);
  if (json_writer_finish(w, &text, &len, err) < 0)
    return -1;
  cleanup_close int fd
      = openat(bundlefd, IMG_BUNDLE_MARKER, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0 || oci_write_all(fd, text, len) < 0 || oci_write_all(fd, "\n", 1) < 0)
    return oci_error_errno(err, "write " IMG_BUNDLE_MARKER);
  return 0;
}

struct marker
{
  char *kind;
  char *store;
  char *id;
};

static void
marker_clear(struct marker *m)
{
  free(m->kind);
  free(m->store);
  free(m->id);
}

/* -1 with status ENOENT when `dir` has no marker. */
static int
read_marker(const char *dir, struct marker *m, struct oci_error **err)
{
  cleanup_free char *path = xasprintf("%s/" IMG_BUNDLE_MARKER, dir);
  cleanup_json_value struct json_value *v = NULL;
  char buf[8192];

  memset(m, 0, sizeof *m);
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return oci_error_errno(err, "open `%s`", path);
  ssize_t n = oci_read_all(fd, buf, sizeof buf - 1);
  if (n < 0)
    return oci_error_errno(err, "read `%s`", path);
  if (json_parse(path, buf, n, &v, err) < 0)
    return -1;
  const char *kind = json_object_get_string(v, "kind");
  const char *store = json_object_get_string(v, "store");
  const char *id = json_object_get_string(v, "id");
  if (kind == NULL || (strcmp(kind, "copy") != 0 && strcmp(kind, "overlay") != 0)
      || (strcmp(kind, "overlay") == 0 && (store == NULL || id == NULL)))
    return oci_error_set(err, 0, "`%s`: not an imgtool bundle marker", path);
  m->kind = xstrdup(kind);
  m->store = store ? xstrdup(store) : NULL;
  m->id = id ? xstrdup(id) : NULL;
  return 0;
}

/* The marker of an existing directory, with the errors `unbundle` and
 * `--remount` give for anything else. */
static int
read_bundle(const char *dir, struct marker *m, struct oci_error **err)
{
  struct stat st;
  cleanup_error struct oci_error *e = NULL;

  if (lstat(dir, &st) < 0)
    return errno == ENOENT ? oci_error_set(err, 0, "bundle `%s` does not exist", dir)
                           : oci_error_errno(err, "bundle `%s`", dir);
  if (!S_ISDIR(st.st_mode))
    return oci_error_set(err, 0, "`%s` is not an imgtool bundle (not a directory)", dir);
  if (read_marker(dir, m, &e) < 0)
    {
      if (e->status == ENOENT)
        return oci_error_set(err, 0, "`%s` is not an imgtool bundle (it has no " IMG_BUNDLE_MARKER ")", dir);
      *err = steal_pointer(&e);
      return -1;
    }
  return 0;
}

static bool
mounted_at(const char *dir)
{
  cleanup_free char *rootfs = xasprintf("%s/rootfs", dir);
  struct stat a, b;
  struct statfs f;

  return stat(dir, &a) == 0 && lstat(rootfs, &b) == 0 && statfs(rootfs, &f) == 0 && a.st_dev != b.st_dev
         && f.f_type == OVERLAYFS_SUPER_MAGIC;
}

enum img_bundle_state
img_overlay_state(const struct img_store_bundle *b)
{
  struct marker m;
  cleanup_error struct oci_error *e = NULL;

  if (read_marker(b->path, &m, &e) < 0)
    return IMG_BUNDLE_GONE;
  bool ours = m.id && strcmp(m.id, b->id) == 0;
  marker_clear(&m);
  if (!ours)
    return IMG_BUNDLE_GONE;
  return mounted_at(b->path) ? IMG_BUNDLE_MOUNTED : IMG_BUNDLE_NOT_MOUNTED;
}

/* ---- remount ---- */

static int
open_record(const struct marker *m, const char *abs_dir, struct img_store **s, struct img_store_bundle **rec,
            struct oci_error **err)
{
  if (img_store_open(m->store, 0, s, err) < 0)
    return oci_error_wrap(err, "the bundle's store");
  if (img_store_get_bundle(*s, m->id, rec, err) < 0)
    return oci_error_wrap(err, "the bundle's record in `%s`", m->store);
  if (strcmp((*rec)->path, abs_dir) != 0)
    return oci_error_set(err, 0, "the store's record of this bundle names `%s` (was the bundle moved?)",
                         (*rec)->path);
  return 0;
}

int
img_bundle_remount(const char *dir, const struct img_bundle_opts *o, struct oci_error **err)
{
  struct marker m;
  cleanup_store struct img_store *s = NULL;
  cleanup_store_bundle struct img_store_bundle *rec = NULL;
  cleanup_image struct img_image *img = NULL;
  cleanup_free char *abs_dir = NULL;
  int r;

  if (read_bundle(dir, &m, err) < 0)
    return -1;
  if (strcmp(m.kind, "overlay") != 0)
    r = oci_error_set(err, 0, "`%s` is a copy bundle: it has no mount", dir);
  else if ((abs_dir = realpath(dir, NULL)) == NULL)
    r = oci_error_errno(err, "realpath `%s`", dir);
  else
    r = open_record(&m, abs_dir, &s, &rec, err);
  marker_clear(&m);
  if (r < 0)
    return oci_error_wrap(err, "bundle `%s`", dir);
  if (mounted_at(abs_dir))
    return 0;
  if (img_image_load(s, rec->manifest, OCI_MT_MANIFEST, rec->platform, &img, err) < 0)
    return oci_error_wrap(err, "bundle `%s`: image %s", dir, rec->manifest);
  cleanup_free char **chains = chain_ids(img);
  r = ensure_and_mount(s, img, chains, abs_dir, o, err);
  for (size_t i = 0; i < img->manifest->layers_len; i++)
    free(chains[i]);
  if (r < 0)
    return oci_error_wrap(err, "bundle `%s`", dir);
  return 0;
}

/* ---- unbundle ---- */

/* Whether the mount `id` of /proc/self/mountinfo is what `point` reaches.
 * A copy of the tree made by someone's `mount --rbind / /` lists the same
 * path under a mount we cannot reach, and removing the tree cannot touch
 * it.  When statx cannot say, assume it is reachable. */
static bool
reachable(const char *point, unsigned long long id)
{
  struct statx stx;
  if (statx(AT_FDCWD, point, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
    return errno != ENOENT && errno != ENOTDIR;
  return !(stx.stx_mask & STATX_MNT_ID) || stx.stx_mnt_id == id;
}

/* Removing a tree with a mount inside would remove what is mounted there
 * (a bind mount of a host directory). */
static int
refuse_mounts_inside(const char *abs_dir, const char *except, struct oci_error **err)
{
  struct oci_mountinfo *mi = NULL;
  size_t n = 0, len = strlen(abs_dir);
  int r = 0;

  if (oci_mountinfo_read(&mi, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n && r == 0; i++)
    {
      const char *point = mi[i].mountpoint;
      if (!reachable(point, mi[i].id) || (except && strcmp(point, except) == 0))
        continue;
      if (strncmp(point, abs_dir, len) == 0 && (point[len] == '\0' || point[len] == '/'))
        r = oci_error_set(err, 0, "`%s` is mounted inside the bundle: unmount it first", point);
    }
  oci_mountinfo_free(mi, n);
  return r;
}

/* Everything but the marker, then the marker: an unbundle that fails half
 * way can be run again. */
static int
remove_bundle_dir(const char *abs_dir, struct oci_error **err)
{
  int fd = open(abs_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  cleanup_closedir DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  struct dirent *de;

  if (d == NULL)
    {
      if (fd >= 0)
        close(fd);
      return oci_error_errno(err, "open `%s`", abs_dir);
    }
  while ((errno = 0, de = readdir(d)))
    {
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0
          || strcmp(de->d_name, IMG_BUNDLE_MARKER) == 0)
        continue;
      cleanup_free char *p = xasprintf("%s/%s", abs_dir, de->d_name);
      /* EBUSY with no mount we reach: a copy of the bundle's mount that
       * another process's `mount --rbind` made still holds the directory. */
      if (img_remove_tree(p, err) < 0)
        return (*err)->status == EBUSY ? oci_error_wrap(err, "busy in a copy of the bundle's mount made by "
                                                             "another process (see /proc/self/mountinfo)")
                                       : -1;
    }
  return 0;
}

static int
unmount_bundle(const char *abs_dir, struct oci_error **err)
{
  cleanup_free char *target = xasprintf("%s/rootfs", abs_dir);
  if (!mounted_at(abs_dir))
    return 0;
  if (umount2(target, UMOUNT_NOFOLLOW) < 0)
    {
      if (errno == EBUSY)
        return oci_error_set(err, 0, "`%s` is busy (is a container still running on it?)", target);
      return oci_error_errno(err, "unmount `%s`", target);
    }
  return 0;
}

int
img_bundle_remove(const char *dir, struct oci_error **err)
{
  struct marker m;
  cleanup_free char *abs_dir = NULL;
  cleanup_store struct img_store *s = NULL;
  int r = 0;

  if (read_bundle(dir, &m, err) < 0)
    return -1;
  bool overlay = strcmp(m.kind, "overlay") == 0;
  if ((abs_dir = realpath(dir, NULL)) == NULL)
    r = oci_error_errno(err, "realpath `%s`", dir);
  /* Our own mount aside, before unmounting it: a mount inside the rootfs
   * (a container's bind mount) would only make the unmount fail as busy. */
  cleanup_free char *rootfs = abs_dir ? xasprintf("%s/rootfs", abs_dir) : NULL;
  if (r == 0 && overlay)
    r = refuse_mounts_inside(abs_dir, rootfs, err);
  if (r == 0 && overlay)
    r = unmount_bundle(abs_dir, err);
  if (r == 0)
    r = refuse_mounts_inside(abs_dir, NULL, err);
  if (r == 0)
    r = remove_bundle_dir(abs_dir, err);
  /* A store that is gone has no record to drop. */
  cleanup_error struct oci_error *no_store = NULL;
  if (r == 0 && overlay && img_store_open(m.store, 0, &s, &no_store) == 0)
    r = img_store_drop_bundle(s, m.id, err);
  marker_clear(&m);
  if (r == 0)
    {
      cleanup_free char *marker = xasprintf("%s/" IMG_BUNDLE_MARKER, abs_dir);
      if (unlink(marker) < 0 || rmdir(abs_dir) < 0)
        r = oci_error_errno(err, "remove `%s`", abs_dir);
    }
  if (r < 0)
    return oci_error_wrap(err, "unbundle `%s`", dir);
  return 0;
}

int
img_bundle_forget(struct img_store *s, const char *dir, struct oci_error **err)
{
  cleanup_free char *abs_dir = NULL;
  cleanup_free char *id = NULL;
  cleanup_store_bundle struct img_store_bundle *rec = NULL;
  cleanup_error struct oci_error *none = NULL;

  if (img_bundle_abs_path(dir, &abs_dir, &none) < 0)
    return 0;
  id = img_store_bundle_id(abs_dir);
  if (img_store_get_bundle(s, id, &rec, &none) < 0)
    return 0;
  if (img_store_drop_bundle(s, id, err) < 0)
    return -1;
  return 1;
}
