#ifndef SWEEPD_HTTP_AUTH_H
#define SWEEPD_HTTP_AUTH_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_user;

/*
 * Basic auth against bcrypt hashes, off the loop: one bcrypt takes tens of
 * milliseconds by design, so each runs on a thread of its own and its
 * answer comes back to the loop. A password once found good is remembered
 * (as a salted SHA-256, never in clear) until the users change, so that a
 * dashboard refreshing every few seconds costs one bcrypt, not one a page.
 * An unknown user costs a bcrypt too: the time of an answer tells nothing.
 */
struct http_auth;

/* Called on the loop: ok, the user's password was right. */
typedef void (*http_auth_done)(void *ud, bool ok);

struct http_auth *http_auth_create(struct ev_loop *loop);
/* Waits for the check under way; those queued are dropped, their done never called. */
void http_auth_destroy(struct http_auth *a);
/* The users (copied); what was remembered is forgotten. 0 or -ENOMEM. */
int http_auth_set_users(struct http_auth *a, const struct http_user *users, size_t n);
bool http_auth_has_users(const struct http_auth *a);
/*
 * 1: the password is known good; 0: checked on the thread, done(ud, ok)
 * later on the loop (never from inside this call); -EAGAIN: too many
 * checks wait already, in all, from this client (a key of its address), or
 * for unknown users (a flood of guesses): try again later; -ENOMEM.
 */
int http_auth_check(struct http_auth *a, const char *user, const char *password,
		    uint64_t client, http_auth_done done, void *ud);
/* The checks queued for ud are dropped, their done never called. */
void http_auth_cancel(struct http_auth *a, void *ud);

#endif
