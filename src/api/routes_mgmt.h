/* routes_mgmt: the REST API's music-on-hold and announcement routes
 * (spec §2.6, §2.7): pbx/musiconholds/search and
 * pbx/announcements/{upload,add,search,update,remove}.
 *
 * Announcements live as files under announce_dir: uploads (converted to
 * 8 kHz mono WAV) in announce_dir/uploads/, and each announcement as
 * announce_dir/<name>.wav (a hard link to its upload), which is where
 * app.playback('<name>') finds it (apps/media looks there before the sounds
 * directory). An add with "text" instead of "filename" renders the prompt
 * with TTS; the row shows status "rendering" until the file is there, and
 * is removed again if rendering fails. Uploads and renderings are
 * converted in slices on the loop while the request waits. Not for users
 * (routes_pbx), trunks (routes_trunks) or the lists (routes_lists). */
#ifndef TAMAS_API_ROUTES_MGMT_H
#define TAMAS_API_ROUTES_MGMT_H

#include <stddef.h>

struct http;
struct store;
struct mohset;
struct tts;
struct routes_mgmt;

struct routes_mgmt_conf {
	struct store *store;
	const struct mohset *moh;   /* the configured music-on-hold classes */
	struct tts *tts;            /* NULL: TTS announcements are refused */
	const char *announce_dir;   /* media.announcements_dir; created if missing */
	const char *tts_lang;       /* default TTS language (media.language) */
	size_t max_upload;          /* http.max_upload: bytes of one upload request */
};

/* Adds the routes to h. The strings and objects of cf must outlive rm;
 * rm must outlive h's routes and be released before cf->tts. mem object:
 * mem_deref cancels TTS renderings still under way. On error returns errno
 * with a one-line reason in err. */
int routes_mgmt_alloc(struct routes_mgmt **rmp, struct http *h,
		      const struct routes_mgmt_conf *cf, char *err, size_t errsz);

#endif
