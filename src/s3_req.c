#include "s3_priv.h"

#include <ctype.h>
#include <errno.h>
#include <libxml/parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "digest.h"

#define MIB (UINT64_C(1) << 20)
/* Progress is told every this many bytes sent or received. */
#define PROGRESS_STEP MIB
/* A reply kept in memory (a listing's page, an error): bigger is no S3 reply. */
#define REPLY_MAX (16 * MIB)

void s3_say(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/* s as printable ASCII, every other byte as \xNN: keys are bytes, errors are lines. */
void s3_printable(const char *s, char *out, size_t len)
{
	size_t at = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p && at + 5 < len; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\')
			out[at++] = (char)*p;
		else
			at += (size_t)snprintf(out + at, len - at, "\\x%02x", *p);
	}
	out[at] = '\0';
}

void s3_reply_clear(struct s3_reply *r)
{
	r->status = 0;
	r->transient = false;
	r->code[0] = '\0';
	r->err[0] = '\0';
}

/* A bad argument, said in r as an error is. */
int s3_refuse(struct s3_reply *r, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return rc;
}

/* --- XML replies, read by libxml2 ------------------------------------------------ */

/*
 * A reply's body as a tree. S3 replies put their elements in a default
 * namespace, so elements are matched by their local name (libxml2's
 * node->name). Recovery is on: radosgw writes a key's control characters
 * into a listing's continuation token as character references that XML 1.0
 * forbids (&#x01;), and the rest of that page is still good. Nothing is fetched
 * from the network, no entity is expanded.
 */
xmlDoc *s3_xml_read(const char *buf, size_t len)
{
	/* A slow CompleteMultipartUpload's 200 comes with blanks ahead of the XML. */
	while (len && isspace((unsigned char)*buf)) {
		buf++;
		len--;
	}
	if (!len || len > REPLY_MAX)
		return NULL;
	return xmlReadMemory(buf, (int)len, NULL, NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
				 XML_PARSE_RECOVER);
}

/* The first child element of parent named name, after after (NULL: from the start). */
xmlNode *s3_xml_next(xmlNode *parent, xmlNode *after, const char *name)
{
	for (xmlNode *n = after ? after->next : parent->children; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name))
			return n;
	return NULL;
}

xmlNode *s3_xml_child(xmlNode *parent, const char *name)
{
	return s3_xml_next(parent, NULL, name);
}

/* The text of parent's child name into out; false when it is missing or does not fit. */
bool s3_xml_text(xmlNode *parent, const char *name, char *out, size_t len)
{
	xmlNode *n = parent ? s3_xml_child(parent, name) : NULL;
	xmlChar *text = n ? xmlNodeGetContent(n) : NULL;
	bool fits = text && strlen((const char *)text) < len;

	if (len)
		out[0] = '\0';
	if (fits)
		strcpy(out, (const char *)text);
	xmlFree(text);
	return fits;
}

/* The same, malloc'd; NULL when missing (or no memory). */
char *s3_xml_strdup(xmlNode *parent, const char *name)
{
	xmlNode *n = s3_xml_child(parent, name);
	xmlChar *text = n ? xmlNodeGetContent(n) : NULL;
	char *s = text ? strdup((const char *)text) : NULL;

	xmlFree(text);
	return s;
}

