/* Unit tests for httpc on a real libre loop against loopback servers: a
 * reply with its status and body, POST body and Basic credentials as sent,
 * refused connections, a silent server (timeout), an oversized reply (and
 * one discarded unread), cancelling by freeing the request or the client,
 * and query building. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <re.h>
#include "api/httpc.h"

/* A one-connection-at-a-time HTTP server: collects the request, then sends
 * reply (when set) once the headers and Content-Length bytes are in. */
struct srv {
	struct tcp_sock *ts;
	struct tcp_conn *tc;
	struct mbuf *in;
	const char *reply;
	uint16_t port;
	char got[4096];
};

struct res {
	int calls, err;
	long status;
	char body[256], error[256];
	bool stop;
};

struct fix {
	struct httpc *hc;
	struct httpc_req *req;
	struct srv srv;
	struct res res;
	struct tmr tmr;
};

static void srv_recv_h(struct mbuf *mb, void *arg)
{
	struct srv *s = arg;
	const char *hdr_end, *cl;
	size_t have, need = 0;

	(void)mbuf_write_mem(s->in, mbuf_buf(mb), mbuf_get_left(mb));
	(void)mbuf_write_u8(s->in, 0);
	s->in->end--;
	s->in->pos = s->in->end;
	hdr_end = strstr((char *)s->in->buf, "\r\n\r\n");
	if (!hdr_end)
		return;
	cl = strcasestr((char *)s->in->buf, "Content-Length:");
	if (cl && cl < hdr_end)
		need = strtoul(cl + 15, NULL, 10);
	have = s->in->end - (size_t)(hdr_end + 4 - (char *)s->in->buf);
	if (have < need)
		return;
	snprintf(s->got, sizeof(s->got), "%s", (char *)s->in->buf);
	if (s->reply) {
		struct mbuf *out = mbuf_alloc(512);

		(void)mbuf_write_str(out, s->reply);
		out->pos = 0;
		(void)tcp_send(s->tc, out);
		mem_deref(out);
	}
}

static void srv_close_h(int err, void *arg)
{
	struct srv *s = arg;
	(void)err;

	s->tc = mem_deref(s->tc);
}

static void srv_conn_h(const struct sa *peer, void *arg)
{
	struct srv *s = arg;
	(void)peer;

	s->tc = mem_deref(s->tc);
	mbuf_reset(s->in);
	(void)tcp_accept(&s->tc, s->ts, NULL, srv_recv_h, srv_close_h, s);
}

static void srv_start(struct srv *s, const char *reply)
{
	struct sa laddr, local;

	s->reply = reply;
	s->in = mbuf_alloc(1024);
	assert_non_null(s->in);
	assert_int_equal(sa_set_str(&laddr, "127.0.0.1", 0), 0);
	assert_int_equal(tcp_listen(&s->ts, &laddr, srv_conn_h, s), 0);
	assert_int_equal(tcp_sock_local_get(s->ts, &local), 0);
	s->port = sa_port(&local);
}

static void srv_stop(struct srv *s)
{
	s->tc = mem_deref(s->tc);
	s->ts = mem_deref(s->ts);
	s->in = mem_deref(s->in);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (!f || libre_init())
		return -1;
	tmr_init(&f->tmr);
	if (httpc_alloc(&f->hc))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	tmr_cancel(&f->tmr);
	mem_deref(f->req);
	mem_deref(f->hc);
	srv_stop(&f->srv);
	free(f);
	libre_close();
	return 0;
}

static void done_h(int err, const struct httpc_resp *resp, void *arg)
{
	struct fix *f = arg;

	f->res.calls++;
	f->res.err = err;
	f->res.status = resp->status;
	snprintf(f->res.body, sizeof(f->res.body), "%s", resp->body);
	snprintf(f->res.error, sizeof(f->res.error), "%s", resp->error);
	/* freeing the request inside its handler is allowed */
	f->req = mem_deref(f->req);
	re_cancel();
}

static void guard_h(void *arg)
{
	(void)arg;
	re_cancel();
}

