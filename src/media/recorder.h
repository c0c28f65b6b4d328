/* recorder: the file side of MixMonitor. The main loop hands it 20 ms frames
 * of the two directions of a channel; a writer thread mixes them (or
 * interleaves them as stereo) and writes a WAV with libsndfile, so the loop
 * never waits for the disk. Not for deciding what to record (mstream does). */
#ifndef TAMAS_RECORDER_H
#define TAMAS_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct recwriter;
struct recorder;

/* The writer thread, one per daemon. mem object: mem_deref drains every
 * queued frame, closes every open file and joins the thread. */
int recwriter_alloc(struct recwriter **wp);

/* Called on the main loop when a recording stopped on its own because a
 * write failed (err: ENOSPC, EIO, EFBIG ...). The file is closed with a
 * valid header covering what was written; later recorder_write calls are
 * dropped and return that err. */
typedef void (recorder_fail_h)(int err, void *arg);

enum recorder_flags { RECORDER_STEREO = 1, RECORDER_APPEND = 2 };

/* Creates (or with RECORDER_APPEND extends) path as 8 kHz 16-bit PCM WAV;
 * missing parent directories are created. Opens synchronously so a bad path
 * is reported at once (errno value). Mono: rx and tx mixed with saturation.
 * Stereo: rx left, tx right. mem object: mem_deref ends the recording; the
 * writer thread then writes what is queued and closes the file. */
int recorder_open(struct recorder **recp, struct recwriter *w, const char *path,
		  unsigned flags, recorder_fail_h *failh, void *arg);
/* Queues n samples of each direction: rx = what the channel's party says,
 * tx = what it hears; NULL means silence. Never blocks; n <= 1600. */
int recorder_write(struct recorder *rec, const int16_t *rx, const int16_t *tx, size_t n);
/* Samples queued or written so far (per direction). */
uint64_t recorder_samples(const struct recorder *rec);

#endif
