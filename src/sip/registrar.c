/* registrar: one binding per (extension, contact); newest first on lookup. */
#include <errno.h>
#include <string.h>
#include "core/log.h"
#include "sip/auth.h"
#include "sip/registrar.h"

struct registrar {
	struct sip *sip;
	struct sipauth *auth;
	struct hash *bindings;   /* key: aor */
	uint32_t min_exp, max_exp;
	unsigned count;
	uint64_t seq;          /* orders bindings: newest wins lookup */
};

struct binding {
	struct le he;
	struct tmr tmr;
	struct registrar *r;
	struct reg_binding b;
	uint64_t seq;
};

static void reg_destructor(void *arg)
{
	struct registrar *r = arg;
	hash_flush(r->bindings);
	mem_deref(r->bindings);
	mem_deref(r->auth);
}

static void binding_destructor(void *arg)
{
	struct binding *b = arg;
	tmr_cancel(&b->tmr);
	hash_unlink(&b->he);
	if (b->r)
		--b->r->count;
}

int registrar_alloc(struct registrar **rp, struct sip *sip, struct sipauth *auth,
		    uint32_t min_exp, uint32_t max_exp)
{
	struct registrar *r;
	int err;

	if (!rp || !sip || !auth)
		return EINVAL;
	r = mem_zalloc(sizeof(*r), reg_destructor);
	if (!r)
		return ENOMEM;
	err = hash_alloc(&r->bindings, 1024);
	if (err) {
		mem_deref(r);
		return err;
	}
	r->sip = sip;
	r->auth = mem_ref(auth);
	r->min_exp = min_exp ? min_exp : 1;
	r->max_exp = max_exp >= r->min_exp ? max_exp : 3600;
	*rp = r;
	return 0;
}

static void binding_expire(void *arg)
{
	struct binding *b = arg;
	log_info("registrar: binding expired (aor=%s contact=%s)", b->b.aor, b->b.contact);
	mem_deref(b);
}

struct find { const char *aor; const struct pl *contact; struct binding *hit; };

static bool find_contact_h(struct le *le, void *arg)
{
	struct binding *b = le->data;
	struct find *f = arg;
	return !strcmp(b->b.aor, f->aor) && !pl_strcmp(f->contact, b->b.contact);
}

static bool newest_h(struct le *le, void *arg)
{
	struct binding *b = le->data;
	struct find *f = arg;

	if (!strcmp(b->b.aor, f->aor) && (!f->hit || b->seq > f->hit->seq))
		f->hit = b;
	return false;
}

static bool flush_aor_h(struct le *le, void *arg)
{
	struct binding *b = le->data;
	if (!strcmp(b->b.aor, (const char *)arg))
		mem_deref(b);
	return false;
}

struct reg_ctx {
	struct registrar *r;
	const struct sip_msg *msg;
	const char *aor;
	uint32_t dflt_exp;
	uint16_t scode;          /* 0 ok, else error to send */
	bool star;
};

static uint32_t contact_expires(struct reg_ctx *c, const struct sip_addr *addr)
{
	struct pl v;

	if (!msg_param_decode(&addr->params, "expires", &v))
		return pl_u32(&v);
	return c->dflt_exp;
}

static int binding_update(struct reg_ctx *c, const struct sip_addr *addr, uint32_t exp)
{
	struct registrar *r = c->r;
	struct find f = { .aor = c->aor, .contact = &addr->auri };
	struct binding *b;

	b = list_ledata(hash_lookup(r->bindings, hash_joaat_str(c->aor), find_contact_h, &f));
	if (exp == 0) {
		mem_deref(b);
		return 0;
	}
	if (!b) {
		if (addr->auri.l >= sizeof(b->b.contact))
			return EOVERFLOW;
		b = mem_zalloc(sizeof(*b), binding_destructor);
		if (!b)
			return ENOMEM;
		b->r = r;
		++r->count;
		str_ncpy(b->b.aor, c->aor, sizeof(b->b.aor));
		(void)pl_strcpy(&addr->auri, b->b.contact, sizeof(b->b.contact));
		hash_append(r->bindings, hash_joaat_str(c->aor), &b->he, b);
		log_info("registrar: registered (aor=%s contact=%s src=%J)", c->aor,
			 b->b.contact, &c->msg->src);
	}
	b->seq = ++r->seq;
	b->b.src = c->msg->src;
	b->b.tp = c->msg->tp;
	{
		struct sa csa;

		b->b.direct = b->b.tp == SIP_TRANSP_UDP &&
			!sa_set(&csa, &addr->uri.host, addr->uri.port ? addr->uri.port : 5060) &&
			sa_cmp(&csa, &b->b.src, SA_ALL);
	}
	b->b.expires_at = tmr_jiffies() + (uint64_t)exp * 1000;
	{
		const struct sip_hdr *ua = sip_msg_hdr(c->msg, SIP_HDR_USER_AGENT);
		b->b.ua[0] = '\0';
		if (ua)
			(void)pl_strcpy(&ua->val, b->b.ua, sizeof(b->b.ua));
	}
	tmr_start(&b->tmr, (uint64_t)exp * 1000, binding_expire, b);
	return 0;
}

