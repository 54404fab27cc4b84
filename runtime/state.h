/* The state directory <root>/<id>/ of one container: the lock that
 * serialises commands on that id, state.json, exec.fifo, and listing. */
#ifndef RT_STATE_H
#define RT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "oci-config.h"
#include "error.h"

enum rt_status
{
  RT_STATUS_CREATING, /* the directory exists, state.json not yet */
  RT_STATUS_CREATED,
  RT_STATUS_RUNNING,
  RT_STATUS_STOPPED,
  RT_STATUS_PAUSED, /* running or created, and the cgroup freezer holds it */
};

/* What ocirt remembers about a container between commands. */
struct rt_state
{
  char *id;
  pid_t pid;                     /* host pid of the container init */
  unsigned long long start_time; /* /proc/PID/stat field 22: detects pid reuse */
  char *bundle;
  char *rootfs;
  char *created;     /* RFC 3339, nanoseconds */
  char *cgroup_path; /* NULL: no cgroup (--cgroup-manager disabled) */
  uid_t owner;
  struct oci_kv *annotations;
  size_t annotations_len;
};

#define RT_EXEC_FIFO "exec.fifo"
#define RT_STATE_FILE "state.json"
#define RT_STATE_STAGED "state.json.staged"
/* Written by `pause`, removed by `resume`: only then is the freezer asked,
 * so that commands on containers never paused stay cheap. */
#define RT_PAUSED_FILE "paused"

/* Container ids are path components: [A-Za-z0-9_+.-]+, not "." or "..",
 * at most RT_ID_MAX bytes. */
#define RT_ID_MAX 1024
int rt_state_check_id(const char *id, struct oci_error **err);

/* Create <root>/<id> (and root itself) and lock it.  An existing id fails
 * with runc's "container with given ID already exists". */
int rt_state_create(const char *root, const char *id, int *dirfd, struct oci_error **err);
/* Open and lock an existing container directory; "container `x` does not
 * exist" otherwise (also when a concurrent delete removed it while we were
 * waiting for the lock). */
int rt_state_open(const char *root, const char *id, int *dirfd, struct oci_error **err);
/* Let the other commands at a container we keep open (`run`, while its
 * process runs), and take the lock back: 1 when a delete removed the
 * container in between (the lock is held all the same), 0 when it is
 * there. */
void rt_state_unlock(int dirfd);
int rt_state_relock(int dirfd, const char *id, struct oci_error **err);
/* Remove the directory and its content. The lock stays held on dirfd. */
int rt_state_remove(const char *root, const char *id, int dirfd, struct oci_error **err);

/* state.json in two steps, for create: stage writes it under a name no
 * command reads, while the init still sets up; publish renames it to
 * state.json once the init is ready.  `list` reads state.json without the
 * lock create holds: it shows a container only once it is created, and the
 * remains of a create killed before publish are found by their cgroup
 * record, as before. */
int rt_state_stage(int dirfd, const struct rt_state *st, struct oci_error **err);
int rt_state_publish(int dirfd, struct oci_error **err);
int rt_state_load(int dirfd, const char *id, struct rt_state **out, struct oci_error **err);
void rt_state_free(struct rt_state *st);

/* Status from the live system: the init's pid and start time, exec.fifo.
 * `st` may be NULL (state.json not written yet: creating). */
enum rt_status rt_state_status(int dirfd, const struct rt_state *st);
const char *rt_status_name(enum rt_status s);

/* Field 22 of /proc/PID/stat; -1 when the process is gone or a zombie. */
int rt_proc_start_time(pid_t pid, unsigned long long *start_time);

/* Names of the directories under root (sorted); empty when root is missing. */
int rt_state_list(const char *root, char ***ids, size_t *n, struct oci_error **err);

static inline void
cleanup_rt_statep(struct rt_state **s)
{
  rt_state_free(*s);
}
#define cleanup_rt_state __attribute__((cleanup(cleanup_rt_statep)))

#endif
