#include "s3_priv.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"

#define MIB (UINT64_C(1) << 20)
#define PART_MIN (8 * MIB)
#define PART_MAX (64 * MIB)
#define PARTS_MAX 10000
/* Room for an ETag: 32 hex digits, "-10000", the NUL. */
#define ETAG_MIN 40

static bool meta_name_ok(const char *n)
{
	size_t len = strlen(n);

	if (!len || len >= sizeof(((struct s3_object *)0)->meta[0].name))
		return false;
	for (; *n; n++)
		if (!islower((unsigned char)*n) && !isdigit((unsigned char)*n) && !strchr("-_", *n))
			return false;
	return true;
}

/*
 * A value that comes back as it went: printable ASCII (a server's HTTP parser
 * takes no other bytes, and SigV4 signs them as they are), not empty (curl
 * would drop the header), no blank at either end (HTTP strips those). Other
 * text is the caller's to escape (percent-encoding, say).
 */
static bool meta_value_ok(const char *v)
{
	size_t len = strlen(v);

	if (!len || len >= sizeof(((struct s3_object *)0)->meta[0].value) || v[0] == ' ' ||
	    v[len - 1] == ' ')
		return false;
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || (unsigned char)*v >= 0x7f)
			return false;
	return true;
}

static int meta_headers(struct s3_req *q, const struct s3_meta *meta, size_t n_meta)
{
	int rc = 0;

	for (size_t i = 0; i < n_meta && !rc; i++)
		rc = s3_req_header(q, "x-amz-meta-%s: %s", meta[i].name, meta[i].value);
	return rc;
}

/* len bytes of fd at off into buf: 0, -errno, -ENODATA when the file ends first. */
static int read_at(int fd, unsigned char *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		done += (size_t)n;
	}
	return 0;
}

/* A body's digests: the raw MD5, its hex, its base64 (Content-MD5), the SHA-256's hex. */
struct sums {
	unsigned char md5[16];
	char md5_hex[33], md5_b64[25], sha256[DIGEST_HEX_MAX];
};

static int sums_of(const unsigned char *buf, size_t len, struct sums *m)
{
	struct digest *d = digest_new(true);
	size_t n;

	if (!d)
		return -ENOMEM;
	digest_update(d, buf, len);
	n = digest_final(d, m->md5);
	digest_free(d);
	if (n != sizeof(m->md5))
		return -ENOMEM;
	digest_hex(m->md5, sizeof(m->md5), m->md5_hex);
	digest_base64(m->md5, sizeof(m->md5), m->md5_b64);
	return digest_hex_of(false, buf, len, m->sha256);
}

struct put {
	struct s3 *s;
	const char *key;
	int fd;
	uint64_t size, part;
	const struct s3_meta *meta;
	size_t n_meta;
	s3_progress_fn progress;
	void *ud;
	struct s3_reply *r;
};

/*
 * A part or the whole file sent with its digests. 0 (a 2xx whose ETag is
 * the MD5), 1 (an answer of another status, for the caller to read), -EIO
 * with r, or a callback's -errno.
 */
static int put_body(struct put *p, struct s3_req *q, const unsigned char *buf, size_t len,
		    const struct sums *m)
{
	int rc;

	q->method = "PUT";
	q->key = p->key;
	q->body = buf;
	q->body_len = len;
	q->body_sha256 = m->sha256;
	q->progress = p->progress;
	q->progress_ud = p->ud;
	if ((rc = s3_req_header(q, "Content-MD5: %s", m->md5_b64)))
		return rc;
	rc = s3_req_perform(p->s, q);
	if (rc && rc != -EIO)
		return rc;
	if (rc)
		return s3_req_fail(p->s, q, rc, p->r);
	if (!s3_is_2xx(q->status))
		return 1;
	/* Content-MD5 had the server check the bytes; its ETag must say the same. */
	if (q->etag[0] && strcmp(q->etag, m->md5_hex))
		return s3_req_bad_reply(p->s, q, "its ETag is not the MD5 of the bytes sent", p->r);
	return 0;
}

