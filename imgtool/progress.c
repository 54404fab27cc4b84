#include <config.h>

#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "progress.h"
#include "util.h"

/* Redraw at most this often: a terminal is slower than a local registry. */
#define REDRAW_MS 100

struct row
{
  char id[13]; /* the first 12 hex digits, as docker shows them */
  int64_t total;
  uint64_t done, start_done;
  uint64_t start_ms, end_ms;
  const char *state; /* NULL while running */
};

struct img_progress
{
  FILE *out;
  bool tty;
  struct row *rows;
  int n_rows;
  int drawn; /* rows currently on screen below the cursor's start */
  uint64_t last_draw_ms;
};

static uint64_t
now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct img_progress *
img_progress_new(FILE *out, bool tty)
{
  struct img_progress *p = xzalloc(sizeof *p);

  p->out = out;
  p->tty = tty;
  return p;
}

void
img_progress_free(struct img_progress *p)
{
  if (p == NULL)
    return;
  free(p->rows);
  free(p);
}

static void
human(char *buf, size_t n, double v)
{
  const char *units[] = { "B", "kB", "MB", "GB", "TB" };
  size_t u = 0;

  while (v >= 1000 && u + 1 < OCI_ARRAY_SIZE(units))
    {
      v /= 1000;
      u++;
    }
  snprintf(buf, n, u == 0 ? "%.0f%s" : "%.1f%s", v, units[u]);
}

static void
format_row(const struct row *r, char *line, size_t n)
{
  char done[16], total[16], speed[16], fetched[16], resumed[16];
  uint64_t end = r->end_ms ? r->end_ms : now_ms();
  double secs = (end - r->start_ms) / 1000.0;

  human(done, sizeof done, (double)r->done);
  human(total, sizeof total, r->total >= 0 ? (double)r->total : 0);
  human(speed, sizeof speed, (r->done - r->start_done) / (secs > 0.001 ? secs : 0.001));
  /* The final line counts what this run fetched: bytes an interrupted run
   * left in ingest/ were not downloaded now, and are named apart. */
  human(fetched, sizeof fetched, (double)(r->done - r->start_done));
  human(resumed, sizeof resumed, (double)r->start_done);
  if (r->state && strcmp(r->state, "already present") == 0)
    snprintf(line, n, "%s: already present", r->id);
  else if (r->state)
    snprintf(line, n, "%s: %s %s in %.1fs (%s/s)%s%s", r->id, r->state, fetched, secs, speed,
             r->start_done ? ", resumed after " : "", r->start_done ? resumed : "");
  else if (r->total >= 0)
    snprintf(line, n, "%s: downloading %s / %s %3.0f%% %s/s", r->id, done, total,
             r->total > 0 ? 100.0 * r->done / r->total : 100.0, speed);
  else
    snprintf(line, n, "%s: downloading %s %s/s", r->id, done, speed);
}

static void
redraw(struct img_progress *p, bool force)
{
  uint64_t now = now_ms();
  char line[160];

  if (!p->tty || p->out == NULL || (!force && now - p->last_draw_ms < REDRAW_MS))
    return;
  p->last_draw_ms = now;
  if (p->drawn > 0)
    fprintf(p->out, "\033[%dA", p->drawn);
  for (int i = 0; i < p->n_rows; i++)
    {
      format_row(&p->rows[i], line, sizeof line);
      fprintf(p->out, "\r\033[2K%s\n", line);
    }
  p->drawn = p->n_rows;
  fflush(p->out);
}

int
img_progress_add(struct img_progress *p, const char *digest, int64_t total, uint64_t done)
{
  const char *hex = strchr(digest, ':');
  struct row *r;

  if (p == NULL || p->out == NULL)
    return -1;
  p->rows = xrealloc(p->rows, (p->n_rows + 1) * sizeof *p->rows);
  r = &p->rows[p->n_rows];
  memset(r, 0, sizeof *r);
  snprintf(r->id, sizeof r->id, "%.12s", hex ? hex + 1 : digest);
  r->total = total;
  r->done = r->start_done = done;
  r->start_ms = now_ms();
  if (!p->tty && done > 0 && (total < 0 || done < (uint64_t)total))
    fprintf(p->out, "%s: resuming at %llu bytes\n", r->id, (unsigned long long)done);
  redraw(p, true);
  return p->n_rows++;
}

void
img_progress_update(struct img_progress *p, int row, uint64_t done)
{
  if (p == NULL || row < 0 || row >= p->n_rows)
    return;
  p->rows[row].done = done;
  redraw(p, false);
}

void
img_progress_restart(struct img_progress *p, int row)
{
  if (p == NULL || row < 0 || row >= p->n_rows)
    return;
  p->rows[row].done = p->rows[row].start_done = 0;
}

void
img_progress_finish(struct img_progress *p, int row, const char *state)
{
  char line[160];

  if (p == NULL || row < 0 || row >= p->n_rows)
    return;
  p->rows[row].state = state;
  p->rows[row].end_ms = now_ms();
  if (p->tty)
    redraw(p, true);
  else
    {
      format_row(&p->rows[row], line, sizeof line);
      fprintf(p->out, "%s\n", line);
      fflush(p->out);
    }
}

void
img_progress_note(struct img_progress *p, const char *fmt, ...)
{
  va_list ap;

  if (p == NULL || p->out == NULL)
    return;
  va_start(ap, fmt);
  vfprintf(p->out, fmt, ap);
  va_end(ap);
  fputc('\n', p->out);
  /* A note printed below the rows: the next redraw starts after it. */
  p->n_rows = 0;
  p->drawn = 0;
  fflush(p->out);
}
