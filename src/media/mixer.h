/* mixer: a small conference on the media clock (three-way calls): each
 * member's received audio is decoded, and every 20 ms each member is sent
 * the sum of the others. Not for two parties (the relay does that). */
#ifndef TAMAS_MIXER_H
#define TAMAS_MIXER_H

struct mixer;
struct mstream;

/* mem object: freeing it stops every member's mix (their relays resume). */
int mixer_alloc(struct mixer **mp);
/* Adds a stream (held by reference); EBUSY beyond 8 members. */
int mixer_add(struct mixer *m, struct mstream *ms);
void mixer_remove(struct mixer *m, struct mstream *ms);

#endif