static int put_exists(struct put *p)
{
	char key[600];

	s3_printable(p->key, key, sizeof(key));
	return s3_refuse(p->r, -EEXIST, "PUT s3://%s/%s at %s: an object is already there",
			 p->s->bucket, key, p->s->endpoint);
}

static int put_single(struct put *p, char *etag, size_t etaglen)
{
	unsigned char *buf = malloc(p->size ? p->size : 1);
	struct s3_req q = { 0 };
	struct sums m;
	int rc;

	if (!buf)
		return -ENOMEM;
	if (!(rc = read_at(p->fd, buf, p->size, 0)) && !(rc = sums_of(buf, p->size, &m)) &&
	    !(rc = s3_req_header(&q, "If-None-Match: *")) &&
	    !(rc = s3_req_header(&q, "Content-Type: application/octet-stream")) &&
	    !(rc = meta_headers(&q, p->meta, p->n_meta)))
		rc = put_body(p, &q, buf, p->size, &m);
	if (rc == 1) /* an answer, not a 2xx */
		rc = q.status == 412 ? put_exists(p) : s3_req_fail(p->s, &q, 0, p->r);
	if (!rc && etag)
		snprintf(etag, etaglen, "%s", m.md5_hex);
	s3_req_done(&q);
	free(buf);
	return rc;
}

/* POST key?uploads=: the new upload's id into id. */
static int mp_initiate(struct put *p, char *id, size_t idlen)
{
	struct s3_param qp[] = { { "uploads", "" } };
	struct s3_req q = { .method = "POST", .key = p->key, .what = "start of an upload" };
	xmlDoc *doc = NULL;
	xmlNode *root;
	int rc = -ENOMEM;

	if (!(q.query = s3_query_of(qp, 1)) ||
	    (rc = s3_req_header(&q, "Content-Type: application/octet-stream")) ||
	    (rc = meta_headers(&q, p->meta, p->n_meta)))
		goto out;
	if ((rc = s3_req_perform_ok(p->s, &q, p->r)))
		goto out;
	doc = s3_xml_read(q.reply, q.reply_len);
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!s3_xml_is(root, "InitiateMultipartUploadResult") ||
	    !s3_xml_text(root, "UploadId", id, idlen) || !id[0])
		rc = s3_req_bad_reply(p->s, &q, "no UploadId in the reply", p->r);
out:
	xmlFreeDoc(doc);
	s3_req_done(&q);
	return rc;
}

/* Part n (from 1) of upload id sent, its raw MD5 kept in md5 for the completion. */
static int mp_part(struct put *p, const char *id, unsigned n, unsigned parts, unsigned char *buf,
		   unsigned char *md5)
{
	uint64_t off = (uint64_t)(n - 1) * p->part;
	size_t len = (size_t)(p->size - off < p->part ? p->size - off : p->part);
	char num[16], what[48];
	struct s3_param qp[] = { { "partNumber", num }, { "uploadId", id } };
	struct s3_req q = { .what = what, .base = off };
	struct sums m;
	int rc;

	snprintf(num, sizeof(num), "%u", n);
	snprintf(what, sizeof(what), "part %u of %u", n, parts);
	if (!(q.query = s3_query_of(qp, 2)))
		rc = -ENOMEM;
	else if (!(rc = read_at(p->fd, buf, len, off)) && !(rc = sums_of(buf, len, &m)))
		rc = put_body(p, &q, buf, len, &m);
	if (rc == 1)
		rc = s3_req_fail(p->s, &q, 0, p->r);
	if (!rc)
		memcpy(md5, m.md5, sizeof(m.md5));
	s3_req_done(&q);
	return rc;
}

/*
 * The CompleteMultipartUpload document: each part's number and ETag. The
 * ETags are the parts' MD5s in hex, which the server's were checked to be:
 * nothing in it needs escaping.
 */
