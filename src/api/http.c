/* http: libmicrohttpd in external-epoll mode on the libre loop. MHD owns the
 * sockets and the HTTP parsing; its epoll fd is registered with fd_listen,
 * MHD_run runs on readiness, and a libre timer covers MHD_get_timeout
 * (connection timeouts, and the 0 ms "more buffered work" case of epoll's
 * edge-triggered mode). This file is transport, router and envelope only. */
#include "core/rejansson.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include "api/apiauth.h"
#include "api/http.h"
#include "core/log.h"

enum {
	PEM_MAX = 1 << 20,
	PAGE_COUNT_DFLT = 20,
	PAGE_COUNT_MAX = 1000,
	/* Past this many discarded bytes of an oversized chunked body the
	 * connection is dropped instead of read to the end for a 413. */
	DISCARD_FACTOR = 4,
};

struct route {
	struct le le;
	char *method;
	char *path;
	char *perm;
	http_route_h *h;
	void *arg;
	bool upload;                   /* multipart/form-data body */
	size_t max_body;               /* upload routes: their own limit */
};

struct http {
	struct MHD_Daemon *d;
	struct list deferred;          /* answers still being worked on */
	int epfd;
	struct tmr tmr;
	struct list routes;
	struct apiauth *auth;
	size_t max_body;
	char *tls_cert, *tls_key;      /* PEM text; MHD reads it at start */
	char lasterr[256];             /* MHD's last log line, for http_alloc's error */
	unsigned log_last, log_supp;   /* for MHD's own (client-triggerable) lines */
};

struct http_reply {
	uint16_t status;
	bool filled;
	bool success;
	char *message;                 /* NULL = JSON null */
	json_t *data;
	bool plain;                    /* no envelope: file or plain 404 */
	bool has_file;
	int fd;                        /* has_file: the body */
	uint64_t fsize;
	char ctype[64];
	char disposition[300];
	struct http_deferred *deferred;  /* set by http_reply_defer */
	struct http *h;                /* for http_reply_defer */
	struct hreq *q;
};

/* One request (MHD's per-request con_cls). */
struct hreq {
	const struct route *rt;
	struct sa peer;
	char user[64];
	struct mbuf *body;
	size_t max_body;
	char boundary[80];             /* upload routes: "--" + the multipart boundary */
	size_t discarded;
	bool too_big;
	bool answered;                 /* a response went out before the body */
	bool suspended;                /* waiting for a deferred answer */
	bool final_ready;              /* final holds the deferred answer */
	bool final_sent;
	struct http_reply final;
};

struct http_deferred {
	struct le le;
	struct http *h;                /* NULL once the server went away */
	struct MHD_Connection *c;
	struct hreq *q;                /* a reference */
	struct http_reply rep;
};

/* --- replies ---------------------------------------------------------------- */

static void reply_clear(struct http_reply *rep)
{
	rep->message = mem_deref(rep->message);
	json_decref(rep->data);
	rep->data = NULL;
	if (rep->has_file)
		(void)close(rep->fd);
	rep->has_file = false;
	rep->plain = false;
}

void http_reply_ok(struct http_reply *rep, const char *message, json_t *data)
{
	if (!rep) {
		json_decref(data);
		return;
	}
	reply_clear(rep);
	rep->filled = true;
	rep->success = true;
	rep->status = 200;
	if (message)
		(void)str_dup(&rep->message, message);
	rep->data = data;
}

static void reply_vset(struct http_reply *rep, uint16_t status, const char *fmt, va_list ap)
{
	reply_clear(rep);
	rep->filled = true;
	rep->success = false;
	rep->status = status;
	(void)re_vsdprintf(&rep->message, fmt, ap);
}

void http_reply_fail(struct http_reply *rep, const char *fmt, ...)
{
	va_list ap;

	if (!rep)
		return;
	va_start(ap, fmt);
	reply_vset(rep, 200, fmt, ap);
	va_end(ap);
}

void http_reply_error(struct http_reply *rep, uint16_t status, const char *fmt, ...)
{
	va_list ap;

	if (!rep)
		return;
	va_start(ap, fmt);
	reply_vset(rep, status < 400 || status > 599 ? 500 : status, fmt, ap);
	va_end(ap);
}

