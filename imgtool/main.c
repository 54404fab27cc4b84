/* imgtool: pull images, keep them in a content-addressed store, unpack them
 * into OCI bundles.  main() parses the global options, runs one command and
 * is the only place that prints an error. */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec/util.h"
#include "cli/cli.h"

typedef int (*command_fn)(struct img_cli *cli, int argc, char **argv, struct oci_error **err);

static const struct
{
  const char *name;
  command_fn fn;
  const char *summary;
} commands[] = {
  { "pull", img_cli_pull, "fetch an image from a registry into the store" },
  { "bundle", img_cli_bundle, "unpack an image into an OCI bundle (pulls when needed)" },
  { "unbundle", img_cli_unbundle, "unmount and remove a bundle made by `bundle`" },
  { "bundles", img_cli_bundles, "list the overlay bundles that use the store" },
  { "images", img_cli_images, "list the images in the store" },
  { "inspect", img_cli_inspect, "show an image's manifest and config as JSON" },
  { "rm", img_cli_rm, "remove an image name from the store" },
  { "gc", img_cli_gc, "delete blobs no image refers to" },
  { "login", img_cli_login, "check and save credentials for a registry" },
  { "logout", img_cli_logout, "remove the saved credentials of a registry" },
};

static void
usage(FILE *out)
{
  fprintf(out, "Usage: imgtool [OPTIONS] COMMAND [ARGS]\n\nCommands:\n");
  for (size_t i = 0; i < OCI_ARRAY_SIZE(commands); i++)
    fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\nGlobal options (also accepted after the command):\n"
               "  --store DIR               image store (default /var/lib/imgtool, or\n"
               "                            ~/.local/share/imgtool when not root)\n"
               "  --creds USER:PASS         registry credentials\n"
               "  --insecure-registry HOST  plain HTTP or unverified TLS for HOST\n"
               "  --ca-file FILE            extra CA certificates for registries\n"
               "  -q, --quiet               no progress output\n"
               "  -v, --verbose             more diagnostics on stderr\n"
               "  -h, --help                this help; `imgtool COMMAND --help` for a command\n"
               "  --version                 print the version\n"
               "\nImage names: alpine, library/alpine:3.20, user/app@sha256:..., localhost:5000/x:y,\n"
               "oci:DIR[:TAG] (an OCI image layout), oci-archive:FILE[:TAG] (a tar of one).\n");
}

int
main(int argc, char **argv)
{
  static const struct option opts[]
      = { IMG_CLI_COMMON_OPTIONS, { "version", no_argument, NULL, 1100 }, { 0 } };
  struct img_cli cli = { 0 };
  cleanup_error struct oci_error *err = NULL;
  int c;

  opterr = 0; /* one line of our own, as the commands say it */
  while ((c = getopt_long(argc, argv, "+:qvh", opts, NULL)) != -1)
    {
      if (img_cli_common_option(&cli, c, optarg))
        continue;
      switch (c)
        {
        case 'h':
          usage(stdout);
          return 0;
        case 1100:
          printf("imgtool version %s\ncommit: %s\n", PACKAGE_VERSION, OCIRT_COMMIT);
          return 0;
        case ':':
          fprintf(stderr, "imgtool: option `%s` needs a value (see `imgtool --help`)\n", argv[optind - 1]);
          return 2;
        default:
          if (optopt)
            fprintf(stderr, "imgtool: unknown option `-%c` (see `imgtool --help`)\n", optopt);
          else
            fprintf(stderr, "imgtool: unknown option `%s` (see `imgtool --help`)\n", argv[optind - 1]);
          return 2;
        }
    }
  if (optind >= argc)
    {
      usage(stderr);
      return 2;
    }

  const char *name = argv[optind];
  for (size_t i = 0; i < OCI_ARRAY_SIZE(commands); i++)
    if (strcmp(commands[i].name, name) == 0)
      {
        int r = commands[i].fn(&cli, argc - optind, argv + optind, &err);
        free(cli.insecure);
        if (r >= 0)
          return r;
        cleanup_free char *msg = oci_error_string(err);
        fprintf(stderr, "imgtool: %s\n", msg);
        if (r == IMG_CLI_USAGE)
          return 2;
        return err && err->status == EINTR ? 130 : 1;
      }
  free(cli.insecure);
  fprintf(stderr, "imgtool: unknown command `%s` (see `imgtool --help`)\n", name);
  return 2;
}
