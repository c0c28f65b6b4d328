/* routes_reports: the REST API's CDR reports (spec §2.11, §1.5, §1.6):
 * reports/quick/search (alias reports/cdr), reports/cdr/search,
 * reports/cdr/ordered/id, reports/quick/info and reports/audio/download,
 * over store/cdrrep. Not the queue, agent or poll reports (tamas keeps no
 * such rows yet). Each route's permission is its own path (spec §3); the
 * reports/cdr alias needs reports/quick/search. */
#ifndef TAMAS_API_ROUTES_REPORTS_H
#define TAMAS_API_ROUTES_REPORTS_H

struct http;
struct store;
struct callhook;

/* What the routes work on; the caller owns it and it must outlive h. */
struct routes_reports {
	struct store *store;
	/* Simotel's call type and trunk names of a row (callhook_cdr_type);
	 * NULL: every call is "local". */
	const struct callhook *callhook;
	/* media.recordings_dir: downloads never leave it. */
	const char *recordings_dir;
};

/* Adds the routes to h and the call-type SQL function to the store. */
int routes_reports_register(struct http *h, struct routes_reports *rr);

#endif
