#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "spec/util.h"
#include "inroot.h"
#include "bundle.h"
#include "convert.h"
#include "layer.h"
#include "overlay.h"

static const char *const layer_media_types[] = {
  OCI_MT_LAYER,
  OCI_MT_LAYER_GZIP,
  OCI_MT_LAYER_ZSTD,
  DOCKER_MT_LAYER_GZIP,
  /* deprecated, but "implementations are expected to support preexisting
   * images"; we only ever read them from the store */
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  DOCKER_MT_LAYER_FOREIGN,
};

bool
img_bundle_layer_media_type_ok(const char *mt)
{
  for (size_t i = 0; i < OCI_ARRAY_SIZE(layer_media_types); i++)
    if (strcmp(mt, layer_media_types[i]) == 0)
      return true;
  return false;
}

void
img_bundle_log(const struct img_bundle_opts *o, bool warning, const char *fmt, ...)
{
  va_list va;
  cleanup_free char *msg = NULL;

  if (o->log == NULL || (!warning && !o->verbose))
    return;
  va_start(va, fmt);
  if (vasprintf(&msg, fmt, va) < 0)
    abort();
  va_end(va);
  o->log(o->log_data, warning, msg);
}

void
img_bundle_layer_warning(void *data, const char *msg)
{
  img_bundle_log(data, true, "%s", msg);
}

static double
now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The limit of a layer of `compressed` bytes (see bundle.h): *limit 0 for
 * none, *why for the error that names it. */
int
img_bundle_layer_limit(const struct img_bundle_opts *o, int rootfd, int64_t compressed, uint64_t *limit,
                       char **why, struct oci_error **err)
{
  struct statvfs sv;

  *limit = 0;
  if (o->max_unpacked == IMG_BUNDLE_UNLIMITED)
    return 0;
  if (o->max_unpacked)
    {
      *limit = o->max_unpacked;
      *why = xstrdup("--max-unpacked-size");
      return 0;
    }
  if (fstatvfs(rootfd, &sv) < 0)
    return oci_error_errno(err, "statvfs of the bundle's filesystem");
  uint64_t size = (uint64_t)sv.f_blocks * sv.f_frsize;
  uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
  uint64_t reserve = size / 20 < IMG_BUNDLE_RESERVE_MAX ? size / 20 : IMG_BUNDLE_RESERVE_MAX;
  uint64_t c = compressed > 0 ? (uint64_t)compressed : 0;
  uint64_t by_ratio = c > UINT64_MAX / IMG_BUNDLE_DEFAULT_RATIO ? UINT64_MAX : c * IMG_BUNDLE_DEFAULT_RATIO;

  if (by_ratio < IMG_BUNDLE_DEFAULT_FLOOR)
    by_ratio = IMG_BUNDLE_DEFAULT_FLOOR;
  if (avail <= reserve)
    return oci_error_set(
        err, 0,
        "the bundle's filesystem has %.1f MiB free, less than the %.1f MiB the default limit "
        "keeps (see --max-unpacked-size)",
        avail / 1048576.0, reserve / 1048576.0);
  if (avail - reserve < by_ratio)
    {
      *limit = avail - reserve;
      *why = xasprintf("the default limit: the free space of the bundle's filesystem, less %.1f MiB; see "
                       "--max-unpacked-size",
                       reserve / 1048576.0);
      return 0;
    }
  *limit = by_ratio;
  *why = xasprintf(
      "the default limit: %d times the compressed size, at least %llu MiB; see --max-unpacked-size",
      IMG_BUNDLE_DEFAULT_RATIO, IMG_BUNDLE_DEFAULT_FLOOR >> 20);
  return 0;
}

static void
cleanup_aheadp(struct img_layer_ahead **a)
{
  img_layer_ahead_free(*a);
}
#define cleanup_ahead __attribute__((cleanup(cleanup_aheadp)))

/* Layer i of the store's image, opened and checked against its descriptor. */
static int
open_layer(struct img_store *s, const struct oci_image_manifest *m, size_t i, int *fd, struct oci_error **err)
{
  const struct oci_descriptor *d = &m->layers[i];
  uint64_t size;

  if (!img_bundle_layer_media_type_ok(d->media_type))
    return oci_error_set(err, 0, "layer %s: not supported: media type `%s`", d->digest, d->media_type);
  if (img_store_open_blob(s, d->digest, fd, &size, err) < 0)
    return oci_error_wrap(err, "layer %zu of %zu", i + 1, m->layers_len);
  if (size != (uint64_t)d->size)
    {
      close(*fd);
      *fd = -1;
      return oci_error_set(err, 0, "layer %s: %" PRIu64 " bytes, the manifest says %" PRId64, d->digest, size,
                           d->size);
    }
  return 0;
}