void http_reply_file(struct http_reply *rep, int fd, uint64_t size, const char *ctype,
		     const char *name)
{
	const char *base = name ? strrchr(name, '/') : NULL;
	size_t n = 0;

	if (!rep) {
		(void)close(fd);
		return;
	}
	reply_clear(rep);
	rep->filled = true;
	rep->success = true;
	rep->status = 200;
	rep->plain = true;
	rep->has_file = true;
	rep->fd = fd;
	rep->fsize = size;
	str_ncpy(rep->ctype, ctype ? ctype : "application/octet-stream", sizeof(rep->ctype));
	base = base ? base + 1 : name ? name : "";
	n = (size_t)re_snprintf(rep->disposition, sizeof(rep->disposition),
				"attachment; filename=\"%s\"", base);
	/* A quote, backslash or control byte would end or break the header. */
	for (size_t i = 22; i + 1 < n && i < sizeof(rep->disposition); i++) {
		unsigned char c = (unsigned char)rep->disposition[i];

		if (c == '"' || c == '\\' || c < 0x20 || c == 0x7f)
			rep->disposition[i] = '_';
	}
}

void http_reply_not_found(struct http_reply *rep)
{
	if (!rep)
		return;
	reply_clear(rep);
	rep->filled = true;
	rep->success = false;
	rep->status = 404;
	rep->plain = true;
}

/* --- responses -------------------------------------------------------------- */

/* Takes body (malloc'd, as json_dumps returns it). */
static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *ctype,
			       char *body, const char *hname, const char *hvalue)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!body)
		return MHD_NO;           /* out of memory: MHD closes the connection */
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (hname && hvalue)
		(void)MHD_add_response_header(r, hname, hvalue);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* MHD reads the file as the client takes it and closes the fd. */
static enum MHD_Result respond_file(struct MHD_Connection *c, struct http_reply *rep)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_fd64(rep->fsize, rep->fd);
	if (!r)
		return MHD_NO;           /* rep still owns the fd */
	rep->has_file = false;
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rep->ctype);
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION, rep->disposition);
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static char *envelope(bool success, bool with_data, const char *message, json_t *data)
{
	json_t *o = json_object();
	char *s = NULL;

	if (!o)
		return NULL;
	if (!json_object_set_new(o, "success", json_integer(success))
	    && !json_object_set_new(o, "message", message ? json_string(message) : json_null())
	    && (!with_data || !json_object_set(o, "data", data ? data : json_null())))
		s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static enum MHD_Result respond_json(struct MHD_Connection *c, unsigned status, bool success,
				    const char *message, json_t *data, bool with_data,
				    const char *hname, const char *hvalue)
{
	return respond(c, status, "application/json; charset=utf-8",
		       envelope(success, with_data, message, data), hname, hvalue);
}

static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status,
				     const char *message)
{
	return respond_json(c, status, false, message, NULL, false, NULL, NULL);
}

/* --- routing ---------------------------------------------------------------- */

static void route_destructor(void *arg)
{
	struct route *r = arg;

	list_unlink(&r->le);
	mem_deref(r->method);
	mem_deref(r->path);
	mem_deref(r->perm);
}

static int route_add(struct http *h, const char *method, const char *path,
		     const char *perm, http_route_h *rh, void *arg, struct route **rp)
{
	struct route *r;
	struct le *le;
	int err;

	if (!h || !method || !*method || !path || !*path || *path == '/' || !rh)
		return EINVAL;
	for (le = h->routes.head; le; le = le->next) {
		const struct route *o = le->data;

		if (!strcmp(o->path, path) && !strcmp(o->method, method))
			return EALREADY;
	}
	r = mem_zalloc(sizeof(*r), route_destructor);
	if (!r)
		return ENOMEM;
	err = str_dup(&r->method, method);
	if (!err)
		err = str_dup(&r->path, path);
	if (!err)
		err = str_dup(&r->perm, perm ? perm : path);
	if (err) {
		mem_deref(r);
		return err;
	}
	r->h = rh;
	r->arg = arg;
	list_append(&h->routes, &r->le, r);
	if (rp)
		*rp = r;
	return 0;
}

int http_route_add(struct http *h, const char *method, const char *path,
		   const char *perm, http_route_h *rh, void *arg)
{
	return route_add(h, method, path, perm, rh, arg, NULL);
}

int http_route_add_upload(struct http *h, const char *path, const char *perm,
			  size_t max_body, http_route_h *rh, void *arg)
{
	struct route *r;
	int err;

	if (!max_body)
		return EINVAL;
	err = route_add(h, "POST", path, perm, rh, arg, &r);
	if (!err) {
		r->upload = true;
		r->max_body = max_body;
	}
	return err;
}