static bool contact_h(const struct sip_hdr *hdr, const struct sip_msg *msg, void *arg)
{
	struct reg_ctx *c = arg;
	struct sip_addr addr;
	uint32_t exp;
	(void)msg;

	if (!pl_strcmp(&hdr->val, "*")) {
		c->star = true;
		return false;
	}
	if (sip_addr_decode(&addr, &hdr->val)) {
		c->scode = 400;
		return true;
	}
	exp = contact_expires(c, &addr);
	if (exp > 0 && exp < c->r->min_exp) {
		c->scode = 423;
		return true;
	}
	if (exp > c->r->max_exp)
		exp = c->r->max_exp;
	if (binding_update(c, &addr, exp))
		c->scode = 500;
	return c->scode != 0;
}

static void reply_ok(struct registrar *r, const struct sip_msg *msg, const char *aor)
{
	struct mbuf *mb = mbuf_alloc(512);
	struct le *le;
	uint64_t now = tmr_jiffies();

	if (!mb)
		return;
	for (le = hash_list(r->bindings, hash_joaat_str(aor))->head; le; le = le->next) {
		struct binding *b = le->data;
		if (strcmp(b->b.aor, aor))
			continue;
		(void)mbuf_printf(mb, "Contact: <%s>;expires=%llu\r\n", b->b.contact,
				  (unsigned long long)((b->b.expires_at - now + 999) / 1000));
	}
	mbuf_write_u8(mb, 0);
	(void)sip_replyf(r->sip, msg, 200, "OK", "%sContent-Length: 0\r\n\r\n", mb->buf);
	mem_deref(mb);
}

void registrar_handle(struct registrar *r, const struct sip_msg *msg)
{
	static unsigned last, supp;
	struct reg_ctx c = { .r = r, .msg = msg };
	char user[64], aor[64];

	switch (sipauth_check(r->auth, msg, false, user, sizeof(user))) {
	case SIPAUTH_OK:
		break;
	case SIPAUTH_CHALLENGE:
		(void)sipauth_reply_challenge(r->auth, r->sip, msg, false, false);
		return;
	case SIPAUTH_STALE:
		(void)sipauth_reply_challenge(r->auth, r->sip, msg, false, true);
		return;
	default:
		log_ratelimited(&last, &supp, "registrar: authentication failed (src=%J to=%r)",
				&msg->src, &msg->to.uri.user);
		(void)sip_reply(r->sip, msg, 403, "Forbidden");
		return;
	}
	if (msg->to.uri.user.l >= sizeof(aor) ||
	    pl_strcpy(&msg->to.uri.user, aor, sizeof(aor)) || strcmp(aor, user)) {
		(void)sip_reply(r->sip, msg, 403, "Forbidden (To does not match credentials)");
		return;
	}
	c.aor = aor;
	c.dflt_exp = pl_isset(&msg->expires) ? pl_u32(&msg->expires) : 3600;
	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT, contact_h, &c);
	if (c.star) {
		if (c.dflt_exp != 0) {
			(void)sip_reply(r->sip, msg, 400, "Bad Request (Contact * needs Expires 0)");
			return;
		}
		hash_apply(r->bindings, flush_aor_h, aor);
	}
	if (c.scode == 423) {
		(void)sip_replyf(r->sip, msg, 423, "Interval Too Brief",
				 "Min-Expires: %u\r\nContent-Length: 0\r\n\r\n", r->min_exp);
		return;
	}
	if (c.scode) {
		(void)sip_reply(r->sip, msg, c.scode, c.scode == 400 ? "Bad Request" : "Server Error");
		return;
	}
	reply_ok(r, msg, aor);
}

int registrar_lookup(const struct registrar *r, const char *ext, struct reg_binding *out)
{
	struct find f = { .aor = ext };

	if (!r || !ext)
		return EINVAL;
	(void)hash_apply(r->bindings, newest_h, &f);
	if (!f.hit)
		return ENOENT;
	if (out)
		*out = f.hit->b;
	return 0;
}

struct apply_ctx { registrar_apply_h *h; void *arg; };

static bool apply_h(struct le *le, void *arg)
{
	struct binding *b = le->data;
	struct apply_ctx *a = arg;
	a->h(&b->b, a->arg);
	return false;
}

void registrar_apply(const struct registrar *r, registrar_apply_h *h, void *arg)
{
	struct apply_ctx a = { h, arg };
	if (r && h)
		(void)hash_apply(r->bindings, apply_h, &a);
}

unsigned registrar_count(const struct registrar *r)
{
	return r ? r->count : 0;
}