/* Layer i from the store, its reading and inflating started (see
 * img_layer_ahead_start), with its diff_id to be checked when *check says
 * so; NULL when it cannot be opened: its turn says why. */
static struct img_layer_ahead *
start_layer(struct img_store *s, const struct img_image *img, size_t i, bool *check)
{
  const struct oci_descriptor *d = &img->manifest->layers[i];
  cleanup_error struct oci_error *ignored = NULL;
  cleanup_close int fd = -1;

  if (open_layer(s, img->manifest, i, &fd, &ignored) < 0)
    return NULL;
  *check = !img_store_diff_id_checked(s, d->digest, img->config->diff_ids[i]);
  return img_layer_ahead_start(fd, *check);
}

/* From the source (a download being followed), or from the store: started
 * ahead, or from its file. */
static int
apply_one(const struct img_bundle_opts *o, int rootfd, struct img_layer_ahead *ahead, int fd, size_t i,
          const struct img_layer_opts *lo, struct img_layer_stats *st, struct oci_error **err)
{
  img_layer_read_fn fn;
  void *fn_data = NULL;
  int r;

  if (ahead)
    return img_layer_apply_ahead(rootfd, ahead, lo, st, err);
  if (o->source == NULL)
    return img_layer_apply_fd(rootfd, fd, lo, st, err);
  if (o->source->open(o->source->data, i, &fn, &fn_data, err) < 0)
    return -1;
  r = img_layer_apply(rootfd, fn, fn_data, lo, st, err);
  o->source->close(o->source->data, fn_data);
  return r;
}

static int
unpack_layers(struct img_store *s, const struct img_image *img, int rootfd, const struct img_bundle_opts *o,
              struct oci_error **err)
{
  const struct oci_image_manifest *m = img->manifest;
  bool privileged = img_layer_privileged();
  /* From the store, the next layer is read and inflated while this one is
   * applied: inflating is more than half of the CPU time (0.49 s of 0.88
   * for the Debian image of tests/bench/imgtool.sh), one layer's in one
   * thread, and a layer of small files or the end of a layer left the
   * other core idle. */
  bool next_check = false;
  cleanup_ahead struct img_layer_ahead *next
      = o->source == NULL && m->layers_len > 0 ? start_layer(s, img, 0, &next_check) : NULL;

  for (size_t i = 0; i < m->layers_len; i++)
    {
      const struct oci_descriptor *d = &m->layers[i];
      struct img_layer_stats st = { 0 };
      cleanup_ahead struct img_layer_ahead *cur = steal_pointer(&next);
      bool cur_check = next_check;
      cleanup_close int fd = -1;
      cleanup_free char *why = NULL;
      uint64_t limit;

      if (o->cancelled && o->cancelled(o->cancel_data))
        return oci_error_fail(err, EINTR, "interrupted");
      if (!img_bundle_layer_media_type_ok(d->media_type))
        return oci_error_set(err, 0, "layer %s: not supported: media type `%s`", d->digest, d->media_type);
      /* A layer that could not be started: opened again for its error. */
      if (o->source == NULL && cur == NULL && open_layer(s, m, i, &fd, err) < 0)
        return -1;

      /* The blob's digest is checked on every unpack; its diff_id only
       * until one unpack has confirmed it (see img_store_note_diff_id).
       * The limit is computed now, once the layers before are written. */
      if (img_bundle_layer_limit(o, rootfd, d->size, &limit, &why, err) < 0)
        return oci_error_wrap(err, "layer %s", d->digest);
      const char *diff_id = img->config->diff_ids[i];
      /* As decided when the layer was started (an image may list a layer
       * twice, and the first may confirm it in between). */
      bool diff_id_checked
          = o->source == NULL && (cur ? !cur_check : img_store_diff_id_checked(s, d->digest, diff_id));
      struct img_layer_opts lo = {
        .name = d->digest,
        .diff_id = diff_id_checked ? NULL : diff_id,
        .digest = d->digest,
        .privileged = privileged,
        .warn = img_bundle_layer_warning,
        .warn_data = (void *)o,
        .cancelled = o->cancelled,
        .cancel_data = o->cancel_data,
        .max_unpacked = limit,
        .max_unpacked_why = why,
      };
      if (o->source == NULL && i + 1 < m->layers_len)
        next = start_layer(s, img, i + 1, &next_check);
      double t0 = now();
      if (apply_one(o, rootfd, cur, fd, i, &lo, &st, err) < 0)
        return -1;
      if (!diff_id_checked && o->source == NULL)
        img_store_note_diff_id(s, d->digest, diff_id);
      img_bundle_log(o, false, "layer %zu/%zu %.19s: %" PRIu64 " entries, %.1f MB in %.2f s", i + 1,
                     m->layers_len, d->digest, st.entries, st.bytes / 1e6, now() - t0);
    }
  return 0;
}

