#include "s3_priv.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A key as encoding-type=url gives it back: %XX a byte, '+' a blank (AWS
 * writes blanks so, and every server asked writes a '+' as %2B). false when it
 * holds a NUL, which no key given here can.
 */
static bool url_decode(char *s)
{
	char *out = s;

	for (const char *p = s; *p; p++) {
		int hi, lo;

		if (*p == '+') {
			*out++ = ' ';
		} else if (*p == '%' && isxdigit((unsigned char)p[1]) &&
			   isxdigit((unsigned char)p[2])) {
			hi = isdigit((unsigned char)p[1]) ? p[1] - '0' : (tolower(p[1]) - 'a' + 10);
			lo = isdigit((unsigned char)p[2]) ? p[2] - '0' : (tolower(p[2]) - 'a' + 10);
			if (!(hi | lo))
				return false;
			*out++ = (char)(hi << 4 | lo);
			p += 2;
		} else {
			*out++ = *p;
		}
	}
	*out = '\0';
	return true;
}

/* A listing's page as a tree whose root is root_name; -EIO with r otherwise. */
static int page_read(struct s3 *s, struct s3_req *q, const char *root_name, xmlDoc **doc,
		     struct s3_reply *r)
{
	int rc;
	xmlNode *root;

	if (!q->query)
		return -ENOMEM;
	if ((rc = s3_req_perform_ok(s, q, r)))
		return rc;
	if (q->reply_cut)
		return s3_req_fail(s, q, 0, r);
	*doc = s3_xml_read(q->reply, q->reply_len);
	root = *doc ? xmlDocGetRootElement(*doc) : NULL;
	if (!s3_xml_is(root, root_name))
		return s3_req_bad_reply(s, q, "the reply is no listing", r);
	/* Without it a cut-short page would pass for the last one. */
	if (!s3_xml_child(root, "IsTruncated"))
		return s3_req_bad_reply(s, q, "the listing does not say whether more follow", r);
	return 0;
}

static bool page_truncated(xmlDoc *doc)
{
	char text[16];

	return s3_xml_text(xmlDocGetRootElement(doc), "IsTruncated", text, sizeof(text)) &&
	       !strcmp(text, "true");
}

/* Where a listing goes on from: after a key (and upload id), or a server's token. */
struct resume {
	char *key, *id, *token;
};

static void resume_clear(struct resume *at)
{
	free(at->key);
	free(at->id);
	free(at->token);
	*at = (struct resume){ NULL, NULL, NULL };
}

/*
 * One page of ListObjectsV2 to fn. The next page starts after the last key of
 * this one (start-after): radosgw's continuation token is that key written
 * raw, control characters and all, where the key itself comes url-encoded.
 * The token serves only when a truncated page lists no key. 0 with *more,
 * fn's non-zero, -EIO with r.
 */
static int list_page(struct s3 *s, const char *prefix, struct resume *at, bool *more,
		     int (*fn)(void *ud, const char *key, uint64_t size), void *ud,
		     struct s3_reply *r)
{
	char max[16], shown[200], what[256];
	struct s3_param p[5] = { { "list-type", "2" },
				 { "prefix", prefix },
				 { "encoding-type", "url" } };
	size_t n = 3;
	struct s3_req q = { .method = "GET", .what = what };
	xmlDoc *doc = NULL;
	xmlNode *root, *c = NULL;
	int rc;

	if (s->page) {
		snprintf(max, sizeof(max), "%u", s->page);
		p[n++] = (struct s3_param){ "max-keys", max };
	}
	if (at->key)
		p[n++] = (struct s3_param){ "start-after", at->key };
	else if (at->token)
		p[n++] = (struct s3_param){ "continuation-token", at->token };
	s3_printable(prefix, shown, sizeof(shown));
	snprintf(what, sizeof(what), "a listing of prefix '%s'", shown);
	q.query = s3_query_of(p, n);
	if ((rc = page_read(s, &q, "ListBucketResult", &doc, r)))
		goto out;
	root = xmlDocGetRootElement(doc);
	resume_clear(at);
	while ((c = s3_xml_next(root, c, "Contents"))) {
		char *key = s3_xml_strdup(c, "Key"), size[32];

		if (!key || !s3_xml_text(c, "Size", size, sizeof(size)) || !url_decode(key)) {
			free(key);
			rc = s3_req_bad_reply(s, &q, "a listed object without a usable Key or Size",
					      r);
			goto out;
		}
		free(at->key);
		at->key = key;
		if ((rc = fn(ud, key, strtoull(size, NULL, 10))))
			goto out;
	}
	*more = page_truncated(doc);
	if (*more && !at->key && !(at->token = s3_xml_strdup(root, "NextContinuationToken")))
		rc = s3_req_bad_reply(s, &q, "a truncated listing without a way on", r);
out:
	xmlFreeDoc(doc);
	s3_req_done(&q);
	return rc;
}

