/* libFuzzer target: any bytes as trends.json must load or be refused cleanly. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "trend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_tokener *tok = json_tokener_new();
	struct trends t = {0};
	json_object *o = tok ? json_tokener_parse_ex(tok, (const char *)data, (int)size) : NULL;

	if (o && trends_from_json(&t, o, 1800000000) == 0) {
		json_object *back = trends_to_json(&t, 1800000000);
		double g;
		for (size_t i = 0; i < t.n; i++)
			trend_growth(t.v[i], 1800000000, &g);
		json_object_put(back);
	}
	json_object_put(o);
	trends_clear(&t);
	if (tok)
		json_tokener_free(tok);
	return 0;
}
