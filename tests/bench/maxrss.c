/* maxrss OUTFILE PROGRAM [ARGS...]: run PROGRAM and write its peak RSS in
 * KiB to OUTFILE (not to stdout: a container started by PROGRAM inherits our
 * stdio and would keep a reader waiting).  A small C parent is needed because
 * a child's ru_maxrss includes what it inherited before execve (a Python
 * parent would add its own ~15 MB). */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
  struct rusage ru;
  int status;
  pid_t pid;

  FILE *out;

  if (argc < 3)
    return 2;
  pid = vfork();
  if (pid == 0)
    {
      execvp(argv[2], argv + 2);
      _exit(127);
    }
  if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
    return 127;
  out = fopen(argv[1], "w");
  if (out == NULL)
    return 127;
  fprintf(out, "%ld\n", ru.ru_maxrss);
  fclose(out);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}
