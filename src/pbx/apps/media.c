/* apps/media: prompts, digit collection, tones, music on hold, DTMF and
 * MixMonitor as Asterisk's apps behave (asterisk-semantics.md §6). One
 * struct mop carries a foreground operation until its app is done. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <re.h>
#include "core/log.h"
#include "media/afile.h"
#include "media/moh.h"
#include "media/mstream.h"
#include "media/player.h"
#include "media/recorder.h"
#include "media/say.h"
#include "media/tone.h"
#include "media/tts.h"
#include "pbx/app.h"
#include "pbx/apps/media.h"
#include "pbx/chan.h"
#include "pbx/dialplan.h"

enum { MAXARGS = 8, MAXDIGITS = 255 };

static const struct media_conf *mc;
static struct list mixmons;     /* struct mixmon: running MixMonitors */

enum mop_kind { MOP_PLAY, MOP_BACKGROUND, MOP_READ, MOP_MOH, MOP_SENDDTMF };

struct mop {
	struct chan *ch;
	struct chan_watch w;
	struct player *pl;
	struct tmr tmr;
	struct tts_req *req;
	app_done_h *doneh;
	void *arg;
	enum mop_kind kind;
	const char *status_var;      /* PLAYBACKSTATUS, BACKGROUNDSTATUS */
	bool failed, dtmf_on, interruptible;
	char digits[MAXDIGITS + 1];
	size_t ndig;
	/* Read */
	char var[128], term[16], files[1024];
	unsigned maxdigits, attempts;
	uint64_t first_ms, between_ms;
	bool opt_e, tone_mode;
	/* Background */
	char context[128];
	/* SendDTMF */
	char send[128];
	size_t spos;
	uint32_t dur, gap;
};

struct mixmon {
	struct le le;
	struct chan *ch;
	struct chan_watch w;
	struct recorder *rec;
	char id[32], path[512];
};

/* --- small helpers ------------------------------------------------------- */

/* Splits Asterisk app data on commas outside parentheses, in place. */
static int args_split(char *s, char **argv, int max)
{
	int n = 0, depth = 0;

	if (!s)
		return 0;
	argv[n++] = s;
	for (; *s; s++) {
		if (*s == '(')
			++depth;
		else if (*s == ')' && depth)
			--depth;
		else if (*s == ',' && !depth && n < max) {
			*s = '\0';
			argv[n++] = s + 1;
		}
	}
	for (int i = n; i < max; i++)
		argv[i] = NULL;
	return n;
}

static const char *chan_lang(struct chan *ch)
{
	const char *l = chan_var_get(ch, "CHANNEL_LANGUAGE");

	if (str_isset(l))
		return l;
	return str_isset(mc->language) ? mc->language : "en";
}

static int done_sync(app_done_h *doneh, void *arg, int res)
{
	doneh(res, arg);
	return 0;
}

/* Adds each '&'-separated prompt, resolved for the channel's language.
 * Missing ones are logged and skipped (Playback goes on, status FAILED). */
static int load_prompts(struct mop *op, const char *names, const char *lang)
{
	char buf[1024], path[512], *save = NULL;
	int err = 0;

	str_ncpy(buf, names ? names : "", sizeof(buf));
	for (char *n = strtok_r(buf, "&", &save); n && !err; n = strtok_r(NULL, "&", &save)) {
		/* An announcement (by its name) comes first: the admin named it. */
		if ((!str_isset(mc->announce_dir) || strchr(n, '/') ||
		     afile_find(path, sizeof(path), mc->announce_dir, lang, n)) &&
		    afile_find(path, sizeof(path), mc->sounds_dir, lang, n)) {
			log_warn("media: prompt '%s' not found for language %s under %s (channel=%s)",
				 n, lang, mc->sounds_dir, chan_name(op->ch));
			op->failed = true;
			continue;
		}
		err = player_add_file(op->pl, path);
	}
	return err;
}

/* --- the foreground operation -------------------------------------------- */

static void mop_destructor(void *data)
{
	struct mop *op = data;

	tmr_cancel(&op->tmr);
	chan_watch_remove(&op->w);
	if (op->dtmf_on)
		chan_set_dtmf_handler(op->ch, NULL, NULL);
	mem_deref(op->req);
	mem_deref(op->pl);
	mem_deref(op->ch);
}