/* The route for method+path; *path_known tells a 405 from a 501. */
static const struct route *route_find(const struct http *h, const char *method,
				      const char *path, bool *path_known)
{
	struct le *le;

	*path_known = false;
	for (le = h->routes.head; le; le = le->next) {
		const struct route *r = le->data;

		if (strcmp(r->path, path))
			continue;
		*path_known = true;
		if (!strcmp(r->method, method))
			return r;
	}
	return NULL;
}

static void allow_list(const struct http *h, const char *path, char *buf, size_t sz)
{
	size_t len = 0;
	struct le *le;

	buf[0] = '\0';
	for (le = h->routes.head; le; le = le->next) {
		const struct route *r = le->data;
		int n;

		if (strcmp(r->path, path))
			continue;
		n = re_snprintf(buf + len, sz - len, "%s%s", len ? ", " : "", r->method);
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

/* "/api/v4/pbx/users/add" or "/api/pbx/users/add" → "pbx/users/add" in buf;
 * false when the URL is not under /api/. */
static bool api_path(const char *url, char *buf, size_t sz)
{
	const char *p;
	size_t n;

	if (!strncmp(url, "/api/v4/", 8))
		p = url + 8;
	else if (!strcmp(url, "/api/v4"))
		p = "";
	else if (!strncmp(url, "/api/", 5))
		p = url + 5;
	else if (!strcmp(url, "/api"))
		p = "";
	else
		return false;
	n = strlen(p);
	if (n && p[n - 1] == '/')
		n--;                     /* "pbx/users/add/" is the same service */
	if (n >= sz)
		n = 0;                   /* too long for any route: unknown */
	memcpy(buf, p, n);
	buf[n] = '\0';
	return true;
}

/* --- requests --------------------------------------------------------------- */

static bool is_json_type(const char *ct)
{
	size_t n;

	while (*ct == ' ')
		ct++;
	n = strcspn(ct, "; ");
	return n == 16 && !strncasecmp(ct, "application/json", 16);
}

/* "multipart/form-data; boundary=xyz" (maybe quoted) → "--xyz" in buf. */
static bool multipart_boundary(const char *ct, char *buf, size_t sz)
{
	const char *p;
	size_t n;

	while (*ct == ' ')
		ct++;
	n = strcspn(ct, "; ");
	if (n != 19 || strncasecmp(ct, "multipart/form-data", 19))
		return false;
	p = strcasestr(ct, "boundary=");
	if (!p)
		return false;
	p += 9;
	if (*p == '"')
		n = strcspn(++p, "\"");
	else
		n = strcspn(p, "; \t");
	if (!n || n > 70 || n + 3 > sz)
		return false;
	buf[0] = buf[1] = '-';
	memcpy(buf + 2, p, n);
	buf[n + 2] = '\0';
	return true;
}

static void reply_clear(struct http_reply *rep);

static void hreq_destructor(void *arg)
{
	struct hreq *q = arg;

	mem_deref(q->body);
	reply_clear(&q->final);
}

static void completed_h(void *cls, struct MHD_Connection *c, void **con_cls,
			enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	*con_cls = mem_deref(*con_cls);
}

static enum MHD_Result auth_refused(struct MHD_Connection *c, enum apiauth_result res,
				    const char *path)
{
	char msg[160];

	switch (res) {
	case APIAUTH_MISSING:
		return respond_json(c, 401, false, "BasicAuth or ApiKey is missing", NULL, false,
				    MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"tamas API\"");
	case APIAUTH_INVALID:
		return respond_json(c, 401, false, "BasicAuth or ApiKey is invalid", NULL, false,
				    MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"tamas API\"");
	case APIAUTH_IP_DENIED:
		return respond_error(c, 403, "IP is not permitted");
	case APIAUTH_PERM_DENIED:
		(void)re_snprintf(msg, sizeof(msg), "/%s;Access denied", path);
		return respond_error(c, 403, msg);
	case APIAUTH_BLOCKED:
		return respond_error(c, 429, "Too many failed logins; try again later");
	default:
		return respond_error(c, 500, "Requested operation failed");
	}
}

/* The first call for a request: headers only. Everything that needs no body
 * is decided here, so a refused client never gets to upload one. */
static enum MHD_Result request_begin(struct http *h, struct MHD_Connection *c,
				     const char *url, const char *method, void **con_cls)
{
	const union MHD_ConnectionInfo *ci;
	const char *ctype, *clen, *te, *auth, *key;
	const struct route *rt;
	enum apiauth_result res;
	char path[256], allow[64];
	bool known, has_body;
	struct hreq *q;

	q = mem_zalloc(sizeof(*q), hreq_destructor);
	if (!q)
		return MHD_NO;
	*con_cls = q;
	q->answered = true;          /* until the request is accepted below */
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr)
		(void)sa_set_sa(&q->peer, ci->client_addr);

	if (!api_path(url, path, sizeof(path)))
		return respond(c, 404, "text/plain; charset=utf-8", strdup("Not Found\n"),
			       NULL, NULL);
	rt = route_find(h, method, path, &known);
	if (!known)
		return respond_error(c, 501, "Requested service does not exist");
	if (!rt) {
		allow_list(h, path, allow, sizeof(allow));
		return respond_json(c, 405, false, "Method not allowed", NULL, false,
				    MHD_HTTP_HEADER_ALLOW, allow);
	}
	ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	has_body = (clen && strtoull(clen, NULL, 10) > 0) || te;
	if (rt->upload) {
		if (!ctype || !multipart_boundary(ctype, q->boundary, sizeof(q->boundary)))
			return respond_error(c, 415, "Unsupported Media Type: expected "
					     "multipart/form-data with a boundary");
	}
	else if ((ctype && !is_json_type(ctype)) || (!ctype && has_body))
		return respond_error(c, 415, "Unsupported Media Type");
	q->max_body = rt->upload ? rt->max_body : h->max_body;
	if (clen && strtoull(clen, NULL, 10) > q->max_body)
		return respond_error(c, 413, "Request body too large");

	auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-APIKEY");
	res = apiauth_check(h->auth, &q->peer, auth, key, rt->perm, q->user, sizeof(q->user));
	if (res != APIAUTH_OK) {
		if (res == APIAUTH_PERM_DENIED)
			log_info("http: permission denied (ip=%j user=%s method=%s path=%s)",
				 &q->peer, q->user, method, path);
		return auth_refused(c, res, rt->path);
	}
	q->rt = rt;
	q->answered = false;
	return MHD_YES;
}

/* Whitespace only counts as no body. */
static bool blank(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

/* A header parameter: 'name="v"' or 'name=v' after a ';' in the
 * header value [p, end). Writes v to buf; false if absent. */
static bool header_param(const char *p, const char *end, const char *name, char *buf,
			 size_t sz)
{
	size_t nlen = strlen(name);

	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *v;
		size_t n;

		if (!semi)
			return false;
		p = semi + 1;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(end - p) <= nlen || strncasecmp(p, name, nlen) || p[nlen] != '=')
			continue;
		v = p + nlen + 1;
		if (v < end && *v == '"') {
			const char *q;

			++v;
			q = memchr(v, '"', (size_t)(end - v));

			if (!q)
				return false;
			n = (size_t)(q - v);
		}
		else {
			n = 0;
			while (v + n < end && v[n] != ';' && v[n] != ' ')
				n++;
		}
		if (n >= sz)
			n = sz - 1;         /* a long client file name is cut, not refused */
		memcpy(buf, v, n);
		buf[n] = '\0';
		return true;
	}
	return false;
}

