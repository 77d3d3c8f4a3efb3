#ifndef SWEEPD_CTL_HASH_H
#define SWEEPD_CTL_HASH_H

#include <stdbool.h>

/*
 * sweepctl hash-password: a password (asked twice on a terminal, or one line
 * of standard input) made into the bcrypt hash http.basic_auth_users takes,
 * "$2y$10$...", by libcrypt. Needs no daemon. The exit status.
 */
int ctl_hash_password(void);

#endif
