/* httpc: libcurl's multi interface driven by libre: CURLMOPT_SOCKETFUNCTION
 * -> fd_listen, CURLMOPT_TIMERFUNCTION -> tmr, so a slow or dead server
 * never holds the loop. Requests are owned by their callers; the client only
 * lists the ones in flight. */
#include <errno.h>
#include <string.h>
#include <curl/curl.h>
#include <re.h>
#include "api/httpc.h"

enum {
	DEFAULT_TIMEOUT_MS = 5000,
	DEFAULT_MAX_REPLY = 65536,
};

struct httpc {
	CURLM *multi;
	bool curl_inited;
	struct list reqs;            /* struct httpc_req in flight (not referenced) */
	struct list socks;           /* struct hsock */
	struct tmr tmr;              /* curl's timeout */
};

struct httpc_req {
	struct le le;
	struct httpc *hc;            /* NULL once finished or cancelled */
	CURL *easy;
	struct curl_slist *hdrs;
	char *url, *body, *userpwd;
	struct mbuf *reply;
	size_t max_reply;
	bool discard, too_big;
	httpc_done_h *h;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
};

struct hsock {
	struct le le;
	struct httpc *hc;
	curl_socket_t fd;
};

/* --- requests ------------------------------------------------------------ */

/* Takes the request out of curl and the client's list; idempotent. */
static void req_detach(struct httpc_req *r)
{
	if (r->easy) {
		if (r->hc)
			(void)curl_multi_remove_handle(r->hc->multi, r->easy);
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	list_unlink(&r->le);
	r->hc = NULL;
}

static void req_destructor(void *arg)
{
	struct httpc_req *r = arg;

	req_detach(r);
	curl_slist_free_all(r->hdrs);
	mem_deref(r->url);
	mem_deref(r->body);
	mem_deref(r->userpwd);
	mem_deref(r->reply);
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct httpc_req *r = arg;
	size_t n = size * nmemb;

	if (r->discard)
		return n;
	if (r->reply->end + n > r->max_reply) {
		r->too_big = true;
		return 0;            /* curl fails the transfer with CURLE_WRITE_ERROR */
	}
	return mbuf_write_mem(r->reply, (const uint8_t *)ptr, n) ? 0 : n;
}

static int errno_of(CURLcode rc, bool too_big)
{
	switch (rc) {
	case CURLE_OK:                   return 0;
	case CURLE_OPERATION_TIMEDOUT:   return ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:      return ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST: return EHOSTUNREACH;
	case CURLE_WRITE_ERROR:          return too_big ? EFBIG : EIO;
	default:                         return EIO;
	}
}

static void req_finish(struct httpc_req *r, CURLcode rc)
{
	struct httpc_resp resp = { .error = "" };
	int err = errno_of(rc, r->too_big);

	if (rc == CURLE_OK)
		(void)curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &resp.status);
	else
		resp.error = r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);
	if (r->too_big)
		resp.error = "reply too long";
	/* NUL-terminate without counting it, so body reads as a string. */
	if (!mbuf_write_u8(r->reply, 0)) {
		r->reply->end--;
		resp.body = (const char *)r->reply->buf;
		resp.len = r->reply->end;
	}
	else {
		resp.body = "";
		if (!err)
			err = ENOMEM;
	}
	/* Out of curl first: the handler may free r. errbuf stays with r. */
	if (r->hc)
		(void)curl_multi_remove_handle(r->hc->multi, r->easy);
	list_unlink(&r->le);
	r->hc = NULL;
	r->h(err, &resp, r->arg);
}

static void reap(struct httpc *hc)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(hc->multi, &left)) != NULL) {
		struct httpc_req *r = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		(void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r)
			req_finish(r, m->data.result);
	}
}

static int userpwd_of(struct httpc_req *r, const struct httpc_opts *o)
{
	if (!str_isset(o->username))
		return 0;
	return re_sdprintf(&r->userpwd, "%s:%s", o->username, o->password ? o->password : "");
}

