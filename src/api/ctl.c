/* ctl: Unix-socket control channel. The server runs on the libre loop; a
 * request is one TAB-separated line, the reply "OK\n"+body or "ERR reason\n". */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "api/ctl.h"

enum { REQ_MAX = 8192, ARGS_MAX = 32, IDLE_MS = 5000 };

struct ctl {
	int fd;
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
	char buf[REQ_MAX];
	size_t len;
};

static void conn_destructor(void *arg)
{
	struct ctl_conn *c = arg;

	tmr_cancel(&c->tmr);
	list_unlink(&c->le);
	if (c->fd >= 0) {
		fd_close(c->fd);
		close(c->fd);
	}
}

static void ctl_destructor(void *arg)
{
	struct ctl *ctl = arg;

	list_flush(&ctl->conns);
	if (ctl->fd >= 0) {
		fd_close(ctl->fd);
		close(ctl->fd);
		unlink(ctl->path);
	}
	mem_deref(ctl->path);
}

static int mbuf_vph(const char *p, size_t size, void *arg)
{
	return mbuf_write_mem(arg, (const uint8_t *)p, size);
}

/* Replies are small; a blocking write with a timeout keeps this simple. */
static void conn_reply(struct ctl_conn *c, const char *head, struct mbuf *body)
{
	struct timeval tv = { 2, 0 };
	int fl = fcntl(c->fd, F_GETFL);

	(void)fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (write(c->fd, head, strlen(head)) < 0)
		return;
	if (body && body->end)
		(void)!write(c->fd, body->buf, body->end);
}

static void conn_handle(struct ctl_conn *c)
{
	struct mbuf *out = mbuf_alloc(1024), *err = mbuf_alloc(256);
	struct re_printf pf = { mbuf_vph, out }, epf = { mbuf_vph, err };
	char *argv[ARGS_MAX], *save = NULL, *tok;
	int argc = 0, e;

	if (!out || !err)
		goto out;
	for (tok = strtok_r(c->buf, "\t", &save); tok && argc < ARGS_MAX;
	     tok = strtok_r(NULL, "\t", &save))
		argv[argc++] = tok;
	e = argc ? c->ctl->h(argc, argv, &pf, &epf, c->ctl->arg) : EINVAL;
	if (!e) {
		conn_reply(c, "OK\n", out);
	}
	else {
		char line[600];
		if (!err->end)
			(void)mbuf_printf(err, "%s", argc ? strerror(e) : "empty request");
		for (size_t i = 0; i < err->end; i++)
			if (err->buf[i] == '\n')
				err->buf[i] = ' ';
		(void)re_snprintf(line, sizeof(line), "ERR %b\n", err->buf, err->end);
		conn_reply(c, line, NULL);
	}
 out:
	mem_deref(out);
	mem_deref(err);
	mem_deref(c);
}

static void conn_read_h(int flags, void *arg)
{
	struct ctl_conn *c = arg;
	ssize_t n;
	char *nl;
	(void)flags;

	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		mem_deref(c);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	nl = strchr(c->buf, '\n');
	if (!nl) {
		if (c->len == sizeof(c->buf) - 1) {
			conn_reply(c, "ERR request too long\n", NULL);
			mem_deref(c);
		}
		return;
	}
	*nl = '\0';
	fd_close(c->fd);
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
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->fd = fd;
	list_append(&ctl->conns, &c->le, c);
	tmr_start(&c->tmr, IDLE_MS, conn_idle_h, c);
	if (fd_listen(fd, FD_READ, conn_read_h, c))
		mem_deref(c);
}

static int mkdir_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	str_ncpy(dir, path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0750) && errno != EEXIST)
			return errno;
		*p = '/';
	}
	if (mkdir(dir, 0750) && errno != EEXIST)
		return errno;
	return 0;
}

static int sock_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

/* A live daemon answers connect(); a stale file from a crash does not. */
static bool socket_alive(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	alive = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return alive;
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
		err = mkdir_parent(path);
	if (err)
		return err;
	if (socket_alive(&sun))
		return EADDRINUSE;
	(void)unlink(path);
	ctl = mem_zalloc(sizeof(*ctl), ctl_destructor);
	if (!ctl)
		return ENOMEM;
	ctl->fd = -1;
	ctl->h = h;
	ctl->arg = arg;
	err = str_dup(&ctl->path, path);
	if (err)
		goto out;
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->fd < 0 || bind(ctl->fd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    chmod(path, 0660) || listen(ctl->fd, 64)) {
		err = errno;
		goto out;
	}
	err = fd_listen(ctl->fd, FD_READ, accept_h, ctl);
	if (err)
		goto out;
	*ctlp = ctl;
	return 0;
 out:
	mem_deref(ctl);
	return err;
}

int ctl_request(const char *path, int argc, char *argv[], struct mbuf *out,
		char *err, size_t errsz)
{
	struct sockaddr_un sun;
	char buf[4096];
	struct mbuf *mb;
	ssize_t n;
	int fd, e;

	e = sock_addr(&sun, path);
	if (e) {
		(void)re_snprintf(err, errsz, "socket path too long: %s", path);
		return e;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		e = errno;
		(void)re_snprintf(err, errsz, "cannot reach tamasd at %s: %s (is it running?)",
				  path, strerror(e));
		close(fd);
		return e;
	}
	mb = mbuf_alloc(256);
	for (int i = 0; mb && i < argc; i++)
		(void)mbuf_printf(mb, "%s%s", i ? "\t" : "", argv[i]);
	if (!mb || mbuf_write_u8(mb, '\n') || write(fd, mb->buf, mb->end) != (ssize_t)mb->end) {
		e = mb ? errno : ENOMEM;
		mem_deref(mb);
		close(fd);
		(void)re_snprintf(err, errsz, "cannot send to tamasd at %s", path);
		return e ? e : EIO;
	}
	mem_deref(mb);
	mb = mbuf_alloc(1024);
	while (mb && (n = read(fd, buf, sizeof(buf))) > 0)
		(void)mbuf_write_mem(mb, (uint8_t *)buf, (size_t)n);
	close(fd);
	if (!mb)
		return ENOMEM;
	if (mb->end >= 3 && !memcmp(mb->buf, "OK\n", 3)) {
		(void)mbuf_write_mem(out, mb->buf + 3, mb->end - 3);
		mem_deref(mb);
		return 0;
	}
	if (mb->end >= 4 && !memcmp(mb->buf, "ERR ", 4)) {
		size_t len = mb->end - 4;
		while (len && (mb->buf[4 + len - 1] == '\n'))
			len--;
		(void)re_snprintf(err, errsz, "%b", mb->buf + 4, len);
	}
	else {
		(void)re_snprintf(err, errsz, "tamasd closed the connection without a reply");
	}
	mem_deref(mb);
	return EPROTO;
}
