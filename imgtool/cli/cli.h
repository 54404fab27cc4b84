/* imgtool's commands: each file parses its argv and calls the library. */
#ifndef IMG_CLI_H
#define IMG_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "layout.h"
#include "pull.h"
#include "reference.h"
#include "store.h"

/* Global options, accepted before and after the command name. */
struct img_cli
{
  const char *store_dir; /* NULL: img_store_default_dir() */
  bool quiet;
  bool verbose;
  const char *creds;
  const char *ca_file;
  const char **insecure; /* NULL-terminated */
  size_t insecure_len;
};

/* Long options every command accepts; append the command's own. */
#define IMG_CLI_COMMON_OPTIONS                                                                               \
  { "store", required_argument, NULL, 1001 }, { "creds", required_argument, NULL, 1002 },                    \
      { "insecure-registry", required_argument, NULL, 1003 }, { "ca-file", required_argument, NULL, 1004 },  \
      { "quiet", no_argument, NULL, 'q' }, { "verbose", no_argument, NULL, 'v' },                            \
  {                                                                                                          \
    "help", no_argument, NULL, 'h'                                                                           \
  }

/* Handles a common option; false when `c` is not one. */
bool img_cli_common_option(struct img_cli *cli, int c, const char *arg);

/* How a command reads its options: the common ones, -h/--help and its own. */
struct img_cli_options
{
  const char *cmd;                                 /* for "see `imgtool CMD --help`" */
  const char *help;                                /* printed on stdout by -h/--help */
  const char *shortopts;                           /* NULL: "qvh" */
  const struct option *longopts;                   /* NULL: IMG_CLI_COMMON_OPTIONS only */
  const char **platform;                           /* takes -p/--platform when set */
  bool (*own)(void *data, int c, const char *arg); /* false: not the command's option */
  void *data;
};

/* A command returns 0, or -1 with *err set (exit 1), or IMG_CLI_USAGE with
 * *err set: wrong usage, exit 2 (img_cli_usage_error). */
#define IMG_CLI_USAGE (-2)

/* Parses argv's options.  Returns the index of the first operand, 0 when
 * --help was printed (the command is done), IMG_CLI_USAGE on an unknown
 * option, a missing value or a bad --platform. */
int img_cli_parse_options(struct img_cli *cli, const struct img_cli_options *o, int argc, char **argv,
                          struct oci_error **err);

int img_cli_pull(struct img_cli *cli, int argc, char **argv, struct oci_error **err);
int img_cli_bundle(struct img_cli *cli, int argc, char **argv, struct oci_error **err);
int img_cli_images(struct img_cli *cli, int argc, char **argv, struct oci_error **err);
int img_cli_inspect(struct img_cli *cli, int argc, char **argv, struct oci_error **err);
int img_cli_rm(struct img_cli *cli, int argc, char **argv, struct oci_error **err);
int img_cli_unbundle(struct img_cli *cli, int argc, char **argv, struct oci_error **err);
int img_cli_bundles(struct img_cli *cli, int argc, char **argv, struct oci_error **err);
int img_cli_gc(struct img_cli *cli, int argc, char **argv, struct oci_error **err);
int img_cli_login(struct img_cli *cli, int argc, char **argv, struct oci_error **err);
int img_cli_logout(struct img_cli *cli, int argc, char **argv, struct oci_error **err);

/* ---- shared by the commands (cli/common.c) ---- */

int img_cli_open_store(const struct img_cli *cli, struct img_store **out, struct oci_error **err);
void img_cli_pull_opts(const struct img_cli *cli, const char *platform, struct img_pull_opts *out);

/* Where an image named on the command line lives: a registry reference in
 * the store (pulled first when missing and `pull` is set), or a local
 * `oci:`/`oci-archive:` source. */
struct img_cli_image
{
  struct img_reference *ref;
  struct img_local *local;     /* local sources */
  struct img_store *store;     /* borrowed: the store or local->layout */
  struct img_store_ref *found; /* the descriptor the name points at */
};
int img_cli_find_image(const struct img_cli *cli, struct img_store *store, const char *name, bool pull,
                       const char *platform, struct img_cli_image *out, struct oci_error **err);
void img_cli_image_clear(struct img_cli_image *im);

/* "12.3 MB" */
void img_cli_human_size(uint64_t bytes, char *buf, size_t len);

/* Wrong usage: the message plus a pointer to --help; returns IMG_CLI_USAGE. */
int img_cli_usage_error(struct oci_error **err, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
