#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "glob.h"

/*
 * The configuration as data, once it is loaded (config_load.c): what the
 * rest of sweepd asks of it, and freeing it. Pure: nothing on disk is
 * looked at.
 */

bool config_path_within(const char *inner, const char *outer)
{
	size_t n = strlen(outer);

	if (n == 1 && outer[0] == '/')
		return true;
	return !strncmp(inner, outer, n) && (inner[n] == '/' || inner[n] == '\0');
}

int config_path_clean(const char *path, char *out, size_t len)
{
	size_t n = 0;

	if (path[0] != '/')
		return -EINVAL;
	for (const char *p = path; *p;) {
		size_t k;

		while (*p == '/')
			p++;
		k = strcspn(p, "/");
		if (k == 2 && !strncmp(p, "..", 2))
			return -EACCES;
		if (k && !(k == 1 && *p == '.')) {
			if (n + 1 + k >= len)
				return -ENAMETOOLONG;
			out[n++] = '/';
			memcpy(out + n, p, k);
			n += k;
		}
		p += k;
	}
	if (len < 2)
		return -ENAMETOOLONG;
	if (!n)
		out[n++] = '/';
	out[n] = '\0';
	return 0;
}

int config_zone_holding(const struct config *cfg, const char *path)
{
	for (size_t i = 0; i < cfg->n_zones; i++) {
		const char *zp = cfg->zones[i].path;

		if (zp && strcmp(zp, path) && config_path_within(path, zp))
			return (int)i;
	}
	return -1;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool same_globs(const struct globs *a, const struct globs *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->patterns[i], b->patterns[i]))
			return false;
	return true;
}

int config_zone_index(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_zones; i++)
		if (!strcmp(cfg->zones[i].name, name))
			return (int)i;
	return -1;
}

bool config_zone_same_files(const struct zone_config *a, const struct zone_config *b)
{
	return same_str(a->path, b->path) && a->recursive == b->recursive &&
	       same_globs(&a->include, &b->include) && same_globs(&a->exclude, &b->exclude) &&
	       (a->max_idle == CONFIG_UNSET) == (b->max_idle == CONFIG_UNSET);
}

static void rotates_free(struct zone_config *z)
{
	for (size_t i = 0; i < z->n_rotates; i++) {
		struct rotate_config *r = &z->rotates[i];

		glob_free(&r->include);
		free(r->olddir);
		free(r->postrotate);
		free(r->prerotate);
		free(r->pidfile);
	}
	free(z->rotates);
	z->rotates = NULL;
	z->n_rotates = 0;
}

const struct rotate_config *config_rotate_group(const struct zone_config *z, const char *name,
						const char *relpath)
{
	for (size_t i = 0; i < z->n_rotates; i++)
		if (!z->rotates[i].include.n ||
		    glob_match_any(&z->rotates[i].include, name, z->rotate_by_path ? relpath : name))
			return &z->rotates[i];
	return NULL;
}

void config_remote_free(struct remote_config *r)
{
	if (!r)
		return;
	free(r->endpoint);
	free(r->bucket);
	free(r->prefix);
	free(r->region);
	free(r->credentials);
	free(r->profile);
	awscred_clear(&r->cred);
	free(r);
}

static void free_secret(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

void config_http_free(struct http_config *h)
{
	if (!h)
		return;
	free(h->listen);
	free(h->host);
	free(h->cert_file);
	free(h->key_file);
	free(h->cert_pem);
	free_secret(h->key_pem);
	for (size_t i = 0; i < h->n_users; i++) {
		free(h->users[i].name);
		free(h->users[i].hash);
	}
	free(h->users);
	free(h);
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_zones; i++) {
		free(cfg->zones[i].name);
		free(cfg->zones[i].path);
		glob_free(&cfg->zones[i].include);
		glob_free(&cfg->zones[i].exclude);
		rotates_free(&cfg->zones[i]);
	}
	free(cfg->zones);
	free(cfg->file);
	free(cfg->state_dir);
	free(cfg->socket_path);
	free(cfg->admin_group);
	free(cfg->socket_owner);
	free(cfg->socket_group);
	free(cfg->metrics_file);
	free(cfg->archive_path);
	config_remote_free(cfg->remote);
	config_http_free(cfg->http);
	free(cfg->alert_command);
	config_errors_clear(&cfg->warnings);
	free(cfg);
}

void config_errors_clear(struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}
