#include "awscred.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AWSCRED_FILE_MAX (64 << 10)

void awscred_clear(struct awscred *c)
{
	explicit_bzero(c, sizeof(*c));
}

/* [start, end) with blanks cut off both ends. */
static void trim(const char **start, const char **end)
{
	while (*start < *end && isspace((unsigned char)**start))
		(*start)++;
	while (*end > *start && isspace((unsigned char)(*end)[-1]))
		(*end)--;
}

static bool same(const char *s, const char *e, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(e - s) == n && !memcmp(s, word, n);
}

/* value [s, e) into dst (of len); false when too long. */
static bool take(char *dst, size_t len, const char *s, const char *e)
{
	if ((size_t)(e - s) >= len)
		return false;
	memcpy(dst, s, (size_t)(e - s));
	dst[e - s] = '\0';
	return true;
}

int awscred_parse(const char *text, const char *profile, struct awscred *c, char *err,
		  size_t errlen)
{
	bool in = false, found = false;
	unsigned line = 0;

	awscred_clear(c);
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n'), *s = p, *e, *eq;

		e = eol ? eol : p + strlen(p);
		p = eol ? eol + 1 : e;
		line++;
		trim(&s, &e);
		if (s == e || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			const char *ns = s + 1, *ne = e;

			if (ne[-1] == ']')
				ne--;
			trim(&ns, &ne);
			/* The credentials file says "[x]" (the config file "[profile x]"). */
			in = same(ns, ne, profile);
			found |= in;
			continue;
		}
		if (!in || !(eq = memchr(s, '=', (size_t)(e - s))))
			continue;
		{
			const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
			bool ok = true;

			trim(&ks, &ke);
			trim(&vs, &ve);
			if (same(ks, ke, "aws_access_key_id"))
				ok = take(c->access_key, sizeof(c->access_key), vs, ve);
			else if (same(ks, ke, "aws_secret_access_key"))
				ok = take(c->secret_key, sizeof(c->secret_key), vs, ve);
			else if (same(ks, ke, "aws_session_token"))
				ok = take(c->session_token, sizeof(c->session_token), vs, ve);
			if (!ok) {
				snprintf(err, errlen, "line %u: the value of %.*s is too long", line,
					 (int)(ke - ks), ks);
				awscred_clear(c);
				return -EINVAL;
			}
		}
	}
	if (!found) {
		snprintf(err, errlen, "no profile [%s] in it", profile);
		return -ENOENT;
	}
	if (!*c->access_key || !*c->secret_key) {
		snprintf(err, errlen, "profile [%s] has no %s", profile,
			 !*c->access_key ? "aws_access_key_id" : "aws_secret_access_key");
		awscred_clear(c);
		return -EINVAL;
	}
	return 0;
}

int awscred_load(const char *path, const char *profile, struct awscred *c, char *err,
		 size_t errlen)
{
	char why[200], *text = NULL;
	struct stat st;
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), r = 0;

	awscred_clear(c);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open the S3 credentials %s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > AWSCRED_FILE_MAX) {
		snprintf(err, errlen, "the S3 credentials %s are not a regular file of at most "
			 "64 KiB", path);
		r = -EPERM;
	} else if (st.st_mode & 077) {
		snprintf(err, errlen, "the S3 credentials %s may be read by others (mode %04o): "
			 "refused; chmod 0600 %s", path, (unsigned)(st.st_mode & 07777), path);
		r = -EPERM;
	} else if (!(text = malloc((size_t)st.st_size + 1))) {
		r = -ENOMEM;
	} else {
		n = read(fd, text, (size_t)st.st_size);
		if (n < 0) {
			r = -errno;
			snprintf(err, errlen, "cannot read the S3 credentials %s: %s", path,
				 strerror(-r));
		} else {
			text[n] = '\0';
			r = awscred_parse(text, profile, c, why, sizeof(why));
			if (r < 0)
				snprintf(err, errlen, "the S3 credentials %s: %s", path, why);
		}
	}
	if (text) {
		explicit_bzero(text, (size_t)st.st_size + 1);
		free(text);
	}
	close(fd);
	return r;
}

int awscred_from_env(struct awscred *c)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID"), *key = getenv("AWS_SECRET_ACCESS_KEY"),
		   *token = getenv("AWS_SESSION_TOKEN");

	awscred_clear(c);
	if (!id || !key || !*id || !*key || strlen(id) >= sizeof(c->access_key) ||
	    strlen(key) >= sizeof(c->secret_key) ||
	    (token && strlen(token) >= sizeof(c->session_token)))
		return -ENOENT;
	strcpy(c->access_key, id);
	strcpy(c->secret_key, key);
	if (token)
		strcpy(c->session_token, token);
	return 0;
}
