/* libFuzzer target: any bytes as a request line must parse or be refused cleanly. */
#include <stddef.h>
#include <stdint.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request req;
	char err[256];

	if (request_parse((const char *)data, size, &req, err, sizeof(err)) == 0)
		request_clear(&req);
	return 0;
}
