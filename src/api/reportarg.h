/* reportarg: the small parsers of the reports endpoints (spec §1.5, §1.6,
 * §2.11), kept apart from the routes so that each can be unit tested: dates
 * of date_range, record ids as the API shows them, recording file names a
 * client may ask for, and the audio MIME type of a file name. Pure
 * functions; no I/O. Not for the SQL (store/cdrrep) or HTTP (routes_reports). */
#ifndef TAMAS_API_REPORTARG_H
#define TAMAS_API_REPORTARG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A date_range bound, Gregorian: "YYYY-MM-DD HH:MM" (the docs' form),
 * "YYYY-MM-DD HH:MM:SS", "YYYY-MM-DDTHH:MM[:SS]" or "YYYY-MM-DD", written to
 * out (sz >= 20) as "YYYY-MM-DD HH:MM:SS", the form the cdr table keeps.
 * Missing parts are filled so that a range is inclusive: upper=false gives
 * the first second (":00", "00:00:00"), upper=true the last (":59",
 * "23:59:59"). EINVAL for any other text or an impossible date or time
 * (month 13, 31 April, 29 February of a common year, hour 24). */
int reportarg_date(const char *in, bool upper, char *out, size_t sz);

/* A CDR row id as the API's _id: 24 lower-case hex digits (Simotel's ids
 * are 24-hex ObjectIds, spec §1.7). out must hold 25 bytes. */
void reportarg_id_fmt(int64_t id, char out[25]);
/* The reverse: exactly 24 hex digits (either case) naming an id > 0.
 * EINVAL otherwise. */
int reportarg_id_parse(const char *s, int64_t *id);

/* Whether name may name a file inside the recordings directory: relative,
 * at most 255 bytes, components separated by single '/', none empty, "."
 * or "..", no control characters or backslashes. A name that passes can
 * still reach outside through a symbolic link; the caller checks where the
 * file really is. */
bool reportarg_file_ok(const char *name);

/* "audio/wav", "audio/mpeg", ... by the name's extension (case-insensitive);
 * "application/octet-stream" when unknown. */
const char *reportarg_mime(const char *name);

/* Seconds as "HH:MM:SS" (hours grow past 99 as needed; negative gives 0).
 * out must hold 24 bytes. */
void reportarg_hhmmss(int64_t s, char out[24]);

#endif
