#include "http_route.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "request.h"

#define API_PREFIX "/api/v1/"

enum http_target http_route_target(const char *url, const char **cmd)
{
	*cmd = NULL;
	if (!strcmp(url, "/"))
		return HTTP_PAGE;
	if (!strcmp(url, "/login"))
		return HTTP_LOGIN;
	if (!strcmp(url, "/metrics"))
		return HTTP_METRICS;
	if (!strncmp(url, API_PREFIX, strlen(API_PREFIX)) && url[strlen(API_PREFIX)]) {
		*cmd = url + strlen(API_PREFIX);
		return HTTP_API;
	}
	return HTTP_UNKNOWN;
}

/* Names and paths stay strings even when they look like numbers: a zone may be called "2024". */
static bool string_key(const char *k)
{
	return !strcmp(k, "zone") || !strcmp(k, "path") || !strcmp(k, "to") || !strcmp(k, "by") ||
	       !strcmp(k, "cmd");
}

static json_object *query_value(const char *k, const char *v)
{
	char *end;
	long long n;

	if (string_key(k))
		return json_object_new_string(v);
	if (!strcmp(v, "true") || !strcmp(v, "false"))
		return json_object_new_boolean(!strcmp(v, "true"));
	errno = 0;
	n = strtoll(v, &end, 10);
	/* Digits only, as JSON writes a number: " 5" or "+5" stay strings (and are refused). */
	if ((isdigit((unsigned char)v[0]) || (v[0] == '-' && isdigit((unsigned char)v[1]))) &&
	    !*end && !errno)
		return json_object_new_int64(n);
	return json_object_new_string(v);
}

static int line_of(json_object *o, char **line)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	*line = s ? strdup(s) : NULL;
	return *line ? 0 : -ENOMEM;
}

int http_route_from_query(const char *cmd, const char *const *keys, const char *const *values,
			  size_t n, char **line, char *err, size_t errlen)
{
	json_object *o = json_object_new_object();
	int r;

	*line = NULL;
	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(keys[i], "cmd") && strcmp(values[i] ? values[i] : "", cmd)) {
			snprintf(err, errlen, "\"cmd\" is \"%.100s\" but the path asks for \"%.100s\"",
				 values[i] ? values[i] : "", cmd);
			json_object_put(o);
			return -EINVAL;
		}
		if (json_object_object_get_ex(o, keys[i], NULL)) {
			snprintf(err, errlen, "\"%.100s\" is given twice", keys[i]);
			json_object_put(o);
			return -EINVAL;
		}
		json_object_object_add(o, keys[i], values[i] ? query_value(keys[i], values[i])
							     : json_object_new_boolean(1));
	}
	json_object_object_add(o, "cmd", json_object_new_string(cmd));
	r = line_of(o, line);
	json_object_put(o);
	return r;
}

int http_route_from_body(const char *cmd, const char *body, size_t len, char **line, char *err,
			 size_t errlen)
{
	json_tokener *tok;
	json_object *o, *c;
	int r;

	*line = NULL;
	if (!len) {
		/* An empty body is an empty object: POST /api/v1/pause needs nothing more. */
		body = "{}";
		len = 2;
	}
	if (len > REQUEST_MAX_LINE) {
		snprintf(err, errlen, "the body is longer than %d bytes", REQUEST_MAX_LINE);
		return -EINVAL;
	}
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, body, (int)len);
	if (o && tok->char_offset < (int)len && strspn(body + tok->char_offset, " \t\r\n") !=
							len - (size_t)tok->char_offset) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "the body must be one JSON object, such as {\"zone\": \"outputs\"}");
		json_object_put(o);
		return -EINVAL;
	}
	if (json_object_object_get_ex(o, "cmd", &c) &&
	    (!json_object_is_type(c, json_type_string) || strcmp(json_object_get_string(c), cmd))) {
		snprintf(err, errlen, "the body's \"cmd\" must be \"%.100s\", as in the path, or left out",
			 cmd);
		json_object_put(o);
		return -EINVAL;
	}
	json_object_object_add(o, "cmd", json_object_new_string(cmd));
	r = line_of(o, line);
	json_object_put(o);
	return r;
}

static const char *skip_space(const char *p)
{
	return p + strspn(p, " \t\r\n");
}

/*
 * Read off the reply's start, never parsed whole (an archive's list runs to
 * megabytes): every reply is made with "ok" as its first member (reply.c).
 */
unsigned http_route_status(const char *reply)
{
	const char *p = skip_space(reply);

	if (*p != '{')
		return 400;
	p = skip_space(p + 1);
	if (strncmp(p, "\"ok\"", 4))
		return 400;
	p = skip_space(p + 4);
	if (*p != ':')
		return 400;
	p = skip_space(p + 1);
	return !strncmp(p, "true", 4) ? 200 : 400;
}

bool http_route_origin_ok(const char *origin, const char *host, bool tls)
{
	const char *scheme = tls ? "https://" : "http://";

	if (!origin)
		return true;
	if (!host || strncmp(origin, scheme, strlen(scheme)))
		return false;
	return !strcmp(origin + strlen(scheme), host);
}

bool http_route_host_ok(const char *host)
{
	char name[64];
	const char *end;
	struct in_addr a4;
	struct in6_addr a6;
	size_t n;

	if (!host)
		return true;
	if (*host == '[') {
		end = strchr(host, ']');
		if (!end || (end[1] && end[1] != ':'))
			return false;
		host++;
	} else {
		end = strchr(host, ':');
		if (!end)
			end = host + strlen(host);
	}
	n = (size_t)(end - host);
	if (!n || n >= sizeof(name))
		return false;
	memcpy(name, host, n);
	name[n] = '\0';
	return !strcasecmp(name, "localhost") || inet_pton(AF_INET, name, &a4) == 1 ||
	       inet_pton(AF_INET6, name, &a6) == 1;
}