/* Finds the part named "file" in a multipart/form-data body (RFC 7578).
 * EBADMSG when the body is not well-formed; *found false when no such
 * part. Names point into the caller's buffers, data into body. */
static int multipart_file(const uint8_t *body, size_t len, const char *delim,
			  struct http_upload *up, char *fname, size_t fsz, char *ctype,
			  size_t csz, bool *found)
{
	const size_t dlen = strlen(delim);
	const uint8_t *end = body + len, *p;

	*found = false;
	p = memmem(body, len, delim, dlen);
	if (!p)
		return EBADMSG;
	for (;;) {
		const uint8_t *hdr, *hend, *next, *line;
		char name[64] = "", pct[128] = "";
		bool is_file = false;

		p += dlen;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return 0;               /* the closing delimiter */
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return EBADMSG;
		hdr = p + 2;
		hend = memmem(hdr, (size_t)(end - hdr), "\r\n\r\n", 4);
		if (!hend && end - hdr >= 2 && hdr[0] == '\r' && hdr[1] == '\n')
			hend = hdr - 2;         /* a part without headers */
		if (!hend)
			return EBADMSG;
		for (line = hdr; line < hend;) {
			const uint8_t *eol = memmem(line, (size_t)(hend - line), "\r\n", 2);
			const char *l = (const char *)line;
			const char *le = (const char *)(eol ? eol : hend);

			if ((size_t)(le - l) > 20 && !strncasecmp(l, "Content-Disposition:", 20)) {
				if (header_param(l, le, "name", name, sizeof(name)) &&
				    !strcmp(name, "file")) {
					is_file = true;
					fname[0] = '\0';
					(void)header_param(l, le, "filename", fname, fsz);
				}
			}
			else if ((size_t)(le - l) > 13 && !strncasecmp(l, "Content-Type:", 13)) {
				size_t n;

				l += 13;
				while (l < le && *l == ' ')
					l++;
				n = MIN((size_t)(le - l), sizeof(pct) - 1);
				memcpy(pct, l, n);
				pct[n] = '\0';
			}
			line = (const uint8_t *)le + 2;
		}
		hend += 4;
		next = memmem(hend, (size_t)(end - hend), "\r\n", 2);
		/* The part ends at CRLF + delimiter. */
		for (;;) {
			if (!next)
				return EBADMSG;
			if ((size_t)(end - next) >= 2 + dlen && !memcmp(next + 2, delim, dlen))
				break;
			next = memmem(next + 2, (size_t)(end - next - 2), "\r\n", 2);
		}
		if (is_file && !*found) {
			*found = true;
			up->data = hend;
			up->len = (size_t)(next - hend);
			str_ncpy(ctype, pct, csz);
		}
		p = next + 2;
	}
}

