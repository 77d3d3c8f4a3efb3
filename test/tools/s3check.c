/*
 * The S3 client's checks against a real S3 server (test/e2e/test_s3client.py
 * starts a radosgw and makes the bucket):
 *
 *     s3check ENDPOINT BUCKET [LEFTOVER_PREFIX COUNT]
 *
 * with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment. One
 * line a check; the first that fails ends it with exit status 1. With
 * LEFTOVER_PREFIX, COUNT multipart uploads were started there by hand and
 * s3_abort_leftovers must abort exactly those.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "awscred.h"
#include "digest.h"
#include "s3.h"
#include "s3_priv.h"

#define MIB (UINT64_C(1) << 20)

static const char *endpoint, *bucket;
static struct awscred cred;
static struct s3 *s3;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

static void ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ok(const char *fmt, ...)
{
	va_list ap;

	printf("ok: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* rc must be want; else the failure, with what r says. */
static void expect(int rc, int want, const struct s3_reply *r, const char *what)
{
	if (rc != want)
		fail("%s: got %d (%s), want %d (%s); status %ld, code '%s', err: %s", what, rc,
		     strerror(-rc), want, strerror(-want), r->status, r->code, r->err);
	ok("%s", what);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct s3 *client(const char *ep, const char *bkt, const struct awscred *c)
{
	struct s3_target t = { .endpoint = ep, .bucket = bkt, .cred = c };
	char err[256];
	struct s3 *s = s3_new(&t, err, sizeof(err));

	if (!s)
		fail("s3_new(%s, %s): %s", ep, bkt, err);
	return s;
}

/* An unlinked temporary file of size pseudo-random bytes (from seed); its SHA-256 in sha. */
static int make_file(uint64_t size, uint64_t seed, char *sha)
{
	char path[] = "/tmp/s3check-XXXXXX";
	int fd = mkstemp(path);
	static unsigned char buf[1 << 20];
	struct digest *d = digest_new(false);
	unsigned char raw[DIGEST_MAX];
	uint64_t x = seed * 2654435761u + 1;

	if (fd < 0 || !d)
		fail("a temporary file: %s", strerror(errno));
	unlink(path);
	for (uint64_t done = 0; done < size;) {
		size_t n = size - done < sizeof(buf) ? (size_t)(size - done) : sizeof(buf);

		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = (unsigned char)x;
		}
		if (write(fd, buf, n) != (ssize_t)n)
			fail("writing a temporary file: %s", strerror(errno));
		digest_update(d, buf, n);
		done += n;
	}
	digest_hex(raw, digest_final(d, raw), sha);
	digest_free(d);
	return fd;
}

/* What a GET brought: its bytes' SHA-256, how many, how many calls. */
struct got {
	struct digest *d;
	uint64_t bytes, calls;
	uint64_t stop_after; /* progress says stop past this many bytes; 0: never */
	int sink_error;	     /* the sink's answer: 0 or -errno */
	uint64_t progress_calls, last_done;
	bool backwards;
};

static int sink(void *ud, const void *buf, size_t n)
{
	struct got *g = ud;

	g->calls++;
	if (g->sink_error)
		return g->sink_error;
	digest_update(g->d, buf, n);
	g->bytes += n;
	return 0;
}

static bool got_progress(void *ud, uint64_t done)
{
	struct got *g = ud;

	g->progress_calls++;
	g->backwards = g->backwards || done < g->last_done;
	g->last_done = done;
	return !g->stop_after || done < g->stop_after;
}

/* s3_get of key into its SHA-256 (sha); the return value. */
static int get(struct s3 *s, const char *key, struct got *g, char *sha, struct s3_reply *r)
{
	unsigned char raw[DIGEST_MAX];
	int rc;

	g->d = digest_new(false);
	rc = s3_get(s, key, sink, g, got_progress, r);
	digest_hex(raw, digest_final(g->d, raw), sha);
	digest_free(g->d);
	g->d = NULL;
	return rc;
}

/* What an upload's progress saw. */
struct sent {
	uint64_t calls, last, stop_after;
	bool backwards;
};

