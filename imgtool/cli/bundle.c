#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spec/util.h"
#include "bundle.h"
#include "cli.h"
#include "overlay.h"

static const char help[]
    = "Usage: imgtool bundle [--platform OS/ARCH[/VARIANT]] [--rootless] [-t] [--overlay] IMAGE DIR\n"
      "       imgtool bundle --remount DIR\n"
      "\n"
      "Unpack IMAGE into a new OCI bundle DIR (DIR/rootfs and DIR/config.json),\n"
      "pulling it first when it is not in the store.  DIR must not exist (checked\n"
      "before pulling); on any failure nothing is left behind.  `imgtool unbundle\n"
      "DIR` removes it.\n"
      "\n"
      "  --overlay      DIR/rootfs is an overlayfs mount of the image's layers,\n"
      "                 unpacked once into the store and shared by every overlay\n"
      "                 bundle (needs root; the image is pulled into the store)\n"
      "  --remount      mount an overlay bundle again after its mount went away\n"
      "  --platform P   the platform to take from a multi-platform image\n"
      "  --rootless     run in a user namespace mapping the caller to root\n"
      "  -t, --tty      process.terminal = true\n"
      "  --max-unpacked-size SIZE\n"
      "                 refuse a layer that unpacks to more than SIZE (suffix K, M,\n"
      "                 G or T; `unlimited`: no limit); default: 100 times the\n"
      "                 layer's compressed size, at least 64M, and no more than the\n"
      "                 free space less 5% of the filesystem (at most 1G)\n";

static void
log_line(void *data, bool warning, const char *msg)
{
  fprintf(stderr, "%s%s\n", warning ? "imgtool: warning: " : "", msg);
}

/* SIGINT and friends are blocked while unpacking and polled here, so that an
 * interrupted bundle still removes its temporary tree. */
static bool
interrupted(void *data)
{
  sigset_t pending;
  const sigset_t *watched = data;
  if (sigpending(&pending) < 0)
    return false;
  for (int s = 1; s < NSIG; s++)
    if (sigismember(watched, s) == 1 && sigismember(&pending, s) == 1)
      return true;
  return false;
}

struct bundle_flags
{
  struct img_bundle_opts *bo;
  bool remount;
  const char *max_unpacked; /* checked after getopt, for a precise error */
};

static bool
bundle_option(void *data, int c, const char *arg)
{
  struct bundle_flags *fl = data;
  if (c == 'r')
    fl->bo->rootless = true;
  else if (c == 't')
    fl->bo->terminal = true;
  else if (c == 2001)
    fl->max_unpacked = arg;
  else if (c == 2002)
    fl->bo->overlay = true;
  else if (c == 2003)
    fl->remount = true;
  else
    return false;
  return true;
}

/* NUMBER[K|M|G|T] (powers of 1024), or `unlimited`.  0 is refused: as a
 * limit it would refuse every layer, and it reads as "no limit" to some. */
static int
parse_size(const char *s, uint64_t *out)
{
  static const char units[] = "KMGT";
  char *end;
  int shift = 0;

  if (strcmp(s, "unlimited") == 0)
    {
      *out = IMG_BUNDLE_UNLIMITED;
      return 0;
    }
  if (*s < '0' || *s > '9')
    return -1;
  errno = 0;
  unsigned long long n = strtoull(s, &end, 10);
  if (errno != 0 || n == 0)
    return -1;
  if (*end != '\0')
    {
      const char *u = strchr(units, toupper((unsigned char)*end));
      if (u == NULL || end[1] != '\0')
        return -1;
      shift = 10 * (int)(u - units + 1);
    }
  if (n > (UINT64_MAX - 1) >> shift)
    return -1;
  *out = (uint64_t)n << shift;
  return 0;
}

static int
remount(struct img_cli *cli, struct bundle_flags *fl, int argc, char **argv, struct oci_error **err)
{
  if (argc != 1)
    return img_cli_usage_error(err, "bundle", "--remount expects DIR alone");
  if (geteuid() != 0)
    return oci_error_set(err, 0, "not supported: --remount without root (it mounts overlayfs)");
  fl->bo->verbose = cli->verbose;
  return img_bundle_remount(argv[0], fl->bo, err);
}

