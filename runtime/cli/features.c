#include <config.h>

#include <getopt.h>
#include <stdio.h>

#include "spec/oci-features.h"
#include "spec/util.h"
#include "cli.h"
#include "features.h"

static const char usage[] = "features";
static const char help[] = "Print the runtime-spec features document of this build as JSON.\n";

static const struct option options[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

int
cli_features(struct rt_context *ctx, int argc, char **argv, struct oci_error **err)
{
  struct oci_features *f;
  cleanup_free char *text = NULL;
  size_t len;
  int c, r;

  optind = 0;
  while ((c = getopt_long(argc, argv, "+:h", options, NULL)) != -1)
    switch (c)
      {
      case 'h':
        return cli_print_help(usage, help);
      default:
        return cli_option_error(argv[0], c, argv, err);
      }
  if (argc != optind)
    return cli_usage_error(usage, err);
  f = rt_features_build();
  r = oci_features_emit(f, true, &text, &len, err);
  oci_features_free(f);
  if (r < 0)
    return -1;
  if (fwrite(text, 1, len, stdout) != len || (len && text[len - 1] != '\n' && fputc('\n', stdout) == EOF)
      || fflush(stdout) == EOF)
    return oci_error_errno(err, "writing the features");
  return 0;
}
