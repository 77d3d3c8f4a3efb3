#include "config_http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cfgread.h"
#include "config.h"
#include "fileio.h"
#include "trusted.h"

/*
 * The http group (listen, tls, basic_auth_users, read_auth), with the key
 * names of Prometheus' web configuration, and alert_command / alert_repeat.
 * The certificate and key are read here, at load and at each reload, so
 * that a renewed certificate is taken by a SIGHUP and a broken one refuses
 * the config as any broken line does.
 */

#define PEM_MAX (1024 * 1024)

/* "host:port", "[v6]:port" or ":port" into h->host and h->port; false when malformed. */
static bool parse_listen(const char *v, struct http_config *h)
{
	const char *colon, *hs = v, *he;
	char *end;
	unsigned long port;

	if (*v == '[') {
		he = strchr(v, ']');
		if (!he || he[1] != ':')
			return false;
		hs = v + 1;
		colon = he + 1;
	} else {
		colon = strrchr(v, ':');
		if (!colon || memchr(v, ':', (size_t)(colon - v)))
			return false;
		he = colon;
	}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port == 0 || port > 65535)
		return false;
	h->port = (unsigned)port;
	h->host = strndup(hs, (size_t)(he - hs));
	return h->host != NULL;
}

/* Is host an address this machine alone can reach? Names other than localhost are not. */
static bool host_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (!strcmp(host, "localhost"))
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static bool host_ok(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	return !*host || !strcmp(host, "localhost") || inet_pton(AF_INET, host, &a4) == 1 ||
	       inet_pton(AF_INET6, host, &a6) == 1;
}

static char *read_pem(struct cfgread *ld, const config_setting_t *s, const char *key,
		      const char *path, bool secret)
{
	struct stat st;
	char *text = NULL;
	int r = file_read_small(path, PEM_MAX, &text, &st);

	if (r < 0) {
		cfgread_error(ld, config_setting_get_member(s, key), "cannot read http tls '%s' %s: %s",
			      key, path,
			      r == -EFBIG ? "larger than 1 MiB"
			      : r == -EPERM ? "not a regular file"
					    : strerror(-r));
		return NULL;
	}
	if (secret && (st.st_mode & 004)) {
		cfgread_error(ld, config_setting_get_member(s, key),
			      "the TLS key %s may be read by anyone (mode %04o): refused; chmod 0600 %s",
			      path, (unsigned)(st.st_mode & 07777), path);
		explicit_bzero(text, strlen(text));
		free(text);
		return NULL;
	}
	if (!strstr(text, "-----BEGIN ")) {
		cfgread_error(ld, config_setting_get_member(s, key),
			      "http tls '%s' %s is not in PEM form (no \"-----BEGIN\" line)", key,
			      path);
		if (secret)
			explicit_bzero(text, strlen(text));
		free(text);
		return NULL;
	}
	return text;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/*
 * Do the certificate and the key parse, and belong together? Asked here, so
 * that -t and a reload refuse them, rather than the listener failing after
 * the config is taken. NULL, or why not.
 */
static const char *tls_pair_error(const char *cert_pem, const char *key_pem)
{
	BIO *cb = BIO_new_mem_buf(cert_pem, -1), *kb = BIO_new_mem_buf(key_pem, -1);
	X509 *cert = cb ? PEM_read_bio_X509(cb, NULL, no_passphrase, NULL) : NULL;
	EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, no_passphrase, NULL) : NULL;
	const char *why = NULL;

	if (!cert)
		why = "the certificate is not a PEM X.509 certificate";
	else if (!key)
		why = "the key is not a PEM private key, or is encrypted (sweepd asks for no "
		      "passphrase: store it unencrypted, mode 0600)";
	else if (X509_check_private_key(cert, key) != 1)
		why = "the key does not belong to the certificate";
	X509_free(cert);
	EVP_PKEY_free(key);
	BIO_free(cb);
	BIO_free(kb);
	ERR_clear_error();
	return why;
}

static void load_tls(struct cfgread *ld, const config_setting_t *t, struct http_config *h)
{
	static const char *const keys[] = {"cert_file", "key_file", NULL};

	if (!config_setting_is_group(t)) {
		cfgread_error(ld, t, "http 'tls' must be a group: tls = { cert_file = \"...\"; "
				     "key_file = \"...\"; }");
		return;
	}
	cfgread_keys(ld, t, "http.tls", keys);
	h->cert_file = cfgread_path(ld, t, "cert_file", NULL);
	h->key_file = cfgread_path(ld, t, "key_file", NULL);
	if (!h->cert_file || !h->key_file) {
		cfgread_error(ld, t, "http 'tls' needs both 'cert_file' and 'key_file'");
		return;
	}
	h->cert_pem = read_pem(ld, t, "cert_file", h->cert_file, false);
	h->key_pem = read_pem(ld, t, "key_file", h->key_file, true);
	if (h->cert_pem && h->key_pem) {
		const char *why = tls_pair_error(h->cert_pem, h->key_pem);
		if (why)
			cfgread_error(ld, t, "http tls (%s, %s): %s", h->cert_file, h->key_file, why);
	}
}

/*
 * A bcrypt hash as crypt() takes it: "$2y$" ("$2b$", "$2a$"), a cost of two
 * digits, 53 characters of bcrypt's alphabet. Read, never computed: a
 * bcrypt at the hash's cost would hold the loop at every reload.
 */
