#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pathenc.h"

static int log_level = LOG_INFO;
static bool log_journal;

/* JOURNAL_STREAM is "dev:ino" of the journal's socket; it counts only if stderr is it. */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_init(int verbosity)
{
	log_level = verbosity > 0 ? LOG_DEBUG : LOG_INFO;
	log_journal = stderr_is_journal();
}

/*
 * Every message is escaped as pathenc_escape says, at this one boundary: a
 * file name (or a config value) holding a newline or a terminal escape can
 * neither forge a line nor reach a terminal, whichever call site logged it.
 */
static void emit(const char *prefix, const char *text)
{
	char *esc = pathenc_escape(text), cut[2048];

	/* Out of memory: the start of it, escaped still. */
	if (!esc)
		pathenc_escape_to(text, cut, sizeof(cut));
	fprintf(stderr, "%s%s\n", prefix, esc ? esc : cut);
	free(esc);
}

void log_msg(int priority, const char *fmt, ...)
{
	static const char *const words[] = {"emerg", "alert", "crit",  "error",
					    "warning", "notice", "info", "debug"};
	char line[8192], prefix[32]; /* room for an action's two paths */
	char *whole = NULL; /* a message longer than line (a path past PATH_MAX), on the heap */
	va_list ap;
	int n;

	if (priority > log_level)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line)) {
		va_start(ap, fmt);
		if (vasprintf(&whole, fmt, ap) < 0)
			whole = NULL;
		va_end(ap);
		/* Out of memory: cut, and said to be. */
		if (!whole)
			memcpy(line + sizeof(line) - 16, " [cut: no room]", 16);
	}
	if (log_journal)
		snprintf(prefix, sizeof(prefix), "<%d>", priority);
	else
		snprintf(prefix, sizeof(prefix), "sweepd: %s: ", words[priority & 7]);
	emit(prefix, whole ? whole : line);
	free(whole);
}

void log_plain(const char *text)
{
	emit("", text);
}
