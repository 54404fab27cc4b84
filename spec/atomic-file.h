/* Replacing a file whole: a temporary file in the same directory, written,
 * then renamed over the name.  Shared by ocirt (state, cgroup record, pid
 * file) and imgtool (store index and refs, credentials). */
#ifndef OCI_ATOMIC_FILE_H
#define OCI_ATOMIC_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* What survives a crash of the machine.  Every level is atomic for other
 * processes: a reader sees the old file or the new one, never a part of
 * either; the levels differ only in what reaches the disk, and in cost. */
enum oci_durability
{
  /* write, rename.  After a crash the name may hold the old contents, the
   * new ones, or an empty file.  For files on tmpfs, or that die with the
   * processes they describe. */
  OCI_NOT_DURABLE,
  /* fsync of the file before the rename: after a crash the name holds the
   * old contents or all of the new ones, never an empty file, but the
   * rename itself may be lost. */
  OCI_DURABLE_CONTENTS,
  /* also fsync of the directory after the rename: once the call returns,
   * the new file survives a crash. */
  OCI_DURABLE,
};

/* Replace PATH (relative to DIRFD, or absolute, or AT_FDCWD for the
 * current directory) with LEN bytes of DATA; a new file gets MODE (less
 * the umask).  The temporary file (".NAME.tmp-XXXXXX", unique, so that
 * concurrent writers never share one) is removed on failure. */
int oci_write_file_atomic(int dirfd, const char *path, const void *data, size_t len, mode_t mode,
                          enum oci_durability durability, struct oci_error **err);

/* fsync of the directory FD (WHAT names it in the error) after a rename
 * into it or a new entry in it.  Filesystems that cannot sync a directory
 * say EINVAL: the entry is then as durable as it gets, and that is no
 * error. */
int oci_fsync_dir(int fd, const char *what, struct oci_error **err);

#endif