static char *mp_document(const unsigned char *md5s, unsigned parts)
{
	size_t len = 64 + (size_t)parts * 96, at;
	char *doc = malloc(len), hex[33];

	if (!doc)
		return NULL;
	at = (size_t)sprintf(doc, "<CompleteMultipartUpload>");
	for (unsigned i = 0; i < parts; i++) {
		digest_hex(md5s + 16 * (size_t)i, 16, hex);
		at += (size_t)sprintf(doc + at,
				      "<Part><PartNumber>%u</PartNumber><ETag>\"%s\"</ETag></Part>",
				      i + 1, hex);
	}
	sprintf(doc + at, "</CompleteMultipartUpload>");
	return doc;
}

/* The reply to a completion, read: 0, or -EIO with r; *done when the object was made. */
static int mp_completed(struct put *p, const struct s3_req *q, const char *want, bool *done)
{
	xmlDoc *doc = s3_xml_read(q->reply, q->reply_len);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	char etag[128], *e = etag;
	size_t n;
	int rc = 0;

	if (s3_xml_is(root, "Error")) {
		/* A 200 whose body is an Error: the server failed while it assembled. */
		rc = s3_req_fail(p->s, q, 0, p->r);
		p->r->transient = p->r->transient || !strcmp(p->r->code, "InternalError");
	} else if (!s3_xml_is(root, "CompleteMultipartUploadResult")) {
		rc = s3_req_bad_reply(p->s, q, "no CompleteMultipartUploadResult in the reply",
				      p->r);
	} else {
		*done = true;
		if (s3_xml_text(root, "ETag", etag, sizeof(etag))) {
			n = strlen(e);
			if (n >= 2 && e[0] == '"' && e[n - 1] == '"') {
				e[n - 1] = '\0';
				e++;
			}
		}
		/* Content-MD5 checked each part; an ETag that differs is still worth a word. */
		if (etag[0] && strcmp(e, want))
			rc = s3_req_bad_reply(p->s, q, "its ETag is not the MD5 of the parts' MD5s",
					      p->r);
	}
	xmlFreeDoc(doc);
	return rc;
}

/*
 * POST key?uploadId=id with the parts. *done once the server says the object
 * is made (even with an ETag other than want): there is no upload to abort then.
 */
static int mp_complete(struct put *p, const char *id, const unsigned char *md5s, unsigned parts,
		       const char *want, bool *done)
{
	struct s3_param qp[] = { { "uploadId", id } };
	struct s3_req q = { .method = "POST", .key = p->key, .what = "completion of an upload" };
	char *body = mp_document(md5s, parts);
	int rc = -ENOMEM;

	if (!body || !(q.query = s3_query_of(qp, 1)))
		goto out;
	q.body = (const unsigned char *)body;
	q.body_len = strlen(body);
	if ((rc = s3_req_header(&q, "Content-Type: application/xml")))
		goto out;
	if ((rc = s3_req_perform_ok(p->s, &q, p->r)))
		goto out;
	rc = mp_completed(p, &q, want, done);
out:
	s3_req_done(&q);
	free(body);
	return rc;
}

/* hex(MD5(the parts' raw MD5s)) "-" parts, what S3 and radosgw show for the object. */
static int mp_etag(const unsigned char *md5s, unsigned parts, char *out, size_t len)
{
	struct digest *d = digest_new(true);
	unsigned char raw[DIGEST_MAX];
	char hex[DIGEST_HEX_MAX];

	if (!d)
		return -ENOMEM;
	digest_update(d, md5s, 16 * (size_t)parts);
	digest_hex(raw, digest_final(d, raw), hex);
	digest_free(d);
	snprintf(out, len, "%s-%u", hex, parts);
	return 0;
}

/*
 * The parts of one upload, sent by a few threads at once, each with its own
 * connection and buffer: one stream to a server rarely fills the link, and
 * each part is read and hashed (MD5, SHA-256) by the thread that sends it,
 * so both cores hash. Each thread takes the next part not yet taken; the
 * first failure stops them all. The bytes sent by all are summed for the
 * caller's progress, which is told from one thread at a time.
 */