static int req_setup(struct httpc_req *r, const struct httpc_opts *o)
{
	CURL *e = r->easy;
	struct curl_slist *h;
	char ct[128];

	if (curl_easy_setopt(e, CURLOPT_URL, r->url) != CURLE_OK)
		return EINVAL;
	/* The configured URL is the target: no other scheme by redirect, and an
	 * http_proxy in the daemon's environment must not reroute calls. */
	if (curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK)
		return EINVAL;
	(void)curl_easy_setopt(e, CURLOPT_PROXY, "");
	(void)curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	(void)curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	(void)curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(o->timeout_ms ? o->timeout_ms
							      : DEFAULT_TIMEOUT_MS));
	(void)curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	(void)curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	(void)curl_easy_setopt(e, CURLOPT_USERAGENT, "tamas");
	if (r->userpwd) {
		(void)curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		(void)curl_easy_setopt(e, CURLOPT_USERPWD, r->userpwd);
	}
	if (!r->body) {
		(void)curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		return 0;
	}
	(void)re_snprintf(ct, sizeof(ct), "Content-Type: %s",
			  o->content_type ? o->content_type : "application/json");
	r->hdrs = curl_slist_append(NULL, ct);
	/* "Expect: 100-continue" would stall bodies over 1 KiB by a second on
	 * servers that do not answer it. */
	h = r->hdrs ? curl_slist_append(r->hdrs, "Expect:") : NULL;
	if (!h)
		return ENOMEM;
	r->hdrs = h;
	(void)curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
	(void)curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
	(void)curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
	return 0;
}

int httpc_send(struct httpc_req **reqp, struct httpc *hc, const struct httpc_opts *o,
	       httpc_done_h *h, void *arg)
{
	struct httpc_req *r;
	int err;

	if (!reqp || !hc || !o || !str_isset(o->url) || !h)
		return EINVAL;
	r = mem_zalloc(sizeof(*r), req_destructor);
	if (!r)
		return ENOMEM;
	r->h = h;
	r->arg = arg;
	r->max_reply = o->max_reply ? o->max_reply : DEFAULT_MAX_REPLY;
	r->discard = o->discard_reply;
	r->reply = mbuf_alloc(512);
	r->easy = curl_easy_init();
	if (!r->reply || !r->easy) {
		err = ENOMEM;
		goto out;
	}
	err = str_dup(&r->url, o->url);
	if (!err && o->body)
		err = str_dup(&r->body, o->body);
	if (!err)
		err = userpwd_of(r, o);
	if (!err)
		err = req_setup(r, o);
	if (err)
		goto out;
	if (curl_multi_add_handle(hc->multi, r->easy) != CURLM_OK) {
		err = ENOMEM;
		goto out;
	}
	r->hc = hc;
	list_append(&hc->reqs, &r->le, r);

 out:
	if (err)
		mem_deref(r);
	else
		*reqp = r;
	return err;
}

/* --- curl <-> libre loop ------------------------------------------------- */

static void hsock_destructor(void *arg)
{
	struct hsock *s = arg;

	list_unlink(&s->le);
	fd_close((int)s->fd);
}

static void sock_fd_h(int flags, void *arg)
{
	struct hsock *s = arg;
	struct httpc *hc = mem_ref(s->hc);  /* a handler may free the client */
	curl_socket_t fd = s->fd;            /* s may be freed inside socket_action */
	int ev = 0, running;

	if (flags & FD_READ)
		ev |= CURL_CSELECT_IN;
	if (flags & FD_WRITE)
		ev |= CURL_CSELECT_OUT;
	if (flags & FD_EXCEPT)
		ev |= CURL_CSELECT_ERR;
	(void)curl_multi_socket_action(hc->multi, fd, ev, &running);
	reap(hc);
	mem_deref(hc);
}