static bool bcrypt_ok(const char *hash, int *cost)
{
	static const char alphabet[] =
		"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

	if (strlen(hash) != 60 || hash[0] != '$' || hash[1] != '2' || !strchr("aby", hash[2]) ||
	    hash[3] != '$' || !isdigit((unsigned char)hash[4]) ||
	    !isdigit((unsigned char)hash[5]) || hash[6] != '$' ||
	    strspn(hash + 7, alphabet) != 53)
		return false;
	*cost = (hash[4] - '0') * 10 + (hash[5] - '0');
	return *cost >= 4 && *cost <= 31;
}

static void load_users(struct cfgread *ld, const config_setting_t *u, struct http_config *h)
{
	int n;

	if (!config_setting_is_group(u)) {
		cfgread_error(ld, u, "http 'basic_auth_users' must be a group of user = \"bcrypt "
				     "hash\": basic_auth_users = { ops = \"$2y$10$...\"; }");
		return;
	}
	n = config_setting_length(u);
	h->users = calloc(n > 0 ? (size_t)n : 1, sizeof(*h->users));
	if (!h->users)
		return;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(u, (unsigned)i);
		int cost;
		const char *name = config_setting_name(e), *hash = config_setting_get_string(e);

		if (!hash) {
			cfgread_error(ld, e, "http user \"%s\" must be given a bcrypt hash as a string",
				      name);
			continue;
		}
		if (!bcrypt_ok(hash, &cost)) {
			cfgread_error(ld, e,
				      "http user \"%s\": not a bcrypt hash (\"$2y$10$\" and 53 more "
				      "characters, cost 04 to 31); make one with: sweepctl hash-password",
				      name);
			continue;
		}
		if (cost > 14) {
			cfgread_error(ld, e,
				      "http user \"%s\": a bcrypt cost of %d takes seconds at every "
				      "check (each doubles it): use 10 to 14 (sweepctl hash-password "
				      "makes 10)",
				      name, cost);
			continue;
		}
		h->users[h->n_users].name = strdup(name);
		h->users[h->n_users].hash = strdup(hash);
		if (h->users[h->n_users].name && h->users[h->n_users].hash)
			h->n_users++;
	}
}

struct http_config *config_http_load(struct cfgread *ld, const config_setting_t *s)
{
	static const char *const keys[] = {"listen", "tls", "basic_auth_users", "read_auth", NULL};
	struct http_config *h;
	const char *listen;
	const config_setting_t *m;

	if (!config_setting_is_group(s)) {
		cfgread_error(ld, s, "'http' must be a group: http = { listen = \"127.0.0.1:9477\"; }");
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->line = config_setting_source_line(s);
	cfgread_keys(ld, s, "http", keys);
	listen = cfgread_string(ld, s, "listen");
	h->listen = strdup(listen ? listen : "127.0.0.1:9477");
	if (h->listen && !parse_listen(h->listen, h))
		cfgread_error(ld, config_setting_get_member(s, "listen"),
			      "http 'listen' \"%s\" must be ADDRESS:PORT: \"127.0.0.1:9477\", "
			      "\"[::1]:9477\", or \":9477\" for every address",
			      h->listen);
	else if (h->host && !host_ok(h->host))
		cfgread_error(ld, config_setting_get_member(s, "listen"),
			      "http 'listen' address \"%s\" must be an IPv4 or IPv6 address, or "
			      "localhost",
			      h->host);
	else if (h->host)
		h->loopback = host_loopback(h->host);
	if ((m = config_setting_get_member(s, "tls")))
		load_tls(ld, m, h);
	if ((m = config_setting_get_member(s, "basic_auth_users")))
		load_users(ld, m, h);
	h->read_auth = cfgread_bool(ld, s, "read_auth", false);
	if (h->read_auth && !h->n_users)
		cfgread_error(ld, config_setting_get_member(s, "read_auth"),
			      "http 'read_auth' is true but there are no 'basic_auth_users': "
			      "nobody could read anything");
	if (h->host && !h->loopback && !h->cert_pem && !h->cert_file)
		cfgread_warning(ld, s,
				"http listens on %s without 'tls': %s; admin requests are refused "
				"unless over TLS",
				h->listen,
				h->read_auth ? "passwords cross the network in clear (read_auth)"
					     : "anyone on the network can read the dashboard and "
					       "metrics (read_auth is false)");
	return h;
}

void config_alert_load(struct cfgread *ld, const config_setting_t *root, struct config *cfg)
{
	const config_setting_t *m = config_setting_get_member(root, "alert_command");
	const char *v = cfgread_string(ld, root, "alert_command");
	char why[PATH_MAX + 200];

	cfg->alert_repeat = cfgread_duration(ld, root, "alert_repeat", 0);
	if (config_setting_get_member(root, "alert_repeat") && !m)
		cfgread_warning(ld, config_setting_get_member(root, "alert_repeat"),
				"'alert_repeat' without 'alert_command': nothing is run");
	if (!v)
		return;
	if (v[0] != '/') {
		cfgread_error(ld, m, "alert_command \"%s\" must be an absolute path", v);
		return;
	}
	cfg->alert_command = strdup(v);
	/* sweepd runs it as its own user (root): nobody else may have put it there. */
	if (cfg->alert_command && path_trusted(cfg->alert_command, why, sizeof(why)) < 0)
		cfgread_error(ld, m, "alert_command refused: %s", why);
}
