/* player: what a channel hears from tamas itself: a list of prompt files,
 * tones and silences played in order (optionally looping, for music on
 * hold) as its mstream's source. Not for finding files (afile_find does). */
#ifndef TAMAS_PLAYER_H
#define TAMAS_PLAYER_H

#include <stdbool.h>
#include <stdint.h>

struct player;
struct mstream;

/* done: 0 when every item played, else the first error (ENOENT, EINVAL)
 * of an item that was skipped. Not called when stopped or freed. */
typedef void (player_done_h)(int err, void *arg);

/* mem object; holds a reference on ms; freeing it stops the sound. */
int player_alloc(struct player **pp, struct mstream *ms);
int player_add_file(struct player *p, const char *path);
/* An indications tone spec; ms = 0 plays it for as long as it lasts. */
int player_add_tone(struct player *p, const char *spec, uint32_t ms);
int player_add_silence(struct player *p, uint32_t ms);
void player_set_loop(struct player *p, bool loop);
/* Starts or resumes (where it stopped) on the stream. */
int player_start(struct player *p, player_done_h *doneh, void *arg);
/* Stops sending but keeps the position. */
void player_pause(struct player *p);
bool player_active(const struct player *p);
unsigned player_count(const struct player *p);

#endif
