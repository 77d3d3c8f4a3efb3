#ifndef SWEEPD_LOG_H
#define SWEEPD_LOG_H

#include <syslog.h>

/*
 * Logging to stderr, one line per message. When stderr is the journal
 * (JOURNAL_STREAM names it), each line starts with "<N>" so journald keeps
 * its priority; otherwise with a level word. The message is escaped as
 * pathenc_escape does (backslash as \\, control and undecodable bytes as \xHH),
 * so that no name can forge a line or drive a terminal.
 */
void log_init(int verbosity);
void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One line to stderr without a prefix (the configuration's errors), escaped the same way. */
void log_plain(const char *text);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
