#include <config.h>

#include <stdio.h>

#include "spec/util.h"
#include "cli.h"
#include "credentials.h"

static const char help[] = "Usage: imgtool logout [REGISTRY]\n"
                           "\n"
                           "Remove the credentials for REGISTRY (default docker.io): erase them through\n"
                           "the credential helper docker's credentials file names for REGISTRY\n"
                           "(credHelpers, credsStore), if any, and drop REGISTRY's entries from that\n"
                           "file, keeping every other entry.\n";

int
img_cli_logout(struct img_cli *cli, int argc, char **argv, struct oci_error **err)
{
  static const struct img_cli_options o = { .cmd = "logout", .help = help };
  cleanup_free char *registry = NULL;
  cleanup_credentials_place struct img_credentials_place where = { 0 };
  struct img_auth_opts ao = { 0 };
  int first, r;

  first = img_cli_parse_options(cli, &o, argc, argv, err);
  if (first <= 0)
    return first;
  if (argc - first > 1)
    return img_cli_usage_error(err, "logout", "expected at most one REGISTRY");
  registry = img_auth_normalise_server(first < argc ? argv[first] : IMG_DEFAULT_DOMAIN);
  r = img_credentials_erase(&ao, registry, &where, err);
  if (r < 0)
    return oci_error_wrap(err, "logging out of %s", registry);
  if (!cli->quiet)
    {
      if (r > 0)
        printf("Removed login credentials for %s from %s\n", registry,
               where.helper ? where.helper : where.path);
      else
        printf("Not logged in to %s\n", registry);
    }
  return 0;
}
