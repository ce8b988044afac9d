/* samples.h — the messages and documents behind tests/golden/ and the
 * round-trip tests. Changing one changes golden bytes: new protocol
 * version. */
#ifndef WEFT_PROTO_SAMPLES_H
#define WEFT_PROTO_SAMPLES_H

#include "weft/protocol.h"

/* Number of sample messages. */
int sample_msg_count(void);
/* Fills m (initialised by the caller, reset here) with sample i; returns its
 * name. Strings point at static data; *scratch may be used for an embedded
 * snapshot and must outlive m (caller-initialised, caller cleans up). */
const char *sample_msg(int i, weft_proto_msg *m, weft_buf *scratch);

/* Standalone values (op batches, version vectors): encodes sample i into
 * out, sets *kind ("batch" or "vv") and returns its name; NULL past the
 * end. */
const char *sample_value(int i, weft_buf *out, const char **kind);

/* Sample documents for snapshots: a new document (caller frees) and its
 * name; NULL past the end. *lsn gets the LSN to encode with. */
weft_doc *sample_doc(int i, const char **name, uint32_t *lsn);

#endif
