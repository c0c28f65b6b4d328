/* ctl: Unix-socket control channel. The server runs on the libre loop; a
 * request is one TAB-separated line, the reply "OK\n"+body or "ERR reason\n".
 * The commands themselves live in ctlcmd; this is transport only. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "api/ctl.h"

enum {
	REQ_MAX = 8192,      /* request line including '\n' */
	ARGS_MAX = 64,
	IDLE_MS = 5000,      /* whole request must arrive within this */
	SEND_MS = 2000,      /* budget for writing one reply */
	CLIENT_WAIT_S = 30,  /* tamasctl gives up on a hung daemon */
};

struct ctl {
	int fd;
	bool bound;          /* the socket file at path is ours to unlink */
	char *path;
	ctl_cmd_h *h;
	void *arg;
	struct list conns;
};

struct ctl_conn {
	struct le le;
	struct ctl *ctl;
	int fd;
	struct tmr tmr;
	size_t len;
	char buf[REQ_MAX + 1];
};

static void conn_destructor(void *arg)
{
	struct ctl_conn *c = arg;

	tmr_cancel(&c->tmr);
	list_unlink(&c->le);
	fd_close(c->fd);
	(void)close(c->fd);
}

static void ctl_destructor(void *arg)
{
	struct ctl *ctl = arg;

	list_flush(&ctl->conns);
	if (ctl->fd >= 0) {
		fd_close(ctl->fd);
		(void)close(ctl->fd);
	}
	if (ctl->bound)
		(void)unlink(ctl->path);
	mem_deref(ctl->path);
}

static int mbuf_vph(const char *p, size_t size, void *arg)
{
	return mbuf_write_mem(arg, (const uint8_t *)p, size);
}

/* MSG_NOSIGNAL: a client that went away must not SIGPIPE the daemon.
 * deadline is in tmr_jiffies() ms; 0 means none. */
static int send_all(int fd, const uint8_t *p, size_t len, uint64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno != EINTR)
			return errno;
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
		if (len && deadline && tmr_jiffies() > deadline)
			return ETIMEDOUT;
	}
	return 0;
}

/* Replies are small, so a blocking send with a timeout is simpler than
 * FD_WRITE buffering; the deadline bounds how long the loop can stall. */
static void conn_reply(struct ctl_conn *c, const char *head, struct mbuf *body)
{
	struct timeval tv = { .tv_sec = SEND_MS / 1000,
			      .tv_usec = SEND_MS % 1000 * 1000 };
	uint64_t deadline = tmr_jiffies() + SEND_MS;
	int fl = fcntl(c->fd, F_GETFL);

	if (fl < 0 || fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK) ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return;
	if (send_all(c->fd, (const uint8_t *)head, strlen(head), deadline))
		return;
	if (body && body->end)
		(void)send_all(c->fd, body->buf, body->end, deadline);
}

/* Split on TAB keeping empty fields: "user\tadd\t100\t" has four arguments. */
static int args_split(char *line, char *argv[], int *argcp)
{
	int argc = 0;

	if (!*line) {
		*argcp = 0;
		return 0;
	}
	while (line) {
		if (argc == ARGS_MAX)
			return E2BIG;
		argv[argc++] = strsep(&line, "\t");
	}
	*argcp = argc;
	return 0;
}

static void conn_reply_err(struct ctl_conn *c, int e, struct mbuf *reason)
{
	char line[512];

	if (!reason->end)
		(void)mbuf_printf(reason, "%s", strerror(e));
	for (size_t i = 0; i < reason->end; i++) {
		if (reason->buf[i] == '\n' || reason->buf[i] == '\r')
			reason->buf[i] = ' ';
	}
	while (reason->end && reason->buf[reason->end - 1] == ' ')
		--reason->end;
	(void)re_snprintf(line, sizeof(line) - 1, "ERR %b", reason->buf, reason->end);
	strcat(line, "\n");
	conn_reply(c, line, NULL);
}

