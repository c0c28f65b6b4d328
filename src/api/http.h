/* http: the REST API's HTTP/1.1 server (libmicrohttpd, driven from the libre
 * loop) and its router. It serves /api/v4/<path> and the alias /api/<path>,
 * authenticates through apiauth, hands route handlers a parsed JSON body and
 * wraps their answer in Simotel's envelope:
 *   {"success":1,"message":"...","data":...}  or  {"success":0,"message":"..."}
 * Not for the routes themselves: those live in routes_*.c and register here.
 *
 * Errors the server answers itself, before a handler runs (spec §1.4):
 *   404 path outside /api/ (plain text)   501 no route for the path under /api/
 *   405 the path exists, not the method   415 body without application/json
 *                                             (upload routes: multipart/form-data)
 *   413 body over http.max_body           403 address not allowed
 *   401 credentials missing or wrong      403 account lacks the route's permission
 *   429 too many failed logins            400 body is not a JSON object
 * Everything runs on the main thread; handlers are synchronous. */
#ifndef TAMAS_API_HTTP_H
#define TAMAS_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http;
struct apiauth;
struct sa;
/* jansson's type, declared here so that this header needs neither
 * <jansson.h> nor <re.h> (see core/rejansson.h). */
typedef struct json_t json_t;

struct http_conf {
	const struct sa *laddr;     /* http.bind, http.port (copied) */
	size_t max_body;            /* http.max_body: bytes; more gets 413 */
	uint32_t timeout_s;         /* http.timeout: an idle connection is closed after */
	uint32_t max_conns;         /* http.max_connections */
	const char *tls_cert;       /* http.tls_cert, http.tls_key: PEM files; */
	const char *tls_key;        /*   both NULL = plain HTTP */
};

/* Listens at once. On error returns errno with a one-line reason in err. */
int http_alloc(struct http **hp, const struct http_conf *cf, struct apiauth *auth,
	       char *err, size_t errsz);
/* Whether this libmicrohttpd was built with TLS. */
bool http_tls_supported(void);

/* The part named "file" of a multipart/form-data body (spec §1.6). */
struct http_upload {
	const char *filename;       /* the client's name for it; "" if none given */
	const char *ctype;          /* the part's Content-Type; "" if none given */
	const uint8_t *data;
	size_t len;
};

/* What a handler gets; valid for the duration of the call. */
struct http_req {
	const char *method;         /* "POST", "PUT", ... */
	const char *path;           /* the route path: "pbx/users/add" */
	json_t *body;               /* the body, a JSON object; NULL when empty. Borrowed */
	const struct sa *peer;      /* remote address and port */
	const char *user;           /* the authenticated API account */
	const struct http_upload *file;  /* upload routes: the "file" part, NULL if absent */
};

/* What a handler fills, with exactly one of the http_reply_* calls. A
 * handler that fills none answers 500 "Requested operation failed". */
struct http_reply;

typedef void (http_route_h)(const struct http_req *req, struct http_reply *rep, void *arg);

/* Adds a route: method "POST" (etc.), path "pbx/users/add" (no leading '/',
 * no prefix), perm the permission an account needs (NULL = the path itself;
 * spec §3). The same path may be added once per method. EALREADY if
 * method+path exist. Strings are copied; arg must outlive h. */
int http_route_add(struct http *h, const char *method, const char *path,
		   const char *perm, http_route_h *rh, void *arg);

/* Adds a POST route whose body is multipart/form-data instead of JSON
 * (spec §1.6): the handler gets the part named "file" in req->file and no
 * body. max_body (bytes, the whole request) replaces http.max_body for it;
 * more gets 413. A body that is not well-formed multipart gets 400. */
int http_route_add_upload(struct http *h, const char *path, const char *perm,
			  size_t max_body, http_route_h *rh, void *arg);

/* 200 {"success":1,"message":message,"data":data}. Takes the reference to
 * data (NULL gives null); message NULL gives null. */
void http_reply_ok(struct http_reply *rep, const char *message, json_t *data);
/* 200 {"success":0,"message":...,"data":null}: the operation was refused
 * (validation or business error, spec §1.4); name the field in the text. */
void http_reply_fail(struct http_reply *rep, const char *fmt, ...);
/* An HTTP error status (4xx/5xx) with {"success":0,"message":...}. */
void http_reply_error(struct http_reply *rep, uint16_t status, const char *fmt, ...);

/* 200 with a file as the body instead of the envelope (download endpoints,
 * spec §1.6): Content-Type ctype, Content-Disposition attachment with name's
 * last component as the filename. Takes fd (an open regular file of size
 * bytes, read from offset 0) in every case. */
void http_reply_file(struct http_reply *rep, int fd, uint64_t size, const char *ctype,
		     const char *name);
/* 404 with the web server's plain "Not Found" body and no envelope (a
 * download whose file does not exist, spec §1.4). */
void http_reply_not_found(struct http_reply *rep);
/* --- answering later --------------------------------------------------------- */

/* For a handler whose work goes on after it returns (an upload being
 * converted on the loop): the request waits, its connection suspended,
 * until the returned object is released. Fill the answer through
 * http_deferred_reply; mem_deref sends it (500 "Requested operation
 * failed" if none was filled). After this the handler must not touch rep.
 * NULL when out of memory (answer at once then). If the server goes away
 * first, the object just stays until released. */
struct http_deferred;
struct http_deferred *http_reply_defer(struct http_reply *rep);
struct http_reply *http_deferred_reply(struct http_deferred *d);

/* --- reading the body, with Simotel's messages (all fail rep themselves) --- */

/* Member name as text: a JSON string as is, an integer or real in decimal
 * (spec §1.7 sends numbers as strings and vice versa). Returns 0; ENOENT
 * when absent, null or "" (and if required, rep fails with
 * "Field 'name':value is missing"); EINVAL when of another type or longer
 * than sz-1 bytes (rep fails naming the field). On ENOENT buf is "". */
int http_arg_str(const struct http_req *req, struct http_reply *rep, const char *name,
		 bool required, char *buf, size_t sz);
/* true/false, "true"/"false", "yes"/"no", 1/0, "1"/"0". Same returns. */
int http_arg_bool(const struct http_req *req, struct http_reply *rep, const char *name,
		  bool required, bool *out);

/* Search pagination (spec §1.5): body.pagination = {start, count,
 * sorting: {field: 1|-1}}. Defaults start 0, count 20; count at most 1000. */
struct http_page {
	bool given;                 /* the body had a pagination member */
	uint32_t start, count;
	char sort[32];              /* field name; "" = the endpoint's default */
	int dir;                    /* 1 ascending, -1 descending, 0 when sort is "" */
};
int http_arg_page(const struct http_req *req, struct http_reply *rep, struct http_page *pg);
/* {"pagination":{start,count,sorting,total},"data":rows}; takes rows. */
json_t *http_page_data(const struct http_page *pg, uint64_t total, json_t *rows);

#endif