static bool sent_progress(void *ud, uint64_t done)
{
	struct sent *p = ud;

	p->calls++;
	p->backwards = p->backwards || done < p->last;
	p->last = done;
	return !p->stop_after || done < p->stop_after;
}

static void no_secret(const struct s3_reply *r, const char *what)
{
	if (strstr(r->err, cred.secret_key))
		fail("%s: the secret is in the error: %s", what, r->err);
}

/* --- The scenarios ---------------------------------------------------------------------- */

static void bad_targets(void)
{
	static const char *bad[] = { "ftp://127.0.0.1/", "http://user:pw@127.0.0.1:80",
				     "http://127.0.0.1:80/?x=1", "no url at all" };
	struct s3_target t = { .bucket = bucket, .cred = &cred };
	struct awscred none = { 0 };
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t.endpoint = bad[i];
		err[0] = '\0';
		if (s3_new(&t, err, sizeof(err)) || !err[0])
			fail("s3_new takes the endpoint '%s' (err '%s')", bad[i], err);
	}
	t.endpoint = endpoint;
	t.bucket = "a/b";
	if (s3_new(&t, err, sizeof(err)))
		fail("s3_new takes the bucket 'a/b'");
	t.bucket = bucket;
	t.cred = &none;
	if (s3_new(&t, err, sizeof(err)))
		fail("s3_new takes empty credentials");
	ok("s3_new refuses a bad endpoint, bucket or credentials, saying why");
}

static const struct s3_meta small_meta[] = {
	{ "origin", "gpu-07 outputs/a b" },
	{ "title", "vid%C3%A9o caf%C3%A9  (2)" },
};

static void small_file(void)
{
	char sha[DIGEST_HEX_MAX], etag[80], md5[DIGEST_HEX_MAX];
	struct s3_object o;
	struct s3_reply r;
	int fd = make_file(1000, 1, sha);
	unsigned char *buf = malloc(1000);
	const char *v;

	if (pread(fd, buf, 1000, 0) != 1000 || digest_hex_of(true, buf, 1000, md5))
		fail("reading back a temporary file");
	free(buf);
	expect(s3_put_file(s3, "small/hello.bin", fd, 1000, 0, small_meta, 2, NULL, NULL, etag,
			   sizeof(etag), &r),
	       0, &r, "put a small file with metadata");
	if (strcmp(etag, md5))
		fail("its etag %s is not its MD5 %s", etag, md5);
	ok("its etag is its MD5 (%s)", etag);
	expect(s3_head(s3, "small/hello.bin", &o, &r), 0, &r, "head it");
	if (o.size != 1000 || strcmp(o.etag, etag))
		fail("head: size %llu etag %s, want 1000 %s", (unsigned long long)o.size, o.etag,
		     etag);
	if (o.mtime < time(NULL) - 3600 || o.mtime > time(NULL) + 3600)
		fail("head: mtime %lld is not about now", (long long)o.mtime);
	for (size_t i = 0; i < 2; i++)
		if (!(v = s3_object_meta(&o, small_meta[i].name)) || strcmp(v, small_meta[i].value))
			fail("head: metadata %s is '%s', want '%s'", small_meta[i].name,
			     v ? v : "(none)", small_meta[i].value);
	if (o.n_meta != 2)
		fail("head: %zu metadata, want 2", o.n_meta);
	ok("head: size, etag, mtime and the metadata (blanks, percent-escaped text) back");
	expect(s3_put_file(s3, "small/hello.bin", fd, 1000, 0, NULL, 0, NULL, NULL, etag,
			   sizeof(etag), &r),
	       -EEXIST, &r, "put it again: -EEXIST (412)");
	{
		struct s3_meta bad[] = { { "x", "two\nlines" } }, upper[] = { { "Up", "v" } },
			       empty[] = { { "x", "" } }, wide[] = { { "x", "vid\xc3\xa9o" } };

		expect(s3_put_file(s3, "small/meta", fd, 1000, 0, bad, 1, NULL, NULL, NULL, 0, &r),
		       -EINVAL, &r, "metadata with a newline refused");
		expect(
		    s3_put_file(s3, "small/meta", fd, 1000, 0, upper, 1, NULL, NULL, NULL, 0, &r),
		    -EINVAL, &r, "an upper-case metadata name refused");
		expect(
		    s3_put_file(s3, "small/meta", fd, 1000, 0, empty, 1, NULL, NULL, NULL, 0, &r),
		    -EINVAL, &r, "an empty metadata value refused");
		expect(s3_put_file(s3, "small/meta", fd, 1000, 0, wide, 1, NULL, NULL, NULL, 0, &r),
		       -EINVAL, &r, "a metadata value that is not ASCII refused");
	}
	expect(s3_put_file(s3, "small/short", fd, 2000, 0, NULL, 0, NULL, NULL, NULL, 0, &r),
	       -ENODATA, &r, "a file shorter than its size: -ENODATA");
	close(fd);
}