#define PUT_THREADS 4

struct parts {
	struct put *p;
	const char *id;
	unsigned parts, next;
	unsigned char *md5s;
	pthread_mutex_t lock;
	int rc;		  /* the first failure */
	struct s3_reply r; /* its reply */
	uint64_t sent;	  /* by every thread, for progress */
};

struct sender {
	struct parts *all;
	struct put p; /* a copy, with this thread's client, reply and progress */
	struct s3_reply r;
	uint64_t base, counted; /* the part under way: where it starts, what was summed of it */
	pthread_t thread;
	bool started;
};

/* A part's progress (base + bytes of it) summed with the others' for the caller's. */
static bool sender_progress(void *ud, uint64_t done)
{
	struct sender *t = ud;
	struct parts *a = t->all;
	uint64_t in = done > t->base ? done - t->base : 0, sum;
	bool go;

	pthread_mutex_lock(&a->lock);
	a->sent += in > t->counted ? in - t->counted : 0;
	t->counted = in > t->counted ? in : t->counted;
	sum = a->sent;
	go = !a->rc && (!a->p->progress || a->p->progress(a->p->ud, sum));
	pthread_mutex_unlock(&a->lock);
	return go;
}

static void *sender_run(void *ud)
{
	struct sender *t = ud;
	struct parts *a = t->all;
	unsigned char *buf = malloc(t->p.part);
	int rc = buf ? 0 : -ENOMEM;

	for (;;) {
		unsigned n;

		pthread_mutex_lock(&a->lock);
		if (rc && !a->rc) {
			a->rc = rc;
			a->r = t->r;
		}
		n = !a->rc && a->next <= a->parts ? a->next++ : 0;
		pthread_mutex_unlock(&a->lock);
		if (!n)
			break;
		t->base = (uint64_t)(n - 1) * t->p.part;
		t->counted = 0;
		rc = mp_part(&t->p, a->id, n, a->parts, buf, a->md5s + 16 * (size_t)(n - 1));
		/* The part is in: all of it counts, what the last call did not say included. */
		if (!rc && !sender_progress(t, t->base + (t->p.size - t->base < t->p.part
								  ? t->p.size - t->base
								  : t->p.part)))
			rc = -ECANCELED;
	}
	free(buf);
	return NULL;
}

