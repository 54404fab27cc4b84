/* criu's RPC (`criu swrk FD`), for the one thing of a terminal container
 * that criu's command line cannot do: orphan-pts-master, what runc and crun
 * use.  A dump then saves the pty slave whose master is outside the tree
 * (with the console socket's receiver), and a restore makes a new pty for it
 * and hands the caller its master.  Everything else is still said as command
 * line options, in criu's RPC configuration file (criu_opts.config_file),
 * which criu parses as it parses its argv. */
#ifndef RT_CRIU_RPC_H
#define RT_CRIU_RPC_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

enum rt_criu_req_type
{
  RT_CRIU_DUMP = 1,
  RT_CRIU_RESTORE = 2,
};

/* The request and its answer; the fields of rpc.proto this client uses. */
struct rt_criu_req
{
  enum rt_criu_req_type type;
  int images_dir_fd; /* in the caller: criu opens /proc/CALLER/fd/N */
  pid_t pid;         /* dump: the tree's root */
  const char *config_file;
  const char *log_file; /* in the work directory */
  int log_level;
  bool orphan_pts_master;
};

struct rt_criu_resp
{
  bool success;
  pid_t pid;    /* restore: the restored init */
  char *errmsg; /* cr_errmsg, or NULL */
};

/* Called for each notification criu sends (its name, and the descriptor it
 * came with or -1, owned by the callee); false refuses it, and criu then
 * fails the restore. */
typedef bool (*rt_criu_notify_fn)(const char *script, int fd, void *data);

/* Write ARGS (criu command line options, each "--name[=value]") to PATH in
 * the format of criu's configuration files, but for --images-dir (the
 * request's images_dir_fd).  -1 with errno on failure
 * (EINVAL: an option criu's parser cannot carry, such as one with '"'). */
int rt_criu_write_config(const char *path, char *const *args);

/* Send the request on `sock` (the caller's end of the socket pair whose
 * other end criu swrk has), answer its notifications through `notify`
 * (restore only), and return its final answer in *resp. */
int rt_criu_rpc(int sock, const struct rt_criu_req *req, rt_criu_notify_fn notify, void *data,
                struct rt_criu_resp *resp, struct oci_error **err);

void rt_criu_resp_clear(struct rt_criu_resp *resp);

#endif