static enum MHD_Result respond_reply(struct MHD_Connection *c, const struct hreq *q,
				     struct http_reply *rep)
{
	log_info("http: request (ip=%j user=%s method=%s path=%s status=%u success=%d)",
		 &q->peer, q->user, q->rt->method, q->rt->path, rep->status, rep->success);
	if (rep->has_file)
		return respond_file(c, rep);
	if (rep->plain)
		return respond(c, rep->status, "text/plain; charset=utf-8", strdup("Not Found\n"),
			       NULL, NULL);
	return respond_json(c, rep->status, rep->success, rep->message, rep->data,
			    rep->status == 200, NULL, NULL);
}

static enum MHD_Result respond_final(struct MHD_Connection *c, struct hreq *q)
{
	q->final_sent = true;
	return respond_reply(c, q, &q->final);
}

static void poll_tmr_h(void *arg);

static void deferred_destructor(void *arg)
{
	struct http_deferred *d = arg;
	struct hreq *q = d->q;

	list_unlink(&d->le);
	if (!d->rep.filled)
		http_reply_error(&d->rep, 500, "Requested operation failed");
	/* The answer moves to the request; MHD asks for it once resumed. */
	reply_clear(&q->final);
	q->final = d->rep;
	q->final_ready = true;
	if (d->h && q->suspended) {
		q->suspended = false;
		MHD_resume_connection(d->c);
		tmr_start(&d->h->tmr, 0, poll_tmr_h, d->h);
	}
	mem_deref(q);
}

struct http_deferred *http_reply_defer(struct http_reply *rep)
{
	struct http_deferred *d;

	if (!rep || !rep->h || !rep->q || rep->deferred)
		return NULL;
	d = mem_zalloc(sizeof(*d), deferred_destructor);
	if (!d)
		return NULL;
	d->h = rep->h;
	d->q = mem_ref(rep->q);
	d->rep.status = 500;
	list_append(&d->h->deferred, &d->le, d);
	rep->deferred = d;
	return d;
}

struct http_reply *http_deferred_reply(struct http_deferred *d)
{
	return d ? &d->rep : NULL;
}

