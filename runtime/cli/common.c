/* What the command parsers in runtime/cli/ share. */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "spec/util.h"
#include "cli.h"

int
cli_option_error(const char *command, int c, char **argv, struct oci_error **err)
{
  const char *arg = optind > 0 ? argv[optind - 1] : "?";
  cleanup_free char *where = command ? xasprintf("%s: ", command) : xstrdup("");

  if (c == ':')
    return oci_error_set(err, 0, "%soption `%s` requires a value", where, arg);
  /* In a cluster of short options optind has not moved yet: name the letter. */
  if (optopt)
    return oci_error_set(err, 0, "%sunknown option `-%c`", where, optopt);
  return oci_error_set(err, 0, "%sunknown option `%s`", where, arg);
}

int
cli_usage_error(const char *usage, struct oci_error **err)
{
  return oci_error_set(err, 0, "usage: ocirt %s", usage);
}

int
cli_print_help(const char *usage, const char *help)
{
  printf("Usage: ocirt %s\n\n%s", usage, help);
  return 0;
}

int
cli_read_to_end(int fd, char **text, size_t *len)
{
  size_t cap = 0;
  ssize_t got;

  *len = 0;
  do
    {
      if (cap - *len < 4096)
        *text = xrealloc(*text, cap = cap * 2 + 4096);
      got = oci_read_all(fd, *text + *len, cap - *len);
      if (got < 0)
        return -1;
      *len += (size_t)got;
    }
  while (got > 0);
  return 0;
}

int
cli_parse_uint(const char *option, const char *value, int *out, struct oci_error **err)
{
  char *end;
  long v;

  errno = 0;
  v = strtol(value, &end, 10);
  if (errno || *end || end == value || v < 0 || v > 1 << 20)
    return oci_error_set(err, 0, "%s: invalid value `%s`", option, value);
  *out = (int)v;
  return 0;
}

int
cli_parse_no_options(int argc, char **argv, int nargs, const char *usage_text, const char *help_text,
                     struct oci_error **err)
{
  static const struct option options[] = {
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  optind = 0;
  while ((c = getopt_long(argc, argv, "+:h", options, NULL)) != -1)
    switch (c)
      {
      case 'h':
        cli_print_help(usage_text, help_text);
        return 1;
      default:
        return cli_option_error(argv[0], c, argv, err);
      }
  if (argc - optind != nargs)
    return cli_usage_error(usage_text, err);
  return 0;
}

int
cli_print_document(const char *text, size_t len, const char *what, struct oci_error **err)
{
  if (fwrite(text, 1, len, stdout) != len || (len && text[len - 1] != '\n' && fputc('\n', stdout) == EOF)
      || fflush(stdout) == EOF)
    return oci_error_errno(err, "writing the %s", what);
  return 0;
}