static void empty_and_exact(void)
{
	char sha[DIGEST_HEX_MAX], got_sha[DIGEST_HEX_MAX], etag[80];
	struct got g = { 0 };
	struct s3_reply r;
	int fd = make_file(0, 2, sha);

	expect(
	    s3_put_file(s3, "small/empty", fd, 0, 0, NULL, 0, NULL, NULL, etag, sizeof(etag), &r),
	    0, &r, "put an empty file");
	if (strcmp(etag, "d41d8cd98f00b204e9800998ecf8427e"))
		fail("the empty file's etag is %s", etag);
	expect(get(s3, "small/empty", &g, got_sha, &r), 0, &r, "get it");
	if (g.bytes || strcmp(sha, got_sha))
		fail("the empty file came back as %llu bytes", (unsigned long long)g.bytes);
	close(fd);
	/* Exactly part_size (0: the least, 8 MiB) is still one PUT. */
	fd = make_file(8 * MIB, 3, sha);
	expect(s3_put_file(s3, "small/8mib", fd, 8 * MIB, 0, NULL, 0, NULL, NULL, etag,
			   sizeof(etag), &r),
	       0, &r, "put 8 MiB with part_size 0");
	if (strchr(etag, '-'))
		fail("8 MiB at part_size 8 MiB went in parts: etag %s", etag);
	ok("8 MiB at part_size 8 MiB is one PUT (etag %s)", etag);
	memset(&g, 0, sizeof(g));
	expect(get(s3, "small/8mib", &g, got_sha, &r), 0, &r, "get it");
	if (strcmp(sha, got_sha) || g.progress_calls < 7 || g.backwards)
		fail("8 MiB came back %s, want %s; progress told %llu times", got_sha, sha,
		     (unsigned long long)g.progress_calls);
	ok("its bytes are the same; progress told %llu times, never backwards",
	   (unsigned long long)g.progress_calls);
	close(fd);
}

static const char *const hostile[] = {
	"k/with spaces",     "k/a+b",	 "k/100%",  "k/%41%2F", "k/vid\xc3\xa9o \xe2\x82\xac.mp4",
	"k/~tilde~",	     "k/a//b",	 "k/x/./y", "k/x/../y", "k/q?x=1&y#z",
	"k/ctl\x01\x7f\x1b", "k/'\"<&>",
};
#define N_HOSTILE (sizeof(hostile) / sizeof(hostile[0]))

struct listed {
	char *keys[64];
	uint64_t sizes[64];
	size_t n;
	size_t stop_at; /* fn returns 77 at this many keys; 0: never */
};

static int collect(void *ud, const char *key, uint64_t size)
{
	struct listed *l = ud;

	if (l->n == 64)
		return -E2BIG;
	l->sizes[l->n] = size;
	l->keys[l->n++] = strdup(key);
	return l->stop_at && l->n == l->stop_at ? 77 : 0;
}

static void listed_free(struct listed *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->keys[i]);
	l->n = 0;
}

