#include "ctl_hash.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PASSWORD_MAX 1024

/* One line of f without its newline; echo off when f is a terminal. false at end of input. */
static bool read_password(FILE *f, const char *prompt, char *buf, size_t len)
{
	struct termios old, quiet;
	bool tty = isatty(fileno(f)) && tcgetattr(fileno(f), &old) == 0;
	bool got;

	if (tty) {
		fputs(prompt, stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(f), TCSAFLUSH, &quiet);
	}
	got = fgets(buf, (int)len, f) != NULL;
	if (tty) {
		tcsetattr(fileno(f), TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (got)
		buf[strcspn(buf, "\r\n")] = '\0';
	return got;
}

int ctl_hash_password(void)
{
	char pw[PASSWORD_MAX], again[PASSWORD_MAX], salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *hash;
	int rc = 1;

	if (!cd)
		return 1;
	if (!read_password(stdin, "password: ", pw, sizeof(pw)) || !*pw) {
		fprintf(stderr, "sweepctl: no password given (type it, or give it on standard "
				"input)\n");
	} else if (isatty(STDIN_FILENO) &&
		   (!read_password(stdin, "again: ", again, sizeof(again)) || strcmp(pw, again))) {
		fprintf(stderr, "sweepctl: the two passwords differ\n");
	} else if (!crypt_gensalt_rn("$2y$", 10, NULL, 0, salt, sizeof(salt)) ||
		   !(hash = crypt_rn(pw, salt, cd, sizeof(*cd))) || hash[0] != '$') {
		fprintf(stderr, "sweepctl: libcrypt could not make a bcrypt hash\n");
	} else {
		printf("%s\n", hash);
		rc = 0;
	}
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(again, sizeof(again));
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}