int
img_cli_bundle(struct img_cli *cli, int argc, char **argv, struct oci_error **err)
{
  static const struct option opts[] = { IMG_CLI_COMMON_OPTIONS,
                                        { "platform", required_argument, NULL, 'p' },
                                        { "rootless", no_argument, NULL, 'r' },
                                        { "tty", no_argument, NULL, 't' },
                                        { "max-unpacked-size", required_argument, NULL, 2001 },
                                        { "overlay", no_argument, NULL, 2002 },
                                        { "remount", no_argument, NULL, 2003 },
                                        { 0 } };
  cleanup_store struct img_store *store = NULL;
  cleanup_image struct img_image *img = NULL;
  cleanup_pull_stream struct img_pull_stream *stream = NULL;
  struct img_cli_image im = { 0 };
  struct img_bundle_opts bo = { .log = log_line };
  struct bundle_flags flags = { .bo = &bo };
  const char *platform = NULL;
  const struct img_cli_options o = { .cmd = "bundle",
                                     .help = help,
                                     .shortopts = "qvhp:t",
                                     .longopts = opts,
                                     .platform = &platform,
                                     .own = bundle_option,
                                     .data = &flags };
  sigset_t watched, old;
  int first, r;

  first = img_cli_parse_options(cli, &o, argc, argv, err);
  if (first <= 0)
    return first;
  if (flags.remount)
    return remount(cli, &flags, argc - first, argv + first, err);
  if (argc - first != 2)
    return img_cli_usage_error(err, "bundle", "expected IMAGE and DIR");
  if (flags.max_unpacked && parse_size(flags.max_unpacked, &bo.max_unpacked) < 0)
    return img_cli_usage_error(err, "bundle",
                               "--max-unpacked-size: `%s` is not a size (NUMBER[K|M|G|T] or `unlimited`)",
                               flags.max_unpacked);
  bo.verbose = cli->verbose;
  if (img_bundle_check_dir(argv[first + 1], err) < 0)
    return -1;

  /* Local sources never touch the store. */
  bool local = strncmp(argv[first], "oci:", 4) == 0 || strncmp(argv[first], "oci-archive:", 12) == 0;
  if (bo.overlay && local)
    return img_cli_usage_error(err, "bundle",
                               "--overlay shares layers through the store: `imgtool pull %s` first, then "
                               "bundle the name it prints",
                               argv[first]);
  if (bo.overlay && geteuid() != 0)
    return oci_error_set(err, 0, "not supported: --overlay without root (it mounts overlayfs)");
  if (!local && img_cli_open_store(cli, &store, err) < 0)
    return -1;
  /* From here on an interrupt is polled for (by the downloads and the
   * unpacker), so that it removes the bundle's temporary tree and exits 130
   * instead of killing us with the tree left behind. */
  sigemptyset(&watched);
  sigaddset(&watched, SIGINT);
  sigaddset(&watched, SIGTERM);
  sigaddset(&watched, SIGHUP);
  sigprocmask(SIG_BLOCK, &watched, &old);
  bo.cancelled = interrupted;
  bo.cancel_data = &watched;
  /* An overlay bundle's layers come from the store: pull the whole image
   * first rather than stream it into the bundle. */
  r = img_cli_find_image(cli, store, argv[first], bo.overlay, platform, &im, err);
  bo.image_name = argv[first];
  /* Not in the store for that platform: pull while unpacking. */
  if (!bo.overlay && store && im.ref && r < 0 && (*err)->status == ENOENT)
    {
      struct img_pull_opts po;
      oci_error_free(*err);
      *err = NULL;
      img_cli_pull_opts(cli, platform, &po);
      po.registry.cancelled = interrupted;
      po.registry.cancel_data = &watched;
      r = img_pull_stream_start(store, im.ref, &po, &stream, err);
      if (r == 0)
        r = img_image_load(store, img_pull_stream_manifest_digest(stream), img_pull_stream_media_type(stream),
                           platform, &img, err);
      bo.source = stream ? img_pull_stream_source(stream) : NULL;
      im.store = store;
    }
  else if (r == 0)
    {
      bo.ref_digest = im.found->digest;
      r = img_image_load(im.store, im.found->digest, im.found->media_type, platform, &img, err);
    }
  if (r == 0)
    r = img_bundle_create(im.store, img, argv[first + 1], &bo, err);
  if (r < 0)
    oci_error_wrap(err, "%s", argv[first]);
  img_cli_image_clear(&im);
  img_pull_stream_free(steal_pointer(&stream));
  /* Whatever failed first once the interrupt came (a download, a read),
   * the interrupt is the cause: main exits 130.  The signal stays blocked
   * until then, or it would kill us before the message. */
  if (r < 0 && interrupted(&watched))
    {
      oci_error_free(*err);
      *err = NULL;
      return oci_error_fail(err, EINTR, "%s: interrupted", argv[first]);
    }
  sigprocmask(SIG_SETMASK, &old, NULL);
  return r;
}
