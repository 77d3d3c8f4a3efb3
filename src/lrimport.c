#include "lrimport.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 256

static const char *const keywords[] = {
	"compress", "nocompress", "compresscmd", "uncompresscmd", "compressext",
	"compressoptions", "copy", "nocopy", "copytruncate", "nocopytruncate", "create",
	"nocreate", "createolddir", "nocreateolddir", "hourly", "daily", "weekly", "monthly",
	"yearly", "dateext", "nodateext", "dateformat", "dateyesterday", "datehourago",
	"delaycompress", "nodelaycompress", "extension", "addextension", "ifempty", "notifempty",
	"include", "mail", "nomail", "mailfirst", "maillast", "maxage", "minage", "maxsize",
	"minsize", "missingok", "nomissingok", "olddir", "noolddir", "postrotate", "prerotate",
	"firstaction", "lastaction", "preremove", "endscript", "rotate", "size", "sharedscripts",
	"nosharedscripts", "shred", "noshred", "shredcycles", "start", "tabooext", "taboopat",
	"su", "renamecopy", "norenamecopy", "allowhardlink", "noallowhardlink",
	"ignoreduplicates", NULL};

static const char *const scripts[] = {"postrotate", "prerotate", "firstaction", "lastaction",
				      "preremove", NULL};

