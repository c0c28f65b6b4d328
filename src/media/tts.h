/* tts: text to speech with espeak-ng (Persian "fa", English "en", any voice
 * espeak-ng has), rendered to an 8 kHz-readable WAV in a cache directory
 * named by a hash of (lang, text); a worker thread runs espeak-ng so the
 * main loop never waits. Not for playing (media/afile + mstream play it). */
#ifndef TAMAS_TTS_H
#define TAMAS_TTS_H

#include <stddef.h>

struct tts;
struct tts_req;

/* cache_dir is created if missing. espeak is the program to run (NULL =
 * "espeak-ng" from PATH). mem object: mem_deref waits for the running
 * render, cancels queued ones, joins the worker. */
int tts_alloc(struct tts **ttsp, const char *cache_dir, const char *espeak);

/* The cache path for (text, lang), whether or not it exists yet. */
int tts_path(const struct tts *tts, const char *text, const char *lang, char *buf, size_t sz);

/* done is called on the main loop with 0 and the WAV path, or an errno value
 * (ENOENT: espeak-ng missing, EINVAL: empty text or unknown voice, EIO: it
 * failed) and NULL. A cached file still completes asynchronously (never
 * inside tts_render). *reqp is a mem object: mem_deref before completion
 * cancels the callback (the file may still be rendered into the cache). */
typedef void (tts_done_h)(int err, const char *path, void *arg);
int tts_render(struct tts_req **reqp, struct tts *tts, const char *text, const char *lang,
	       tts_done_h *doneh, void *arg);

#endif
