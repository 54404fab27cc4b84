/* One function per command: parse argv (argv[0] is the command name) with
 * getopt_long, call the library, print the result.  Return the exit status
 * (>= 0) or -1 with *err set. */
#ifndef RT_CLI_H
#define RT_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "container.h"
#include "context.h"
#include "error.h"

int cli_create(struct rt_context *ctx, int argc, char **argv, struct oci_error **err);
int cli_start(struct rt_context *ctx, int argc, char **argv, struct oci_error **err);
int cli_state(struct rt_context *ctx, int argc, char **argv, struct oci_error **err);
int cli_kill(struct rt_context *ctx, int argc, char **argv, struct oci_error **err);
int cli_delete(struct rt_context *ctx, int argc, char **argv, struct oci_error **err);
int cli_run(struct rt_context *ctx, int argc, char **argv, struct oci_error **err);
int cli_list(struct rt_context *ctx, int argc, char **argv, struct oci_error **err);
int cli_spec(struct rt_context *ctx, int argc, char **argv, struct oci_error **err);
int cli_exec(struct rt_context *ctx, int argc, char **argv, struct oci_error **err);
int cli_update(struct rt_context *ctx, int argc, char **argv, struct oci_error **err);
int cli_events(struct rt_context *ctx, int argc, char **argv, struct oci_error **err);
int cli_ps(struct rt_context *ctx, int argc, char **argv, struct oci_error **err);
int cli_pause(struct rt_context *ctx, int argc, char **argv, struct oci_error **err);
int cli_resume(struct rt_context *ctx, int argc, char **argv, struct oci_error **err);
int cli_features(struct rt_context *ctx, int argc, char **argv, struct oci_error **err);
int cli_checkpoint(struct rt_context *ctx, int argc, char **argv, struct oci_error **err);
int cli_restore(struct rt_context *ctx, int argc, char **argv, struct oci_error **err);

/* Shared by the parsers (optstrings start with "+:": options stop at the
 * container id as with runc, and a missing value is reported as ':'). */
int cli_option_error(const char *command, int c, char **argv, struct oci_error **err);
/* Wrong number of positional arguments. */
int cli_usage_error(const char *usage, struct oci_error **err);
/* Print "Usage: ocirt <usage>\n\n<help>" on stdout; returns 0. */
int cli_print_help(const char *usage, const char *help);
/* The options `create` and `run` share, and run's own into *run (NULL for
 * create, which accepts -d for go-runc and refuses --keep): 0 with *id set,
 * 1 when --help was printed, -1 on error. */
int cli_parse_create_options(int argc, char **argv, const char *usage_text, const char *help_text,
                             struct rt_create_opts *opts, struct rt_run_opts *run, const char **id,
                             struct oci_error **err);
/* Commands whose only option is --help and that take exactly `nargs`
 * positional arguments (at argv[optind]): 0, 1 when --help was printed, -1. */
int cli_parse_no_options(int argc, char **argv, int nargs, const char *usage_text, const char *help_text,
                         struct oci_error **err);
/* Write a JSON document to stdout, newline-terminated. */
int cli_print_document(const char *text, size_t len, const char *what, struct oci_error **err);
/* Read `fd` to its end into *text (NULL on entry; not NUL-terminated), its
 * size in *len: 0, or -1 with errno set.  The caller frees *text either way
 * (a cleanup_free variable), so errno survives until it is reported. */
int cli_read_to_end(int fd, char **text, size_t *len);
/* Parse a non-negative decimal int option value. */
int cli_parse_uint(const char *option, const char *value, int *out, struct oci_error **err);

#endif
