#include <config.h>

#include <getopt.h>
#include <string.h>

#include "spec/state.h"
#include "spec/util.h"
#include "cli.h"
#include "container.h"

static const char usage[] = "state <container-id>";
static const char help[] = "Print the state of a container as JSON.\n";

int
cli_state(struct rt_context *ctx, int argc, char **argv, struct oci_error **err)
{
  struct oci_state *st = NULL;
  cleanup_free char *text = NULL;
  size_t len;
  int r;

  r = cli_parse_no_options(argc, argv, 1, usage, help, err);
  if (r != 0)
    return r < 0 ? -1 : 0;
  if (rt_container_state(ctx, argv[optind], &st, err) < 0)
    return -1;
  r = oci_state_emit(st, true, &text, &len, err);
  oci_state_free(st);
  if (r < 0)
    return -1;
  return cli_print_document(text, len, "state", err);
}