static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct httpc *hc = userp;
	struct hsock *s = socketp;
	int flags = 0;
	(void)easy;

	if (what == CURL_POLL_REMOVE) {
		mem_deref(s);
		return 0;
	}
	if (!s) {
		s = mem_zalloc(sizeof(*s), hsock_destructor);
		if (!s)
			return -1;
		s->hc = hc;
		s->fd = fd;
		list_append(&hc->socks, &s->le, s);
		(void)curl_multi_assign(hc->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		flags |= FD_READ;
	if (what & CURL_POLL_OUT)
		flags |= FD_WRITE;
	return fd_listen((int)fd, flags, sock_fd_h, s) ? -1 : 0;
}

static void curl_tmr_h(void *arg)
{
	struct httpc *hc = mem_ref(arg);
	int running;

	(void)curl_multi_socket_action(hc->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	reap(hc);
	mem_deref(hc);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct httpc *hc = userp;
	(void)multi;

	/* curl forbids socket_action from inside this callback: defer it. */
	if (timeout_ms < 0)
		tmr_cancel(&hc->tmr);
	else
		tmr_start(&hc->tmr, (uint64_t)timeout_ms, curl_tmr_h, hc);
	return 0;
}

/* --- the client ------------------------------------------------------------ */

static void destructor(void *arg)
{
	struct httpc *hc = arg;

	/* The requests stay their callers'; they just never finish. */
	while (hc->reqs.head)
		req_detach(hc->reqs.head->data);
	if (hc->multi)
		curl_multi_cleanup(hc->multi);
	tmr_cancel(&hc->tmr);
	list_flush(&hc->socks);
	if (hc->curl_inited)
		curl_global_cleanup();
}

int httpc_alloc(struct httpc **hcp)
{
	struct httpc *hc;
	int err = 0;

	if (!hcp)
		return EINVAL;
	hc = mem_zalloc(sizeof(*hc), destructor);
	if (!hc)
		return ENOMEM;
	tmr_init(&hc->tmr);
	list_init(&hc->reqs);
	list_init(&hc->socks);
	/* Reference counted by curl: several clients (webhook's, the dialplan's)
	 * do not clash. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		err = ENOMEM;
		goto out;
	}
	hc->curl_inited = true;
	hc->multi = curl_multi_init();
	if (!hc->multi) {
		err = ENOMEM;
		goto out;
	}
	(void)curl_multi_setopt(hc->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	(void)curl_multi_setopt(hc->multi, CURLMOPT_SOCKETDATA, hc);
	(void)curl_multi_setopt(hc->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	(void)curl_multi_setopt(hc->multi, CURLMOPT_TIMERDATA, hc);

 out:
	if (err)
		mem_deref(hc);
	else
		*hcp = hc;
	return err;
}

unsigned httpc_inflight(const struct httpc *hc)
{
	return hc ? list_count(&hc->reqs) : 0;
}

/* RFC 3986 §2.3 unreserved characters pass; every other byte is %XX. */
static int pct_encode(struct mbuf *mb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int err = 0;

	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && !err; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p))
			err = mbuf_write_u8(mb, *p);
		else
			err = mbuf_printf(mb, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
	return err;
}

int httpc_url_query(char **urlp, const char *base, const char *const *kv, size_t n)
{
	struct mbuf *mb;
	char sep;
	int err;

	if (!urlp || !base || (n && !kv))
		return EINVAL;
	mb = mbuf_alloc(256);
	if (!mb)
		return ENOMEM;
	sep = strchr(base, '?') ? '&' : '?';
	err = mbuf_write_str(mb, base);
	for (size_t i = 0; i < n && !err; i++) {
		err = mbuf_write_u8(mb, (uint8_t)sep);
		if (!err)
			err = pct_encode(mb, kv[2 * i]);
		if (!err)
			err = mbuf_write_u8(mb, '=');
		if (!err)
			err = pct_encode(mb, kv[2 * i + 1]);
		sep = '&';
	}
	if (!err) {
		mb->pos = 0;
		err = mbuf_strdup(mb, urlp, mb->end);
	}
	mem_deref(mb);
	return err;
}
