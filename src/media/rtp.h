/* rtp: anchored media. A pool of pre-opened RTP/RTCP socket pairs and a
 * byte-for-byte relay between two endpoints with symmetric-RTP latching.
 * Not for decoding audio: media/mstream taps packets here when it must. */
#ifndef TAMAS_RTP_H
#define TAMAS_RTP_H

#include <stdbool.h>
#include <stdint.h>
#include <re.h>

struct rtppool;
struct rtpep;

/* Ports are bound on demand in [port_min, port_max] (even RTP, odd RTCP) and
 * returned to the pool on release, never closed: no socket/bind per call. */
int rtppool_alloc(struct rtppool **poolp, const struct sa *laddr,
		  uint16_t port_min, uint16_t port_max);
/* Pre-binds n pairs at start-up so the first calls pay nothing. */
int rtppool_prefill(struct rtppool *pool, unsigned n);
unsigned rtppool_capacity(const struct rtppool *pool);
unsigned rtppool_in_use(const struct rtppool *pool);

struct rtp_stats { uint64_t rx_pkts, tx_pkts, rx_bytes, dropped; };

/* An endpoint holds one pair from the pool (mem object; deref releases it). */
int rtpep_alloc(struct rtpep **epp, struct rtppool *pool);
const struct sa *rtpep_laddr(const struct rtpep *ep);
/* Remote address from SDP; replaced by the first packet's source (latching). */
void rtpep_set_raddr(struct rtpep *ep, const struct sa *rtp, const struct sa *rtcp);
/* Relays both ways between ep and peer (each one's packets go out of the
 * other's socket to the other's remote). Links are mutual: linking ep to a
 * new peer or to NULL also unlinks ep's old peer. */
void rtpep_link(struct rtpep *ep, struct rtpep *peer);
void rtpep_stats(const struct rtpep *ep, struct rtp_stats *st);

/* Taps for the decode path. rx sees each RTP packet received on ep and
 * returns whether it is still relayed to the peer; tx sees each packet the
 * relay sends out of ep. Either may be NULL; both NULL = pure fast path. */
typedef bool (rtp_rx_h)(const uint8_t *pkt, size_t n, void *arg);
typedef void (rtp_tx_h)(const uint8_t *pkt, size_t n, void *arg);
void rtpep_set_taps(struct rtpep *ep, rtp_rx_h *rxh, rtp_tx_h *txh, void *arg);
/* While blocked, the relay sends nothing to ep's remote (a local source owns it). */
void rtpep_block_relay(struct rtpep *ep, bool block);
/* Sends one locally built RTP packet to ep's remote. */
int rtpep_send(struct rtpep *ep, const uint8_t *pkt, size_t n);

#endif