static enum MHD_Result request_run(struct http *h, struct MHD_Connection *c, struct hreq *q,
				   const char *method)
{
	struct http_reply rep = { .status = 500, .h = h, .q = q };
	struct http_req req = {
		.method = method, .path = q->rt->path, .peer = &q->peer, .user = q->user,
	};
	enum MHD_Result ret;
	json_error_t jerr;
	char msg[256], fname[256] = "", ctype[128] = "";
	struct http_upload up = { .filename = fname, .ctype = ctype };
	bool found = false;

	if (q->too_big)
		return respond_error(c, 413, "Request body too large");
	if (q->rt->upload) {
		if (q->body && multipart_file(q->body->buf, q->body->end, q->boundary, &up, fname,
					      sizeof(fname), ctype, sizeof(ctype), &found))
			return respond_error(c, 400, "Unable to parse content: not a well-formed "
					     "multipart/form-data body");
		req.file = found ? &up : NULL;
	}
	else if (q->body && !blank(q->body->buf, q->body->end)) {
		req.body = json_loadb((const char *)q->body->buf, q->body->end,
				      JSON_REJECT_DUPLICATES, &jerr);
		if (!req.body) {
			(void)re_snprintf(msg, sizeof(msg), "Unable to parse content: %s (line %d "
					  "column %d)", jerr.text, jerr.line, jerr.column);
			return respond_error(c, 400, msg);
		}
		if (!json_is_object(req.body)) {
			json_decref(req.body);
			return respond_error(c, 400, "Unable to parse content: the body must be a "
					     "JSON object");
		}
	}
	q->rt->h(&req, &rep, q->rt->arg);
	json_decref(req.body);
	if (rep.deferred) {
		reply_clear(&rep);
		if (q->final_ready)     /* released before the handler returned */
			return respond_final(c, q);
		rep.deferred->c = c;
		q->suspended = true;
		MHD_suspend_connection(c);
		return MHD_YES;
	}
	if (!rep.filled)
		http_reply_error(&rep, 500, "Requested operation failed");
	ret = respond_reply(c, q, &rep);
	reply_clear(&rep);
	return ret;
}

static enum MHD_Result access_h(void *cls, struct MHD_Connection *c, const char *url,
				const char *method, const char *version,
				const char *upload_data, size_t *upload_data_size,
				void **con_cls)
{
	struct http *h = cls;
	struct hreq *q = *con_cls;
	(void)version;

	if (!q)
		return request_begin(h, c, url, method, con_cls);
	if (q->final_ready && !q->final_sent)
		return respond_final(c, q);     /* resumed: the deferred answer */
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (q->answered)
			return MHD_YES;
		if (q->too_big || (q->body ? q->body->end : 0) + n > q->max_body) {
			/* Chunked bodies have no Content-Length to refuse early. */
			q->too_big = true;
			q->discarded += n;
			return q->discarded > DISCARD_FACTOR * q->max_body ? MHD_NO : MHD_YES;
		}
		if (!q->body && !(q->body = mbuf_alloc(n < 1024 ? 1024 : n)))
			return MHD_NO;
		return mbuf_write_mem(q->body, (const uint8_t *)upload_data, n) ? MHD_NO
										 : MHD_YES;
	}
	if (q->answered)
		return MHD_YES;
	q->answered = true;
	return request_run(h, c, q, method);
}

/* --- the loop ----------------------------------------------------------------- */

static void http_poll(struct http *h);

static void poll_tmr_h(void *arg)
{
	http_poll(arg);
}

static void poll_fd_h(int flags, void *arg)
{
	(void)flags;
	http_poll(arg);
}

static void http_poll(struct http *h)
{
	MHD_UNSIGNED_LONG_LONG to;

	(void)MHD_run(h->d);
	if (MHD_get_timeout(h->d, &to) == MHD_YES)
		tmr_start(&h->tmr, (uint64_t)to, poll_tmr_h, h);
	else
		tmr_cancel(&h->tmr);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http *h = cls;
	size_t n;

	(void)vsnprintf(h->lasterr, sizeof(h->lasterr), fmt, ap);
	n = strlen(h->lasterr);
	while (n && (h->lasterr[n - 1] == '\n' || h->lasterr[n - 1] == '.'))
		h->lasterr[--n] = '\0';
	if (h->d)
		log_ratelimited(&h->log_last, &h->log_supp, "http: %s", h->lasterr);
}

static void destructor(void *arg)
{
	struct http *h = arg;

	tmr_cancel(&h->tmr);
	/* MHD cannot stop with suspended connections: let them go (their
	 * owners release the deferred answers later, into the void). */
	for (struct le *le = h->deferred.head; le; le = le->next) {
		struct http_deferred *d = le->data;

		d->h = NULL;
		if (d->q->suspended && h->d) {
			d->q->suspended = false;
			MHD_resume_connection(d->c);
		}
	}
	while (h->deferred.head)
		list_unlink(h->deferred.head);
	if (h->epfd >= 0)
		fd_close(h->epfd);       /* MHD owns and closes the fd itself */
	if (h->d)
		MHD_stop_daemon(h->d);
	list_flush(&h->routes);
	mem_deref(h->tls_cert);
	mem_deref(h->tls_key);
}