bool s3_xml_is(xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

/* --- One request ------------------------------------------------------------------ */

/* false when the progress callback says stop. */
static bool tell_progress(struct s3_req *q, size_t n)
{
	q->moved += n;
	if (!q->progress || q->moved < q->next)
		return true;
	q->next = q->moved + PROGRESS_STEP;
	return q->progress(q->progress_ud, q->base + q->moved);
}

/*
 * The status line of each answer (a 100 Continue comes before the real one),
 * and from the final one's head the ETag and, for a HEAD, the object.
 */
static void head_line(struct s3_req *q, const char *line, size_t len)
{
	char name[64], value[1024];
	const char *colon = memchr(line, ':', len), *v;
	size_t nlen, vlen;

	if (len > 5 && !memcmp(line, "HTTP/", 5)) {
		const char *sp = memchr(line, ' ', len);

		q->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		q->etag[0] = '\0';
		if (q->obj)
			memset(q->obj, 0, sizeof(*q->obj));
		return;
	}
	if (!colon || (nlen = (size_t)(colon - line)) >= sizeof(name))
		return;
	memcpy(name, line, nlen);
	name[nlen] = '\0';
	for (v = colon + 1; v < line + len && (*v == ' ' || *v == '\t'); v++)
		;
	vlen = (size_t)(line + len - v);
	while (vlen && isspace((unsigned char)v[vlen - 1]))
		vlen--;
	if (vlen >= sizeof(value))
		return; /* longer than any value kept: left out */
	memcpy(value, v, vlen);
	value[vlen] = '\0';

	if (!strcasecmp(name, "ETag")) {
		char *e = value;
		size_t elen = vlen;

		if (elen >= 2 && e[0] == '"' && e[elen - 1] == '"') {
			e[elen - 1] = '\0';
			e++;
		}
		if (strlen(e) < sizeof(q->etag))
			strcpy(q->etag, e);
		if (q->obj)
			strcpy(q->obj->etag, q->etag);
	}
	if (!q->obj)
		return;
	if (!strcasecmp(name, "Content-Length")) {
		q->obj->size = strtoull(value, NULL, 10);
	} else if (!strcasecmp(name, "Last-Modified")) {
		time_t t = curl_getdate(value, NULL);

		q->obj->mtime = t == (time_t)-1 ? 0 : (int64_t)t;
	} else if (!strncasecmp(name, "x-amz-meta-", 11) && name[11] &&
		   q->obj->n_meta < S3_META_MAX) {
		size_t i = q->obj->n_meta++;

		for (size_t k = 0; name[11 + k]; k++)
			q->obj->meta[i].name[k] = (char)tolower((unsigned char)name[11 + k]);
		strcpy(q->obj->meta[i].value, value);
	}
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
	head_line(ud, buf, size * n);
	return size * n;
}

/* A 2xx body to the sink; any other kept (up to REPLY_MAX) for its error. */
static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
	struct s3_req *q = ud;
	size_t len = size * n;

	if (q->sink && s3_is_2xx(q->status)) {
		int e = q->sink(q->sink_ud, buf, len);

		if (e) {
			q->stop = e < 0 ? e : -EIO;
			return 0;
		}
		if (!tell_progress(q, len)) {
			q->stop = -ECANCELED;
			return 0;
		}
		return len;
	}
	if (q->reply_len + len > REPLY_MAX) {
		q->reply_cut = true;
		return len;
	}
	if (q->reply_len + len + 1 > q->reply_cap) {
		size_t cap = q->reply_cap ? q->reply_cap : 4096;
		char *p;

		while (cap < q->reply_len + len + 1)
			cap *= 2;
		if (!(p = realloc(q->reply, cap))) {
			q->stop = -ENOMEM;
			return 0;
		}
		q->reply = p;
		q->reply_cap = cap;
	}
	memcpy(q->reply + q->reply_len, buf, len);
	q->reply_len += len;
	q->reply[q->reply_len] = '\0';
	return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
	struct s3_req *q = ud;
	size_t len = q->body_len - q->sent;

	if (len > size * n)
		len = size * n;
	/* Asked before more goes: a stop takes effect between chunks. */
	if (len && !tell_progress(q, 0)) {
		q->stop = -ECANCELED;
		return CURL_READFUNC_ABORT;
	}
	memcpy(buf, q->body + q->sent, len);
	q->sent += len;
	q->moved += len;
	return len;
}

/* curl rewinds the body when it sends it again (a kept-alive connection found closed). */
static int on_seek(void *ud, curl_off_t offset, int origin)
{
	struct s3_req *q = ud;

	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > q->body_len)
		return CURL_SEEKFUNC_FAIL;
	q->sent = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