static int by_bytes(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void hostile_keys(void)
{
	char sha[DIGEST_HEX_MAX], got_sha[DIGEST_HEX_MAX], etag[80];
	const char *sorted[N_HOSTILE];
	struct listed l = { 0 };
	struct s3_object o;
	struct s3_reply r;
	int fd = make_file(3000, 4, sha);

	for (size_t i = 0; i < N_HOSTILE; i++) {
		const char *k = hostile[i];
		struct got g = { 0 };

		if (s3_put_file(s3, k, fd, 3000, 0, NULL, 0, NULL, NULL, etag, sizeof(etag), &r))
			fail("put key %zu: %s", i, r.err);
		if (s3_head(s3, k, &o, &r) || o.size != 3000 || strcmp(o.etag, etag))
			fail("head key %zu: %s (size %llu)", i, r.err, (unsigned long long)o.size);
		if (get(s3, k, &g, got_sha, &r) || strcmp(got_sha, sha))
			fail("get key %zu: %s", i, r.err);
	}
	ok("%zu keys with blanks, '+', '%%', UTF-8, '~', '//', dot segments, '?#&', control "
	   "bytes: put, head, get byte-identical",
	   N_HOSTILE);
	/* S3 keys are UTF-8: a name that is not is the server's to refuse, for good. */
	expect(s3_put_file(s3, "k/latin1-\xe9t\xe9", fd, 3000, 0, NULL, 0, NULL, NULL, NULL, 0, &r),
	       -EIO, &r, "a key that is not UTF-8: -EIO");
	if (r.status != 400 || r.transient)
		fail("status %ld transient %d: %s", r.status, r.transient, r.err);
	ok("400 %s, not transient: %s", r.code, r.err);
	expect(s3_list(s3, "k/", collect, &l, &r), 0, &r, "list them");
	memcpy(sorted, hostile, sizeof(sorted));
	qsort(sorted, N_HOSTILE, sizeof(sorted[0]), by_bytes);
	if (l.n != N_HOSTILE)
		fail("listed %zu keys, want %zu", l.n, N_HOSTILE);
	for (size_t i = 0; i < N_HOSTILE; i++)
		if (strcmp(l.keys[i], sorted[i]) || l.sizes[i] != 3000)
			fail("listed key %zu differs (size %llu)", i,
			     (unsigned long long)l.sizes[i]);
	ok("the listing names each, byte for byte, in order, with its size");
	listed_free(&l);
	for (size_t i = 0; i < N_HOSTILE; i++) {
		if (s3_delete(s3, hostile[i], &r))
			fail("delete key %zu: %s", i, r.err);
		if (s3_head(s3, hostile[i], &o, &r) != -ENOENT)
			fail("key %zu is still there: %s", i, r.err);
	}
	ok("each deleted, and gone");
	close(fd);
}

/* The MD5 of the parts' MD5s, computed here from the file as S3 does. */
static void multipart_etag(int fd, uint64_t size, uint64_t part, char *out)
{
	struct digest *all = digest_new(true);
	unsigned char *buf = malloc(part), raw[DIGEST_MAX];
	unsigned n = 0;
	char hex[DIGEST_HEX_MAX];

	for (uint64_t off = 0; off < size; off += part, n++) {
		size_t len = (size_t)(size - off < part ? size - off : part);
		struct digest *d = digest_new(true);

		if (pread(fd, buf, len, (off_t)off) != (ssize_t)len)
			fail("reading back the big file");
		digest_update(d, buf, len);
		digest_update(all, raw, digest_final(d, raw));
		digest_free(d);
	}
	digest_hex(raw, digest_final(all, raw), hex);
	digest_free(all);
	free(buf);
	sprintf(out, "%s-%u", hex, n);
}

static void big_file(void)
{
	const uint64_t size = 40 * MIB;
	char sha[DIGEST_HEX_MAX], got_sha[DIGEST_HEX_MAX], etag[80], want[80];
	struct s3_meta meta[] = { { "origin", "big one" } };
	struct sent p = { 0 };
	struct got g = { 0 };
	struct s3_object o;
	struct s3_reply r;
	int fd = make_file(size, 5, sha);
	double t0 = now(), t;

	expect(s3_put_file(s3, "big/file", fd, size, 8 * MIB, meta, 1, sent_progress, &p, etag,
			   sizeof(etag), &r),
	       0, &r, "put 40 MiB at part_size 8 MiB");
	t = now() - t0;
	multipart_etag(fd, size, 8 * MIB, want);
	if (strcmp(etag, want))
		fail("its etag is %s, want %s", etag, want);
	ok("in 5 parts, etag %s, in %.2f s (%.0f MiB/s)", etag, t, 40 / t);
	if (p.calls < 30 || p.backwards || p.last > size || p.last < size - 2 * MIB)
		fail("progress: %llu calls, last %llu", (unsigned long long)p.calls,
		     (unsigned long long)p.last);
	ok("progress told %llu times, never backwards, up to %llu", (unsigned long long)p.calls,
	   (unsigned long long)p.last);
	expect(s3_head(s3, "big/file", &o, &r), 0, &r, "head it");
	if (o.size != size || strcmp(o.etag, etag) || !s3_object_meta(&o, "origin") ||
	    strcmp(s3_object_meta(&o, "origin"), "big one"))
		fail("head: size %llu, etag %s", (unsigned long long)o.size, o.etag);
	ok("head: its size, etag and metadata");
	t0 = now();
	expect(get(s3, "big/file", &g, got_sha, &r), 0, &r, "get it");
	t = now() - t0;
	if (strcmp(got_sha, sha) || g.bytes != size)
		fail("it came back different: %llu bytes, %s, want %s", (unsigned long long)g.bytes,
		     got_sha, sha);
	ok("byte-identical, in %.2f s (%.0f MiB/s)", t, 40 / t);
	p = (struct sent){ 0 };
	expect(s3_put_file(s3, "big/file", fd, size, 8 * MIB, NULL, 0, sent_progress, &p, etag,
			   sizeof(etag), &r),
	       -EEXIST, &r, "a multipart upload onto it: -EEXIST");
	if (p.calls)
		fail("and yet it sent %llu bytes", (unsigned long long)p.last);
	expect(s3_abort_leftovers(s3, "big/", &r), 0, &r, "no upload left under big/");
	close(fd);
}

static void cancels(void)
{
	char sha[DIGEST_HEX_MAX], got_sha[DIGEST_HEX_MAX], etag[80];
	struct sent p = { .stop_after = 12 * MIB };
	struct got g = { .stop_after = 2 * MIB };
	struct s3_object o;
	struct s3_reply r;
	int fd = make_file(40 * MIB, 6, sha);

	expect(s3_put_file(s3, "cancel/big", fd, 40 * MIB, 8 * MIB, NULL, 0, sent_progress, &p,
			   etag, sizeof(etag), &r),
	       -ECANCELED, &r, "a multipart upload stopped at 12 MiB: -ECANCELED");
	if (p.last > 14 * MIB)
		fail("it went on to %llu bytes", (unsigned long long)p.last);
	expect(s3_head(s3, "cancel/big", &o, &r), -ENOENT, &r, "no object");
	expect(s3_abort_leftovers(s3, "cancel/", &r), 0, &r,
	       "nothing left to abort: it was aborted");
	p = (struct sent){ .stop_after = 1 * MIB };
	expect(s3_put_file(s3, "cancel/one", fd, 5 * MIB, 8 * MIB, NULL, 0, sent_progress, &p, etag,
			   sizeof(etag), &r),
	       -ECANCELED, &r, "a single PUT stopped at 1 MiB: -ECANCELED");
	expect(s3_head(s3, "cancel/one", &o, &r), -ENOENT, &r, "no object");
	expect(get(s3, "small/8mib", &g, got_sha, &r), -ECANCELED, &r, "a GET stopped at 2 MiB");
	g = (struct got){ .sink_error = -ENOSPC };
	expect(get(s3, "small/8mib", &g, got_sha, &r), -ENOSPC, &r,
	       "a GET whose sink fails: the sink's error");
	/* The handle is used again after all these: keep-alive or not, it works. */
	g = (struct got){ 0 };
	expect(get(s3, "small/8mib", &g, got_sha, &r), 0, &r, "and the next GET works");
	close(fd);
}

static void leftovers(const char *prefix, int count)
{
	struct s3_reply r;

	s3_set_page(s3, 1);
	expect(s3_abort_leftovers(s3, prefix, &r), count, &r,
	       "the uploads started by hand, aborted, a page each");
	expect(s3_abort_leftovers(s3, prefix, &r), 0, &r, "none after");
	s3_set_page(s3, 0);
}

static void listing(void)
{
	char sha[DIGEST_HEX_MAX], key[64];
	struct listed l = { 0 };
	struct s3_reply r;
	int fd = make_file(7, 7, sha);
	const size_t n = 25;

	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "many/%03zu", i);
		if (s3_put_file(s3, key, fd, 7, 0, NULL, 0, NULL, NULL, NULL, 0, &r))
			fail("put %s: %s", key, r.err);
	}
	if (s3_put_file(s3, "manyx", fd, 7, 0, NULL, 0, NULL, NULL, NULL, 0, &r) ||
	    s3_put_file(s3, "many", fd, 7, 0, NULL, 0, NULL, NULL, NULL, 0, &r))
		fail("put: %s", r.err);
	s3_set_page(s3, 7);
	expect(s3_list(s3, "many/", collect, &l, &r), 0, &r, "list 25 keys, 7 a page");
	if (l.n != n)
		fail("listed %zu, want %zu", l.n, n);
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "many/%03zu", i);
		if (strcmp(l.keys[i], key) || l.sizes[i] != 7)
			fail("listed %s (%llu), want %s", l.keys[i], (unsigned long long)l.sizes[i],
			     key);
	}
	ok("exactly the keys put under the prefix, in order, across 4 pages");
	listed_free(&l);
	l.stop_at = 10;
	expect(s3_list(s3, "many/", collect, &l, &r), 77, &r,
	       "fn's non-zero stops it and is returned");
	if (l.n != 10)
		fail("fn was called %zu times", l.n);
	listed_free(&l);
	s3_set_page(s3, 0);
	expect(s3_list(s3, "nothing-here/", collect, &l, &r), 0, &r, "an empty listing");
	if (l.n)
		fail("it listed %zu", l.n);
	close(fd);
}

