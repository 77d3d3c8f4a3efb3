/*
 * libFuzzer target: what an HTTP client controls, as http.c hands it over: a URL, a
 * body, query pairs, Host and Origin headers. Each must route, convert or be refused
 * cleanly, and a line made from it must be one the socket's parser takes or refuses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_route.h"
#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input split at NUL bytes into at most n strings. */
static size_t split(char *buf, size_t size, char **out, size_t n)
{
	size_t k = 0, start = 0;

	for (size_t i = 0; i <= size && k < n; i++)
		if (i == size || !buf[i]) {
			buf[i] = '\0';
			out[k++] = buf + start;
			start = i + 1;
		}
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *part[9], err[512], *line = NULL;
	const char *cmd;
	struct request req;
	size_t n;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	n = split(buf, size, part, 9);
	http_route_target(part[0], &cmd);
	http_route_host_ok(part[0]);
	if (n > 1)
		http_route_origin_ok(part[0], part[1], size & 1);
	http_route_status(part[0]);
	if (http_route_from_body("sweep", part[0], strlen(part[0]), &line, err, sizeof(err)) == 0) {
		if (request_parse(line, strlen(line), &req, err, sizeof(err)) == 0)
			request_clear(&req);
		free(line);
	}
	if (n > 2) {
		const char *keys[4], *values[4];
		size_t pairs = (n - 1) / 2;

		for (size_t i = 0; i < pairs; i++) {
			keys[i] = part[1 + 2 * i];
			values[i] = part[2 + 2 * i];
		}
		if (http_route_from_query("top", keys, values, pairs, &line, err, sizeof(err)) == 0) {
			if (request_parse(line, strlen(line), &req, err, sizeof(err)) == 0)
				request_clear(&req);
			free(line);
		}
	}
	free(buf);
	return 0;
}
