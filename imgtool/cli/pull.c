#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "spec/util.h"
#include "cli.h"

static const char help[] = "Usage: imgtool pull [--platform OS/ARCH[/VARIANT]] IMAGE\n"
                           "\n"
                           "Fetch IMAGE from its registry into the store, verifying every digest.\n"
                           "Blobs already in the store are not downloaded again; an interrupted pull\n"
                           "resumes where it stopped.\n";

int
img_cli_pull(struct img_cli *cli, int argc, char **argv, struct oci_error **err)
{
  static const struct option opts[]
      = { IMG_CLI_COMMON_OPTIONS, { "platform", required_argument, NULL, 'p' }, { 0 } };
  cleanup_store struct img_store *store = NULL;
  cleanup_img_reference struct img_reference *ref = NULL;
  cleanup_free char *digest = NULL;
  const char *platform = NULL;
  struct img_pull_opts po;
  int c;

  optind = 0;
  while ((c = getopt_long(argc, argv, "qvhp:", opts, NULL)) != -1)
    {
      if (img_cli_common_option(cli, c, optarg))
        continue;
      if (c == 'h')
        return fputs(help, stdout), 0;
      if (c == 'p')
        platform = optarg;
      else
        return img_cli_usage_error(err, "pull", "invalid option");
    }
  if (argc - optind != 1)
    return img_cli_usage_error(err, "pull", "expected one IMAGE");
  if (img_reference_parse(argv[optind], &ref, err) < 0)
    return -1;
  if (ref->transport != IMG_REF_REGISTRY)
    return oci_error_set(err, 0, "not supported: pulling `%s` into the store (bundle it directly)",
                         argv[optind]);
  if (img_cli_open_store(cli, &store, err) < 0)
    return -1;
  img_cli_pull_opts(cli, platform, &po);
  if (img_pull(store, ref, &po, &digest, err) < 0)
    return -1;
  if (!cli->quiet)
    {
      cleanup_free char *s = img_reference_string(ref);
      printf("%s: %s\n", s, digest);
    }
  return 0;
}
