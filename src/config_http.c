#include "config_http.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cfgread.h"
#include "config.h"
#include "fileio.h"

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
}

/* A bcrypt hash crypt() takes: "$2y$", "$2b$" or "$2a$", a cost, 53 more characters. */
static bool bcrypt_ok(const char *hash)
{
	struct crypt_data *cd;
	const char *out;
	bool ok;

	if (strlen(hash) != 60 || hash[0] != '$' || hash[1] != '2' || !strchr("aby", hash[2]) ||
	    hash[3] != '$')
		return false;
	/* The hash checked against itself with crypt's cheapest path: a malformed setting fails. */
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return false;
	out = crypt_rn("", hash, cd, sizeof(*cd));
	ok = out && out[0] == '$' && !strncmp(out, hash, 29);
	free(cd);
	return ok;
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
		const char *name = config_setting_name(e), *hash = config_setting_get_string(e);

		if (!hash) {
			cfgread_error(ld, e, "http user \"%s\" must be given a bcrypt hash as a string",
				      name);
			continue;
		}
		if (!bcrypt_ok(hash)) {
			cfgread_error(ld, e,
				      "http user \"%s\": not a bcrypt hash (\"$2y$10$\" and 53 more "
				      "characters); make one with: htpasswd -nbBC 10 %s PASSWORD, or "
				      "python3 -c 'import bcrypt; print(bcrypt.hashpw(b\"PASSWORD\", "
				      "bcrypt.gensalt()).decode())'",
				      name, name);
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
				"http listens on %s without 'tls': anyone on the network can read "
				"the dashboard and metrics%s; admin requests are refused unless over TLS",
				h->listen, h->read_auth ? "" : " (read_auth is false)");
	return h;
}

void config_alert_load(struct cfgread *ld, const config_setting_t *root, struct config *cfg)
{
	const config_setting_t *m = config_setting_get_member(root, "alert_command");
	struct stat st;

	cfg->alert_command = cfgread_path(ld, root, "alert_command", NULL);
	cfg->alert_repeat = cfgread_duration(ld, root, "alert_repeat", 0);
	if (config_setting_get_member(root, "alert_repeat") && !m)
		cfgread_warning(ld, config_setting_get_member(root, "alert_repeat"),
				"'alert_repeat' without 'alert_command': nothing is run");
	if (!cfg->alert_command)
		return;
	if (stat(cfg->alert_command, &st) < 0)
		cfgread_warning(ld, m, "alert_command %s: %s: alarms will not be sent until it is there",
				cfg->alert_command, strerror(errno));
	else if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		cfgread_error(ld, m, "alert_command %s is not an executable file (chmod +x it; it is "
				     "run without a shell)",
			      cfg->alert_command);
	else if (st.st_mode & 002)
		cfgread_error(ld, m,
			      "alert_command %s may be written by anyone (mode %04o): anyone could "
			      "run a program as sweepd; chmod o-w it",
			      cfg->alert_command, (unsigned)(st.st_mode & 07777));
}
