/* apiform: reading Simotel's flat request objects (spec §1.7): optional
 * text fields where "" clears a value, yes/no flags, digit strings and
 * choices, kept as a JSON object of strings; `_id` with its `id_` alias.
 * Each reader fills the reply itself when it refuses, naming the field;
 * the apiform_obj_* readers fill a why buffer instead.
 * Not for routing or the envelope (api/http). */
#ifndef TAMAS_API_APIFORM_H
#define TAMAS_API_APIFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_req;
struct http_reply;
typedef struct json_t json_t;

enum apiform_type { APIFORM_TEXT, APIFORM_YESNO, APIFORM_DIGITS, APIFORM_CHOICE };

/* A field stored as given and shown back; dflt fills it when absent. */
struct apiform_field {
	const char *name;
	enum apiform_type type;
	size_t max;                 /* bytes */
	const char *choices;        /* APIFORM_CHOICE: comma list */
	const char *dflt;
};

#define APIFORM_ALNUM "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* 1: present (buf holds it, maybe ""); 0: absent or null; -1: refused. */
int apiform_text(const struct http_req *req, struct http_reply *rep, const char *name,
		 char *buf, size_t sz);
/* apiform_text for a row's key (a name, a number), which cannot be
 * cleared: "" is refused, and absence too when required (adding); both
 * as "Field 'name':value is missing". */
int apiform_key(const struct http_req *req, struct http_reply *rep, const char *name,
		char *buf, size_t sz, bool required);
/* obj.name as text (a string, or an integer as decimal), without a reply:
 * for the items of a batch, which fail one by one, and for checks shared
 * with loading from the store. 0; ENOENT when absent, null or ""; EINVAL
 * with why filled ("Field 'name': ...") for another type or length. */
int apiform_obj_text(const json_t *obj, const char *name, char *buf, size_t sz, char *why,
		     size_t whysz);
/* apiform_obj_text for a required field: ENOENT also fills why
 * ("Field 'name':value is missing"). */
int apiform_obj_required(const json_t *obj, const char *name, char *buf, size_t sz, char *why,
			 size_t whysz);
/* Whether s is 1..max bytes, all from set. */
bool apiform_charset_ok(const char *s, size_t max, const char *set);
/* Reads each of fields present in the request into attrs (as strings).
 * 0, or EINVAL with rep filled. */
int apiform_read_fields(const struct http_req *req, struct http_reply *rep,
			const struct apiform_field *fields, size_t n, json_t *attrs);
/* Adds each field's default where attrs lacks it. */
void apiform_complete(json_t *attrs, const struct apiform_field *fields, size_t n);
/* body.conditions as a request of its own (filters live there, spec §1.5):
 * creq is req with that body (NULL when absent). 0, or EINVAL. */
int apiform_conditions(const struct http_req *req, struct http_reply *rep,
		       struct http_req *creq);
/* body.date_range {from, to} as the docs write dates: "YYYY-MM-DD",
 * "YYYY-MM-DD HH:MM" or "YYYY-MM-DD HH:MM:SS" (digits checked, not the
 * calendar), copied as given; an absent bound is "". Without a
 * date_range: refused when required, else both "". 0, or EINVAL. */
int apiform_date_range(const struct http_req *req, struct http_reply *rep, bool required,
		       char *from, char *to, size_t sz);
/* The same for another {from, to} member of the body (a report's second
 * window, "handled_range"); messages name it. */
int apiform_range(const struct http_req *req, struct http_reply *rep, const char *name,
		  bool required, char *from, char *to, size_t sz);
/* Pagination (http_arg_page) limited to the endpoint's sort fields (a
 * NULL-terminated list). 0, or EINVAL. */
struct http_page;
int apiform_page(const struct http_req *req, struct http_reply *rep, struct http_page *pg,
		 const char *const *sorts);
/* Appends o (a new reference, may be NULL) to rows: 0 or ENOMEM. */
int apiform_append(json_t *rows, json_t *o);
/* 500 "Requested operation failed" after a store error, logged with what. */
void apiform_store_failed(struct http_reply *rep, const char *what, int err);
/* Replies to a search with rows (taken): the data as such, or inside the
 * pagination envelope when the request had one (pg->given); when err, the
 * store failure instead (apiform_store_failed) and rows dropped. */
void apiform_reply_rows(struct http_reply *rep, const char *what, int err,
			const struct http_page *pg, uint64_t total, json_t *rows);
/* `_id`, or `id_` as the docs' tables spell it. 0, or an errno with rep
 * filled ("Field '_id':value is missing" when absent). */
int apiform_id(const struct http_req *req, struct http_reply *rep, char *buf, size_t sz);

#endif
