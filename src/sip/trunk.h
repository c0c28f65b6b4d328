/* trunk: SIP peers to a provider: a static peer (host:port, digest on
 * demand) or a registering one (tamasd REGISTERs to it). Internal to src/sip. */
#ifndef TAMAS_SIP_TRUNK_H
#define TAMAS_SIP_TRUNK_H

#include <stdbool.h>
#include <re.h>

struct trunk;
struct trunk_conf;

int trunk_alloc(struct trunk **tp, struct sip *sip, const struct trunk_conf *tc);
const char *trunk_name(const struct trunk *t);
const char *trunk_context(const struct trunk *t);
/* True when a request from src comes from this trunk's host:port. */
bool trunk_matches(const struct trunk *t, const struct sa *src);
/* Request-URI for number: "sip:NUMBER@host:port". */
int trunk_uri(const struct trunk *t, const char *number, char *buf, size_t sz);
/* sip_auth_h for sipsess_connect; arg is the trunk. */
int trunk_auth_h(char **username, char **password, const char *realm, void *arg);
int trunk_print(struct re_printf *pf, const struct trunk *t);

#endif
