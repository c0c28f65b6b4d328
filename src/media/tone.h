/* tone: Asterisk indications-style tone generator and the per-country tone
 * zones (indications.conf). Output is 8 kHz signed 16-bit linear PCM.
 * Not for DTMF (media/mstream sends DTMF) nor for files (media/afile). */
#ifndef TAMAS_TONE_H
#define TAMAS_TONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tonegen;

/* spec is an Asterisk tone list: comma-separated parts
 * "[!]f1[+f2|*f2][/duration_ms]" ("425/1000,0/4000", "350+440", "!950/330").
 * A part without duration plays for ever; "!" parts play once and the list
 * repeats from the first part without "!"; "f1*f2" is f1 amplitude-modulated
 * by f2. EINVAL for a malformed spec. mem object (mem_deref frees). */
int tonegen_alloc(struct tonegen **tgp, const char *spec);
/* Fills n samples. Returns false (and zero-fills) once a list made only of
 * "!" parts has ended; true while tone remains. */
bool tonegen_read(struct tonegen *tg, int16_t *buf, size_t n);

/* The spec of a named tone ("dial", "busy", "ring", "congestion",
 * "callwaiting", "dialrecall", "record", "info", "beep") in a zone ("us",
 * "ir", "uk", "de", "fr", ...); NULL when the zone or the name is unknown. */
const char *tone_zone_spec(const char *zone, const char *name);
bool tone_zone_exists(const char *zone);

#endif
