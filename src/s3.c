#include "s3.h"

#include <ctype.h>
#include <errno.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_priv.h"

/* --- The client --------------------------------------------------------------------- */

int s3_global_init(void)
{
	const curl_version_info_data *v;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -EIO;
	v = curl_version_info(CURLVERSION_NOW);
	/* CURLOPT_AWS_SIGV4 came with 7.75, CURLOPT_PROTOCOLS_STR with 7.85. */
	if (v->version_num < 0x075500)
		return -ENOTSUP;
	/* libxml2 sets up its global state here, before any thread parses. */
	xmlInitParser();
	return 0;
}

void s3_global_cleanup(void)
{
	xmlCleanupParser();
	curl_global_cleanup();
}

static bool bucket_ok(const char *b)
{
	size_t n = strlen(b);

	if (!n || n > 255)
		return false;
	for (; *b; b++)
		if (!isalnum((unsigned char)*b) && !strchr("._-", *b))
			return false;
	return true;
}

static bool region_ok(const char *r)
{
	size_t n = strlen(r);

	if (!n || n > 64)
		return false;
	for (; *r; r++)
		if (!islower((unsigned char)*r) && !isdigit((unsigned char)*r) && *r != '-')
			return false;
	return true;
}

/* http(s)://host[:port][/path], nothing else: no user, query or fragment. */
static bool endpoint_ok(const char *endpoint, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *user = NULL, *query = NULL, *frag = NULL;
	bool ok = false;

	if (!u) {
		s3_say(err, errlen, "no memory");
		return false;
	}
	if (curl_url_set(u, CURLUPART_URL, endpoint, 0) != CURLUE_OK) {
		s3_say(err, errlen,
		       "the S3 endpoint is no URL (want http://host:port or https://host)");
		goto out;
	}
	curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(u, CURLUPART_USER, &user, 0);
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0);
	if (!scheme || (strcmp(scheme, "http") && strcmp(scheme, "https")))
		s3_say(err, errlen, "the S3 endpoint is neither http:// nor https://");
	else if (user)
		s3_say(err, errlen, "the S3 endpoint has a user in it: credentials go elsewhere");
	else if (query || frag)
		s3_say(err, errlen,
		       "the S3 endpoint has a query or fragment: want http(s)://host[:port]");
	else
		ok = true;
out:
	curl_free(scheme);
	curl_free(user);
	curl_free(query);
	curl_free(frag);
	curl_url_cleanup(u);
	return ok;
}

/* What s3_new refuses, and why; the endpoint is named, the secret never. */
static bool target_ok(const struct s3_target *t, char *err, size_t errlen)
{
	const struct awscred *c = t->cred;

	if (!t->endpoint || !endpoint_ok(t->endpoint, err, errlen))
		return t->endpoint ? false : (s3_say(err, errlen, "no S3 endpoint"), false);
	if (!t->bucket || !bucket_ok(t->bucket)) {
		s3_say(err, errlen,
		       "the S3 bucket name is empty, too long or has characters "
		       "other than letters, digits, '.', '_' and '-'");
		return false;
	}
	if (t->region && !region_ok(t->region)) {
		s3_say(err, errlen, "the S3 region is not a region's name (such as eu-central-1)");
		return false;
	}
	if (!c || !c->access_key[0] || !c->secret_key[0] || strchr(c->access_key, ':') ||
	    strnlen(c->access_key, AWSCRED_MAX) == AWSCRED_MAX ||
	    strnlen(c->secret_key, AWSCRED_MAX) == AWSCRED_MAX) {
		s3_say(err, errlen,
		       "no usable S3 credentials (an access key without ':' and a secret)");
		return false;
	}
	return true;
}

struct s3 *s3_new(const struct s3_target *t, char *err, size_t errlen)
{
	struct s3 *s;
	size_t len;

