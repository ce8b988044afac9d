/*
 * treemodel.h — FugueMax in the paper's tree form (Weidner & Kleppmann,
 * "The Art of the Fugue", Def. 6; josephg/reference-crdts
 * fugue-max-simple.ts with the (agent, seq) tie-break), a second,
 * independent model used only to validate the list-form oracle: the two
 * share no placement code. Integrate only (ops come from the oracle).
 */
#ifndef WEFT_TREEMODEL_H
#define WEFT_TREEMODEL_H

#include "testutil.h"

typedef struct tmodel tmodel;

tmodel *tmodel_new(void);
void tmodel_free(tmodel *t);
/* Applies an op whose dependencies are all present (causal order). */
void tmodel_apply(tmodel *t, const weft_op *op);
void tmodel_text(const tmodel *t, sbuf *b);

#endif