static void mop_finish(struct mop *op, int res)
{
	app_done_h *doneh = op->doneh;
	void *arg = op->arg;
	struct chan *ch = mem_ref(op->ch);
	struct player *gen;

	if (op->status_var)
		(void)chan_var_set(ch, op->status_var, op->failed ? "FAILED" : "SUCCESS");
	mem_deref(op);
	gen = chan_generator(ch);
	if (gen && !chan_is_hungup(ch))
		(void)player_start(gen, NULL, NULL);
	mem_deref(ch);
	doneh(res, arg);
}

static void mop_chan_h(struct chan *ch, enum chan_event ev, void *arg);

static int mop_alloc(struct mop **opp, struct chan *ch, enum mop_kind kind,
		     app_done_h *doneh, void *arg)
{
	struct mop *op;
	struct mstream *ms = chan_media(ch);
	int err;

	if (!ms)
		return ENOTSUP;
	op = mem_zalloc(sizeof(*op), mop_destructor);
	if (!op)
		return ENOMEM;
	op->ch = mem_ref(ch);
	op->kind = kind;
	op->doneh = doneh;
	op->arg = arg;
	tmr_init(&op->tmr);
	err = player_alloc(&op->pl, ms);
	if (err) {
		mem_deref(op);
		return err;
	}
	chan_watch_add(ch, &op->w, mop_chan_h, op);
	*opp = op;
	return 0;
}

/* Pauses the channel's background sound while a prompt plays. */
static void gen_pause(struct chan *ch)
{
	player_pause(chan_generator(ch));
}

static void read_complete(struct mop *op, const char *status);

static void mop_chan_h(struct chan *ch, enum chan_event ev, void *arg)
{
	struct mop *op = arg;
	(void)ch;

	if (ev == CHAN_EV_REDIRECT) {
		if (op->kind == MOP_READ)
			read_complete(op, "INTERRUPTED");
		else
			mop_finish(op, APP_OK);     /* the dialplan jumps */
		return;
	}
	if (ev != CHAN_EV_HANGUP)
		return;
	if (op->kind == MOP_READ) {
		read_complete(op, "HANGUP");
		return;
	}
	mop_finish(op, APP_HANGUP);
}

static int answer_unless(struct chan *ch, bool noanswer)
{
	if (noanswer || chan_state(ch) == CHAN_STATE_UP)
		return 0;
	return chan_answer(ch);
}

/* --- Playback, SayDigits, SayNumber, TTS ---------------------------------- */

static void play_done_h(int err, void *arg)
{
	struct mop *op = arg;

	if (err)
		op->failed = true;
	mop_finish(op, APP_OK);
}

/* Starts the op's player; an app whose sound cannot start still ends. */
static int mop_start(struct mop *op, player_done_h *doneh)
{
	int err = player_start(op->pl, doneh, op);

	if (err) {
		log_warn("media: cannot play (channel=%s): %m", chan_name(op->ch), err);
		op->failed = true;
		mop_finish(op, APP_OK);
	}
	return 0;
}

static int mop_play(struct mop *op)
{
	if (!player_count(op->pl)) {
		op->failed = true;
		mop_finish(op, APP_OK);
		return 0;
	}
	gen_pause(op->ch);
	return mop_start(op, play_done_h);
}

/* The shared start of Playback and Background: skip when not up, answer
 * unless told not to. NULL when the app has already completed. */
static struct mop *prompt_begin(struct chan *ch, enum mop_kind kind, const char *status_var,
				bool skip, bool noanswer, app_done_h *doneh, void *arg)
{
	struct mop *op;

	if (chan_is_hungup(ch)) {
		doneh(APP_HANGUP, arg);
		return NULL;
	}
	if (skip && chan_state(ch) != CHAN_STATE_UP) {
		(void)chan_var_set(ch, status_var, "SUCCESS");
		doneh(APP_OK, arg);
		return NULL;
	}
	if (answer_unless(ch, noanswer) || mop_alloc(&op, ch, kind, doneh, arg)) {
		(void)chan_var_set(ch, status_var, "FAILED");
		doneh(APP_OK, arg);
		return NULL;
	}
	op->status_var = status_var;
	return op;
}