	if (!target_ok(t, err, errlen))
		return NULL;
	if (!(s = calloc(1, sizeof(*s))))
		goto nomem;
	len = strlen(t->endpoint);
	while (len && t->endpoint[len - 1] == '/')
		len--;
	s->endpoint = strndup(t->endpoint, len);
	s->bucket = strdup(t->bucket);
	len = 3 * strlen(t->bucket) + 2;
	s->bucket_path = malloc(len);
	s->curl = curl_easy_init();
	if (!s->endpoint || !s->bucket || !s->bucket_path || !s->curl)
		goto nomem;
	s->bucket_path[0] = '/';
	s3_key_encode(t->bucket, s->bucket_path + 1, len - 1);
	snprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3", t->region ? t->region : "us-east-1");
	s->cred = *t->cred;
	return s;
nomem:
	s3_say(err, errlen, "no memory for an S3 client");
	s3_free(s);
	return NULL;
}

struct s3 *s3_dup(const struct s3 *s)
{
	char region[96];
	const char *r = s->sigv4 + strlen("aws:amz:");
	struct s3_target t = { s->endpoint, s->bucket, region, &s->cred };
	struct s3 *d;

	snprintf(region, sizeof(region), "%.*s", (int)(strlen(r) - strlen(":s3")), r);
	d = s3_new(&t, NULL, 0);
	if (d)
		d->page = s->page;
	return d;
}

void s3_free(struct s3 *s)
{
	if (!s)
		return;
	if (s->curl)
		curl_easy_cleanup(s->curl);
	free(s->endpoint);
	free(s->bucket);
	free(s->bucket_path);
	awscred_clear(&s->cred);
	free(s);
}

void s3_set_page(struct s3 *s, unsigned n)
{
	s->page = n;
}

const char *s3_object_meta(const struct s3_object *o, const char *name)
{
	for (size_t i = 0; i < o->n_meta && i < S3_META_MAX; i++)
		if (!strcmp(o->meta[i].name, name))
			return o->meta[i].value;
	return NULL;
}

/* --- HEAD, GET, DELETE ----------------------------------------------------------------- */

int s3_head(struct s3 *s, const char *key, struct s3_object *o, struct s3_reply *r)
{
	struct s3_reply scratch;
	struct s3_req q = { .method = "HEAD", .key = key, .obj = o };
	int rc;

	r = r ? r : &scratch;
	s3_reply_clear(r);
	memset(o, 0, sizeof(*o));
	if (!key || !*key)
		return s3_refuse(r, -EINVAL, "HEAD s3://%s/: no key", s->bucket);
	rc = s3_req_perform_ok(s, &q, r);
	if (rc == -EIO && r->status == 404)
		rc = -ENOENT; /* r says so too */
	s3_req_done(&q);
	return rc;
}

int s3_get(struct s3 *s, const char *key, int (*sink)(void *ud, const void *buf, size_t n),
	   void *ud, s3_progress_fn progress, struct s3_reply *r)
{
	struct s3_reply scratch;
	struct s3_req q = { .method = "GET",
			    .key = key,
			    .sink = sink,
			    .sink_ud = ud,
			    .progress = progress,
			    .progress_ud = ud };
	int rc;

	r = r ? r : &scratch;
	s3_reply_clear(r);
	if (!key || !*key)
		return s3_refuse(r, -EINVAL, "GET s3://%s/: no key", s->bucket);
	rc = s3_req_perform_ok(s, &q, r);
	/* A missing bucket is no missing object. */
	if (rc == -EIO && r->status == 404 && strcmp(r->code, "NoSuchBucket"))
		rc = -ENOENT;
	s3_req_done(&q);
	return rc;
}

int s3_delete(struct s3 *s, const char *key, struct s3_reply *r)
{
	struct s3_reply scratch;
	struct s3_req q = { .method = "DELETE", .key = key };
	int rc;

	r = r ? r : &scratch;
	s3_reply_clear(r);
	if (!key || !*key)
		return s3_refuse(r, -EINVAL, "DELETE s3://%s/: no key", s->bucket);
	rc = s3_req_perform_ok(s, &q, r);
	if (rc == -EIO && r->status == 404 && strcmp(r->code, "NoSuchBucket")) {
		s3_reply_clear(r);
		rc = 0;
	}
	s3_req_done(&q);
	return rc;
}