int s3_req_header(struct s3_req *q, const char *fmt, ...)
{
	struct curl_slist *l;
	char line[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -EINVAL;
	if (!(l = curl_slist_append(q->headers, line)))
		return -ENOMEM;
	q->headers = l;
	return 0;
}

void s3_req_done(struct s3_req *q)
{
	curl_slist_free_all(q->headers);
	free(q->reply);
	free(q->query);
	q->headers = NULL;
	q->reply = NULL;
	q->query = NULL;
	q->reply_len = q->reply_cap = 0;
}

/* n params as a canonical query (s3_query), malloc'd; NULL when no memory. */
char *s3_query_of(const struct s3_param *p, size_t n)
{
	size_t len = 1;
	char *q;

	for (size_t i = 0; i < n; i++)
		len += 3 * (strlen(p[i].name) + strlen(p[i].value)) + 2;
	if (!(q = malloc(len)))
		return NULL;
	if (s3_query(p, n, q, len) < 0) {
		free(q);
		return NULL;
	}
	return q;
}

/* endpoint/bucket[/key][?query], malloc'd. */
static char *req_url(const struct s3 *s, const struct s3_req *q)
{
	size_t klen = q->key ? 3 * strlen(q->key) + 2 : 0;
	size_t len = strlen(s->endpoint) + strlen(s->bucket_path) + klen +
		     (q->query ? strlen(q->query) + 1 : 0) + 1;
	char *url = malloc(len), *at;

	if (!url)
		return NULL;
	at = url + sprintf(url, "%s%s", s->endpoint, s->bucket_path);
	if (q->key) {
		*at++ = '/';
		if (s3_key_encode(q->key, at, len - (size_t)(at - url)) < 0) {
			free(url);
			return NULL;
		}
		at += strlen(at);
	}
	if (q->query && *q->query)
		sprintf(at, "?%s", q->query);
	return url;
}

/* The options that every request has, and this one's method and body. */
static void req_setopts(struct s3 *s, struct s3_req *q, const char *url)
{
	CURL *c = s->curl;

	curl_easy_setopt(c, CURLOPT_URL, url);
	/* A key's "a/./b" or "a/../b" is a name, not a path to tidy. */
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	/* No total limit, a large upload takes what it takes; a stalled one ends. */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "sweepd/" SWEEPD_VERSION);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->curlerr);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, q->headers);

	if (!strcmp(q->method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(q->method, "PUT") || !strcmp(q->method, "POST")) {
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, q);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, q);
		if (!strcmp(q->method, "PUT")) {
			curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->body_len);
		} else {
			curl_easy_setopt(c, CURLOPT_POST, 1L);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
		}
	} else if (strcmp(q->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	}
}

/*
 * q sent, signed by curl (SigV4), its answer's head and body taken in. 0 when
 * an answer came, whatever its status; -EIO when none did (q->cc says why);
 * a callback's -errno (-ECANCELED, the sink's); -ENOMEM.
 */
int s3_req_perform(struct s3 *s, struct s3_req *q)
{
	char sha[DIGEST_HEX_MAX], userpwd[2 * AWSCRED_MAX + 2];
	char *url = NULL;
	int rc;

	q->status = 0;
	q->stop = 0;
	q->cc = CURLE_OK;
	q->sent = 0;
	q->moved = 0;
	q->next = PROGRESS_STEP;
	s->curlerr[0] = '\0';
	/*
	 * curl 7.88 neither hashes a body it reads through a callback nor adds
	 * the header S3 wants it in: without it, 403 SignatureDoesNotMatch.
	 */
	if (!q->body_sha256 &&
	    (rc = digest_hex_of(false, q->body ? (const void *)q->body : "", q->body_len, sha)))
		return rc;
	if ((rc = s3_req_header(q, "x-amz-content-sha256: %s",
				q->body_sha256 ? q->body_sha256 : sha)))
		return rc;
	if (s->cred.session_token[0] &&
	    (rc = s3_req_header(q, "x-amz-security-token: %s", s->cred.session_token)))
		return rc;
	if (!(url = req_url(s, q)))
		return -ENOMEM;

	curl_easy_reset(s->curl);
	req_setopts(s, q, url);
	snprintf(userpwd, sizeof(userpwd), "%s:%s", s->cred.access_key, s->cred.secret_key);
	curl_easy_setopt(s->curl, CURLOPT_USERPWD, userpwd);
	explicit_bzero(userpwd, sizeof(userpwd));
	q->cc = curl_easy_perform(s->curl);
	free(url);
	if (q->stop)
		return q->stop;
	if (q->cc != CURLE_OK)
		return -EIO;
	return 0;
}