int s3_list(struct s3 *s, const char *prefix, int (*fn)(void *ud, const char *key, uint64_t size),
	    void *ud, struct s3_reply *r)
{
	struct s3_reply scratch;
	struct resume at = { NULL, NULL, NULL };
	bool more = true;
	int rc = 0;

	r = r ? r : &scratch;
	s3_reply_clear(r);
	while (!rc && more)
		rc = list_page(s, prefix ? prefix : "", &at, &more, fn, ud, r);
	resume_clear(&at);
	return rc;
}

/* DELETE key?uploadId=id: 1 aborted, 0 already gone, -EIO with r. */
int s3_upload_abort(struct s3 *s, const char *key, const char *id, struct s3_reply *r)
{
	struct s3_param p[] = { { "uploadId", id } };
	struct s3_req q = { .method = "DELETE", .key = key, .what = "abort of an upload" };
	int rc = -ENOMEM;

	if ((q.query = s3_query_of(p, 1)))
		rc = s3_req_perform(s, &q);
	if (!rc && s3_is_2xx(q.status))
		rc = 1;
	else if (!rc && q.status == 404)
		rc = 0; /* NoSuchUpload: aborted or completed by someone else */
	else if (rc == -EIO || !rc)
		rc = s3_req_fail(s, &q, rc, r);
	s3_req_done(&q);
	return rc;
}

struct upload {
	char *key, *id;
};

/* Each upload listed on the page under root aborted; the last one's key and id into at. */
static int uploads_abort(struct s3 *s, const struct s3_req *q, xmlNode *root, struct resume *at,
			 int *count, struct s3_reply *r)
{
	xmlNode *u = NULL;
	int rc;

	while ((u = s3_xml_next(root, u, "Upload"))) {
		struct upload up = { s3_xml_strdup(u, "Key"), s3_xml_strdup(u, "UploadId") };

		if (!up.key || !up.id || !url_decode(up.key)) {
			free(up.key);
			free(up.id);
			return s3_req_bad_reply(s, q, "a listed upload without a Key or UploadId",
						r);
		}
		rc = s3_upload_abort(s, up.key, up.id, r);
		resume_clear(at);
		at->key = up.key;
		at->id = up.id;
		if (rc < 0)
			return rc;
		*count += rc;
	}
	return 0;
}

/*
 * One page of ListMultipartUploads, each upload on it aborted. Keys come
 * url-encoded, as asked (radosgw does it without an EncodingType saying so).
 * The next page is asked after the last upload of this one, by its decoded
 * key and its id: radosgw's NextKeyMarker is the one element it leaves raw.
 */
static int uploads_page(struct s3 *s, const char *prefix, struct resume *at, bool *more, int *count,
			struct s3_reply *r)
{
	char max[16], shown[200], what[256];
	struct s3_param p[6] = { { "uploads", "" },
				 { "prefix", prefix },
				 { "encoding-type", "url" } };
	size_t n = 3;
	struct s3_req q = { .method = "GET", .what = what };
	xmlDoc *doc = NULL;
	int rc;

	if (s->page) {
		snprintf(max, sizeof(max), "%u", s->page);
		p[n++] = (struct s3_param){ "max-uploads", max };
	}
	if (at->key) {
		p[n++] = (struct s3_param){ "key-marker", at->key };
		p[n++] = (struct s3_param){ "upload-id-marker", at->id };
	}
	s3_printable(prefix, shown, sizeof(shown));
	snprintf(what, sizeof(what), "a listing of the uploads under prefix '%s'", shown);
	q.query = s3_query_of(p, n);
	if (!(rc = page_read(s, &q, "ListMultipartUploadsResult", &doc, r)))
		rc = uploads_abort(s, &q, xmlDocGetRootElement(doc), at, count, r);
	*more = !rc && page_truncated(doc);
	if (*more && !at->key)
		rc = s3_req_bad_reply(s, &q, "a truncated listing of no upload", r);
	xmlFreeDoc(doc);
	s3_req_done(&q);
	return rc;
}

int s3_abort_leftovers(struct s3 *s, const char *prefix, struct s3_reply *r)
{
	struct s3_reply scratch;
	struct resume at = { NULL, NULL, NULL };
	bool more = true;
	int rc = 0, count = 0;

	r = r ? r : &scratch;
	s3_reply_clear(r);
	while (!rc && more)
		rc = uploads_page(s, prefix ? prefix : "", &at, &more, &count, r);
	resume_clear(&at);
	return rc < 0 ? rc : count;
}
