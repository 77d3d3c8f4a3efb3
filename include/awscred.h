#ifndef SWEEPD_AWSCRED_H
#define SWEEPD_AWSCRED_H

#include <stddef.h>

/*
 * S3 credentials, as the AWS tools keep them: a shared-credentials file (an
 * INI file, a [profile] section with aws_access_key_id,
 * aws_secret_access_key and maybe aws_session_token), or the AWS_*
 * environment. The secret is never put in an error, and is wiped when done.
 */
#define AWSCRED_MAX 256

struct awscred {
	char access_key[AWSCRED_MAX];
	char secret_key[AWSCRED_MAX];
	char session_token[4 * AWSCRED_MAX]; /* "" when none */
};

/*
 * The profile's keys from text (a credentials file's bytes, NUL-terminated).
 * 0, or -ENOENT (no such profile), -EINVAL (a key missing, or too long), with
 * err saying which, by line, never by value.
 */
int awscred_parse(const char *text, const char *profile, struct awscred *c, char *err,
		  size_t errlen);
/*
 * The profile's keys from the file at path: refused (-EPERM) when group or
 * others may read it, or it is not a regular file; err names the path and
 * what to do (chmod 0600). Else as awscred_parse, err naming the path.
 */
int awscred_load(const char *path, const char *profile, struct awscred *c, char *err,
		 size_t errlen);
/* AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN): 0 or -ENOENT. */
int awscred_from_env(struct awscred *c);
/* Wiped (the secret too), so that no copy outlives its use. */
void awscred_clear(struct awscred *c);

#endif
