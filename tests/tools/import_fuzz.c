/* import_fuzz.c — libFuzzer target for the export-file reader behind
 * `weft import`: every input is parsed, validated and replayed in memory
 * (tools__import without a store). It must return an error or success,
 * never crash, leak or hang, whatever the JSON, base64 or batch bytes. */
#include "fuzz_target.h"
#include "tools_int.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > (1u << 20))
        return 0;
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return 0;
    int rc = tools__import(NULL, f, NULL, NULL);
    fclose(f);
    if (rc > 0)
        abort();
    return 0;
}
