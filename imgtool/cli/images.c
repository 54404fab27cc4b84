#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "spec/util.h"
#include "cli.h"

static const char help[] = "Usage: imgtool images [-q]\n"
                           "\n"
                           "List the images in the store, one row per name and platform: repository,\n"
                           "tag, platform, digest (what the registry serves for the name: a\n"
                           "multi-platform image's index), manifest digest (the platform's image\n"
                           "manifest), size (compressed, as stored) and when it was pulled.\n"
                           "-q prints each name once.\n";

static void
describe_size(struct img_store *store, const struct img_store_ref *r, char *buf, size_t len)
{
  cleanup_error struct oci_error *e = NULL;
  cleanup_free char *text = NULL;
  cleanup_image_manifest struct oci_image_manifest *m = NULL;
  size_t n;

  snprintf(buf, len, "-");
  if (!oci_media_type_is_manifest(r->media_type)
      || img_store_read_blob(store, r->digest, OCI_MANIFEST_MAX_SIZE, &text, &n, &e) < 0
      || oci_image_manifest_parse(r->digest, text, n, &m, &e) < 0)
    return;
  uint64_t total = m->config.size;
  for (size_t i = 0; i < m->layers_len; i++)
    total += m->layers[i].size;
  img_cli_human_size(total, buf, len);
}

/* A digest name of an image a tag of its repository names (stores written
 * before set_ref dropped those) is that row already. */
static bool
covered_by_tag(const struct img_store_ref *refs, size_t n, size_t i)
{
  if (refs[i].tag || refs[i].repository == NULL)
    return false;
  for (size_t k = 0; k < n; k++)
    if (refs[k].tag && refs[k].repository && strcmp(refs[k].repository, refs[i].repository) == 0
        && strcmp(refs[k].digest, refs[i].digest) == 0)
      return true;
  return false;
}

/* A name stored for several platforms is one name. */
static bool
listed_before(const struct img_store_ref *refs, size_t i)
{
  for (size_t k = 0; k < i; k++)
    if (refs[i].name && refs[k].name && strcmp(refs[i].name, refs[k].name) == 0)
      return true;
  return false;
}

int
img_cli_images(struct img_cli *cli, int argc, char **argv, struct oci_error **err)
{
  static const struct img_cli_options o = { .cmd = "images", .help = help };
  cleanup_store struct img_store *store = NULL;
  struct img_store_ref *refs = NULL;
  size_t n = 0;
  int first;

  first = img_cli_parse_options(cli, &o, argc, argv, err);
  if (first <= 0)
    return first;
  if (first != argc)
    return img_cli_usage_error(err, "images", "no arguments expected");
  if (img_cli_open_store(cli, &store, err) < 0 || img_store_list_refs(store, &refs, &n, err) < 0)
    return -1;

  if (!cli->quiet)
    printf("%-40s %-16s %-14s %-19s %-19s %-10s %s\n", "REPOSITORY", "TAG", "PLATFORM", "DIGEST",
           "MANIFEST DIGEST", "SIZE", "PULLED");
  for (size_t i = 0; i < n; i++)
    {
      const struct img_store_ref *r = &refs[i];
      char size[32], when[32];
      if (covered_by_tag(refs, n, i))
        continue;
      if (cli->quiet)
        {
          if (!listed_before(refs, i))
            printf("%s\n", r->name ? r->name : r->digest);
          continue;
        }
      describe_size(store, r, size, sizeof size);
      snprintf(when, sizeof when, "%s", r->pulled ? r->pulled : "-");
      char *t = strchr(when, 'T');
      if (t)
        *t = ' ';
      cleanup_free char *platform = r->platform.os ? img_platform_string(&r->platform) : xstrdup("-");
      printf("%-40s %-16s %-14s %-19.19s %-19.19s %-10s %s\n", r->repository ? r->repository : "-",
             r->tag ? r->tag : "<none>", platform, r->ref_digest, r->digest, size, when);
    }
  img_store_refs_free(refs, n);
  return 0;
}
