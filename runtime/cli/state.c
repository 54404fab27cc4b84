#include <config.h>

#include <getopt.h>
#include <string.h>

#include "spec/state.h"
#include "spec/util.h"
#include "cli.h"
#include "container.h"

static const char usage[] = "state <container-id>";
static const char help[] = "Print the state of a container as JSON.\n";

static const struct option options[] = {
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

int
cli_state(struct rt_context *ctx, int argc, char **argv, struct oci_error **err)
{
  struct oci_state *st = NULL;
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
  if (argc - optind != 1)
    return cli_usage_error(usage, err);
  if (rt_container_state(ctx, argv[optind], &st, err) < 0)
    return -1;
  r = oci_state_emit(st, true, &text, &len, err);
  oci_state_free(st);
  if (r < 0)
    return -1;
  if (fwrite(text, 1, len, stdout) != len || (len && text[len - 1] != '\n' && fputc('\n', stdout) == EOF)
      || fflush(stdout) == EOF)
    return oci_error_errno(err, "writing the state");
  return 0;
}