static int app_playback(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	char buf[1024], *argv[MAXARGS];
	const char *opts;
	struct mop *op;

	str_ncpy(buf, data ? data : "", sizeof(buf));
	args_split(buf, argv, MAXARGS);
	opts = argv[1] ? argv[1] : "";
	op = prompt_begin(ch, MOP_PLAY, "PLAYBACKSTATUS", strstr(opts, "skip") != NULL,
			  strstr(opts, "noanswer") != NULL, doneh, arg);
	if (!op)
		return 0;
	if (load_prompts(op, argv[0], chan_lang(ch))) {
		op->failed = true;
		mop_finish(op, APP_OK);
		return 0;
	}
	return mop_play(op);
}

static void announce_done(int res, void *arg)
{
	(void)res;
	(void)arg;
}

int media_announce(struct chan *ch, const char *files)
{
	struct mop *op;

	if (!ch || !str_isset(files))
		return EINVAL;
	if (chan_is_hungup(ch) || mop_alloc(&op, ch, MOP_PLAY, announce_done, NULL))
		return ENOTCONN;
	if (load_prompts(op, files, chan_lang(ch))) {
		mop_finish(op, APP_OK);
		return ENOENT;
	}
	return mop_play(op);
}

static void say_tts_done(int err, const char *path, void *arg)
{
	struct mop *op = arg;

	op->req = mem_deref(op->req);
	if (err || player_add_file(op->pl, path)) {
		log_warn("media: TTS failed (channel=%s): %m", chan_name(op->ch), err);
		op->failed = true;
	}
	(void)mop_play(op);
}

static int start_tts(struct mop *op, const char *text, const char *lang)
{
	int err;

	if (!mc->tts)
		return ENOTSUP;
	err = tts_render(&op->req, mc->tts, text, lang, say_tts_done, op);
	if (err)
		log_warn("media: TTS of '%s' in %s refused (channel=%s): %m", text, lang,
			 chan_name(op->ch), err);
	return err;
}

/* A language has its own digit prompts when sounds_dir/<lang>/digits exists;
 * otherwise (fa on a stock Debian box) SayDigits speaks through TTS rather
 * than in another language's voice. */