static bool in(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

void lrimport_error(struct lrimport_conf *c, const char *file, int line, const char *fmt, ...)
{
	char msg[512], *e, **v;
	va_list ap;

	if (c->n_errors >= LRIMPORT_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v = realloc(c->errors, (c->n_errors + 1) * sizeof(*v));
	if (!v)
		return;
	c->errors = v;
	if (asprintf(&e, "%s:%d: %s", file, line, msg) >= 0)
		c->errors[c->n_errors++] = e;
}

/* logrotate's default tabooext list, and the editors' leftovers it also skips. */
bool lrimport_taboo(const char *name)
{
	static const char *const ext[] = {
		",v",	     ".cfsaved",  ".disabled",	".dpkg-bak", ".dpkg-del", ".dpkg-dist",
		".dpkg-new", ".dpkg-old", ".dpkg-tmp",	".rpmnew",   ".rpmorig",  ".rpmsave",
		".swp",	     ".ucf-dist", ".ucf-new",	".ucf-old",  "~",	  NULL};
	size_t n = strlen(name);

	if (!n || !strcmp(name, ".") || !strcmp(name, ".."))
		return true;
	for (const char *const *e = ext; *e; e++) {
		size_t k = strlen(*e);
		if (n >= k && !strcmp(name + n - k, *e))
			return true;
	}
	return !fnmatch("*.rhn-cfg-tmp-*", name, 0);
}

static void directive_free(struct lrimport_directive *d)
{
	free(d->name);
	free(d->args);
	free(d->script);
	free(d->file);
}

static void block_free(struct lrimport_block *b)
{
	for (size_t i = 0; i < b->n_globs; i++)
		free(b->globs[i]);
	free(b->globs);
	for (size_t i = 0; i < b->n_dirs; i++)
		directive_free(&b->dirs[i]);
	free(b->dirs);
	free(b->file);
}

void lrimport_free(struct lrimport_conf *c)
{
	for (size_t i = 0; i < c->n_blocks; i++)
		block_free(&c->blocks[i]);
	free(c->blocks);
	for (size_t i = 0; i < c->n_globals; i++)
		directive_free(&c->globals[i]);
	free(c->globals);
	for (size_t i = 0; i < c->n_errors; i++)
		free(c->errors[i]);
	free(c->errors);
	memset(c, 0, sizeof(*c));
}

/* Appends a copy of d to *v (n entries); -ENOMEM. */
static int push_directive(struct lrimport_directive **v, size_t *n,
			  const struct lrimport_directive *d)
{
	struct lrimport_directive *nv = realloc(*v, (*n + 1) * sizeof(**v)), *x;

	if (!nv)
		return -ENOMEM;
	*v = nv;
	x = &nv[*n];
	x->name = strdup(d->name);
	x->args = strdup(d->args ? d->args : "");
	x->script = d->script ? strdup(d->script) : NULL;
	x->file = strdup(d->file);
	x->line = d->line;
	if (!x->name || !x->args || !x->file || (d->script && !x->script)) {
		directive_free(x);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

enum state { TOP, GLOBS, BLOCK, SCRIPT };

struct parser {
	struct lrimport_conf *c;
	const char *file;
	int line;
	enum state st;
	struct lrimport_block cur; /* GLOBS and BLOCK */
	bool in_block;		   /* where a script returns to */
	bool drop_script;	   /* a script at top level: read past it */
	struct lrimport_directive script;
	size_t script_len;
	lrimport_include_fn include;
	void *arg;
	int err;
};

/* Splits one line into words: quotes kept together, '{' and '}' alone, '#' ends it. */
static size_t tokenize(const char *s, size_t len, char **tok, size_t max, bool *cut)
{
	size_t n = 0, i = 0;

	*cut = false;
	while (i < len) {
		size_t start;
		char q;

		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\v' ||
				   s[i] == '\f' || s[i] == '\0'))
			i++;
		if (i >= len || s[i] == '#')
			break;
		if (n == max) {
			*cut = true;
			break;
		}
		if (s[i] == '{' || s[i] == '}') {
			tok[n++] = strndup(s + i, 1);
			i++;
		} else if (s[i] == '"' || s[i] == '\'') {
			q = s[i++];
			start = i;
			while (i < len && s[i] != q)
				i++;
			tok[n++] = strndup(s + start, i - start);
			if (i < len)
				i++;
		} else {
			start = i;
			while (i < len && s[i] && !strchr(" \t\r\v\f{}\"'", s[i]))
				i++;
			tok[n++] = strndup(s + start, i - start);
		}
		if (!tok[n - 1]) {
			n--;
			break;
		}
	}
	return n;
}

static void block_reset(struct parser *p)
{
	block_free(&p->cur);
	memset(&p->cur, 0, sizeof(p->cur));
}

static void open_block(struct parser *p)
{
	struct lrimport_conf *c = p->c;

	p->st = BLOCK;
	for (size_t i = 0; i < c->n_globals && !p->err; i++)
		p->err = push_directive(&p->cur.dirs, &p->cur.n_dirs, &c->globals[i]);
}

static void close_block(struct parser *p)
{
	struct lrimport_conf *c = p->c;
	struct lrimport_block *v;

	p->st = TOP;
	if (!p->cur.n_globs) {
		block_reset(p);
		return;
	}
	if (c->n_blocks >= LRIMPORT_MAX_BLOCKS) {
		lrimport_error(c, p->file, p->cur.line, "more than %d blocks: the rest are left out",
			       LRIMPORT_MAX_BLOCKS);
		block_reset(p);
		return;
	}
	v = realloc(c->blocks, (c->n_blocks + 1) * sizeof(*v));
	if (!v) {
		p->err = -ENOMEM;
		block_reset(p);
		return;
	}
	c->blocks = v;
	c->blocks[c->n_blocks++] = p->cur;
	memset(&p->cur, 0, sizeof(p->cur));
}

static void add_glob(struct parser *p, const char *g)
{
	char **v;

	if (p->cur.n_globs >= LRIMPORT_MAX_GLOBS) {
		lrimport_error(p->c, p->file, p->line, "more than %d paths before one '{'",
			       LRIMPORT_MAX_GLOBS);
		return;
	}
	v = realloc(p->cur.globs, (p->cur.n_globs + 1) * sizeof(*v));
	if (!v || !(v[p->cur.n_globs] = strdup(g))) {
		if (v)
			p->cur.globs = v;
		p->err = -ENOMEM;
		return;
	}
	p->cur.globs = v;
	p->cur.n_globs++;
	if (!p->cur.file) {
		p->cur.file = strdup(p->file);
		p->cur.line = p->line;
		if (!p->cur.file)
			p->err = -ENOMEM;
	}
}

/* One directive: tok[0] with its arguments tok[1..n-1]. */
static void directive(struct parser *p, char **tok, size_t n)
{
	struct lrimport_directive d = {.name = tok[0], .file = (char *)p->file, .line = p->line};
	char args[4096] = "";
	size_t used = 0;

	for (size_t i = 1; i < n; i++) {
		int k = snprintf(args + used, sizeof(args) - used, "%s%s", i > 1 ? " " : "", tok[i]);
		if (k < 0 || (size_t)k >= sizeof(args) - used)
			break;
		used += (size_t)k;
	}
	d.args = args;
	if (in(scripts, d.name)) {
		p->in_block = p->st == BLOCK;
		p->drop_script = p->st != BLOCK;
		if (p->drop_script)
			lrimport_error(p->c, p->file, p->line,
				       "'%s' outside a { } block: logrotate refuses it; left out",
				       d.name);
		free(p->script.name);
		p->script = (struct lrimport_directive){.name = strdup(d.name), .line = p->line};
		p->script_len = 0;
		if (!p->script.name)
			p->err = -ENOMEM;
		p->st = SCRIPT;
		return;
	}
	if (!strcmp(d.name, "endscript")) {
		lrimport_error(p->c, p->file, p->line, "'endscript' with no script before it");
		return;
	}
	if (p->st == BLOCK) {
		if (!strcmp(d.name, "include")) {
			lrimport_error(p->c, p->file, p->line,
				       "'include' inside a { } block: left out (logrotate "
				       "includes only at top level)");
			return;
		}
		if (p->cur.n_dirs >= LRIMPORT_MAX_DIRECTIVES + p->c->n_globals) {
			lrimport_error(p->c, p->file, p->line, "too many directives in one block");
			return;
		}
		p->err = push_directive(&p->cur.dirs, &p->cur.n_dirs, &d);
		return;
	}
	if (!strcmp(d.name, "include")) {
		if (!*args)
			lrimport_error(p->c, p->file, p->line, "'include' without a path");
		else if (!p->include)
			lrimport_error(p->c, p->file, p->line, "'include %s' left out", args);
		else if (p->include(p->arg, p->c, args, p->file, p->line) == -ENOMEM)
			p->err = -ENOMEM;
		return;
	}
	if (p->c->n_globals >= LRIMPORT_MAX_DIRECTIVES) {
		lrimport_error(p->c, p->file, p->line, "too many top-level directives");
		return;
	}
	p->err = push_directive(&p->c->globals, &p->c->n_globals, &d);
}

static void script_line(struct parser *p, const char *s, size_t len)
{
	char *v;

	if (p->drop_script)
		return;
	if (p->script_len + len + 1 > LRIMPORT_MAX_SCRIPT) {
		if (p->script_len <= LRIMPORT_MAX_SCRIPT) {
			lrimport_error(p->c, p->file, p->line, "'%s' script longer than %u bytes: cut",
				       p->script.name, LRIMPORT_MAX_SCRIPT);
			p->script_len = LRIMPORT_MAX_SCRIPT + 1;
		}
		return;
	}
	v = realloc(p->script.script, p->script_len + len + 2);
	if (!v) {
		p->err = -ENOMEM;
		return;
	}
	memcpy(v + p->script_len, s, len);
	p->script_len += len;
	v[p->script_len++] = '\n';
	v[p->script_len] = '\0';
	p->script.script = v;
}

static void end_script(struct parser *p)
{
	p->st = p->in_block ? BLOCK : TOP;
	if (!p->drop_script) {
		p->script.file = (char *)p->file;
		p->script.args = (char *)"";
		if (!p->script.script)
			p->script.script = strdup("");
		if (p->cur.n_dirs < LRIMPORT_MAX_DIRECTIVES + p->c->n_globals && p->script.script)
			p->err = push_directive(&p->cur.dirs, &p->cur.n_dirs, &p->script);
	}
	free(p->script.name);
	free(p->script.script);
	memset(&p->script, 0, sizeof(p->script));
}

/* The words of one line (from index i), in whatever state the parser is. */
static void words(struct parser *p, char **tok, size_t n, size_t i)
{
	while (i < n && !p->err && p->st != SCRIPT) {
		const char *t = tok[i];

		if (p->st == TOP) {
			if (!strcmp(t, "}")) {
				lrimport_error(p->c, p->file, p->line, "a '}' with no block open");
				i++;
			} else if (!strcmp(t, "{")) {
				lrimport_error(p->c, p->file, p->line,
					       "a '{' with no path before it: block left out");
				p->st = BLOCK;
				i++;
			} else if (in(keywords, t)) {
				directive(p, tok + i, n - i);
				return;
			} else {
				p->st = GLOBS;
			}
		} else if (p->st == GLOBS) {
			if (!strcmp(t, "{"))
				open_block(p);
			else if (!strcmp(t, "}"))
				lrimport_error(p->c, p->file, p->line, "a '}' with no block open");
			else
				add_glob(p, t);
			i++;
		} else { /* BLOCK */
			size_t j = i;

			if (!strcmp(t, "}")) {
				close_block(p);
				i++;
				continue;
			}
			if (!strcmp(t, "{")) {
				lrimport_error(p->c, p->file, p->line,
					       "a '{' inside a block: logrotate does not nest them");
				i++;
				continue;
			}
			while (j < n && strcmp(tok[j], "}") && strcmp(tok[j], "{"))
				j++;
			directive(p, tok + i, j - i);
			if (p->st == SCRIPT)
				return;
			i = j;
		}
	}
}

static void one_line(struct parser *p, const char *s, size_t len)
{
	char *tok[MAX_TOKENS];
	bool cut;
	size_t n;

	if (p->st == SCRIPT) {
		size_t i = 0;

		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (len - i < 9 || strncmp(s + i, "endscript", 9) ||
		    (len - i > 9 && !strchr(" \t\r}#", s[i + 9]))) {
			script_line(p, s, len);
			return;
		}
		end_script(p);
		s += i + 9;
		len -= i + 9;
	}
	n = tokenize(s, len, tok, MAX_TOKENS, &cut);
	if (cut)
		lrimport_error(p->c, p->file, p->line, "more than %d words on a line: the rest "
			       "left out", MAX_TOKENS);
	words(p, tok, n, 0);
	for (size_t i = 0; i < n; i++)
		free(tok[i]);
}

int lrimport_parse(struct lrimport_conf *c, const char *file, const char *text, size_t len,
		   lrimport_include_fn include, void *arg)
{
	struct parser p = {.c = c, .file = file, .st = TOP, .include = include, .arg = arg};
	size_t at = 0;

	if (c->depth >= LRIMPORT_MAX_DEPTH) {
		lrimport_error(c, file, 0, "includes nested more than %d deep: left out",
			       LRIMPORT_MAX_DEPTH);
		return 0;
	}
	if (len > LRIMPORT_MAX_TEXT) {
		lrimport_error(c, file, 0, "larger than %u bytes: left out", LRIMPORT_MAX_TEXT);
		return 0;
	}
	c->depth++;
	while (at < len && !p.err) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t l = nl ? (size_t)(nl - (text + at)) : len - at;

		p.line++;
		one_line(&p, text + at, l);
		at += l + (nl ? 1 : 0);
	}
	c->depth--;
	if (!p.err && p.st == SCRIPT) {
		lrimport_error(c, file, p.script.line, "'%s' without 'endscript': block left out",
			       p.script.name);
		p.in_block = false;
	} else if (!p.err && p.st == BLOCK) {
		lrimport_error(c, file, p.cur.line, "block without its '}': left out");
	} else if (!p.err && p.st == GLOBS) {
		lrimport_error(c, file, p.cur.line, "'%s' with no '{ ... }' after it: left out",
			       p.cur.globs[0]);
	}
	free(p.script.name);
	free(p.script.script);
	block_reset(&p);
	return p.err;
}