bool http_tls_supported(void)
{
	return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

static int pem_read(const char *path, char **out, const char *key, char *err, size_t errsz)
{
	FILE *f = fopen(path, "rb");
	size_t n;
	char *buf;
	int e;

	if (!f) {
		e = errno;
		(void)re_snprintf(err, errsz, "%s %s: %m", key, path, e);
		return e;
	}
	buf = mem_zalloc(PEM_MAX + 1, NULL);
	n = buf ? fread(buf, 1, PEM_MAX, f) : 0;
	e = !buf ? ENOMEM : ferror(f) ? EIO : (n == 0 || n == PEM_MAX) ? EINVAL : 0;
	fclose(f);
	if (e) {
		(void)re_snprintf(err, errsz, "%s %s: %s", key, path, e == EINVAL ?
				  "empty or larger than 1 MiB" : "cannot read");
		mem_deref(buf);
		return e;
	}
	*out = buf;
	return 0;
}

int http_alloc(struct http **hp, const struct http_conf *cf, struct apiauth *auth,
	       char *err, size_t errsz)
{
	const union MHD_DaemonInfo *di;
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	struct http *h;
	int e = 0;

	if (!hp || !cf || !auth || !cf->laddr || !sa_isset(cf->laddr, SA_ALL))
		return EINVAL;
	h = mem_zalloc(sizeof(*h), destructor);
	if (!h)
		return ENOMEM;
	h->epfd = -1;
	h->auth = auth;
	h->max_body = cf->max_body;
	tmr_init(&h->tmr);
	if (!!cf->tls_cert != !!cf->tls_key) {
		(void)re_snprintf(err, errsz, "http.tls_cert and http.tls_key go together");
		e = EINVAL;
		goto out;
	}
	if (cf->tls_cert) {
		if (!http_tls_supported()) {
			(void)re_snprintf(err, errsz, "http.tls_cert: this libmicrohttpd has no TLS");
			e = ENOTSUP;
			goto out;
		}
		e = pem_read(cf->tls_cert, &h->tls_cert, "http.tls_cert", err, errsz);
		if (!e)
			e = pem_read(cf->tls_key, &h->tls_key, "http.tls_key", err, errsz);
		if (e)
			goto out;
		flags |= MHD_USE_TLS;
	}
	if (sa_af(cf->laddr) == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	h->d = MHD_start_daemon(flags, sa_port(cf->laddr), NULL, NULL, access_h, h,
				MHD_OPTION_SOCK_ADDR, &cf->laddr->u.sa,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cf->timeout_s,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cf->max_conns,
				MHD_OPTION_NOTIFY_COMPLETED, completed_h, h,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
				cf->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
				h->tls_cert,
				MHD_OPTION_HTTPS_MEM_KEY, h->tls_key,
				MHD_OPTION_END);
	if (!h->d) {
		e = errno ? errno : EADDRNOTAVAIL;
		(void)re_snprintf(err, errsz, "http: cannot listen on %J: %s", cf->laddr,
				  h->lasterr[0] ? h->lasterr : strerror(e));
		goto out;
	}
	di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!di || di->epoll_fd < 0) {
		(void)re_snprintf(err, errsz, "http: libmicrohttpd gave no epoll fd");
		e = ENOTSUP;
		goto out;
	}
	e = fd_listen(di->epoll_fd, FD_READ, poll_fd_h, h);
	if (e) {
		(void)re_snprintf(err, errsz, "http: cannot watch the server: %m", e);
		goto out;
	}
	h->epfd = di->epoll_fd;
	http_poll(h);
	log_info("http: listening (addr=%J tls=%s max_body=%zu)", cf->laddr,
		 cf->tls_cert ? "yes" : "no", cf->max_body);
 out:
	if (e)
		mem_deref(h);
	else
		*hp = h;
	return e;
}

/* --- body helpers ------------------------------------------------------------- */

static json_t *member(const struct http_req *req, const char *name)
{
	return req && req->body ? json_object_get(req->body, name) : NULL;
}

int http_arg_str(const struct http_req *req, struct http_reply *rep, const char *name,
		 bool required, char *buf, size_t sz)
{
	json_t *v = member(req, name);
	int n;

	if (!buf || !sz)
		return EINVAL;
	buf[0] = '\0';
	if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v))) {
		if (required)
			http_reply_fail(rep, "Field '%s':value is missing", name);
		return ENOENT;
	}
	if (json_is_string(v)) {
		if (json_string_length(v) >= sz || strlen(json_string_value(v))
		    != json_string_length(v)) {
			http_reply_fail(rep, "Field '%s': too long or not text (at most %zu bytes)",
					name, sz - 1);
			return EINVAL;
		}
		memcpy(buf, json_string_value(v), json_string_length(v) + 1);
		return 0;
	}
	if (json_is_integer(v))
		n = snprintf(buf, sz, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		n = snprintf(buf, sz, "%.17g", json_real_value(v));
	else {
		http_reply_fail(rep, "Field '%s': expected a string", name);
		return EINVAL;
	}
	if (n < 0 || (size_t)n >= sz) {
		buf[0] = '\0';
		http_reply_fail(rep, "Field '%s': too long", name);
		return EINVAL;
	}
	return 0;
}