static bool lang_has_digits(const char *lang)
{
	char path[512];
	struct stat st;

	if (!str_casecmp(lang, "en") || !strncasecmp(lang, "en_", 3))
		return true;
	if (re_snprintf(path, sizeof(path), "%s/%s/digits", mc->sounds_dir, lang) < 0)
		return false;
	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static int app_say(struct chan *ch, const char *data, bool number, app_done_h *doneh,
		   void *arg)
{
	char buf[256], names[2048], *argv[MAXARGS];
	const char *lang = chan_lang(ch);
	struct mop *op;
	int err;

	str_ncpy(buf, data ? data : "", sizeof(buf));
	args_split(buf, argv, MAXARGS);
	if (chan_is_hungup(ch))
		return done_sync(doneh, arg, APP_HANGUP);
	err = number ? say_number_files(names, sizeof(names), argv[0], lang)
		     : say_digits_files(names, sizeof(names), argv[0], lang);
	if (!err && !number && mc->tts && !lang_has_digits(lang))
		err = ENOTSUP;
	if (err && err != ENOTSUP) {
		log_warn("media: Say%s: cannot say '%s' (channel=%s)", number ? "Number" : "Digits",
			 argv[0] ? argv[0] : "", chan_name(ch));
		return done_sync(doneh, arg, APP_OK);
	}
	if (mop_alloc(&op, ch, MOP_PLAY, doneh, arg))
		return done_sync(doneh, arg, APP_OK);
	if (err == ENOTSUP) {
		/* No recorded number set for this language (fa): speak it;
		 * digits one by one, separated so espeak reads each. */
		char text[512] = "";
		size_t o = 0;
		for (const char *c = argv[0]; *c && o + 3 < sizeof(text); c++) {
			if (!number && o)
				text[o++] = ' ';
			text[o++] = *c;
		}
		text[o] = '\0';
		if (start_tts(op, text, lang)) {
			mop_finish(op, APP_OK);
			return 0;
		}
		return 0;
	}
	err = load_prompts(op, names, lang);
	return err ? err : mop_play(op);
}

static int app_saydigits(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	return app_say(ch, data, false, doneh, arg);
}

static int app_saynumber(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	return app_say(ch, data, true, doneh, arg);
}

/* TTS(text[,lang[,options]]): speaks text; answers unless option n. */
static int app_tts(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	char buf[2048], *argv[MAXARGS];
	struct mop *op;
	int n;

	str_ncpy(buf, data ? data : "", sizeof(buf));
	n = args_split(buf, argv, 3);
	if (chan_is_hungup(ch))
		return done_sync(doneh, arg, APP_HANGUP);
	if (n < 1 || !str_isset(argv[0])) {
		(void)chan_var_set(ch, "TTSSTATUS", "FAILED");
		return done_sync(doneh, arg, APP_OK);
	}
	if (answer_unless(ch, argv[2] && strchr(argv[2], 'n')) ||
	    mop_alloc(&op, ch, MOP_PLAY, doneh, arg)) {
		(void)chan_var_set(ch, "TTSSTATUS", "FAILED");
		return done_sync(doneh, arg, APP_OK);
	}
	op->status_var = "TTSSTATUS";
	if (start_tts(op, argv[0], str_isset(argv[1]) ? argv[1] : chan_lang(ch))) {
		op->failed = true;
		mop_finish(op, APP_OK);
	}
	return 0;
}

/* --- Background ----------------------------------------------------------- */

static bool can_match_more(const char *ctx, const char *digits)
{
	static const char next[] = "0123456789*#";
	char buf[MAXDIGITS + 2];
	size_t n = strlen(digits);

	if (n >= MAXDIGITS)
		return false;
	memcpy(buf, digits, n);
	buf[n + 1] = '\0';
	for (const char *c = next; *c; c++) {
		buf[n] = *c;
		if (dialplan_exists(mc->dp, ctx, buf))
			return true;
	}
	return false;
}

/* The core's digit collection after Background (pbx.c): an extension that
 * cannot grow is taken at once; otherwise wait TIMEOUT(digit). */
static void bg_decide(struct mop *op, bool timed_out)
{
	const char *ctx = op->context;
	bool exact = dialplan_exists(mc->dp, ctx, op->digits);
	bool more = !timed_out && can_match_more(ctx, op->digits);

	if (more) {
		tmr_start(&op->tmr, 5000, NULL, NULL);
		return;
	}
	if (exact)
		(void)chan_set_location(op->ch, ctx, op->digits);
	else if (dialplan_exists(mc->dp, ctx, "i"))
		(void)chan_set_location(op->ch, ctx, "i");
	mop_finish(op, APP_OK);
}

static void bg_tmr_h(void *arg)
{
	bg_decide(arg, true);
}

static void bg_dtmf_h(struct chan *ch, char digit, void *arg)
{
	struct mop *op = arg;
	(void)ch;

	if (op->ndig >= MAXDIGITS)
		return;
	player_pause(op->pl);
	op->digits[op->ndig++] = digit;
	op->digits[op->ndig] = '\0';
	tmr_cancel(&op->tmr);
	if (!can_match_more(op->context, op->digits)) {
		bg_decide(op, false);
		return;
	}
	tmr_start(&op->tmr, 5000, bg_tmr_h, op);
}

static void bg_play_done(int err, void *arg)
{
	struct mop *op = arg;

	if (err)
		op->failed = true;
	if (!op->ndig)
		mop_finish(op, APP_OK);
}

static int app_background(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	char buf[1024], *argv[MAXARGS];
	const char *opts;
	struct mop *op;

	str_ncpy(buf, data ? data : "", sizeof(buf));
	args_split(buf, argv, MAXARGS);
	opts = argv[1] ? argv[1] : "";
	op = prompt_begin(ch, MOP_BACKGROUND, "BACKGROUNDSTATUS", strchr(opts, 's') != NULL,
			  strchr(opts, 'n') != NULL, doneh, arg);
	if (!op)
		return 0;
	str_ncpy(op->context, str_isset(argv[3]) ? argv[3] : chan_context(ch),
		 sizeof(op->context));
	if (load_prompts(op, argv[0], str_isset(argv[2]) ? argv[2] : chan_lang(ch)))
		op->failed = true;
	if (!player_count(op->pl)) {
		mop_finish(op, APP_OK);
		return 0;
	}
	if (!strchr(opts, 'p')) {
		op->dtmf_on = true;
		chan_set_dtmf_handler(ch, bg_dtmf_h, op);
	}
	gen_pause(ch);
	return mop_start(op, bg_play_done);
}

/* --- Read ----------------------------------------------------------------- */

static void read_complete(struct mop *op, const char *status)
{
	const char *value = op->digits;

	(void)chan_var_set(op->ch, op->var, value);
	(void)chan_var_set(op->ch, "READSTATUS",
			   chan_is_hungup(op->ch) ? "HANGUP" : status);
	mop_finish(op, APP_OK);        /* Read always returns 0 */
}

static int read_prompt(struct mop *op);

static void read_tmr_h(void *arg)
{
	struct mop *op = arg;

	if (!op->ndig && op->attempts > 1) {
		--op->attempts;
		if (!read_prompt(op))
			return;
	}
	read_complete(op, "TIMEOUT");
}

static void read_wait(struct mop *op)
{
	tmr_start(&op->tmr, op->ndig ? op->between_ms : op->first_ms, read_tmr_h, op);
}

static void read_prompt_done(int err, void *arg)
{
	struct mop *op = arg;

	(void)err;
	read_wait(op);
}

static int read_prompt(struct mop *op)
{
	int err;

	op->pl = mem_deref(op->pl);
	err = player_alloc(&op->pl, chan_media(op->ch));
	if (err)
		return err;
	if (op->tone_mode) {
		const char *spec = tone_zone_spec(mc->tonezone, op->files);
		err = player_add_tone(op->pl, spec ? spec : op->files, 0);
	}
	else if (op->files[0]) {
		err = load_prompts(op, op->files, chan_lang(op->ch));
	}
	if (err || !player_count(op->pl)) {
		read_wait(op);
		return 0;
	}
	return player_start(op->pl, read_prompt_done, op);
}

static void read_dtmf_h(struct chan *ch, char digit, void *arg)
{
	struct mop *op = arg;
	(void)ch;

	player_pause(op->pl);
	tmr_cancel(&op->tmr);
	if (strchr(op->term, digit)) {
		if (!op->ndig && op->opt_e) {
			op->digits[0] = digit;
			op->digits[1] = '\0';
		}
		read_complete(op, "OK");
		return;
	}
	op->digits[op->ndig++] = digit;
	op->digits[op->ndig] = '\0';
	if (op->ndig >= op->maxdigits) {
		read_complete(op, "OK");
		return;
	}
	read_wait(op);
}

static int app_read(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	char buf[1024], *argv[MAXARGS], targ[16];
	const char *opts;
	struct mop *op;
	double tmo;
	long maxd;
	int err;

	str_ncpy(buf, data ? data : "", sizeof(buf));
	args_split(buf, argv, MAXARGS);
	(void)chan_var_set(ch, "READSTATUS", "ERROR");
	if (!str_isset(argv[0])) {
		log_warn("media: Read requires a variable name (channel=%s)", chan_name(ch));
		return done_sync(doneh, arg, APP_OK);
	}
	if (chan_is_hungup(ch)) {
		(void)chan_var_set(ch, "READSTATUS", "HANGUP");
		return done_sync(doneh, arg, APP_OK);
	}
	opts = argv[3] ? argv[3] : "";
	if (app_opt(opts, 's', NULL, 0) && chan_state(ch) != CHAN_STATE_UP) {
		(void)chan_var_set(ch, argv[0], "");
		(void)chan_var_set(ch, "READSTATUS", "SKIPPED");
		return done_sync(doneh, arg, APP_OK);
	}
	if (answer_unless(ch, app_opt(opts, 'n', NULL, 0)) ||
	    mop_alloc(&op, ch, MOP_READ, doneh, arg))
		return done_sync(doneh, arg, APP_OK);
	str_ncpy(op->var, argv[0], sizeof(op->var));
	str_ncpy(op->files, argv[1] ? argv[1] : "", sizeof(op->files));
	maxd = argv[2] ? strtol(argv[2], NULL, 10) : 0;
	op->maxdigits = maxd < 1 || maxd > MAXDIGITS ? MAXDIGITS : (unsigned)maxd;
	str_ncpy(op->term, "#", sizeof(op->term));
	if (app_opt(opts, 't', targ, sizeof(targ)))
		str_ncpy(op->term, targ, sizeof(op->term));
	op->opt_e = app_opt(opts, 'e', NULL, 0);
	op->tone_mode = app_opt(opts, 'i', NULL, 0);
	op->attempts = argv[4] && atoi(argv[4]) > 1 ? (unsigned)atoi(argv[4]) : 1;
	tmo = argv[5] ? strtod(argv[5], NULL) : 0;
	op->first_ms = tmo > 0 ? (uint64_t)(tmo * 1000) : 10000;
	op->between_ms = tmo > 0 ? (uint64_t)(tmo * 1000) : 5000;
	op->dtmf_on = true;
	chan_set_dtmf_handler(ch, read_dtmf_h, op);
	gen_pause(ch);
	err = read_prompt(op);
	if (err)
		read_complete(op, "ERROR");
	return 0;
}

/* --- tones and music on hold ---------------------------------------------- */

static int gen_start(struct chan *ch, struct player *pl)
{
	int err;

	chan_set_generator(ch, pl);
	err = player_start(pl, NULL, NULL);
	mem_deref(pl);
	if (err)
		chan_set_generator(ch, NULL);
	return err;
}

int media_tone_start(struct chan *ch, const char *tone)
{
	struct player *pl;
	const char *spec;
	int err;

	if (!ch || !str_isset(tone))
		return EINVAL;
	spec = tone_zone_spec(mc->tonezone, tone);
	err = player_alloc(&pl, chan_media(ch));
	if (err)
		return err;
	err = player_add_tone(pl, spec ? spec : tone, 0);
	if (err) {
		log_warn("media: '%s' is neither a tone of zone %s nor a tone spec (channel=%s)",
			 tone, mc->tonezone, chan_name(ch));
		mem_deref(pl);
		return err;
	}
	return gen_start(ch, pl);
}

static const char *moh_class(struct chan *ch, const char *mclass)
{
	const char *c = chan_var_get(ch, "CHANNEL_MUSICCLASS");

	if (str_isset(c))
		return c;
	if (str_isset(mclass))
		return mclass;
	return mc->moh_class;
}

static int moh_player(struct chan *ch, const char *mclass, struct player **plp)
{
	const char *cls = moh_class(ch, mclass);
	int err = player_alloc(plp, chan_media(ch));

	if (!err)
		err = mohset_fill(mc->moh, cls, *plp);
	if (err) {
		log_warn("media: no music on hold class '%s' (channel=%s)", cls ? cls : "",
			 chan_name(ch));
		*plp = mem_deref(*plp);
	}
	return err;
}

int media_moh_start(struct chan *ch, const char *mclass)
{
	struct player *pl;
	int err;

	if (!ch)
		return EINVAL;
	err = moh_player(ch, mclass, &pl);
	return err ? err : gen_start(ch, pl);
}

void media_gen_stop(struct chan *ch)
{
	chan_set_generator(ch, NULL);
}

static int app_playtones(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	(void)media_tone_start(ch, data);
	return done_sync(doneh, arg, APP_OK);
}

static int app_stopgen(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	(void)data;
	media_gen_stop(ch);
	return done_sync(doneh, arg, APP_OK);
}

static int app_startmoh(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	(void)media_moh_start(ch, data);
	return done_sync(doneh, arg, APP_OK);
}

static void moh_tmr_h(void *arg)
{
	mop_finish(arg, APP_OK);
}

/* MusicOnHold(class[,duration]): blocks; without duration until hangup. */
static int app_musiconhold(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	char buf[256], *argv[MAXARGS];
	struct mop *op;
	double secs;

	str_ncpy(buf, data ? data : "", sizeof(buf));
	args_split(buf, argv, MAXARGS);
	if (chan_is_hungup(ch))
		return done_sync(doneh, arg, APP_HANGUP);
	if (mop_alloc(&op, ch, MOP_MOH, doneh, arg))
		return done_sync(doneh, arg, APP_OK);
	op->pl = mem_deref(op->pl);
	if (moh_player(ch, argv[0], &op->pl)) {
		mop_finish(op, APP_OK);
		return 0;
	}
	gen_pause(ch);
	secs = argv[1] ? strtod(argv[1], NULL) : 0;
	if (secs > 0)
		tmr_start(&op->tmr, (uint64_t)(secs * 1000), moh_tmr_h, op);
	return mop_start(op, NULL);
}

/* --- SendDTMF ------------------------------------------------------------- */

static void senddtmf_next(void *arg)
{
	struct mop *op = arg;
	char d;

	if (op->spos >= strlen(op->send)) {
		mop_finish(op, APP_OK);
		return;
	}
	d = op->send[op->spos++];
	if (d == 'w' || d == 'W') {              /* Asterisk: w = half a second */
		tmr_start(&op->tmr, 500, senddtmf_next, op);
		return;
	}
	if (chan_send_dtmf(op->ch, d, op->dur))
		log_warn("media: SendDTMF cannot send '%c' (channel=%s)", d, chan_name(op->ch));
	tmr_start(&op->tmr, op->dur + op->gap, senddtmf_next, op);
}

/* SendDTMF(digits[,timeout_ms[,duration_ms]]). */
static int app_senddtmf(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	char buf[256], *argv[MAXARGS];
	struct mop *op;

	str_ncpy(buf, data ? data : "", sizeof(buf));
	args_split(buf, argv, MAXARGS);
	if (chan_is_hungup(ch))
		return done_sync(doneh, arg, APP_HANGUP);
	if (!str_isset(argv[0]) || mop_alloc(&op, ch, MOP_SENDDTMF, doneh, arg))
		return done_sync(doneh, arg, APP_OK);
	str_ncpy(op->send, argv[0], sizeof(op->send));
	op->gap = argv[1] && atoi(argv[1]) > 0 ? (uint32_t)atoi(argv[1]) : 250;
	op->dur = argv[2] && atoi(argv[2]) > 0 ? (uint32_t)atoi(argv[2]) : 100;
	senddtmf_next(op);
	return 0;
}

/* --- MixMonitor ----------------------------------------------------------- */

static void mixmon_destructor(void *data)
{
	struct mixmon *m = data;

	list_unlink(&m->le);
	chan_watch_remove(&m->w);
	mstream_remove_recorder(chan_media(m->ch), m->rec);
	mem_deref(m->rec);
	mem_deref(m->ch);
}

static void mixmon_chan_h(struct chan *ch, enum chan_event ev, void *arg)
{
	struct mixmon *m = arg;
	(void)ch;

	if (ev == CHAN_EV_HANGUP) {
		log_info("media: MixMonitor ended with the call (file=%s)", m->path);
		mem_deref(m);
	}
}

static void mixmon_fail_h(int err, void *arg)
{
	struct mixmon *m = arg;

	log_error("media: recording stopped: %m (file=%s channel=%s); the call goes on",
		  err, m->path, chan_name(m->ch));
	mem_deref(m);
}

/* ${UNIQUEID}/${LINKEDID}/${EPOCH} and strftime(3) fields in the name. */
static int mixmon_path(struct chan *ch, const char *name, char *out, size_t sz)
{
	char tmpl[512], expanded[512];
	const char *s = str_isset(name) ? name : "%Y%m%d-%H%M%S-${UNIQUEID}.wav";
	time_t now = time(NULL);
	struct tm tm;
	size_t o = 0;

	while (*s && o + 1 < sizeof(tmpl)) {
		const char *v = NULL;
		size_t skip = 0;
		if (!strncmp(s, "${UNIQUEID}", 11))
			v = chan_uniqueid(ch), skip = 11;
		else if (!strncmp(s, "${LINKEDID}", 11))
			v = chan_linkedid(ch), skip = 11;
		if (v) {
			o += (size_t)re_snprintf(tmpl + o, sizeof(tmpl) - o, "%s", v);
			s += skip;
			continue;
		}
		tmpl[o++] = *s++;
	}
	tmpl[o] = '\0';
	(void)localtime_r(&now, &tm);
	if (!strftime(expanded, sizeof(expanded), tmpl, &tm))
		return ENAMETOOLONG;
	if (expanded[0] == '/')
		return re_snprintf(out, sz, "%s", expanded) < 0 ? ENAMETOOLONG : 0;
	return re_snprintf(out, sz, "%s/%s", mc->recordings_dir, expanded) < 0 ? ENAMETOOLONG
										 : 0;
}

/* MixMonitor(file[,options]): a = append, D = stereo (party left, what it
 * hears right), i(var) = store the id. Does not answer. */
static int app_mixmonitor(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	char buf[1024], *argv[MAXARGS], ivar[64];
	const char *opts;
	struct mstream *ms = chan_media(ch);
	struct mixmon *m;
	unsigned flags = 0;
	int err;

	str_ncpy(buf, data ? data : "", sizeof(buf));
	args_split(buf, argv, MAXARGS);
	opts = argv[1] ? argv[1] : "";
	if (chan_is_hungup(ch))
		return done_sync(doneh, arg, APP_HANGUP);
	if (!ms || !mc->recw) {
		log_warn("media: MixMonitor: channel %s has no media", chan_name(ch));
		return done_sync(doneh, arg, APP_OK);
	}
	m = mem_zalloc(sizeof(*m), mixmon_destructor);
	if (!m)
		return ENOMEM;
	m->ch = mem_ref(ch);
	if (app_opt(opts, 'a', NULL, 0))
		flags |= RECORDER_APPEND;
	if (app_opt(opts, 'D', NULL, 0))
		flags |= RECORDER_STEREO;
	err = mixmon_path(ch, argv[0], m->path, sizeof(m->path));
	if (!err)
		err = recorder_open(&m->rec, mc->recw, m->path, flags, mixmon_fail_h, m);
	if (!err)
		err = mstream_add_recorder(ms, m->rec);
	if (err) {
		log_warn("media: MixMonitor cannot record to %s: %m (channel=%s)", m->path, err,
			 chan_name(ch));
		mem_deref(m);
		return done_sync(doneh, arg, APP_OK);
	}
	(void)re_snprintf(m->id, sizeof(m->id), "%p", (void *)m);
	list_append(&mixmons, &m->le, m);
	chan_watch_add(ch, &m->w, mixmon_chan_h, m);
	(void)chan_var_set(ch, "MIXMONITOR_FILENAME", m->path);
	(void)chan_expr_write(ch, "CDR(recordingfile)", m->path);
	if (app_opt(opts, 'i', ivar, sizeof(ivar)) && ivar[0])
		(void)chan_var_set(ch, ivar, m->id);
	log_info("media: MixMonitor started (file=%s channel=%s)", m->path, chan_name(ch));
	return done_sync(doneh, arg, APP_OK);
}

static int app_stopmixmonitor(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	struct le *le = mixmons.head;

	while (le) {
		struct mixmon *m = le->data;
		le = le->next;
		if (m->ch == ch && (!str_isset(data) || !strcmp(data, m->id)))
			mem_deref(m);
	}
	return done_sync(doneh, arg, APP_OK);
}

/* --- hold ----------------------------------------------------------------- */

static void hold_h(struct chan *ch, bool held)
{
	struct chan *peer = chan_bridged_peer(ch);

	if (!peer)
		return;
	if (held)
		(void)media_moh_start(peer, NULL);
	else
		media_gen_stop(peer);
}

int apps_media_register(const struct media_conf *conf)
{
	static const struct { const char *name; app_exec_h *h; } apps[] = {
		{"Playback", app_playback}, {"Background", app_background},
		{"Read", app_read}, {"SayDigits", app_saydigits},
		{"SayNumber", app_saynumber}, {"TTS", app_tts},
		{"PlayTones", app_playtones}, {"StopPlayTones", app_stopgen},
		{"MusicOnHold", app_musiconhold}, {"StartMusicOnHold", app_startmoh},
		{"StopMusicOnHold", app_stopgen}, {"SendDTMF", app_senddtmf},
		{"MixMonitor", app_mixmonitor}, {"StopMixMonitor", app_stopmixmonitor},
	};
	int err = 0;

	if (!conf)
		return EINVAL;
	mc = conf;
	for (size_t i = 0; i < sizeof(apps) / sizeof(apps[0]) && !err; i++)
		err = app_register(apps[i].name, apps[i].h);
	chan_set_hold_hook(hold_h);
	return err;
}
