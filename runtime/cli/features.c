#include <config.h>

#include <getopt.h>
#include <stdio.h>

#include "spec/oci-features.h"
#include "spec/util.h"
#include "cli.h"
#include "features.h"

static const char usage[] = "features";
static const char help[] = "Print the runtime-spec features document of this build as JSON.\n";

int
cli_features(struct rt_context *ctx, int argc, char **argv, struct oci_error **err)
{
  struct oci_features *f;
  cleanup_free char *text = NULL;
  size_t len;
  int r;

  r = cli_parse_no_options(argc, argv, 0, usage, help, err);
  if (r != 0)
    return r < 0 ? -1 : 0;
  f = rt_features_build();
  r = oci_features_emit(f, true, &text, &len, err);
  oci_features_free(f);
  if (r < 0)
    return -1;
  return cli_print_document(text, len, "features", err);
}
