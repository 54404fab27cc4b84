#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "spec/util.h"
#include "cli.h"

static const char help[] = "Usage: imgtool pull [--platform OS/ARCH[/VARIANT]] [--name NAME[:TAG]] IMAGE\n"
                           "\n"
                           "Fetch IMAGE from its registry into the store, verifying every digest.\n"
                           "Blobs already in the store are not downloaded again; an interrupted pull\n"
                           "resumes where it stopped.\n"
                           "\n"
                           "IMAGE may be a local source, oci:DIR[:TAG] or oci-archive:FILE[:TAG]: its\n"
                           "manifest, config and layers are copied into the store, each verified, under\n"
                           "the name the layout gives it when that is a full reference, else\n"
                           "localhost/<DIR's base name>:<TAG> (default latest), or under --name.\n"
                           "\n"
                           "  --platform P   the platform to take from a multi-platform image\n"
                           "  --name NAME    the store name for a local source\n"
                           "  -q, --quiet    print the image's digest and nothing else\n";

/* Make BASE (a directory or archive name) a repository path component:
 * lowercase alphanumerics joined by '-'. */
static char *
component_of(const char *base)
{
  char *out = xmalloc(strlen(base) + 1);
  size_t n = 0;

  for (const char *c = base; *c; c++)
    {
      char l = (char)tolower((unsigned char)*c);
      if (isalnum((unsigned char)l) && (unsigned char)l < 0x80)
        out[n++] = l;
      else if (n > 0 && out[n - 1] != '-')
        out[n++] = '-';
    }
  while (n > 0 && out[n - 1] == '-')
    n--;
  out[n] = '\0';
  return out;
}

/* The store name of a local image: --name, else the layout's own full
 * reference (umoci and skopeo may write "example.com/x:1" as ref.name), else
 * localhost/<base name>:<tag>, as podman names such images. */
static int
local_name(const struct img_reference *src, const struct img_store_ref *found, const char *as,
           struct img_reference **out, char **tag, struct oci_error **err)
{
  const char *src_tag = src->tag ? src->tag : (found->tag ? found->tag : IMG_DEFAULT_TAG);
  cleanup_free char *text = NULL;

  if (as)
    {
      const char *slash = strrchr(as, '/');
      bool has_tag = strchr(slash ? slash : as, ':') != NULL;
      text = has_tag ? xstrdup(as) : xasprintf("%s:%s", as, src_tag);
    }
  else if (found->repository)
    text = xasprintf("%s:%s", found->repository, found->tag ? found->tag : src_tag);
  else
    {
      cleanup_free char *path = xstrdup(src->path);
      size_t len = strlen(path);
      while (len > 1 && path[len - 1] == '/')
        path[--len] = '\0';
      if (src->transport == IMG_REF_OCI_ARCHIVE && len > 4 && strcmp(path + len - 4, ".tar") == 0)
        path[len - 4] = '\0';
      const char *base = strrchr(path, '/');
      cleanup_free char *comp = component_of(base ? base + 1 : path);
      text = xasprintf("localhost/%s:%s", comp[0] ? comp : "image", src_tag);
    }
  if (img_reference_parse(text, out, err) < 0)
    return oci_error_wrap(err, "naming the image in the store (choose a name with --name)");
  if ((*out)->transport != IMG_REF_REGISTRY || (*out)->digest)
    {
      img_reference_free(*out);
      *out = NULL;
      return oci_error_fail(err, EINVAL, "`%s`: a store name is NAME[:TAG]", text);
    }
  *tag = xstrdup((*out)->tag);
  return 0;
}

/* NAME: DIGEST, the digest the source serves for the name; a
 * multi-platform image's platform manifest beside it. */
static void
print_pulled(const char *name, const char *digest, const char *manifest_digest, const char *platform)
{
  if (strcmp(digest, manifest_digest) == 0)
    printf("%s: %s\n", name, digest);
  else
    printf("%s: %s (%s manifest %s)\n", name, digest, platform, manifest_digest);
}

