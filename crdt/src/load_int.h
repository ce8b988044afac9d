/*
 * load_int.h — what loading a snapshot (snapshot.c) needs from other files
 * beyond doc_int.h.
 *
 * Loading does not place each run in the content tree and the ID index as
 * it arrives: weft_doc_load_run / _del only append to the run pool and the
 * delete record list (run handles are then document order), and
 * weft_doc_load_finish sorts every agent's entries once, checks them, and
 * builds the tree and the indexes from the sorted arrays in one pass each.
 */
#ifndef WEFT_LOAD_INT_H
#define WEFT_LOAD_INT_H

#include "doc_int.h"

/* Replaces an empty index x with the n entries ent[i] = key << 32 | val,
 * keys strictly increasing, packed into full chunks (x keeps no pointer
 * into ent). */
int idx__build(idindex *x, const uint64_t *ent, uint32_t n);

#endif
