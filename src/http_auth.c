#include "http_auth.h"

#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "config.h"
#include "digest.h"

/*
 * Checks waiting at most: beyond, a guesser is told to come back later. One
 * client address may have AUTH_PER_CLIENT of them, and unknown user names
 * AUTH_UNKNOWN_MAX in all, so that a flood of guesses leaves room for the
 * users' own logins.
 */
#define AUTH_QUEUE_MAX 32
#define AUTH_PER_CLIENT 4
#define AUTH_UNKNOWN_MAX 24
/* Passwords remembered as good. */
#define AUTH_CACHE 16
#define SALT_LEN 32

/* A hash of cost 10 for a password nobody has, for when no user is configured. */
static const char dummy_hash[] = "$2y$10$sweepdsweepdsweepdsweeshQgGQSchjVk3xvT7ZIAXYv1cOlKGSa";

struct check {
	struct check *next;
	char *user, *password;
	char *hash; /* the user's; for an unknown user, the slowest user's, never good */
	bool known;
	uint64_t client;
	unsigned char key[DIGEST_MAX]; /* what the cache keeps when it is good */
	http_auth_done done;
	void *ud;
	bool ok;
};

struct http_auth {
	struct ev_loop *loop;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct check *queue, *results; /* both under lock */
	size_t queued;
	bool stopping;
	ev_async async;
	struct http_user *users;
	size_t n_users;
	const char *slowest; /* the users' hash of the highest cost: an unknown user's */
	unsigned char salt[SALT_LEN];
	unsigned char cache[AUTH_CACHE][DIGEST_MAX];
	size_t n_cache, next_cache;
};

static void check_free(struct check *c)
{
	if (!c)
		return;
	free(c->user);
	if (c->password) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	free(c->hash);
	free(c);
}

static bool bcrypt_matches(const char *password, const char *hash)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *out;
	bool ok = false;

	if (!cd)
		return false;
	out = crypt_rn(password, hash, cd, sizeof(*cd));
	if (out && strlen(out) == strlen(hash))
		ok = CRYPTO_memcmp(out, hash, strlen(hash)) == 0;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

static void *auth_thread(void *arg)
{
	struct http_auth *a = arg;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		struct check *c;

		while (!a->queue && !a->stopping)
			pthread_cond_wait(&a->wake, &a->lock);
		if (a->stopping)
			break;
		c = a->queue;
		a->queue = c->next;
		pthread_mutex_unlock(&a->lock);
		c->ok = bcrypt_matches(c->password, c->hash) && c->known;
		pthread_mutex_lock(&a->lock);
		c->next = a->results;
		a->results = c;
		ev_async_send(a->loop, &a->async);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

static void remember(struct http_auth *a, const unsigned char *key)
{
	memcpy(a->cache[a->next_cache], key, DIGEST_MAX);
	a->next_cache = (a->next_cache + 1) % AUTH_CACHE;
	if (a->n_cache < AUTH_CACHE)
		a->n_cache++;
}

static void on_results(struct ev_loop *loop, ev_async *w, int revents)
{
	struct http_auth *a = w->data;
	struct check *done, *rev = NULL;

	(void)loop;
	(void)revents;
	pthread_mutex_lock(&a->lock);
	done = a->results;
	a->results = NULL;
	pthread_mutex_unlock(&a->lock);
	/* In the order they were asked. */
	while (done) {
		struct check *next = done->next;
		done->next = rev;
		rev = done;
		done = next;
	}
	while (rev) {
		struct check *c = rev;

		rev = c->next;
		a->queued--;
		if (c->ok)
			remember(a, c->key);
		if (c->done)
			c->done(c->ud, c->ok);
		check_free(c);
	}
}

struct http_auth *http_auth_create(struct ev_loop *loop)
{
	struct http_auth *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->loop = loop;
	if (getrandom(a->salt, sizeof(a->salt), 0) != sizeof(a->salt)) {
		free(a);
		return NULL;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	ev_async_init(&a->async, on_results);
	a->async.data = a;
	ev_async_start(loop, &a->async);
	ev_unref(loop); /* the loop may end while nobody logs in */
	if (pthread_create(&a->thread, NULL, auth_thread, a)) {
		ev_ref(loop);
		ev_async_stop(loop, &a->async);
		pthread_mutex_destroy(&a->lock);
		pthread_cond_destroy(&a->wake);
		free(a);
		return NULL;
	}
	pthread_setname_np(a->thread, "sweepd-auth");
	return a;
}

static void free_users(struct http_auth *a)
{
	for (size_t i = 0; i < a->n_users; i++) {
		free(a->users[i].name);
		free(a->users[i].hash);
	}
	free(a->users);
	a->users = NULL;
	a->n_users = 0;
}

void http_auth_destroy(struct http_auth *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	for (struct check *l = a->queue; l;) {
		struct check *next = l->next;
		check_free(l);
		l = next;
	}
	for (struct check *l = a->results; l;) {
		struct check *next = l->next;
		check_free(l);
		l = next;
	}
	ev_ref(a->loop);
	ev_async_stop(a->loop, &a->async);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->wake);
	free_users(a);
	explicit_bzero(a->cache, sizeof(a->cache));
	free(a);
}

static bool same_users(const struct http_auth *a, const struct http_user *users, size_t n)
{
	if (n != a->n_users)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(a->users[i].name, users[i].name) || strcmp(a->users[i].hash, users[i].hash))
			return false;
	return true;
}

