#ifndef SWEEPD_LRIMPORT_H
#define SWEEPD_LRIMPORT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * sweepctl import-logrotate, apart from the files: logrotate configuration
 * text in, sweepd `zones` entries out. Pure: the caller reads the files and
 * the directories an `include` names (lrimport_taboo says which names
 * logrotate skips there), and hands the text in.
 *
 * lrimport_parse is syntax only: path globs, `{ }` blocks, directives with
 * their arguments, scripts up to `endscript`. Top-level directives are
 * defaults for the blocks that follow (logrotate's rule), so each block
 * starts with a copy of them. lrimport_translate gives each block its
 * meaning in sweepd's terms, with a comment for every directive it cannot
 * carry over and why.
 */

/* Bounds on what a user's file can make us hold. */
#define LRIMPORT_MAX_TEXT (1u << 20)	  /* bytes of one file */
#define LRIMPORT_MAX_BLOCKS 4096	  /* in all files */
#define LRIMPORT_MAX_GLOBS 256		  /* per block */
#define LRIMPORT_MAX_DIRECTIVES 256	  /* per block, and at top level */
#define LRIMPORT_MAX_SCRIPT (64u << 10) /* bytes of one script */
#define LRIMPORT_MAX_DEPTH 8		  /* nested includes */
#define LRIMPORT_MAX_ERRORS 100

struct lrimport_directive {
	char *name;   /* "rotate", "postrotate", ... as written */
	char *args;   /* the words after it, joined by one space ("" for none) */
	char *script; /* for the script directives: the lines up to endscript */
	char *file;
	int line;
};

struct lrimport_block {
	char **globs;
	size_t n_globs;
	struct lrimport_directive *dirs; /* the top-level ones in force first, then its own */
	size_t n_dirs;
	char *file;
	int line;
};

struct lrimport_conf {
	struct lrimport_block *blocks;
	size_t n_blocks;
	struct lrimport_directive *globals;
	size_t n_globals;
	char **errors; /* "file:line: what", in the order found */
	size_t n_errors;
	unsigned depth;
};

/*
 * Called for a top-level `include PATH`, at once (top-level directives after
 * it must not reach the blocks it holds): the caller reads PATH (a file, or
 * every file of a directory, sorted) and calls lrimport_parse on each with
 * the same conf. Returns 0, or -errno after lrimport_error said why.
 */
typedef int (*lrimport_include_fn)(void *arg, struct lrimport_conf *c, const char *path,
				   const char *from, int line);

/* Adds what text (len bytes, from file) holds to c. Returns 0, or -ENOMEM. */
int lrimport_parse(struct lrimport_conf *c, const char *file, const char *text, size_t len,
		   lrimport_include_fn include, void *arg);

/* Records "file:line: message" in c->errors (up to LRIMPORT_MAX_ERRORS). */
void lrimport_error(struct lrimport_conf *c, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Whether logrotate skips this name in an included directory (dpkg-old, ~, .rpmnew, ...). */
bool lrimport_taboo(const char *name);

/*
 * The `zones = ( ... );` text for c, with comments; NULL on ENOMEM. Errors
 * come first as comments, zones that sweepd would refuse (overlapping ones)
 * come commented out with the reason.
 */
char *lrimport_translate(const struct lrimport_conf *c);

void lrimport_free(struct lrimport_conf *c);

#endif