static void deletes(void)
{
	struct s3_object o;
	struct s3_reply r;

	expect(s3_delete(s3, "small/hello.bin", &r), 0, &r, "delete");
	expect(s3_head(s3, "small/hello.bin", &o, &r), -ENOENT, &r, "then head: -ENOENT");
	if (r.status != 404)
		fail("status %ld", r.status);
	expect(s3_delete(s3, "small/hello.bin", &r), 0, &r, "delete again: 0");
}

static void missing(void)
{
	char sha[DIGEST_HEX_MAX];
	struct got g = { 0 };
	struct s3_reply r;
	struct s3 *other = client(endpoint, "no-such-bucket-here", &cred);

	expect(get(s3, "no/such/key", &g, sha, &r), -ENOENT, &r, "a GET of no object: -ENOENT");
	if (g.calls || r.status != 404 || strcmp(r.code, "NoSuchKey"))
		fail("sink called %llu times; status %ld code %s", (unsigned long long)g.calls,
		     r.status, r.code);
	ok("the 404's body never reached the sink; status 404, code NoSuchKey");
	expect(get(other, "key", &g, sha, &r), -EIO, &r, "a GET in no bucket: -EIO, not -ENOENT");
	if (g.calls || strcmp(r.code, "NoSuchBucket") || r.transient)
		fail("sink called %llu times; code %s", (unsigned long long)g.calls, r.code);
	expect(s3_delete(other, "key", &r), -EIO, &r, "a DELETE in no bucket: -EIO");
	ok("err: %s", r.err);
	s3_free(other);
}

