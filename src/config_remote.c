#include "config_remote.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfgread.h"
#include "config.h"

/*
 * archive.remote: the bucket behind the local archive. Its credentials are
 * read here, when the config is loaded (and at each reload, so that a key
 * rotated in the file is taken by a SIGHUP), never later on a worker: a
 * credentials file that others may read, or that lacks the profile, refuses
 * the config as any broken line does.
 */

/* S3's rules for a bucket's name: 3 to 63 of a-z 0-9 . -, starting and ending alphanumeric. */
static bool bucket_ok(const char *b)
{
	size_t n = strlen(b);

	if (n < 3 || n > 63 || !isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)b[i]) && !isdigit((unsigned char)b[i]) && b[i] != '.' &&
		    b[i] != '-')
			return false;
	return true;
}

/* http:// or https://, a host, perhaps a port; no path, query or user. */
static bool endpoint_ok(const char *e)
{
	const char *host = !strncmp(e, "http://", 7) ? e + 7 : !strncmp(e, "https://", 8) ? e + 8 : NULL;

	return host && *host && *host != '/' && !strpbrk(host, "/?#@ \t\r\n");
}

static bool loopback(const char *e)
{
	const char *host = strstr(e, "://") + 3;

	return !strncmp(host, "127.", 4) || !strncmp(host, "localhost", 9) || !strncmp(host, "[::1]", 5);
}

static char *default_prefix(void)
{
	char host[256] = "";
	char *p = NULL;

	if (gethostname(host, sizeof(host) - 1) < 0 || !*host)
		strcpy(host, "sweepd");
	return asprintf(&p, "%s/", host) < 0 ? NULL : p;
}

static char *dup_or(const char *s, const char *def)
{
	return s ? strdup(s) : def ? strdup(def) : NULL;
}

static void read_cred(struct cfgread *ld, const config_setting_t *s, struct remote_config *r)
{
	char err[1024];
	int e;

	if (r->credentials) {
		e = awscred_load(r->credentials, r->profile, &r->cred, err, sizeof(err));
		if (e < 0)
			cfgread_error(ld, config_setting_get_member(s, "credentials"), "%s", err);
		return;
	}
	if (awscred_from_env(&r->cred) < 0)
		cfgread_error(ld, s,
			      "archive 'remote' has no 'credentials' file and AWS_ACCESS_KEY_ID / "
			      "AWS_SECRET_ACCESS_KEY are not set: name a file in the AWS "
			      "shared-credentials format (mode 0600)");
}

struct remote_config *config_remote_load(struct cfgread *ld, const config_setting_t *s,
					 int64_t archive_keep)
{
	static const char *const keys[] = {"endpoint", "bucket",  "prefix", "region",
					   "credentials", "profile", "keep",   NULL};
	struct remote_config *r;
	const char *v;

	if (!config_setting_is_group(s)) {
		cfgread_error(ld, s,
			      "'remote' must be a group: remote = { endpoint = \"https://...\"; "
			      "bucket = \"...\"; }");
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->line = config_setting_source_line(s);
	cfgread_keys(ld, s, "archive.remote", keys);
	v = cfgread_string(ld, s, "endpoint");
	if (!v)
		cfgread_error(ld, s, "archive 'remote' needs an 'endpoint', such as "
				     "\"https://s3.eu-central-1.amazonaws.com\"");
	else if (!endpoint_ok(v))
		cfgread_error(ld, config_setting_get_member(s, "endpoint"),
			      "remote 'endpoint' \"%s\" must be http:// or https:// and a host, "
			      "with a port if need be, and nothing after it",
			      v);
	else {
		r->endpoint = strdup(v);
		if (r->endpoint && !strncmp(v, "http://", 7) && !loopback(v))
			cfgread_warning(ld, config_setting_get_member(s, "endpoint"),
					"remote 'endpoint' %s is plain http: the archive's files "
					"travel to it unencrypted (requests stay signed)",
					v);
	}
	v = cfgread_string(ld, s, "bucket");
	if (!v)
		cfgread_error(ld, s, "archive 'remote' needs a 'bucket'");
	else if (!bucket_ok(v))
		cfgread_error(ld, config_setting_get_member(s, "bucket"),
			      "remote 'bucket' \"%s\" is not a bucket name: 3 to 63 of a-z, 0-9, "
			      "'.' and '-', starting and ending with a letter or digit",
			      v);
	else
		r->bucket = strdup(v);
	v = cfgread_string(ld, s, "prefix");
	if (v && (*v == '/' || strstr(v, "//") || strlen(v) > 512))
		cfgread_error(ld, config_setting_get_member(s, "prefix"),
			      "remote 'prefix' \"%s\" must not start with '/', hold \"//\" or be "
			      "longer than 512 bytes",
			      v);
	else if (v && *v && v[strlen(v) - 1] != '/')
		cfgread_warning(ld, config_setting_get_member(s, "prefix"),
				"remote 'prefix' \"%s\" does not end in '/': keys are \"%szone/...\", "
				"and a rebuild's listing under it takes in \"%s0/...\" too (another "
				"host's); write \"%s/\"",
				v, v, v, v);
	r->prefix = v ? strdup(v) : default_prefix();
	r->region = dup_or(cfgread_string(ld, s, "region"), "us-east-1");
	r->profile = dup_or(cfgread_string(ld, s, "profile"), getenv("AWS_PROFILE") ? getenv("AWS_PROFILE") : "default");
	r->credentials = config_setting_get_member(s, "credentials")
				 ? cfgread_path(ld, s, "credentials", NULL)
				 : NULL;
	r->keep = cfgread_duration(ld, s, "keep", CONFIG_UNSET);
	if (r->keep != CONFIG_UNSET && r->keep < archive_keep)
		cfgread_warning(ld, config_setting_get_member(s, "keep"),
				"remote 'keep' is shorter than the archive's 'keep': files reach "
				"the bucket once that is over, and are deleted from it at once");
	if (r->profile)
		read_cred(ld, s, r);
	return r;
}
