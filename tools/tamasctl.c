/* tamasctl: command-line client of tamasd's control socket. It only forwards
 * its arguments; tamasd interprets the commands (src/api/ctlcmd.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "api/ctl.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: tamasctl [-S SOCKET] COMMAND [ARGS...]\n"
		"  -S SOCKET   tamasd's control socket (control.socket in tamas.conf);\n"
		"              default $TAMAS_CTL_SOCKET, else var/tamasd.ctl\n"
		"  -h          this help\n"
		"commands (run by tamasd; output is JSON lines):\n"
		"  user add EXT PASSWORD [--context CTX]   (default context main_routing)\n"
		"  user del EXT | user list\n"
		"  apiuser add NAME --auth basic|token|both [--password P] [--key K]\n"
		"              [--allow-ip CIDR]... [--perm NAME]...   (REST API account;\n"
		"              default: any address, every permission \"*\")\n"
		"  apiuser del NAME | apiuser list\n"
		"  registrations | channels | status | trunks\n"
		"  hangup CHANNEL\n"
		"  dialplan reload\n"
		"  cdr tail [N]\n"
		"exit status: 0 ok, 1 error (reason on stderr), 2 usage error\n");
}

int main(int argc, char *argv[])
{
	const char *sock = getenv("TAMAS_CTL_SOCKET");
	char err[600] = "";
	struct mbuf *out;
	int c, e;

	if (!sock || !*sock)
		sock = "var/tamasd.ctl";
	while ((c = getopt(argc, argv, "+S:h")) != -1) {
		switch (c) {
		case 'S': sock = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	out = mbuf_alloc(4096);
	if (!out)
		return 1;
	e = ctl_request(sock, argc - optind, argv + optind, out, err, sizeof(err));
	if (e) {
		fprintf(stderr, "tamasctl: %s\n", err[0] ? err : strerror(e));
		mem_deref(out);
		return 1;
	}
	if (out->end)
		fwrite(out->buf, 1, out->end, stdout);
	mem_deref(out);
	return 0;
}
