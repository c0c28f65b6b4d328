/* cdrrep: read-only queries over the cdr table for the reports API (spec
 * §2.11): filtered, sorted, paginated search; one row by id; cursor paging
 * by id. Writing CDRs is store.c's and cdrq's business, not this file's.
 * Every value reaches SQL as a bound parameter; sort columns come from a
 * fixed list. Main thread only. */
#ifndef TAMAS_STORE_CDRREP_H
#define TAMAS_STORE_CDRREP_H

#include <stdbool.h>
#include <stdint.h>

struct store;

/* One row; strings are never NULL ("" when the column is NULL) and are
 * valid during the callback only. Times are UTC "YYYY-MM-DD HH:MM:SS". */
struct cdrrep_row {
	int64_t id;
	const char *start, *answer, *end;
	const char *clid, *src, *dst, *dcontext, *channel, *dstchannel;
	const char *lastapp, *lastdata, *disposition, *accountcode;
	const char *uniqueid, *linkedid, *userfield, *recordingfile, *originated_call_id;
	int64_t duration, billsec, amaflags, sequence;
};
typedef int (cdrrep_row_h)(const struct cdrrep_row *r, void *arg);

/* Simotel's call type of a row ("incoming", "outgoing", "local", ...), for
 * the type filter: the caller knows which channels are trunks. */
typedef const char *(cdrrep_type_h)(const char *channel, const char *dstchannel,
				     const char *dst, void *arg);
/* Installs h as the SQL function the type filter uses; h and arg must
 * outlive the store (or be replaced). Without it a query with .type fails. */
int cdrrep_set_type_h(struct store *st, cdrrep_type_h *h, void *arg);

enum cdrrep_sort {
	CDRREP_SORT_START,          /* the default */
	CDRREP_SORT_END,
	CDRREP_SORT_ANSWER,
	CDRREP_SORT_DURATION,
	CDRREP_SORT_BILLSEC,
	CDRREP_SORT_SRC,
	CDRREP_SORT_DST,
	CDRREP_SORT_DISPOSITION,
	CDRREP_SORT_UNIQUEID,
	CDRREP_SORT_ID,
};

/* NULL or "" members do not filter. */
struct cdrrep_query {
	const char *from, *to;      /* start >= from, start <= to (the table's format) */
	const char *src;            /* caller */
	const char *dst;            /* callee */
	const char *number;         /* src or dst */
	const char *cuid;           /* uniqueid or linkedid (always exact) */
	const char *disposition;    /* exact, e.g. "NO ANSWER" */
	const char *type;           /* exact, through the type function */
	bool alike;                 /* src/dst/number as substrings (ASCII case-insensitive) */
	enum cdrrep_sort sort;
	bool desc;
	uint32_t start;             /* rows to skip */
	uint32_t count;             /* 0 = no limit */
};
/* The matching rows in order (id breaks ties, in the same direction), from
 * q->start; *total = matches overall. EINVAL for a bad sort value. */
int cdrrep_search(struct store *st, const struct cdrrep_query *q, uint64_t *total,
		  cdrrep_row_h *h, void *arg);

/* Row id. ENOENT when there is none. */
int cdrrep_get(struct store *st, int64_t id, cdrrep_row_h *h, void *arg);

/* Up to n rows with id > after (0 = from the first), ascending by id. */
int cdrrep_after(struct store *st, int64_t after, uint32_t n, cdrrep_row_h *h, void *arg);

#endif
