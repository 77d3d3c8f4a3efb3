#ifndef SWEEPD_S3_PRIV_H
#define SWEEPD_S3_PRIV_H

/*
 * The S3 client's own state, shared by its files alone:
 *   s3.c       the client made and freed, HEAD, GET, DELETE
 *   s3_req.c   one request, signed by curl, and its answer read (XML by libxml2)
 *   s3_list.c  listings, page after page; leftover multipart uploads aborted
 *   s3_put.c   PUT: one request, or a multipart upload
 * No other module includes it; test/tools/s3check does, for s3_set_page.
 */
#include <curl/curl.h>
#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "awscred.h"
#include "s3.h"
#include "s3names.h"

struct s3 {
	CURL *curl;
	char *endpoint;	   /* as given, without a trailing '/' */
	char *bucket;	   /* as given, for errors */
	char *bucket_path; /* "/" and the bucket encoded */
	char sigv4[96];	   /* "aws:amz:REGION:s3" */
	struct awscred cred;
	unsigned page; /* s3_set_page's */
	char curlerr[CURL_ERROR_SIZE];
};

/* One request and what came back of it. */
struct s3_req {
	const char *method; /* GET, HEAD, PUT, POST, DELETE */
	const char *key;    /* NULL: the bucket */
	char *query;	    /* canonical (s3_query_of), freed with q, or NULL */
	const char *what;   /* said after the object in an error ("part 3 of 5"), or NULL */
	struct curl_slist *headers;
	const unsigned char *body; /* sent by PUT and POST */
	size_t body_len;
	const char *body_sha256; /* its hex SHA-256, or NULL to have it computed */
	size_t sent;
	/* Told of the bytes sent or received, on top of base (the parts before). */
	s3_progress_fn progress;
	void *progress_ud;
	uint64_t base, moved, next;
	/* A 2xx reply's body goes to sink when there is one; any other is kept in reply. */
	int (*sink)(void *ud, const void *buf, size_t n);
	void *sink_ud;
	char *reply;
	size_t reply_len, reply_cap;
	bool reply_cut;
	/* The answer's head. */
	long status;
	char etag[80];
	struct s3_object *obj; /* a HEAD's */
	/* Why the transfer stopped: a callback's -errno, or curl's code. */
	int stop;
	CURLcode cc;
};

/*
 * The most keys (max-keys) or uploads (max-uploads) one listing page asks
 * for; 0, the default, leaves it to the server (1,000). For the tests, so that
 * a few dozen objects span several pages.
 */
void s3_set_page(struct s3 *s, unsigned n);

static inline bool s3_is_2xx(long status)
{
	return status >= 200 && status < 300;
}

/* fmt into err (of len), when there is an err. */
void s3_say(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* s as printable ASCII, every other byte as \xNN: keys are bytes, errors are lines. */
void s3_printable(const char *s, char *out, size_t len);
/* Another client to the same bucket as s (a connection of its own, for another thread); NULL. */
struct s3 *s3_dup(const struct s3 *s);
/* r emptied, at the start of each call. */
void s3_reply_clear(struct s3_reply *r);
/* A bad argument, said in r->err as an error is; rc returned. */
int s3_refuse(struct s3_reply *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A reply body as a tree (see s3_req.c); NULL when it is none. */
xmlDoc *s3_xml_read(const char *buf, size_t len);
/* The first child element of parent named name (its local name), after after or from the start. */
xmlNode *s3_xml_next(xmlNode *parent, xmlNode *after, const char *name);
xmlNode *s3_xml_child(xmlNode *parent, const char *name);
/* The text of parent's child name into out; false when it is missing or does not fit. */
bool s3_xml_text(xmlNode *parent, const char *name, char *out, size_t len);
/* The same, malloc'd; NULL when missing (or no memory). */
char *s3_xml_strdup(xmlNode *parent, const char *name);
bool s3_xml_is(xmlNode *n, const char *name);

/* n params as a canonical query (s3_query), malloc'd; NULL when no memory. */
char *s3_query_of(const struct s3_param *p, size_t n);
/* A header line added to q; -ENOMEM, -EINVAL (too long). */
int s3_req_header(struct s3_req *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* q sent; 0 when an answer came, whatever its status; -EIO when none did; a callback's -errno. */
int s3_req_perform(struct s3 *s, struct s3_req *q);
/* q sent and answered with a 2xx: 0; else -EIO with r filled in, or a callback's -errno. */
int s3_req_perform_ok(struct s3 *s, struct s3_req *q, struct s3_reply *r);
/* r filled in for q, which got no answer (rc -EIO) or an unwanted one (rc 0): -EIO. */
int s3_req_fail(const struct s3 *s, const struct s3_req *q, int rc, struct s3_reply *r);
/* r filled in for a 2xx whose body is not what it should be (why): -EIO. */
int s3_req_bad_reply(const struct s3 *s, const struct s3_req *q, const char *why,
		     struct s3_reply *r);
/* What q holds freed (headers, query, reply). */
void s3_req_done(struct s3_req *q);

/* DELETE key?uploadId=id: 1 aborted, 0 already gone, -EIO with r. */
int s3_upload_abort(struct s3 *s, const char *key, const char *id, struct s3_reply *r);

#endif