static void wrong_secret(void)
{
	struct awscred bad = cred;
	char sha[DIGEST_HEX_MAX], etag[80];
	struct got g = { 0 };
	struct s3_object o;
	struct s3_reply r;
	struct s3 *s;
	int fd = make_file(100, 8, sha);

	snprintf(bad.secret_key, sizeof(bad.secret_key), "WRONG%.200sWRONG", cred.secret_key);
	s = client(endpoint, bucket, &bad);
	expect(s3_put_file(s, "denied/x", fd, 100, 0, NULL, 0, NULL, NULL, etag, sizeof(etag), &r),
	       -EIO, &r, "a PUT with a wrong secret: -EIO");
	/* radosgw says AccessDenied when STS is on (its STS engine has the last word). */
	if (r.status != 403 || r.transient ||
	    (strcmp(r.code, "SignatureDoesNotMatch") && strcmp(r.code, "AccessDenied")))
		fail("status %ld transient %d code %s", r.status, r.transient, r.code);
	no_secret(&r, "wrong secret");
	if (strstr(r.err, bad.secret_key))
		fail("the wrong secret is in the error: %s", r.err);
	if (!strstr(r.err, endpoint) || !strstr(r.err, "denied/x") || !strstr(r.err, "403") ||
	    !strstr(r.err, bucket))
		fail("the error does not say what was asked of whom: %s", r.err);
	ok("403 %s, not transient, no secret in: %s", r.code, r.err);
	expect(s3_head(s, "small/8mib", &o, &r), -EIO, &r, "a HEAD: -EIO");
	if (r.status != 403 || r.transient || strstr(r.err, bad.secret_key))
		fail("status %ld transient %d: %s", r.status, r.transient, r.err);
	expect(get(s, "small/8mib", &g, sha, &r), -EIO, &r, "a GET: -EIO");
	if (g.calls || r.status != 403)
		fail("the 403's body reached the sink (%llu calls)", (unsigned long long)g.calls);
	ok("the 403's body never reached the sink");
	s3_free(s);
	awscred_clear(&bad);
	/* A session token: sent as x-amz-security-token, and never in an error either. */
	bad = cred;
	snprintf(bad.session_token, sizeof(bad.session_token), "TOKEN-not-issued-by-anyone");
	s = client(endpoint, bucket, &bad);
	/* radosgw with STS on checks the token: one it never issued is refused. */
	expect(s3_head(s, "small/8mib", &o, &r), -EIO, &r,
	       "a session token the server never issued: refused, so it was sent");
	if (r.status < 400 || r.status >= 500 || r.transient || strstr(r.err, bad.session_token))
		fail("status %ld transient %d: %s", r.status, r.transient, r.err);
	ok("status %ld, not transient, no token in: %s", r.status, r.err);
	s3_free(s);
	awscred_clear(&bad);
	close(fd);
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &len))
		fail("a free port: %s", strerror(errno));
	close(fd);
	return ntohs(a.sin_port);
}