int http_arg_bool(const struct http_req *req, struct http_reply *rep, const char *name,
		  bool required, bool *out)
{
	json_t *v = member(req, name);
	const char *s;

	if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v))) {
		if (required)
			http_reply_fail(rep, "Field '%s':value is missing", name);
		return ENOENT;
	}
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
		*out = json_integer_value(v) == 1;
		return 0;
	}
	s = json_string_value(v);
	if (s && (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "1"))) {
		*out = true;
		return 0;
	}
	if (s && (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "0"))) {
		*out = false;
		return 0;
	}
	http_reply_fail(rep, "Field '%s': expected true or false", name);
	return EINVAL;
}

/* A non-negative integer given as a number or a decimal string. */
static int page_num(json_t *v, uint32_t max, uint32_t *out)
{
	json_int_t n;
	char *end;

	if (json_is_integer(v))
		n = json_integer_value(v);
	else if (json_is_string(v) && json_string_length(v) && json_string_length(v) < 12) {
		n = strtoll(json_string_value(v), &end, 10);
		if (*end)
			return EINVAL;
	}
	else
		return EINVAL;
	if (n < 0 || n > max)
		return EINVAL;
	*out = (uint32_t)n;
	return 0;
}

int http_arg_page(const struct http_req *req, struct http_reply *rep, struct http_page *pg)
{
	json_t *p = member(req, "pagination"), *v, *sorting;
	const char *field;
	json_t *dir;

	memset(pg, 0, sizeof(*pg));
	pg->count = PAGE_COUNT_DFLT;
	if (!p || json_is_null(p))
		return 0;
	if (!json_is_object(p)) {
		http_reply_fail(rep, "Field 'pagination': expected an object");
		return EINVAL;
	}
	pg->given = true;
	v = json_object_get(p, "start");
	if (v && !json_is_null(v) && page_num(v, UINT32_MAX / 2, &pg->start)) {
		http_reply_fail(rep, "Field 'pagination.start': expected a number >= 0");
		return EINVAL;
	}
	v = json_object_get(p, "count");
	if (v && !json_is_null(v) && (page_num(v, PAGE_COUNT_MAX, &pg->count) || !pg->count)) {
		http_reply_fail(rep, "Field 'pagination.count': expected a number 1..%u",
				PAGE_COUNT_MAX);
		return EINVAL;
	}
	sorting = json_object_get(p, "sorting");
	if (!sorting || json_is_null(sorting) || (json_is_object(sorting)
						  && !json_object_size(sorting)))
		return 0;
	if (!json_is_object(sorting) || json_object_size(sorting) != 1) {
		http_reply_fail(rep, "Field 'pagination.sorting': expected {\"field\": 1 or -1}");
		return EINVAL;
	}
	json_object_foreach(sorting, field, dir) {
		json_int_t d = json_is_integer(dir) ? json_integer_value(dir)
			: json_is_string(dir) ? strtoll(json_string_value(dir), NULL, 10) : 0;

		if ((d != 1 && d != -1) || strlen(field) >= sizeof(pg->sort) || !*field) {
			http_reply_fail(rep, "Field 'pagination.sorting': expected {\"field\": 1 "
					"or -1}");
			return EINVAL;
		}
		str_ncpy(pg->sort, field, sizeof(pg->sort));
		pg->dir = (int)d;
	}
	return 0;
}

json_t *http_page_data(const struct http_page *pg, uint64_t total, json_t *rows)
{
	json_t *sorting = json_object();

	if (sorting && pg->sort[0])
		(void)json_object_set_new(sorting, pg->sort, json_integer(pg->dir));
	return json_pack("{s:{s:I,s:I,s:o,s:I},s:o}", "pagination",
			 "start", (json_int_t)pg->start, "count", (json_int_t)pg->count,
			 "sorting", sorting ? sorting : json_object(),
			 "total", (json_int_t)total, "data", rows ? rows : json_array());
}