/* Runs the loop until the handler or ms pass. */
static void run(struct fix *f, uint64_t ms)
{
	tmr_start(&f->tmr, ms, guard_h, f);
	(void)re_main(NULL);
	tmr_cancel(&f->tmr);
}

static void url_of(struct fix *f, char *buf, size_t sz, const char *path)
{
	snprintf(buf, sz, "http://127.0.0.1:%u%s", f->srv.port, path);
}

static void test_get_gives_status_and_body(void **state)
{
	struct fix *f = *state;
	char url[128];
	struct httpc_opts o = { .url = url, .timeout_ms = 3000 };

	srv_start(&f->srv, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"
		  "{\"ok\":\"1\"}");
	url_of(f, url, sizeof(url), "/route?x=1");
	assert_int_equal(httpc_send(&f->req, f->hc, &o, done_h, f), 0);
	assert_int_equal(f->res.calls, 0);          /* never inside httpc_send */
	assert_int_equal(httpc_inflight(f->hc), 1);
	run(f, 5000);
	assert_int_equal(f->res.calls, 1);
	assert_int_equal(f->res.err, 0);
	assert_int_equal(f->res.status, 200);
	assert_string_equal(f->res.body, "{\"ok\":\"1\"}");
	assert_non_null(strstr(f->srv.got, "GET /route?x=1 HTTP/1.1\r\n"));
	assert_int_equal(httpc_inflight(f->hc), 0);
}

static void test_post_sends_json_body_and_basic_auth(void **state)
{
	struct fix *f = *state;
	char url[128];
	struct httpc_opts o = { .url = url, .body = "{\"src\":\"1001\"}", .username = "crm",
				.password = "pw", .timeout_ms = 3000 };

	srv_start(&f->srv, "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n");
	url_of(f, url, sizeof(url), "/r");
	assert_int_equal(httpc_send(&f->req, f->hc, &o, done_h, f), 0);
	run(f, 5000);
	assert_int_equal(f->res.calls, 1);
	assert_int_equal(f->res.err, 0);
	assert_int_equal(f->res.status, 503);
	assert_non_null(strstr(f->srv.got, "POST /r HTTP/1.1\r\n"));
	assert_non_null(strstr(f->srv.got, "Content-Type: application/json\r\n"));
	assert_non_null(strstr(f->srv.got, "Authorization: Basic Y3JtOnB3\r\n"));
	assert_non_null(strstr(f->srv.got, "\r\n\r\n{\"src\":\"1001\"}"));
}