static int
pull_local(struct img_cli *cli, const struct img_reference *src, const char *platform, const char *as,
           struct oci_error **err)
{
  cleanup_local struct img_local *l = NULL;
  cleanup_store_ref struct img_store_ref *found = NULL;
  cleanup_image struct img_image *img = NULL;
  cleanup_img_reference struct img_reference *name = NULL;
  cleanup_store struct img_store *store = NULL;
  cleanup_free char *tag = NULL;
  cleanup_free char *repo = NULL;

  if (img_local_open(src, &l, err) < 0 || img_local_find(l, src->tag, &found, err) < 0
      || img_image_load(l->layout, found->digest, found->media_type, platform, &img, err) < 0
      || local_name(src, found, as, &name, &tag, err) < 0)
    return -1;
  if (img_cli_open_store(cli, &store, err) < 0)
    return -1;
  repo = img_reference_name(name);
  if (img_local_copy(l->layout, img, found->digest, store, repo, tag, err) < 0)
    return oci_error_wrap(err, "copying into the store as %s:%s", repo, tag);
  if (cli->quiet)
    printf("%s\n", found->digest);
  else
    {
      cleanup_free char *stored = xasprintf("%s:%s", repo, tag);
      struct img_platform have = { .os = img->config->os,
                                   .architecture = img->config->architecture,
                                   .variant = img->config->variant };
      cleanup_free char *have_s = img_platform_string(&have);
      print_pulled(stored, found->digest, img->manifest_digest, have_s);
    }
  return 0;
}

/* --name is NAME[:TAG], checked before anything is read. */
static int
check_name(const char *as, struct oci_error **err)
{
  cleanup_img_reference struct img_reference *r = NULL;
  cleanup_error struct oci_error *bad = NULL;

  if (img_reference_parse(as, &r, &bad) < 0)
    return img_cli_usage_error(err, "pull", "--name: %s", bad->msg);
  if (r->transport != IMG_REF_REGISTRY || r->digest)
    return img_cli_usage_error(err, "pull", "--name `%s`: a store name is NAME[:TAG]", as);
  return 0;
}

static bool
name_option(void *data, int c, const char *arg)
{
  if (c != 'n')
    return false;
  *(const char **)data = arg;
  return true;
}

int
img_cli_pull(struct img_cli *cli, int argc, char **argv, struct oci_error **err)
{
  static const struct option opts[] = { IMG_CLI_COMMON_OPTIONS,
                                        { "platform", required_argument, NULL, 'p' },
                                        { "name", required_argument, NULL, 'n' },
                                        { 0 } };
  cleanup_store struct img_store *store = NULL;
  cleanup_img_reference struct img_reference *ref = NULL;
  __attribute__((cleanup(img_pulled_clear))) struct img_pulled pulled = { 0 };
  const char *platform = NULL;
  const char *as = NULL;
  const struct img_cli_options o = { .cmd = "pull",
                                     .help = help,
                                     .shortopts = "qvhp:",
                                     .longopts = opts,
                                     .platform = &platform,
                                     .own = name_option,
                                     .data = &as };
  struct img_pull_opts po;
  int first;

  first = img_cli_parse_options(cli, &o, argc, argv, err);
  if (first <= 0)
    return first;
  if (argc - first != 1)
    return img_cli_usage_error(err, "pull", "expected one IMAGE");
  if (as && check_name(as, err) < 0)
    return IMG_CLI_USAGE;
  if (img_reference_parse(argv[first], &ref, err) < 0)
    return -1;
  if (ref->transport != IMG_REF_REGISTRY)
    return pull_local(cli, ref, platform, as, err) < 0 ? oci_error_wrap(err, "%s", argv[first]) : 0;
  if (as)
    return img_cli_usage_error(err, "pull", "--name is for oci: and oci-archive: sources");
  if (img_cli_open_store(cli, &store, err) < 0)
    return -1;
  img_cli_pull_opts(cli, platform, &po);
  if (img_pull(store, ref, &po, &pulled, err) < 0)
    return -1;
  /* -q: the digest alone, for scripts (`d=$(imgtool -q pull x)`). */
  if (cli->quiet)
    printf("%s\n", pulled.digest);
  else
    {
      cleanup_free char *s = img_reference_string(ref);
      print_pulled(s, pulled.digest, pulled.manifest_digest, pulled.platform);
    }
  return 0;
}