/* A WorkingDir that no layer created: image builders create it, and the
 * runtime refuses a missing cwd, so make it here. */
static int
make_cwd(int rootfd, const char *cwd, struct oci_error **err)
{
  cleanup_close int fd = -1;

  cwd += strspn(cwd, "/");
  if (*cwd == '\0')
    return 0;
  fd = oci_root_mkdir_p(rootfd, cwd, 0755, OCI_ROOT_NO_DANGLING, NULL, NULL, err);
  if (fd < 0)
    return oci_error_wrap(err, "working directory `/%s`", cwd);
  return 0;
}

static int
write_config(const struct img_image *img, int bundlefd, int rootfd, const struct img_bundle_opts *o,
             struct oci_error **err)
{
  cleanup_config struct oci_config *cfg = NULL;
  cleanup_free char *text = NULL;
  size_t len;
  struct img_convert_opts co = {
    .rootless = o->rootless,
    .uid = geteuid(),
    .gid = getegid(),
    .terminal = o->terminal,
  };

  if (img_convert_config(img->config, rootfd, &co, &cfg, err) < 0
      || oci_config_emit(cfg, true, &text, &len, err) < 0)
    return oci_error_wrap(err, "config.json");
  if (make_cwd(rootfd, cfg->process->cwd, err) < 0)
    return -1;
  cleanup_close int fd = openat(bundlefd, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 || oci_write_all(fd, text, len) < 0 || oci_write_all(fd, "\n", 1) < 0)
    return oci_error_errno(err, "write config.json");
  if (o->rootless && cfg->process->user.uid != 0)
    img_bundle_log(o, true, "the image runs as uid %" PRIu32 ", but --rootless maps only root",
                   cfg->process->user.uid);
  return 0;
}

/* What a failed overlay build must undo (the mount, the record). */
struct overlay_state
{
  struct img_store_bundle rec;
  bool mounted;
  bool registered;
};

/* Mounts on tmp/rootfs; the caller opens rootfs afterwards, so that the
 * config sees the merged tree and the WorkingDir lands in the upper dir. */
static int
build_overlay(struct img_store *s, const struct img_image *img, const char *tmp, const char *target,
              int bundlefd, const struct img_bundle_opts *o, struct overlay_state *ov, struct oci_error **err)
{
  cleanup_free char *store_dir = NULL;

  if (img_store_abs_dir(s, &store_dir, err) < 0)
    return -1;
  ov->rec.id = img_store_bundle_id(target);
  ov->rec.path = xstrdup(target);
  ov->rec.image = xstrdup(o->image_name ? o->image_name : "");
  ov->rec.ref_digest = xstrdup(o->ref_digest ? o->ref_digest : img->manifest_digest);
  if (img_overlay_mount_image(s, img, tmp, o, &ov->rec, err) < 0)
    return -1;
  ov->mounted = true;
  return img_bundle_write_marker(bundlefd, "overlay", store_dir, ov->rec.id, err);
}

static int
build(struct img_store *s, const struct img_image *img, const char *tmp, const char *target,
      const struct img_bundle_opts *o, struct overlay_state *ov, struct oci_error **err)
{
  cleanup_close int bundlefd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (bundlefd < 0)
    return oci_error_errno(err, "open `%s`", tmp);
  if (fchmod(bundlefd, 0755) < 0)
    return oci_error_errno(err, "chmod `%s`", tmp);
  if (mkdirat(bundlefd, "rootfs", 0755) < 0)
    return oci_error_errno(err, "mkdir `%s/rootfs`", tmp);
  if (o->overlay && build_overlay(s, img, tmp, target, bundlefd, o, ov, err) < 0)
    return -1;
  cleanup_close int rootfd = openat(bundlefd, "rootfs", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (rootfd < 0)
    return oci_error_errno(err, "open `%s/rootfs`", tmp);
  if (o->overlay)
    {
      if (write_config(img, bundlefd, rootfd, o, err) < 0)
        return -1;
      /* Last: from here on gc keeps the bundle's blobs and layers. */
      if (img_store_put_bundle(s, &ov->rec, err) < 0)
        return -1;
      ov->registered = true;
      return 0;
    }

  if (unpack_layers(s, img, rootfd, o, err) < 0)
    return -1;
  if (o->source)
    {
      if (o->source->finish(o->source->data, err) < 0)
        return -1;
      /* Every layer's diff_id was checked on the way in; now that their
       * blobs are in the store, the next bundle need not check it again. */
      for (size_t i = 0; i < img->manifest->layers_len; i++)
        img_store_note_diff_id(s, img->manifest->layers[i].digest, img->config->diff_ids[i]);
    }
  if (write_config(img, bundlefd, rootfd, o, err) < 0)
    return -1;
  return img_bundle_write_marker(bundlefd, "copy", NULL, NULL, err);
}

/* DIR as an absolute path (the record and the mount options need one):
 * its parent resolved, its own name kept. */
int
img_bundle_abs_path(const char *target, char **out, struct oci_error **err)
{
  cleanup_free char *copy1 = xstrdup(target);
  cleanup_free char *copy2 = xstrdup(target);
  cleanup_free char *parent = realpath(dirname(copy1), NULL);
  const char *base = basename(copy2);

  if (parent == NULL)
    return oci_error_errno(err, "bundle `%s`", target);
  if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0 || strcmp(base, "/") == 0)
    return oci_error_fail(err, EEXIST, "bundle `%s` already exists", target);
  *out = xasprintf("%s%s%s", parent, strcmp(parent, "/") == 0 ? "" : "/", base);
  return 0;
}

