/* Unit tests for ctl: the server runs in re_main on the test thread, the
 * client (ctl_request or a raw socket) in a pthread that wakes the loop
 * through an mqueue when done. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>
#include "api/ctl.h"

struct fixture {
	char dir[64];
	char path[128];
	struct ctl *ctl;
	int calls;
};

/* Echoes each argument on its own line; "fail" fails with a reason,
 * "failquiet" fails without one. */
static int echo_h(int argc, char *argv[], struct re_printf *pf,
		  struct re_printf *errpf, void *arg)
{
	struct fixture *f = arg;

	f->calls++;
	if (!strcmp(argv[0], "fail")) {
		re_hprintf(errpf, "no such user: %s", argc > 1 ? argv[1] : "?");
		return ENOENT;
	}
	if (!strcmp(argv[0], "failquiet"))
		return EACCES;
	re_hprintf(pf, "argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		re_hprintf(pf, "[%s]\n", argv[i]);
	return 0;
}

/* ---- running a client while the loop serves ---------------------------- */

struct job {
	void (*fn)(struct job *);
	struct mqueue *mq;
	const char *path;
	int argc;
	char **argv;
	struct mbuf *out;
	char err[256];
	int ret;
	char raw[256];       /* raw client: what to send, then what came back */
	size_t rawlen;
	bool send_nothing;
};

static void *job_main(void *arg)
{
	struct job *j = arg;

	j->fn(j);
	(void)mqueue_push(j->mq, 0, NULL);
	return NULL;
}

static void job_done_h(int id, void *data, void *arg)
{
	(void)id;
	(void)data;
	(void)arg;
	re_cancel();
}

static void guard_h(void *arg)
{
	*(bool *)arg = true;
	re_cancel();
}

static void job_run(struct job *j)
{
	struct tmr guard;
	bool timedout = false;
	pthread_t th;

	tmr_init(&guard);
	assert_int_equal(mqueue_alloc(&j->mq, job_done_h, NULL), 0);
	tmr_start(&guard, 10000, guard_h, &timedout);
	assert_int_equal(pthread_create(&th, NULL, job_main, j), 0);
	(void)re_main(NULL);
	pthread_join(th, NULL);
	tmr_cancel(&guard);
	j->mq = mem_deref(j->mq);
	assert_false(timedout);
}

static void request_fn(struct job *j)
{
	j->ret = ctl_request(j->path, j->argc, j->argv, j->out, j->err, sizeof(j->err));
}

static int request(struct fixture *f, struct mbuf *out, char *err, size_t errsz,
		   int argc, char **argv)
{
	struct job j = { .fn = request_fn, .path = f->path, .argc = argc,
			 .argv = argv, .out = out };

	job_run(&j);
	str_ncpy(err, j.err, errsz);
	return j.ret;
}

static int raw_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	str_ncpy(sun.sun_path, path, sizeof(sun.sun_path));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends j->raw (or a too-long line if it is empty), reads until EOF. */
static void raw_fn(struct job *j)
{
	struct timeval tv = { 8, 0 };
	int fd = raw_connect(j->path);
	ssize_t n;

	j->ret = fd < 0 ? errno : 0;
	if (fd < 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (!j->send_nothing && j->raw[0]) {
		(void)!write(fd, j->raw, strlen(j->raw));
	}
	else if (!j->send_nothing) {
		static char big[9000];
		memset(big, 'x', sizeof(big));
		(void)!write(fd, big, sizeof(big));
	}
	j->rawlen = 0;
	while ((n = read(fd, j->raw + j->rawlen, sizeof(j->raw) - 1 - j->rawlen)) > 0)
		j->rawlen += (size_t)n;
	if (n < 0)
		j->ret = errno;
	j->raw[j->rawlen] = '\0';
	close(fd);
}

/* A socket file nobody listens on, as a crashed daemon leaves it. */
static void make_stale_socket(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	str_ncpy(sun.sun_path, path, sizeof(sun.sun_path));
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
}

static bool mbuf_eq(const struct mbuf *mb, const char *s)
{
	return mb->end == strlen(s) && !memcmp(mb->buf, s, mb->end);
}

/* ---- fixtures ---------------------------------------------------------- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/tamas-ctl-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/tamasd.ctl", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	f->ctl = mem_deref(f->ctl);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd))
		return -1;
	free(f);
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	return libre_init();
}

static int group_teardown(void **state)
{
	(void)state;
	libre_close();
	return 0;
}

/* ---- tests ------------------------------------------------------------- */

static void test_ctl_replies_ok_with_handler_body(void **state)
{
	struct fixture *f = *state;
	struct mbuf *out = mbuf_alloc(64);
	char err[256] = "";
	char *argv[] = { "user", "add", "100", "pass word" };

	assert_int_equal(ctl_listen(&f->ctl, f->path, echo_h, f), 0);
	assert_int_equal(request(f, out, err, sizeof(err), 4, argv), 0);
	assert_true(mbuf_eq(out, "argc=4\n[user]\n[add]\n[100]\n[pass word]\n"));
	assert_string_equal(err, "");
	assert_int_equal(f->calls, 1);
	mem_deref(out);
}

static void test_ctl_keeps_empty_arguments(void **state)
{
	struct fixture *f = *state;
	struct mbuf *out = mbuf_alloc(64);
	char err[256];
	char *argv[] = { "user", "", "x" };

	assert_int_equal(ctl_listen(&f->ctl, f->path, echo_h, f), 0);
	assert_int_equal(request(f, out, err, sizeof(err), 3, argv), 0);
	assert_true(mbuf_eq(out, "argc=3\n[user]\n[]\n[x]\n"));
	mem_deref(out);
}

static void test_ctl_serves_requests_one_after_another(void **state)
{
	struct fixture *f = *state;
	struct mbuf *out = mbuf_alloc(64);
	char err[256];
	char *argv[] = { "channels" };

	assert_int_equal(ctl_listen(&f->ctl, f->path, echo_h, f), 0);
	for (int i = 0; i < 3; i++) {
		mbuf_reset(out);
		assert_int_equal(request(f, out, err, sizeof(err), 1, argv), 0);
		assert_true(mbuf_eq(out, "argc=1\n[channels]\n"));
	}
	assert_int_equal(f->calls, 3);
	mem_deref(out);
}

static void test_ctl_replies_err_with_handler_reason(void **state)
{
	struct fixture *f = *state;
	struct mbuf *out = mbuf_alloc(64);
	char err[256];
	char *argv[] = { "fail", "200" };

	assert_int_equal(ctl_listen(&f->ctl, f->path, echo_h, f), 0);
	assert_int_equal(request(f, out, err, sizeof(err), 2, argv), EPROTO);
	assert_string_equal(err, "no such user: 200");
	assert_int_equal(out->end, 0);
	mem_deref(out);
}

static void test_ctl_err_falls_back_to_strerror(void **state)
{
	struct fixture *f = *state;
	struct mbuf *out = mbuf_alloc(64);
	char err[256];
	char *argv[] = { "failquiet" };

	assert_int_equal(ctl_listen(&f->ctl, f->path, echo_h, f), 0);
	assert_int_equal(request(f, out, err, sizeof(err), 1, argv), EPROTO);
	assert_string_equal(err, strerror(EACCES));
	mem_deref(out);
}

static void test_ctl_request_without_daemon_names_socket(void **state)
{
	struct fixture *f = *state;
	char err[256];
	char *argv[] = { "channels" };

	assert_int_equal(ctl_request(f->path, 1, argv, NULL, err, sizeof(err)), ENOENT);
	assert_non_null(strstr(err, f->path));
	assert_non_null(strstr(err, "cannot reach tamasd"));
	assert_non_null(strstr(err, "is it running?"));
}

static void test_ctl_request_to_stale_socket_is_refused(void **state)
{
	struct fixture *f = *state;
	char err[256];
	char *argv[] = { "channels" };

	make_stale_socket(f->path);
	assert_int_equal(ctl_request(f->path, 1, argv, NULL, err, sizeof(err)),
			 ECONNREFUSED);
	assert_non_null(strstr(err, f->path));
	assert_non_null(strstr(err, "is it running?"));
}

static void test_ctl_listen_replaces_stale_socket(void **state)
{
	struct fixture *f = *state;
	struct mbuf *out = mbuf_alloc(64);
	char err[256];
	char *argv[] = { "status" };

	make_stale_socket(f->path);
	assert_int_equal(ctl_listen(&f->ctl, f->path, echo_h, f), 0);
	assert_int_equal(request(f, out, err, sizeof(err), 1, argv), 0);
	assert_true(mbuf_eq(out, "argc=1\n[status]\n"));
	mem_deref(out);
}

static void test_ctl_listen_refuses_path_of_live_daemon(void **state)
{
	struct fixture *f = *state;
	struct mbuf *out = mbuf_alloc(64);
	struct ctl *second = NULL;
	char err[256];
	char *argv[] = { "status" };

	assert_int_equal(ctl_listen(&f->ctl, f->path, echo_h, f), 0);
	assert_int_equal(ctl_listen(&second, f->path, echo_h, f), EADDRINUSE);
	assert_null(second);
	/* the probe connection must not leave the first daemon unusable */
	assert_int_equal(request(f, out, err, sizeof(err), 1, argv), 0);
	assert_true(mbuf_eq(out, "argc=1\n[status]\n"));
	mem_deref(out);
}

static void test_ctl_listen_refuses_to_unlink_regular_file(void **state)
{
	struct fixture *f = *state;
	FILE *fp = fopen(f->path, "w");
	struct stat st;

	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(ctl_listen(&f->ctl, f->path, echo_h, f), EEXIST);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
}

static void test_ctl_listen_creates_parent_dirs_and_mode_0660(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	snprintf(f->path, sizeof(f->path), "%s/var/run/tamasd.ctl", f->dir);
	assert_int_equal(ctl_listen(&f->ctl, f->path, echo_h, f), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);
}

static void test_ctl_deref_removes_socket_file(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(ctl_listen(&f->ctl, f->path, echo_h, f), 0);
	assert_int_equal(stat(f->path, &st), 0);
	f->ctl = mem_deref(f->ctl);
	assert_int_equal(stat(f->path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_ctl_failed_listen_keeps_other_socket(void **state)
{
	struct fixture *f = *state;
	struct ctl *second = NULL;
	struct stat st;

	assert_int_equal(ctl_listen(&f->ctl, f->path, echo_h, f), 0);
	assert_int_equal(ctl_listen(&second, f->path, echo_h, f), EADDRINUSE);
	assert_int_equal(stat(f->path, &st), 0);
}

static void test_ctl_rejects_empty_request_line(void **state)
{
	struct fixture *f = *state;
	struct job j = { .fn = raw_fn, .path = f->path, .raw = "\n" };

	assert_int_equal(ctl_listen(&f->ctl, f->path, echo_h, f), 0);
	job_run(&j);
	assert_int_equal(j.ret, 0);
	assert_string_equal(j.raw, "ERR empty request\n");
	assert_int_equal(f->calls, 0);
}

static void test_ctl_rejects_request_over_8k(void **state)
{
	struct fixture *f = *state;
	struct job j = { .fn = raw_fn, .path = f->path };

	assert_int_equal(ctl_listen(&f->ctl, f->path, echo_h, f), 0);
	job_run(&j);
	assert_string_equal(j.raw, "ERR request too long\n");
	assert_int_equal(f->calls, 0);
}

static void test_ctl_drops_silent_client_after_5s(void **state)
{
	struct fixture *f = *state;
	struct job j = { .fn = raw_fn, .path = f->path, .send_nothing = true };
	uint64_t t0;

	assert_int_equal(ctl_listen(&f->ctl, f->path, echo_h, f), 0);
	t0 = tmr_jiffies();
	job_run(&j);
	assert_int_equal(j.ret, 0);   /* EOF, not the client's own 8 s timeout */
	assert_int_equal(j.rawlen, 0);
	assert_true(tmr_jiffies() - t0 >= 4900);
	assert_int_equal(f->calls, 0);
}

static void test_ctl_request_rejects_tab_in_argument(void **state)
{
	struct fixture *f = *state;
	char err[256];
	char *argv[] = { "user", "a\tb" };

	assert_int_equal(ctl_request(f->path, 2, argv, NULL, err, sizeof(err)), EINVAL);
	assert_non_null(strstr(err, "argument 2"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_ctl_replies_ok_with_handler_body),
		T(test_ctl_keeps_empty_arguments),
		T(test_ctl_serves_requests_one_after_another),
		T(test_ctl_replies_err_with_handler_reason),
		T(test_ctl_err_falls_back_to_strerror),
		T(test_ctl_request_without_daemon_names_socket),
		T(test_ctl_request_to_stale_socket_is_refused),
		T(test_ctl_listen_replaces_stale_socket),
		T(test_ctl_listen_refuses_path_of_live_daemon),
		T(test_ctl_listen_refuses_to_unlink_regular_file),
		T(test_ctl_listen_creates_parent_dirs_and_mode_0660),
		T(test_ctl_deref_removes_socket_file),
		T(test_ctl_failed_listen_keeps_other_socket),
		T(test_ctl_rejects_empty_request_line),
		T(test_ctl_rejects_request_over_8k),
		T(test_ctl_drops_silent_client_after_5s),
		T(test_ctl_request_rejects_tab_in_argument),
#undef T
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
