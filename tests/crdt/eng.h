/*
 * eng.h — engine-side test helpers: text and canonical runs of a weft_doc
 * in the oracle's shapes, and an editor mirror that replays weft_patch
 * lists on a plain code-point array and a plain UTF-16 array.
 */
#ifndef WEFT_ENG_H
#define WEFT_ENG_H

#include "rep.h"

void eng_text(const weft_doc *d, sbuf *b);
/* Canonical runs via weft_run_iter (CHECKs the iterator's own sanity). */
size_t eng_runs(const weft_doc *d, orun **out);
/* CHECKs that d and o have the same text and the same canonical runs. */
void eng_same_as_oracle(const weft_doc *d, const oracle *o, const char *what);
/* CHECKs two docs have the same text and runs. */
void eng_same_docs(const weft_doc *a, const weft_doc *b, const char *what);

/* An editor's copy of the text. */
typedef struct mirror {
    uint32_t *cp;
    size_t n, cap;
    uint16_t *u;
    size_t nu, capu;
} mirror;
void mirror_init(mirror *m);
void mirror_free(mirror *m);
void mirror_set(mirror *m, const char *utf8, size_t bytes);
/* Local edit, as an editor would do it. */
void mirror_insert(mirror *m, uint32_t pos, const char *utf8, size_t bytes);
void mirror_delete(mirror *m, uint32_t pos, uint32_t len);
/* Applies a patch list, CHECKing every field is consistent. */
void mirror_patches(mirror *m, const weft_patchlist *pl);
/* CHECKs the mirror (both views) equals the document's text. */
void mirror_same(const mirror *m, const weft_doc *d, const char *what);

/* An engine doc with an editor mirror: rep backend "engine". */
typedef struct eng_rep {
    weft_doc *d;
    mirror m;
} eng_rep;

#endif