/* Every part of upload id sent, a few at once: 0, or the first failure with p->r. */
static int mp_parts(struct put *p, const char *id, unsigned parts, unsigned char *md5s)
{
	struct parts a = { .p = p, .id = id, .parts = parts, .next = 1, .md5s = md5s };
	struct sender t[PUT_THREADS];
	unsigned n = parts < PUT_THREADS ? parts : PUT_THREADS;

	pthread_mutex_init(&a.lock, NULL);
	for (unsigned i = 0; i < n; i++) {
		t[i] = (struct sender){ .all = &a, .p = *p };
		t[i].p.s = i ? s3_dup(p->s) : p->s;
		t[i].p.r = &t[i].r;
		t[i].p.progress = sender_progress;
		t[i].p.ud = &t[i];
		t[i].started = t[i].p.s && !pthread_create(&t[i].thread, NULL, sender_run, &t[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		if (t[i].started)
			pthread_join(t[i].thread, NULL);
		if (i)
			s3_free(t[i].p.s);
	}
	if (!t[0].started && !a.rc)
		a.rc = -ENOMEM;
	pthread_mutex_destroy(&a.lock);
	if (a.rc)
		*p->r = a.r;
	return a.rc;
}

/*
 * A multipart upload: nothing at key first (a HEAD), then the parts (a few
 * at once, mp_parts), then the completion. Any failure, a stop included,
 * aborts the upload, so that no parts are left to pay for.
 */
static int put_multipart(struct put *p, char *etag, size_t etaglen)
{
	unsigned parts = (unsigned)((p->size + p->part - 1) / p->part);
	unsigned char *md5s = NULL;
	char id[1024], want[80];
	struct s3_reply scratch;
	struct s3_object *o = malloc(sizeof(*o));
	bool done = false;
	int rc = o ? s3_head(p->s, p->key, o, p->r) : -ENOMEM;

	free(o);
	if (!rc)
		return put_exists(p);
	if (rc != -ENOENT)
		return rc;
	s3_reply_clear(p->r);
	if ((rc = mp_initiate(p, id, sizeof(id))))
		return rc;
	md5s = malloc(16 * (size_t)parts);
	rc = md5s ? mp_parts(p, id, parts, md5s) : -ENOMEM;
	if (!rc)
		rc = mp_etag(md5s, parts, want, sizeof(want));
	if (!rc)
		rc = mp_complete(p, id, md5s, parts, want, &done);
	if (rc && !done)
		s3_upload_abort(p->s, p->key, id, &scratch);
	if (!rc && etag)
		snprintf(etag, etaglen, "%s", want);
	free(md5s);
	return rc;
}

/* part_size within 8 to 64 MiB, more when 10,000 parts would not hold size (whole MiB). */
static uint64_t part_size_for(uint64_t size, uint64_t part)
{
	uint64_t least;

	part = part < PART_MIN ? PART_MIN : part > PART_MAX ? PART_MAX : part;
	if (size / part >= PARTS_MAX) {
		least = (size + PARTS_MAX - 1) / PARTS_MAX;
		part = (least + MIB - 1) / MIB * MIB;
	}
	return part;
}

uint64_t s3_part_size(uint64_t size, uint64_t part_size)
{
	return part_size_for(size, part_size);
}

/* What s3_put_file refuses before it asks anything: -EINVAL with r. */
static int put_check(const struct put *p, const char *etag, size_t etaglen)
{
	if (!p->key || !*p->key)
		return s3_refuse(p->r, -EINVAL, "PUT s3://%s/: no key", p->s->bucket);
	if (etag && etaglen < ETAG_MIN)
		return s3_refuse(p->r, -EINVAL, "PUT: no room for the ETag");
	if (p->n_meta > S3_META_MAX)
		return s3_refuse(p->r, -EINVAL, "PUT: more than %d metadata", S3_META_MAX);
	for (size_t i = 0; i < p->n_meta; i++) {
		if (!p->meta[i].name || !meta_name_ok(p->meta[i].name))
			return s3_refuse(
			    p->r, -EINVAL,
			    "PUT: metadata name %zu is not lower-case letters, digits, "
			    "'-' and '_'",
			    i + 1);
		if (!p->meta[i].value || !meta_value_ok(p->meta[i].value))
			return s3_refuse(p->r, -EINVAL,
					 "PUT: the value of metadata %s is empty, too long, not "
					 "printable ASCII, or has a blank at either end",
					 p->meta[i].name);
	}
	return 0;
}

int s3_put_file(struct s3 *s, const char *key, int fd, uint64_t size, uint64_t part_size,
		const struct s3_meta *meta, size_t n_meta, s3_progress_fn progress, void *ud,
		char *etag, size_t etaglen, struct s3_reply *r)
{
	struct s3_reply scratch;
	struct put p = { .s = s,
			 .key = key,
			 .fd = fd,
			 .size = size,
			 .part = part_size_for(size, part_size),
			 .meta = meta,
			 .n_meta = n_meta,
			 .progress = progress,
			 .ud = ud,
			 .r = r ? r : &scratch };
	int rc;

	s3_reply_clear(p.r);
	if (etag && etaglen)
		etag[0] = '\0';
	if ((rc = put_check(&p, etag, etaglen)))
		return rc;
	if (size <= p.part)
		return put_single(&p, etag, etaglen);
	return put_multipart(&p, etag, etaglen);
}
