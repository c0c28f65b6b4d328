/* moh: music-on-hold classes (Asterisk musiconhold.conf, mode=files): a
 * directory of audio files played in alphabetical or random order, looped.
 * Not for playing (a class fills a player). */
#ifndef TAMAS_MOH_H
#define TAMAS_MOH_H

#include <stdbool.h>
#include <stddef.h>

struct mohset;
struct player;

/* mem object holding the classes. */
int mohset_alloc(struct mohset **msp);
/* sort: "alpha" (default), "random" or "randstart". EINVAL for an unknown
 * sort, ENOENT if the directory holds no audio file (logged with the path). */
int mohset_add(struct mohset *ms, const char *name, const char *directory, const char *sort);
bool mohset_exists(const struct mohset *ms, const char *name);
/* One class as it was scanned: its directory and its files' full paths in
 * alphabetical order (for listing; the REST API's musiconholds/search). */
struct mohclass_info {
	const char *name;
	const char *directory;
	const char *sort;           /* "alpha", "random" or "randstart" */
	const char *const *files;
	size_t nfiles;
};
/* A nonzero return stops the walk and is returned. */
typedef int (mohset_class_h)(const struct mohclass_info *ci, void *arg);
/* Calls h for each class in the order they were added. */
int mohset_foreach(const struct mohset *ms, mohset_class_h *h, void *arg);

/* Adds the class's files to player p and makes it loop. An unknown or empty
 * name falls back to "default" (Asterisk's order). */
int mohset_fill(const struct mohset *ms, const char *name, struct player *p);

#endif