static bool transient_cc(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_AGAIN:
		return true;
	default:
		return false;
	}
}

/* An Error document's Code and Message, into r->code and message. */
static void error_body(const struct s3_req *q, struct s3_reply *r, char *message, size_t len)
{
	xmlDoc *doc = q->reply_len ? s3_xml_read(q->reply, q->reply_len) : NULL;
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;

	message[0] = '\0';
	if (s3_xml_is(root, "Error")) {
		char text[512];

		if (s3_xml_text(root, "Code", text, sizeof(text)))
			s3_printable(text, r->code, sizeof(r->code));
		if (s3_xml_text(root, "Message", text, sizeof(text)))
			s3_printable(text, message, len);
	}
	xmlFreeDoc(doc);
}

/* What was asked, of whom: "PUT s3://bucket/key (part 2 of 5) at http://host:port". */
static void asked(const struct s3 *s, const struct s3_req *q, char *out, size_t len)
{
	char key[600];

	s3_printable(q->key ? q->key : "", key, sizeof(key));
	snprintf(out, len, "%s s3://%s/%s%s%s%s at %s", q->method, s->bucket, key,
		 q->what ? " (" : "", q->what ? q->what : "", q->what ? ")" : "", s->endpoint);
}

/*
 * r filled in for q, which got no answer (rc -EIO) or one that is not what was
 * wanted; returns -EIO. The secret is in none of what it is made of; a last
 * look makes sure.
 */
int s3_req_fail(const struct s3 *s, const struct s3_req *q, int rc, struct s3_reply *r)
{
	char what[900], message[300];

	asked(s, q, what, sizeof(what));
	r->code[0] = '\0';
	if (rc == -EIO) {
		const char *why = s->curlerr[0] ? s->curlerr : curl_easy_strerror(q->cc);

		r->status = 0;
		r->transient = transient_cc(q->cc);
		if (q->status)
			s3_say(r->err, sizeof(r->err), "%s: the answer (HTTP %ld) broke off: %s",
			       what, q->status, why);
		else
			s3_say(r->err, sizeof(r->err), "%s: no answer: %s", what, why);
	} else {
		r->status = q->status;
		error_body(q, r, message, sizeof(message));
		r->transient = q->status >= 500 || q->status == 429 || q->status == 408 ||
			       !strcmp(r->code, "RequestTimeout");
		s3_say(r->err, sizeof(r->err), "%s: HTTP %ld%s%s%s%s", what, q->status,
		       r->code[0] ? " " : "", r->code, message[0] ? ": " : "", message);
		if (s3_is_2xx(q->status) && q->reply_cut)
			s3_say(r->err, sizeof(r->err), "%s: a reply longer than %llu bytes", what,
			       (unsigned long long)REPLY_MAX);
	}
	if ((s->cred.secret_key[0] && strstr(r->err, s->cred.secret_key)) ||
	    (s->cred.session_token[0] && strstr(r->err, s->cred.session_token)))
		s3_say(r->err, sizeof(r->err), "%s %s failed (HTTP %ld)", q->method, s->bucket,
		       r->status);
	return -EIO;
}

/* The same, for a 2xx answer whose body is not what it should be. */
int s3_req_bad_reply(const struct s3 *s, const struct s3_req *q, const char *why,
		     struct s3_reply *r)
{
	char what[900];

	asked(s, q, what, sizeof(what));
	r->status = q->status;
	r->transient = false;
	r->code[0] = '\0';
	s3_say(r->err, sizeof(r->err), "%s: HTTP %ld but %s", what, q->status, why);
	return -EIO;
}

int s3_req_perform_ok(struct s3 *s, struct s3_req *q, struct s3_reply *r)
{
	int rc = s3_req_perform(s, q);

	if (rc && rc != -EIO)
		return rc;
	if (rc || !s3_is_2xx(q->status))
		return s3_req_fail(s, q, rc, r);
	return 0;
}
