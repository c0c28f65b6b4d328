/* mstream: the media of one channel. It owns the channel's RTP endpoint and
 * knows the negotiated codec; it sends what a local source produces (prompt,
 * tone, music on hold) on a shared 20 ms clock, detects DTMF (RFC 4733 and
 * in-band), sends RFC 4733 DTMF and feeds recorders. While nothing needs the
 * audio, packets keep rtp.c's relay fast path: only the payload type of each
 * received packet is looked at. Not for SDP (sip/leg) or files (afile). */
#ifndef TAMAS_MSTREAM_H
#define TAMAS_MSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mclock;
struct mstream;
struct recorder;
struct rtppool;
struct rtpep;

enum { MSTREAM_PTIME = 20, MSTREAM_FRAME = 160 };   /* ms, samples at 8 kHz */

/* The clock every sending or recording stream ticks on (one per daemon).
 * mem object; streams must be freed first. */
int mclock_alloc(struct mclock **clkp);
/* Streams currently on the clock (for status and benchmarks). */
unsigned mclock_active(const struct mclock *clk);

enum mcodec { MCODEC_NONE = 0, MCODEC_PCMU, MCODEC_PCMA };
/* "PCMU"/"PCMA" (case-insensitive); MCODEC_NONE otherwise. */
enum mcodec mcodec_from_name(const char *name);

/* mem object: frees its endpoint (back to the pool) and its DTMF detector. */
int mstream_alloc(struct mstream **msp, struct mclock *clk, struct rtppool *pool);
struct rtpep *mstream_rtpep(const struct mstream *ms);
/* The negotiated audio payload type and codec, and telephone-event's payload
 * type (te_pt < 0: the peer has none). */
void mstream_set_format(struct mstream *ms, uint8_t pt, enum mcodec codec, int te_pt);
enum mcodec mstream_codec(const struct mstream *ms);
bool mstream_has_telephone_event(const struct mstream *ms);

/* A local source fills n samples of 8 kHz audio and returns how many it
 * wrote; fewer than n means it has finished. */
typedef size_t (msrc_read_h)(int16_t *buf, size_t n, void *arg);
typedef void (mstream_done_h)(void *arg);
/* Plays a source to this stream's remote; while it plays, the bridge relay
 * does not send there. doneh runs once when the source finishes (not when it
 * is replaced or stopped) and may start another source. */
int mstream_play(struct mstream *ms, msrc_read_h *readh, mstream_done_h *doneh, void *arg);
/* Stops the source (doneh not called); the relay resumes. */
void mstream_stop(struct mstream *ms);
/* Stops it only if the current source's arg is arg (an owner letting go). */
void mstream_stop_source(struct mstream *ms, const void *arg);
bool mstream_playing(const struct mstream *ms);

/* Digits received ('0'-'9', '*', '#', 'A'-'D'), from RFC 4733 events or the
 * in-band detector. */
typedef void (mstream_dtmf_h)(char digit, bool inband, void *arg);
void mstream_set_dtmf_handler(struct mstream *ms, mstream_dtmf_h *h, void *arg);
/* While consuming, RFC 4733 packets are not relayed to the bridged peer. */
void mstream_set_dtmf_consume(struct mstream *ms, bool consume);
/* In-band detection decodes every received packet (used when the peer has
 * no telephone-event, or when configured). */
void mstream_set_inband(struct mstream *ms, bool on);
/* Queues an RFC 4733 digit (EINVAL for a character that is not a digit,
 * ENOTSUP if the peer has no telephone-event). */
int mstream_send_dtmf(struct mstream *ms, char digit, uint32_t duration_ms);

/* Decoded audio received from the remote (a conference mixer listens);
 * NULL to stop. Keeps the decode path on while set. */
typedef void (mstream_pcm_h)(const int16_t *pcm, size_t n, void *arg);
void mstream_set_pcm_handler(struct mstream *ms, mstream_pcm_h *h, void *arg);

/* Records this stream's two directions into rec (holds a reference):
 * rx = what the remote sends, tx = what is sent to it (local source or
 * relayed peer audio). Samples are aligned on the clock. */
int mstream_add_recorder(struct mstream *ms, struct recorder *rec);
void mstream_remove_recorder(struct mstream *ms, struct recorder *rec);
unsigned mstream_recorders(const struct mstream *ms);

#endif