static void conn_handle(struct ctl_conn *c)
{
	struct mbuf *out = mbuf_alloc(1024), *reason = mbuf_alloc(128);
	struct re_printf pf = { mbuf_vph, out }, epf = { mbuf_vph, reason };
	char *argv[ARGS_MAX + 1];
	int argc = 0, e;

	if (!out || !reason) {
		conn_reply(c, "ERR out of memory\n", NULL);
		goto out;
	}
	e = args_split(c->buf, argv, &argc);
	if (e)
		(void)mbuf_printf(reason, "too many arguments (max %d)", ARGS_MAX);
	else if (!argc) {
		e = EINVAL;
		(void)mbuf_printf(reason, "empty request");
	}
	else {
		argv[argc] = NULL;
		e = c->ctl->h(argc, argv, &pf, &epf, c->ctl->arg);
	}
	if (e)
		conn_reply_err(c, e, reason);
	else
		conn_reply(c, "OK\n", out);
 out:
	mem_deref(out);
	mem_deref(reason);
	mem_deref(c);
}

static void conn_read_h(int flags, void *arg)
{
	struct ctl_conn *c = arg;
	ssize_t n;
	char *nl;
	(void)flags;

	n = read(c->fd, c->buf + c->len, REQ_MAX - c->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		mem_deref(c);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	nl = memchr(c->buf, '\n', c->len);
	if (!nl) {
		if (c->len == REQ_MAX) {
			conn_reply(c, "ERR request too long\n", NULL);
			mem_deref(c);
		}
		return;
	}
	*nl = '\0';
	if (nl > c->buf && nl[-1] == '\r')
		nl[-1] = '\0';
	/* Detach first: the handler may destroy the ctl (and its conn list). */
	fd_close(c->fd);
	tmr_cancel(&c->tmr);
	list_unlink(&c->le);
	conn_handle(c);
}

static void conn_idle_h(void *arg)
{
	mem_deref(arg);
}

static void accept_h(int flags, void *arg)
{
	struct ctl *ctl = arg;
	struct ctl_conn *c;
	int fd;
	(void)flags;

	fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	c = mem_zalloc(sizeof(*c), conn_destructor);
	if (!c) {
		(void)close(fd);
		return;
	}
	c->ctl = ctl;
	c->fd = fd;
	list_append(&ctl->conns, &c->le, c);
	tmr_start(&c->tmr, IDLE_MS, conn_idle_h, c);
	if (fd_listen(fd, FD_READ, conn_read_h, c))
		mem_deref(c);
}

static int mkdir_parents(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *p;

	str_ncpy(dir, path, sizeof(dir));
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1;; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(dir, 0750) && errno != EEXIST)
			return errno;
		if (last)
			return 0;
		*p = '/';
	}
}

static int sock_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (!*path || strlen(path) >= sizeof(sun->sun_path))
		return ENAMETOOLONG;
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

/* A live daemon answers connect(); the file left by a crash refuses it.
 * Non-blocking, so a live daemon with a full backlog (EAGAIN) counts as live
 * instead of stalling us. */
static bool socket_alive(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	alive = !connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) ||
		errno == EAGAIN || errno == EINPROGRESS;
	(void)close(fd);
	return alive;
}

static int stale_remove(const struct sockaddr_un *sun)
{
	struct stat st;

	if (lstat(sun->sun_path, &st))
		return errno == ENOENT ? 0 : errno;
	if (!S_ISSOCK(st.st_mode))
		return EEXIST; /* never unlink something that is not a socket */
	if (socket_alive(sun))
		return EADDRINUSE;
	if (unlink(sun->sun_path) && errno != ENOENT)
		return errno;
	return 0;
}

static int ctl_bind(struct ctl *ctl, const struct sockaddr_un *sun)
{
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->fd < 0)
		return errno;
	if (bind(ctl->fd, (const struct sockaddr *)sun, sizeof(*sun)))
		return errno;
	ctl->bound = true;
	if (chmod(sun->sun_path, 0660) || listen(ctl->fd, 64))
		return errno;
	return fd_listen(ctl->fd, FD_READ, accept_h, ctl);
}

