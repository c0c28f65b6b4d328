/* afile: an audio file (any format libsndfile reads: WAV, FLAC, OGG, AU,
 * raw formats it detects) read as 8 kHz mono signed 16-bit frames, channels
 * mixed down and other rates resampled with speexdsp. Also the prompt
 * lookup Asterisk users expect (sounds dir, language, fallback).
 * Not for writing (media/recorder writes). */
#ifndef TAMAS_AFILE_H
#define TAMAS_AFILE_H

#include <stddef.h>
#include <stdint.h>

struct afile;

/* Opens path. ENOENT if missing, EACCES if unreadable, EINVAL if libsndfile
 * cannot read it (the reason goes to the log with the path). mem object. */
int afile_open(struct afile **afp, const char *path);
/* Reads up to n samples at 8 kHz; returns how many (0 = end of file). */
size_t afile_read(struct afile *af, int16_t *buf, size_t n);
/* Back to the start (music on hold loops). */
int afile_rewind(struct afile *af);
/* Length at 8 kHz in milliseconds. */
uint32_t afile_duration_ms(const struct afile *af);

/* Converts the audio file in (anything afile_open reads: WAV, MP3, FLAC,
 * OGG...) to out as 8 kHz mono 16-bit PCM WAV, the form prompts are played
 * in. out is written under a temporary name and renamed, so it is never
 * seen half-written. EINVAL if in is not readable audio or is empty;
 * EFBIG if longer than max_ms (0 = no limit). Synchronous: reads in whole;
 * for short files (tests, tools). */
int afile_convert(const char *in, const char *out, uint32_t max_ms);

/* The same, a slice per turn of the libre loop so that a long upload never
 * stalls calls. Errors known at once (EINVAL, EFBIG, ENOENT) are returned
 * and h is not called; otherwise h gets the result on the loop. *cp is a
 * mem object: mem_deref before h cancels (no file is left behind). */
struct afile_conv;
typedef void (afile_conv_h)(int err, void *arg);
int afile_convert_start(struct afile_conv **cp, const char *in, const char *out,
			uint32_t max_ms, afile_conv_h *h, void *arg);

/* Resolves a prompt name as Asterisk does: an absolute name (or one starting
 * with "./") is used as is; otherwise it is looked up under dir/lang/, then
 * dir/en/, then dir/. A name without extension tries .wav, .WAV, .wav16,
 * .sln, .flac, .ogg in that order. Writes the path found to out.
 * ENOENT when nothing exists, ENAMETOOLONG if out is too small, EINVAL for
 * a relative name or language that would leave dir ("..", "a/../../x"). */
int afile_find(char *out, size_t sz, const char *dir, const char *lang, const char *name);

#endif