int http_auth_set_users(struct http_auth *a, const struct http_user *users, size_t n)
{
	/* A reload that left the users as they were keeps what was found good. */
	if (same_users(a, users, n))
		return 0;
	free_users(a);
	a->slowest = NULL;
	a->n_cache = a->next_cache = 0;
	explicit_bzero(a->cache, sizeof(a->cache));
	if (!n)
		return 0;
	a->users = calloc(n, sizeof(*a->users));
	if (!a->users)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		a->users[i].name = strdup(users[i].name);
		a->users[i].hash = strdup(users[i].hash);
		a->n_users++;
		if (!a->users[i].name || !a->users[i].hash) {
			free_users(a);
			a->slowest = NULL;
			return -ENOMEM;
		}
		/* "$2y$NN$": the cost, two digits, compares as text. */
		if (!a->slowest || strncmp(a->users[i].hash + 4, a->slowest + 4, 2) > 0)
			a->slowest = a->users[i].hash;
	}
	return 0;
}

bool http_auth_has_users(const struct http_auth *a)
{
	return a->n_users > 0;
}

/* The salted SHA-256 of the user, a NUL, the password and the hash it is checked against. */
static int key_of(const struct http_auth *a, const char *user, const char *password,
		  const char *hash, unsigned char *key)
{
	struct digest *d = digest_new(false);

	if (!d)
		return -ENOMEM;
	digest_update(d, a->salt, sizeof(a->salt));
	digest_update(d, user, strlen(user) + 1);
	digest_update(d, password, strlen(password) + 1);
	digest_update(d, hash, strlen(hash));
	digest_final(d, key);
	digest_free(d);
	return 0;
}

/* Checks queued or under way for client, and for unknown users (under lock). */
static void count_waiting(struct http_auth *a, uint64_t client, size_t *mine, size_t *unknown)
{
	*mine = *unknown = 0;
	for (struct check *c = a->queue; c; c = c->next) {
		*mine += c->client == client;
		*unknown += !c->known;
	}
}

int http_auth_check(struct http_auth *a, const char *user, const char *password,
		    uint64_t client, http_auth_done done, void *ud)
{
	size_t mine, unknown;
	const char *hash = NULL;
	struct check *c;
	int found = 0;

	for (size_t i = 0; i < a->n_users; i++)
		if (!strcmp(a->users[i].name, user))
			hash = a->users[i].hash;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (hash && key_of(a, user, password, hash, c->key) == 0)
		for (size_t i = 0; i < a->n_cache; i++)
			found |= CRYPTO_memcmp(a->cache[i], c->key, DIGEST_MAX) == 0;
	if (found) {
		free(c);
		return 1;
	}
	pthread_mutex_lock(&a->lock);
	count_waiting(a, client, &mine, &unknown);
	pthread_mutex_unlock(&a->lock);
	if (a->queued >= AUTH_QUEUE_MAX || mine >= AUTH_PER_CLIENT ||
	    (!hash && unknown >= AUTH_UNKNOWN_MAX)) {
		free(c);
		return -EAGAIN;
	}
	c->client = client;
	c->user = strdup(user);
	c->password = strdup(password);
	c->known = hash != NULL;
	c->hash = strdup(hash ? hash : a->slowest ? a->slowest : dummy_hash);
	c->done = done;
	c->ud = ud;
	if (!c->user || !c->password || !c->hash) {
		check_free(c);
		return -ENOMEM;
	}
	pthread_mutex_lock(&a->lock);
	{
		struct check **tail = &a->queue;
		while (*tail)
			tail = &(*tail)->next;
		*tail = c;
	}
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	a->queued++;
	return 0;
}

void http_auth_cancel(struct http_auth *a, void *ud)
{
	pthread_mutex_lock(&a->lock);
	for (struct check *c = a->queue; c; c = c->next)
		if (c->ud == ud)
			c->done = NULL;
	for (struct check *c = a->results; c; c = c->next)
		if (c->ud == ud)
			c->done = NULL;
	pthread_mutex_unlock(&a->lock);
}