int ctl_listen(struct ctl **ctlp, const char *path, ctl_cmd_h *h, void *arg)
{
	struct sockaddr_un sun;
	struct ctl *ctl;
	int err;

	if (!ctlp || !path || !h)
		return EINVAL;
	err = sock_addr(&sun, path);
	if (!err)
		err = mkdir_parents(path);
	if (!err)
		err = stale_remove(&sun);
	if (err)
		return err;
	ctl = mem_zalloc(sizeof(*ctl), ctl_destructor);
	if (!ctl)
		return ENOMEM;
	ctl->fd = -1;
	ctl->h = h;
	ctl->arg = arg;
	err = str_dup(&ctl->path, path);
	if (!err)
		err = ctl_bind(ctl, &sun);
	if (err) {
		mem_deref(ctl);
		return err;
	}
	*ctlp = ctl;
	return 0;
}

/* ---- client ---------------------------------------------------------- */

static int req_encode(struct mbuf *mb, int argc, char *argv[], char *err, size_t errsz)
{
	int e = 0;

	for (int i = 0; i < argc && !e; i++) {
		if (strpbrk(argv[i], "\t\r\n")) {
			(void)re_snprintf(err, errsz, "argument %d contains a TAB or newline", i + 1);
			return EINVAL;
		}
		e = mbuf_printf(mb, "%s%s", i ? "\t" : "", argv[i]);
	}
	if (!e)
		e = mbuf_write_u8(mb, '\n');
	if (!e && mb->end > REQ_MAX) {
		(void)re_snprintf(err, errsz, "request too long (max %d bytes)", REQ_MAX);
		return E2BIG;
	}
	return e;
}

static int sock_connect(int *fdp, const char *path, char *err, size_t errsz)
{
	struct timeval tv = { CLIENT_WAIT_S, 0 };
	struct sockaddr_un sun;
	int fd, e;

	e = sock_addr(&sun, path);
	if (e) {
		(void)re_snprintf(err, errsz, "bad control socket path: '%s'", path);
		return e;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		e = errno;
		(void)re_snprintf(err, errsz, "cannot reach tamasd at %s: %s%s", path,
				  strerror(e), e == ENOENT || e == ECONNREFUSED ?
				  " (is it running?)" : "");
		(void)close(fd);
		return e;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*fdp = fd;
	return 0;
}

static int reply_read(int fd, struct mbuf *mb)
{
	uint8_t buf[4096];
	ssize_t n;
	int e;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? ETIMEDOUT : errno;
		if (n == 0)
			return 0;
		e = mbuf_write_mem(mb, buf, (size_t)n);
		if (e)
			return e;
	}
}

static int reply_parse(const struct mbuf *mb, struct mbuf *out, char *err, size_t errsz)
{
	size_t len;

	if (mb->end >= 3 && !memcmp(mb->buf, "OK\n", 3))
		return out ? mbuf_write_mem(out, mb->buf + 3, mb->end - 3) : 0;
	if (mb->end >= 4 && !memcmp(mb->buf, "ERR ", 4)) {
		len = mb->end - 4;
		while (len && (mb->buf[4 + len - 1] == '\n' || mb->buf[4 + len - 1] == '\r'))
			len--;
		(void)re_snprintf(err, errsz, "%b", mb->buf + 4, len);
	}
	else {
		(void)re_snprintf(err, errsz, "tamasd closed the connection without a reply");
	}
	return EPROTO;
}

int ctl_request(const char *path, int argc, char *argv[], struct mbuf *out,
		char *err, size_t errsz)
{
	struct mbuf *mb;
	int fd = -1, e;
	char dummy[1];

	if (!err || !errsz) {
		err = dummy;
		errsz = sizeof(dummy);
	}
	*err = '\0';
	if (!path || argc < 1 || !argv)
		return EINVAL;
	mb = mbuf_alloc(256);
	if (!mb)
		return ENOMEM;
	e = req_encode(mb, argc, argv, err, errsz);
	if (!e)
		e = sock_connect(&fd, path, err, errsz);
	if (e)
		goto out;
	e = send_all(fd, mb->buf, mb->end, 0);
	if (e) {
		(void)re_snprintf(err, errsz, "cannot send to tamasd at %s: %s", path,
				  strerror(e));
		goto out;
	}
	mbuf_reset(mb);
	e = reply_read(fd, mb);
	if (e) {
		(void)re_snprintf(err, errsz, "no reply from tamasd at %s: %s", path,
				  strerror(e));
		goto out;
	}
	e = reply_parse(mb, out, err, errsz);
 out:
	if (fd >= 0)
		(void)close(fd);
	mem_deref(mb);
	return e;
}