static char *
bundle_target(const char *dir)
{
  char *target = xstrdup(dir);

  for (size_t n = strlen(target); n > 1 && target[n - 1] == '/'; n--)
    target[n - 1] = '\0';
  return target;
}

int
img_bundle_check_dir(const char *dir, struct oci_error **err)
{
  cleanup_free char *target = bundle_target(dir);
  cleanup_free char *parent = NULL;
  cleanup_close int fd = -1;
  struct stat st;
  char *slash;

  if (lstat(target, &st) == 0)
    return oci_error_fail(err, EEXIST, "bundle `%s` already exists", target);
  if (errno != ENOENT)
    return oci_error_errno(err, "bundle `%s`", target);
  slash = strrchr(target, '/');
  parent = slash == NULL ? xstrdup(".") : slash == target ? xstrdup("/") : xstrndup(target, slash - target);
  fd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
  /* The bundle is built in a sibling DIR.tmp-XXXXXX: mkdtemp() needs both. */
  if (fd < 0 || faccessat(fd, ".", W_OK | X_OK, 0) < 0)
    return oci_error_errno(err, "bundle `%s`: cannot create it in `%s`", target, parent);
  return 0;
}

int
img_bundle_create(struct img_store *s, const struct img_image *img, const char *dir,
                  const struct img_bundle_opts *o, struct oci_error **err)
{
  struct overlay_state ov = { 0 };
  cleanup_free char *target = bundle_target(dir);

  if (img_bundle_check_dir(target, err) < 0)
    return -1;
  if (o->overlay)
    {
      char *abs = NULL;
      if (img_bundle_abs_path(target, &abs, err) < 0)
        return -1;
      free(target);
      target = abs;
    }

  cleanup_free char *tmp = xasprintf("%s.tmp-XXXXXX", target);
  if (mkdtemp(tmp) == NULL)
    return oci_error_errno(err, "create `%s`", tmp);

  int r = build(s, img, tmp, target, o, &ov, err);
  /* The rename makes the bundle appear whole or not at all to other
   * processes; it is not made durable against a crash of the machine
   * (neither are the rootfs's files, as with tar -x or umoci: syncing
   * 180 MB would cost more than the unpack).  RENAME_NOREPLACE: a DIR
   * that appeared meanwhile is never replaced.  An overlay mount inside
   * moves with its directory. */
  if (r == 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, target, RENAME_NOREPLACE) < 0)
    r = errno == EEXIST ? oci_error_fail(err, EEXIST, "bundle `%s` already exists", target)
                        : oci_error_errno(err, "rename `%s` to `%s`", tmp, target);
  if (r < 0)
    {
      cleanup_error struct oci_error *ignored = NULL;
      if (ov.registered)
        img_store_drop_bundle(s, ov.rec.id, &ignored);
      if (ov.mounted)
        img_overlay_unmount_quietly(tmp);
      img_remove_tree(tmp, &ignored);
    }
  free(ov.rec.id);
  free(ov.rec.path);
  free(ov.rec.image);
  free(ov.rec.manifest);
  free(ov.rec.platform);
  free(ov.rec.ref_digest);
  for (size_t i = 0; i < ov.rec.blobs_len; i++)
    free(ov.rec.blobs[i]);
  free(ov.rec.blobs);
  for (size_t i = 0; i < ov.rec.chains_len; i++)
    free(ov.rec.chains[i]);
  free(ov.rec.chains);
  if (r < 0)
    return oci_error_wrap(err, "bundle `%s`", target);
  return 0;
}
