#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "spec/state.h"
#include "spec/util.h"
#include "cli.h"
#include "container.h"

static const char usage[] = "list [options]";
static const char help[] = "List the containers under the state root.\n"
                           "\n"
                           "  -f, --format table|json   output format (default table)\n"
                           "  -q, --quiet               print only the ids\n";

static const struct option options[] = {
  { "format", required_argument, NULL, 'f' },
  { "quiet", no_argument, NULL, 'q' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

#define COLUMNS 6

static void
row_cells(const struct oci_state *st, char cells[COLUMNS][4096])
{
  snprintf(cells[0], 4096, "%s", st->id);
  snprintf(cells[1], 4096, "%d", (int)st->pid);
  snprintf(cells[2], 4096, "%s", st->status);
  snprintf(cells[3], 4096, "%s", st->bundle ? st->bundle : "");
  snprintf(cells[4], 4096, "%s", st->created ? st->created : "");
  snprintf(cells[5], 4096, "%s", st->owner && st->owner[0] ? st->owner : "root");
}

/* runc's layout (Go tabwriter, minimum width 12, padding 3). */
static int
print_table(struct oci_state **states, size_t n)
{
  static const char *const header[COLUMNS] = { "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER" };
  static char cells[COLUMNS][4096];
  size_t width[COLUMNS];

  for (int c = 0; c < COLUMNS; c++)
    width[c] = strlen(header[c]);
  for (size_t i = 0; i < n; i++)
    {
      row_cells(states[i], cells);
      for (int c = 0; c < COLUMNS; c++)
        if (strlen(cells[c]) > width[c])
          width[c] = strlen(cells[c]);
    }
  for (int c = 0; c < COLUMNS; c++)
    width[c] = width[c] + 3 < 12 ? 12 : width[c] + 3;

  for (int c = 0; c < COLUMNS - 1; c++)
    printf("%-*s", (int)width[c], header[c]);
  printf("%s\n", header[COLUMNS - 1]);
  for (size_t i = 0; i < n; i++)
    {
      row_cells(states[i], cells);
      for (int c = 0; c < COLUMNS - 1; c++)
        printf("%-*s", (int)width[c], cells[c]);
      printf("%s\n", cells[COLUMNS - 1]);
    }
  return 0;
}

static int
print_json(struct oci_state **states, size_t n, struct oci_error **err)
{
  fputc('[', stdout);
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *text = NULL;
      size_t len;
      if (oci_state_emit(states[i], false, &text, &len, err) < 0)
        return -1;
      if (i)
        fputc(',', stdout);
      fwrite(text, 1, len, stdout);
    }
  fputs("]\n", stdout);
  return 0;
}

int
cli_list(struct rt_context *ctx, int argc, char **argv, struct oci_error **err)
{
  const char *format = "table";
  bool quiet = false;
  struct oci_state **states = NULL;
  size_t n = 0;
  int c, r = 0;

  optind = 0;
  while ((c = getopt_long(argc, argv, "+:f:qh", options, NULL)) != -1)
    switch (c)
      {
      case 'f':
        format = optarg;
        break;
      case 'q':
        quiet = true;
        break;
      case 'h':
        return cli_print_help(usage, help);
      default:
        return cli_option_error(argv[0], c, argv, err);
      }
  if (argc != optind)
    return cli_usage_error(usage, err);
  if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
    return oci_error_set(err, 0, "invalid format option `%s`: use table or json", format);
  if (rt_container_list(ctx, &states, &n, err) < 0)
    return -1;
  if (quiet)
    for (size_t i = 0; i < n; i++)
      printf("%s\n", states[i]->id);
  else if (strcmp(format, "json") == 0)
    r = print_json(states, n, err);
  else
    r = print_table(states, n);
  rt_container_list_free(states, n);
  if (r == 0 && fflush(stdout) == EOF)
    return oci_error_errno(err, "writing the list");
  return r;
}