/* A port with nobody on it: bound, never listening. */
static uint16_t dead_port(int *fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(*fd >= 0);
	assert_int_equal(bind(*fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(*fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

static void test_refused_connection_is_econnrefused(void **state)
{
	struct fix *f = *state;
	char url[128];
	struct httpc_opts o = { .url = url, .timeout_ms = 3000 };
	int fd;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", dead_port(&fd));
	assert_int_equal(httpc_send(&f->req, f->hc, &o, done_h, f), 0);
	run(f, 5000);
	close(fd);
	assert_int_equal(f->res.calls, 1);
	assert_int_equal(f->res.err, ECONNREFUSED);
	assert_int_equal(f->res.status, 0);
	assert_string_not_equal(f->res.error, "");
}

static void test_silent_server_times_out(void **state)
{
	struct fix *f = *state;
	char url[128];
	struct httpc_opts o = { .url = url, .timeout_ms = 200 };

	srv_start(&f->srv, NULL);                   /* reads, never answers */
	url_of(f, url, sizeof(url), "/");
	assert_int_equal(httpc_send(&f->req, f->hc, &o, done_h, f), 0);
	run(f, 5000);
	assert_int_equal(f->res.calls, 1);
	assert_int_equal(f->res.err, ETIMEDOUT);
}

static void test_oversized_reply_is_efbig_unless_discarded(void **state)
{
	struct fix *f = *state;
	char url[128];
	struct httpc_opts o = { .url = url, .timeout_ms = 3000, .max_reply = 4 };

	srv_start(&f->srv, "HTTP/1.1 202 Accepted\r\nContent-Length: 10\r\n\r\n0123456789");
	url_of(f, url, sizeof(url), "/");
	assert_int_equal(httpc_send(&f->req, f->hc, &o, done_h, f), 0);
	run(f, 5000);
	assert_int_equal(f->res.calls, 1);
	assert_int_equal(f->res.err, EFBIG);
	/* the same reply, its body unread */
	o.discard_reply = true;
	assert_int_equal(httpc_send(&f->req, f->hc, &o, done_h, f), 0);
	run(f, 5000);
	assert_int_equal(f->res.calls, 2);
	assert_int_equal(f->res.err, 0);
	assert_int_equal(f->res.status, 202);
	assert_string_equal(f->res.body, "");
}

static void cancel_h(void *arg)
{
	struct fix *f = arg;

	f->req = mem_deref(f->req);                 /* the caller hung up */
}

static void test_freeing_the_request_cancels_it(void **state)
{
	struct fix *f = *state;
	char url[128];
	struct httpc_opts o = { .url = url, .timeout_ms = 300 };
	struct tmr t;

	srv_start(&f->srv, NULL);
	url_of(f, url, sizeof(url), "/");
	assert_int_equal(httpc_send(&f->req, f->hc, &o, done_h, f), 0);
	tmr_init(&t);
	tmr_start(&t, 50, cancel_h, f);
	run(f, 600);                                 /* past the request's timeout */
	tmr_cancel(&t);
	assert_null(f->req);
	assert_int_equal(f->res.calls, 0);
	assert_int_equal(httpc_inflight(f->hc), 0);
}

static void test_freeing_the_client_leaves_requests_inert(void **state)
{
	struct fix *f = *state;
	char url[128];
	struct httpc_opts o = { .url = url, .timeout_ms = 100 };

	srv_start(&f->srv, NULL);
	url_of(f, url, sizeof(url), "/");
	assert_int_equal(httpc_send(&f->req, f->hc, &o, done_h, f), 0);
	f->hc = mem_deref(f->hc);
	run(f, 300);
	assert_int_equal(f->res.calls, 0);
	f->req = mem_deref(f->req);                  /* still the caller's to free */
}

static void test_bad_arguments(void **state)
{
	struct fix *f = *state;
	struct httpc_opts o = { .url = "" };

	assert_int_equal(httpc_send(&f->req, f->hc, &o, done_h, f), EINVAL);
	o.url = "http://127.0.0.1/";
	assert_int_equal(httpc_send(&f->req, f->hc, &o, NULL, f), EINVAL);
	assert_int_equal(httpc_send(&f->req, NULL, &o, done_h, f), EINVAL);
	assert_null(f->req);
}

static void test_url_query_encodes_pairs(void **state)
{
	const char *kv[] = { "src", "0912 111", "dst", "a&b=c/ü", "data", NULL };
	char *u = NULL;
	(void)state;

	assert_int_equal(httpc_url_query(&u, "http://h/p", kv, 3), 0);
	assert_string_equal(u, "http://h/p?src=0912%20111&dst=a%26b%3Dc%2F%C3%BC&data=");
	u = mem_deref(u);
	assert_int_equal(httpc_url_query(&u, "http://h/p?k=1", kv, 1), 0);
	assert_string_equal(u, "http://h/p?k=1&src=0912%20111");
	u = mem_deref(u);
	assert_int_equal(httpc_url_query(&u, "http://h/p", NULL, 0), 0);
	assert_string_equal(u, "http://h/p");
	mem_deref(u);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_get_gives_status_and_body),
		T(test_post_sends_json_body_and_basic_auth),
		T(test_refused_connection_is_econnrefused),
		T(test_silent_server_times_out),
		T(test_oversized_reply_is_efbig_unless_discarded),
		T(test_freeing_the_request_cancels_it),
		T(test_freeing_the_client_leaves_requests_inert),
		T(test_bad_arguments),
		T(test_url_query_encodes_pairs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