static void nobody_there(void)
{
	char ep[64], sha[DIGEST_HEX_MAX], etag[80];
	struct s3_object o;
	struct s3_reply r;
	struct s3 *s;
	int fd = make_file(100, 9, sha);

	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", free_port());
	s = client(ep, bucket, &cred);
	expect(s3_head(s, "x", &o, &r), -EIO, &r, "a HEAD where nothing listens: -EIO");
	if (r.status || !r.transient || !strstr(r.err, ep))
		fail("status %ld transient %d: %s", r.status, r.transient, r.err);
	ok("status 0, transient: %s", r.err);
	expect(s3_put_file(s, "x", fd, 100, 0, NULL, 0, NULL, NULL, etag, sizeof(etag), &r), -EIO,
	       &r, "a PUT there: -EIO");
	if (r.status || !r.transient)
		fail("status %ld transient %d: %s", r.status, r.transient, r.err);
	expect(s3_abort_leftovers(s, "", &r), -EIO, &r, "abort_leftovers there: -EIO");
	no_secret(&r, "nobody there");
	s3_free(s);
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 5) {
		fprintf(stderr, "usage: s3check ENDPOINT BUCKET [LEFTOVER_PREFIX COUNT]\n");
		return 2;
	}
	endpoint = argv[1];
	bucket = argv[2];
	if (awscred_from_env(&cred))
		fail("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set");
	if (s3_global_init())
		fail("s3_global_init");
	bad_targets();
	s3 = client(endpoint, bucket, &cred);
	small_file();
	empty_and_exact();
	hostile_keys();
	big_file();
	cancels();
	if (argc == 5)
		leftovers(argv[3], atoi(argv[4]));
	listing();
	deletes();
	missing();
	wrong_secret();
	nobody_there();
	s3_free(s3);
	awscred_clear(&cred);
	printf("all passed\n");
	return 0;
}
