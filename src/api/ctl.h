/* ctl: the local control socket tamasctl talks to (Unix stream socket,
 * driven from the libre loop). One request line per connection:
 * arguments separated by TAB; reply "OK\n"+body or "ERR <reason>\n". */
#ifndef TAMAS_CTL_H
#define TAMAS_CTL_H

#include <re.h>

struct ctl;

/* Command handler: print the body to pf; return 0, or an errno value with a
 * reason printed to errpf (one line). */
typedef int (ctl_cmd_h)(int argc, char *argv[], struct re_printf *pf,
			struct re_printf *errpf, void *arg);

int ctl_listen(struct ctl **ctlp, const char *path, ctl_cmd_h *h, void *arg);

/* Client side (tamasctl): sends argv, writes the body to out. Returns 0 on
 * OK, EPROTO with the reason in err on ERR, or errno on connect failure. */
int ctl_request(const char *path, int argc, char *argv[], struct mbuf *out,
		char *err, size_t errsz);

#endif
