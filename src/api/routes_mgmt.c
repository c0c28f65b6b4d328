/* routes_mgmt: Simotel's music-on-hold and announcement routes, in the
 * shape of routes_pbx: a request is validated whole before
 * anything is written; file work is ordered around the one row write so a
 * refused or failed request leaves neither a row nor a file behind. */
#include "core/rejansson.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include "api/apiform.h"
#include "api/http.h"
#include "api/routes_mgmt.h"
#include "core/log.h"
#include "media/afile.h"
#include "media/moh.h"
#include "media/tts.h"
#include "store/announce.h"

#define MSG_DONE "Requested operation is done successfully"
#define MSG_FAILED "Requested operation failed"
#define MSG_UPLOADED "1 file(s) uploaded successfully"

enum {
	NAME_MAX_LEN = 64,
	NUMBER_MAX_LEN = 64,
	COMMENT_MAX_LEN = 1024,
	TEXT_MAX_LEN = 2000,
	LABELS_MAX = 32,
	LABEL_MAX_LEN = 64,
	FILENAME_MAX_LEN = 96,
	/* An uploaded prompt may last this long once converted. */
	UPLOAD_MAX_MS = 30 * 60 * 1000,
};

/* A TTS rendering under way for announcement id. */
struct pending {
	struct le le;
	struct routes_mgmt *rm;
	struct tts_req *req;
	struct afile_conv *conv;    /* the rendering into uploads/, once spoken */
	char id[32];
	char filename[FILENAME_MAX_LEN + 1];
	bool adding;                /* failure removes the row */
};

struct routes_mgmt {
	struct routes_mgmt_conf cf;
	char *dir;                  /* announce_dir */
	char *updir;                /* announce_dir/uploads */
	struct list pending;        /* TTS renderings */
	struct list uploads;        /* uploads being converted */
};

/* --- helpers ------------------------------------------------------------------ */

#define DIGITS "0123456789"

/* --- music on hold (spec §2.6) ---------------------------------------------- */

/* "55.18 KB" as Simotel shows sizes. */
static void human_size(char *buf, size_t sz, uint64_t n)
{
	static const char *const units[] = { "B", "KB", "MB", "GB" };
	double v = (double)n;
	size_t u = 0;

	while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (!u)
		(void)re_snprintf(buf, sz, "%llu B", (unsigned long long)n);
	else
		(void)snprintf(buf, sz, "%.2f %s", v, units[u]);
}

static void mtime_str(char *buf, size_t sz, time_t t, bool secs)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, sz, secs ? "%Y-%m-%d %H:%M:%S"
					      : "%Y-%m-%d %H:%M", &tm))
		buf[0] = '\0';
}

struct mohq {
	const char *name;
	bool alike;
	json_t *rows;
};

static int moh_class_h(const struct mohclass_info *ci, void *arg)
{
	struct mohq *q = arg;
	json_t *musics;
	char date[32] = "", size[32], md[16], id[33];
	struct stat st;
	int err;

	if (q->name[0] && (q->alike ? !strcasestr(ci->name, q->name)
			   : strcasecmp(ci->name, q->name)))
		return 0;
	musics = json_array();
	if (!musics)
		return ENOMEM;
	for (size_t i = 0; i < ci->nfiles; i++) {
		const char *base = strrchr(ci->files[i], '/');
		char fdate[32] = "";

		if (stat(ci->files[i], &st))
			continue;           /* removed since the class was scanned */
		human_size(size, sizeof(size), (uint64_t)st.st_size);
		mtime_str(fdate, sizeof(fdate), st.st_mtime, false);
		err = apiform_append(musics, json_pack("{s:s,s:s,s:s,s:s}", "file",
						 base ? base + 1 : ci->files[i], "size", size,
						 "date", fdate, "type", "file"));
		if (err) {
			json_decref(musics);
			return err;
		}
	}
	if (!stat(ci->directory, &st))
		mtime_str(date, sizeof(date), st.st_mtime, true);
	/* Classes come from tamas.conf, not rows: a stable id from the name. */
	md5((const uint8_t *)ci->name, strlen(ci->name), (uint8_t *)md);
	for (size_t i = 0; i < 12; i++)
		(void)snprintf(id + 2 * i, 3, "%02x", (uint8_t)md[i]);
	return apiform_append(q->rows, json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:o}", "_id", id,
					   "name", ci->name, "date", date,
					   "path", ci->directory, "sort", ci->sort,
					   "count", (json_int_t)json_array_size(musics),
					   "musics", musics));
}

static void moh_search_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_mgmt *rm = arg;
	struct http_req creq;
	char name[NAME_MAX_LEN + 1];
	struct mohq q = { .name = name };
	int err;

	if (http_arg_bool(req, rep, "alike", true, &q.alike) || apiform_conditions(req, rep, &creq)
	    || http_arg_str(&creq, rep, "name", false, name, sizeof(name)) == EINVAL)
		return;
	q.rows = json_array();
	if (!q.rows) {
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	err = rm->cf.moh ? mohset_foreach(rm->cf.moh, moh_class_h, &q) : 0;
	if (err) {
		json_decref(q.rows);
		log_error("api: pbx/musiconholds/search failed: %m", err);
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	http_reply_ok(rep, "", q.rows);
}

/* --- announcement files --------------------------------------------------- */

static int path_of(char *buf, size_t sz, const char *dir, const char *file, const char *ext)
{
	int n = re_snprintf(buf, sz, "%s/%s%s", dir, file, ext);

	if (n < 0 || (size_t)n >= sz) {
		buf[0] = '\0';
		return ENAMETOOLONG;
	}
	return 0;
}

/* Links uploads/<filename> to <dir>/.<name>.wav.new, ready for publish_commit
 * (the link is made before the row is written, renamed after). */
static int publish_prepare(struct routes_mgmt *rm, const char *filename, const char *name)
{
	char src[512], tmp[512];
	int err = path_of(src, sizeof(src), rm->updir, filename, "");

	err = err ? err : re_snprintf(tmp, sizeof(tmp), "%s/.%s.wav.new", rm->dir, name) < 0
		? ENAMETOOLONG : 0;
	if (err)
		return err;
	(void)unlink(tmp);
	return link(src, tmp) ? errno : 0;
}

static void publish_abort(struct routes_mgmt *rm, const char *name)
{
	char tmp[512];

	if (re_snprintf(tmp, sizeof(tmp), "%s/.%s.wav.new", rm->dir, name) >= 0)
		(void)unlink(tmp);
}

/* Renames the prepared link to <name>.wav: a playback already under way
 * keeps the old file open, the next one finds the new. */
static int publish_commit(struct routes_mgmt *rm, const char *name)
{
	char tmp[512], dst[512];

	if (re_snprintf(tmp, sizeof(tmp), "%s/.%s.wav.new", rm->dir, name) < 0 ||
	    path_of(dst, sizeof(dst), rm->dir, name, ".wav"))
		return ENAMETOOLONG;
	return rename(tmp, dst) ? errno : 0;
}

static void unpublish(struct routes_mgmt *rm, const char *name)
{
	char dst[512];

	if (!path_of(dst, sizeof(dst), rm->dir, name, ".wav") && unlink(dst) && errno != ENOENT)
		log_warn("api: cannot remove announcement file %s: %m", dst, errno);
}

/* The announcement also as "id:<_id>", the name PlayAnnouncement('id:...')
 * uses (spec §2.7); best effort: the name is what matters. */
static void publish_id(struct routes_mgmt *rm, const char *filename, const char *id)
{
	char n[48];
	int err;

	(void)re_snprintf(n, sizeof(n), "id:%s", id);
	err = publish_prepare(rm, filename, n);
	if (!err)
		err = publish_commit(rm, n);
	if (err) {
		publish_abort(rm, n);
		log_warn("api: announcement not playable by id (id=%s err=%m)", id, err);
	}
}

static void unpublish_id(struct routes_mgmt *rm, const char *id)
{
	char n[48];

	(void)re_snprintf(n, sizeof(n), "id:%s", id);
	unpublish(rm, n);
}

/* Deletes uploads/<filename> once no announcement uses it. */
static void upload_release(struct routes_mgmt *rm, const char *filename)
{
	char path[512];
	uint64_t n = 1;

	if (!filename[0] || announce_filename_uses(rm->cf.store, filename, &n) || n)
		return;
	if (!path_of(path, sizeof(path), rm->updir, filename, "") && unlink(path)
	    && errno != ENOENT)
		log_warn("api: cannot remove upload %s: %m", path, errno);
}

static bool upload_exists(struct routes_mgmt *rm, const char *filename)
{
	char path[512];
	struct stat st;

	return !path_of(path, sizeof(path), rm->updir, filename, "") && !stat(path, &st)
		&& S_ISREG(st.st_mode);
}

/* Simotel's stored-name pattern (spec §1.6):
 * file-<YYYYMMDDhhmmss>-<5 random digits>-<sanitised original name>_.wav */
static void stored_name(char *buf, size_t sz, const char *orig)
{
	char clean[21] = "", ts[16] = "";
	const char *dot = strrchr(orig, '.');
	const char *base = strrchr(orig, '/');
	size_t n = 0;
	time_t now = time(NULL);
	struct tm tm;

	base = base ? base + 1 : orig;
	for (const char *p = base; *p && p != dot && n + 1 < sizeof(clean); p++) {
		char c = (char)tolower((unsigned char)*p);

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			clean[n++] = c;
	}
	clean[n] = '\0';
	if (gmtime_r(&now, &tm))
		(void)strftime(ts, sizeof(ts), "%Y%m%d%H%M%S", &tm);
	(void)re_snprintf(buf, sz, "file-%s-%05u-%s_.wav", ts, rand_u32() % 100000,
			  n ? clean : "audio");
}

/* --- announcements (spec §2.7) ---------------------------------------------- */

/* An upload being converted; its request waits for the answer. */
struct upjob {
	struct le le;
	struct http_deferred *d;
	struct afile_conv *conv;
	char tmp[512];
	char name[FILENAME_MAX_LEN + 1];
	char orig[128];
	char user[64];
	size_t len;
};

static void upjob_destructor(void *arg)
{
	struct upjob *j = arg;

	list_unlink(&j->le);
	mem_deref(j->conv);         /* cancels: no half file */
	if (j->tmp[0])
		(void)unlink(j->tmp);
	mem_deref(j->d);            /* sends the answer (500 if none) */
}

/* The answer for a conversion result. */
static void upload_answer(struct http_reply *rep, int err, const char *name, const char *orig,
			  size_t len, const char *user)
{
	if (!err) {
		log_info("api: announcement file uploaded (filename=%s original=%s bytes=%zu "
			 "by=%s)", name, orig, len, user);
		http_reply_ok(rep, MSG_UPLOADED, json_pack("{s:s}", "filename", name));
	}
	else if (err == EINVAL) {
		log_info("api: upload refused: not readable audio (name=%s bytes=%zu by=%s)",
			 orig, len, user);
		http_reply_error(rep, 415, "Unsupported Media Type: 'file' is not audio this "
				 "server can decode (WAV, MP3, FLAC, OGG)");
	}
	else if (err == EFBIG)
		http_reply_fail(rep, "Field 'file': longer than %u minutes", UPLOAD_MAX_MS / 60000);
	else {
		log_error("api: cannot convert an upload (name=%s): %m", orig, err);
		http_reply_error(rep, 500, MSG_FAILED);
	}
}

static void upload_conv_h(int err, void *arg)
{
	struct upjob *j = arg;

	upload_answer(http_deferred_reply(j->d), err, j->name, j->orig, j->len, j->user);
	mem_deref(j);
}

static void upload_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_mgmt *rm = arg;
	char tmp[512], out[512], name[FILENAME_MAX_LEN + 1];
	struct upjob *j;
	ssize_t w = 0;
	size_t off = 0;
	int fd, err;

	if (!req->file) {
		http_reply_fail(rep, "Field 'file':value is missing");
		return;
	}
	if (!req->file->len) {
		http_reply_fail(rep, "Field 'file': the file is empty");
		return;
	}
	if (re_snprintf(tmp, sizeof(tmp), "%s/.upload-XXXXXX", rm->updir) < 0) {
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = errno;
		log_error("api: cannot store an upload in %s: %m", rm->updir, err);
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	while (off < req->file->len && (w = write(fd, req->file->data + off,
						  req->file->len - off)) > 0)
		off += (size_t)w;
	err = off == req->file->len ? 0 : w < 0 ? errno : EIO;
	if (close(fd) && !err)
		err = errno;
	if (err) {
		log_error("api: cannot store an upload in %s: %m", rm->updir, err);
		http_reply_error(rep, 500, MSG_FAILED);
		goto out;
	}
	stored_name(name, sizeof(name), req->file->filename);
	if (path_of(out, sizeof(out), rm->updir, name, "")) {
		http_reply_error(rep, 500, MSG_FAILED);
		goto out;
	}
	j = mem_zalloc(sizeof(*j), upjob_destructor);
	if (!j) {
		http_reply_error(rep, 500, MSG_FAILED);
		goto out;
	}
	str_ncpy(j->tmp, tmp, sizeof(j->tmp));
	str_ncpy(j->name, name, sizeof(j->name));
	str_ncpy(j->orig, req->file->filename, sizeof(j->orig));
	str_ncpy(j->user, req->user, sizeof(j->user));
	j->len = req->file->len;
	tmp[0] = '\0';             /* the job owns the file now */
	/* Whatever the client called it, the content decides: libsndfile
	 * reads WAV, MP3 (through mpg123), FLAC, OGG and more. A long file is
	 * converted over many loop turns while the request waits. */
	err = afile_convert_start(&j->conv, j->tmp, out, UPLOAD_MAX_MS, upload_conv_h, j);
	if (!err && !(j->d = http_reply_defer(rep)))
		err = ENOMEM;
	if (err) {
		upload_answer(rep, err, j->name, j->orig, j->len, j->user);
		mem_deref(j);
		goto out;
	}
	list_append(&rm->uploads, &j->le, j);
	log_info("api: announcement upload converting (filename=%s original=%s bytes=%zu)",
		 j->name, j->orig, j->len);
 out:
	if (tmp[0])
		(void)unlink(tmp);
}

static json_t *announce_json(const struct announce *a)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "_id", a->id, "filename",
			 a->filename, "name", a->name, "comment", a->comment, "date", a->created,
			 "text", a->text, "lang", a->lang, "status", a->status);
}

/* An announcement as a request builds it. */
struct aform {
	char id[32];
	char name[NAME_MAX_LEN + 1];
	char filename[FILENAME_MAX_LEN + 1];
	char comment[COMMENT_MAX_LEN + 1];
	char text[TEXT_MAX_LEN + 1];
	char lang[17];
	char status[16];
	char created[32];
};

static int aform_load_h(const struct announce *a, void *arg)
{
	struct aform *f = arg;

	str_ncpy(f->id, a->id, sizeof(f->id));
	str_ncpy(f->name, a->name, sizeof(f->name));
	str_ncpy(f->filename, a->filename, sizeof(f->filename));
	str_ncpy(f->comment, a->comment, sizeof(f->comment));
	str_ncpy(f->text, a->text, sizeof(f->text));
	str_ncpy(f->lang, a->lang, sizeof(f->lang));
	str_ncpy(f->status, a->status, sizeof(f->status));
	str_ncpy(f->created, a->created, sizeof(f->created));
	return 0;
}

static struct announce aform_row(const struct aform *f)
{
	return (struct announce){ .id = f->id, .name = f->name, .filename = f->filename,
				  .comment = f->comment, .text = f->text, .lang = f->lang,
				  .status = f->status };
}

static struct pending *pending_find(struct routes_mgmt *rm, const char *id)
{
	for (struct le *le = rm->pending.head; le; le = le->next) {
		struct pending *p = le->data;

		if (!strcmp(p->id, id))
			return p;
	}
	return NULL;
}

static void pending_destructor(void *arg)
{
	struct pending *p = arg;

	list_unlink(&p->le);
	mem_deref(p->req);
	mem_deref(p->conv);
}

/* The announcement's rendering failed: an add leaves nothing behind. */
static void render_failed(struct pending *p, const struct aform *f, int err)
{
	struct routes_mgmt *rm = p->rm;

	log_error("api: announcement TTS failed (id=%s name=%s lang=%s err=%m)", p->id,
		  f->name, f->lang, err);
	if (p->adding && !announce_del(rm->cf.store, p->id))
		log_info("api: announcement removed, its TTS failed (id=%s name=%s)", p->id,
			 f->name);
}

static void render_conv_h(int err, void *arg)
{
	struct pending *p = arg;
	struct routes_mgmt *rm = p->rm;
	struct aform f = { .id = "" };
	struct announce a;
	char out[512];
	int e;

	if (announce_get(rm->cf.store, p->id, aform_load_h, &f))
		goto out;               /* removed meanwhile */
	if (!err)
		err = publish_prepare(rm, p->filename, f.name);
	if (err) {
		if (!path_of(out, sizeof(out), rm->updir, p->filename, ""))
			(void)unlink(out);
		render_failed(p, &f, err);
		goto out;
	}
	str_ncpy(f.status, "ready", sizeof(f.status));
	a = aform_row(&f);
	e = announce_update(rm->cf.store, &a);
	if (e || (e = publish_commit(rm, f.name))) {
		log_error("api: announcement TTS not published (id=%s err=%m)", p->id, e);
		publish_abort(rm, f.name);
	}
	else {
		publish_id(rm, p->filename, p->id);
		log_info("api: announcement rendered (id=%s name=%s filename=%s)", p->id, f.name,
			 p->filename);
	}
 out:
	mem_deref(p);
}

static void render_done_h(int err, const char *path, void *arg)
{
	struct pending *p = arg;
	struct routes_mgmt *rm = p->rm;
	struct aform f = { .id = "" };
	char out[512];

	if (announce_get(rm->cf.store, p->id, aform_load_h, &f)) {
		mem_deref(p);           /* removed meanwhile */
		return;
	}
	/* espeak-ng's WAV into the 8 kHz form, on the loop in slices. */
	if (!err)
		err = path_of(out, sizeof(out), rm->updir, p->filename, "");
	if (!err)
		err = afile_convert_start(&p->conv, path, out, UPLOAD_MAX_MS, render_conv_h, p);
	if (err) {
		render_failed(p, &f, err);
		mem_deref(p);
	}
}

/* Starts rendering f->text into uploads/<f->filename>. */
static int render_start(struct routes_mgmt *rm, const struct aform *f, bool adding)
{
	struct pending *p = mem_zalloc(sizeof(*p), pending_destructor);
	int err;

	if (!p)
		return ENOMEM;
	p->rm = rm;
	p->adding = adding;
	str_ncpy(p->id, f->id, sizeof(p->id));
	str_ncpy(p->filename, f->filename, sizeof(p->filename));
	err = tts_render(&p->req, rm->cf.tts, f->text, f->lang, render_done_h, p);
	if (err) {
		mem_deref(p);
		return err;
	}
	list_append(&rm->pending, &p->le, p);
	return 0;
}

/* Reads name, filename, text, lang and comment over f. adding: name is
 * required, and filename or text. 0, or EINVAL with rep filled. */
static int aform_read(const struct http_req *req, struct http_reply *rep,
		      struct routes_mgmt *rm, struct aform *f, bool adding, bool *file_given,
		      bool *text_given)
{
	char name[NAME_MAX_LEN + 2];
	int r, rf, rt;

	r = apiform_key(req, rep, "name", name, sizeof(name), adding);
	if (r < 0)
		return EINVAL;
	if (r == 1) {
		/* The name becomes a file name and a playback() argument. */
		if (!apiform_charset_ok(name, NAME_MAX_LEN, APIFORM_ALNUM "_-") || name[0] == '-') {
			http_reply_fail(rep, "Field 'name': use letters, digits, _ and - only (at "
					"most %u, not starting with -)", NAME_MAX_LEN);
			return EINVAL;
		}
		str_ncpy(f->name, name, sizeof(f->name));
	}
	rf = apiform_text(req, rep, "filename", f->filename, sizeof(f->filename));
	if (rf < 0)
		return EINVAL;
	rt = apiform_text(req, rep, "text", f->text, sizeof(f->text));
	if (rt < 0)
		return EINVAL;
	*file_given = rf == 1 && f->filename[0];
	*text_given = rt == 1 && f->text[0];
	if (*file_given && *text_given) {
		http_reply_fail(rep, "Fields 'filename' and 'text': give one, not both");
		return EINVAL;
	}
	if (rf == 1 && !*file_given && !*text_given) {
		http_reply_fail(rep, "Field 'filename':value is missing");
		return EINVAL;
	}
	if (adding && !*file_given && !*text_given) {
		http_reply_fail(rep, "Field 'filename':value is missing (or give 'text' to "
				"speak)");
		return EINVAL;
	}
	if (rt == 1 && !adding) {
		http_reply_fail(rep, "Field 'text': only add renders text; remove and add again");
		return EINVAL;
	}
	if (*file_given && (!apiform_charset_ok(f->filename, FILENAME_MAX_LEN, APIFORM_ALNUM "_-.")
			    || f->filename[0] == '.' || !upload_exists(rm, f->filename))) {
		http_reply_fail(rep, "Field 'filename': no uploaded file '%s' (upload it with "
				"pbx/announcements/upload)", f->filename);
		return EINVAL;
	}
	if (*text_given) {
		r = apiform_text(req, rep, "lang", f->lang, sizeof(f->lang));
		if (r < 0)
			return EINVAL;
		if (r == 0 || !f->lang[0])
			str_ncpy(f->lang, rm->cf.tts_lang ? rm->cf.tts_lang : "en",
				 sizeof(f->lang));
		if (!apiform_charset_ok(f->lang, sizeof(f->lang) - 1, "abcdefghijklmnopqrstuvwxyz-")) {
			http_reply_fail(rep, "Field 'lang': expected a language code such as fa "
					"or en");
			return EINVAL;
		}
		if (!rm->cf.tts) {
			http_reply_fail(rep, "Field 'text': text to speech is not available");
			return EINVAL;
		}
	}
	r = apiform_text(req, rep, "comment", f->comment, sizeof(f->comment));
	return r < 0 ? EINVAL : 0;
}

static void ann_add_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_mgmt *rm = arg;
	struct aform f = { .status = "ready" };
	struct announce a;
	bool file_given, text_given;
	int err;

	if (aform_read(req, rep, rm, &f, true, &file_given, &text_given))
		return;
	if (text_given) {
		stored_name(f.filename, sizeof(f.filename), "tts");
		str_ncpy(f.status, "rendering", sizeof(f.status));
	}
	else {
		err = publish_prepare(rm, f.filename, f.name);
		if (err) {
			log_error("api: cannot link announcement %s: %m", f.name, err);
			http_reply_error(rep, 500, MSG_FAILED);
			return;
		}
	}
	a = aform_row(&f);
	err = announce_add(rm->cf.store, &a, f.id, sizeof(f.id));
	if (!err && text_given && (err = render_start(rm, &f, true)) != 0) {
		log_error("api: cannot start TTS for announcement %s: %m", f.name, err);
		(void)announce_del(rm->cf.store, f.id);
	}
	else if (!err && !text_given)
		err = publish_commit(rm, f.name);
	if (err) {
		if (!text_given)
			publish_abort(rm, f.name);
		if (err == EEXIST)
			http_reply_fail(rep, "This announcement already exists");
		else
			apiform_store_failed(rep, "pbx/announcements/add", err);
		return;
	}
	if (!text_given)
		publish_id(rm, f.filename, f.id);
	log_info("api: announcement added (name=%s id=%s filename=%s tts=%s by=%s)", f.name,
		 f.id, f.filename, text_given ? "yes" : "no", req->user);
	http_reply_ok(rep, MSG_DONE, json_pack("{s:s}", "_id", f.id));
}

static void ann_update_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_mgmt *rm = arg;
	struct aform f, old;
	struct announce a;
	bool file_given, text_given, republish;
	int err;

	memset(&f, 0, sizeof(f));
	if (apiform_id(req, rep, f.id, sizeof(f.id)))
		return;
	err = announce_get(rm->cf.store, f.id, aform_load_h, &f);
	if (err == ENOENT) {
		http_reply_fail(rep, "No announcement with this _id");
		return;
	}
	if (err) {
		apiform_store_failed(rep, "pbx/announcements/update", err);
		return;
	}
	old = f;
	if (aform_read(req, rep, rm, &f, false, &file_given, &text_given))
		return;
	if (file_given) {
		f.text[0] = f.lang[0] = '\0';
		str_ncpy(f.status, "ready", sizeof(f.status));
	}
	/* A rendering still under way publishes under the row's name when it
	 * completes; otherwise the file follows the row now. */
	republish = !strcmp(f.status, "ready") && (file_given || strcmp(f.name, old.name));
	if (republish && (err = publish_prepare(rm, f.filename, f.name)) != 0) {
		log_error("api: cannot link announcement %s: %m", f.name, err);
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	a = aform_row(&f);
	err = announce_update(rm->cf.store, &a);
	if (!err && republish)
		err = publish_commit(rm, f.name);
	if (err) {
		if (republish)
			publish_abort(rm, f.name);
		if (err == EEXIST)
			http_reply_fail(rep, "This announcement already exists");
		else if (err == ENOENT)
			http_reply_fail(rep, "No announcement with this _id");
		else
			apiform_store_failed(rep, "pbx/announcements/update", err);
		return;
	}
	if (file_given) {
		mem_deref(pending_find(rm, f.id));   /* the upload replaces the TTS */
		publish_id(rm, f.filename, f.id);
	}
	if (strcmp(f.name, old.name))
		unpublish(rm, old.name);
	if (strcmp(f.filename, old.filename))
		upload_release(rm, old.filename);
	log_info("api: announcement updated (name=%s id=%s filename=%s by=%s)", f.name, f.id,
		 f.filename, req->user);
	http_reply_ok(rep, MSG_DONE, json_string(""));
}

static void ann_remove_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_mgmt *rm = arg;
	struct aform f;
	int err;

	memset(&f, 0, sizeof(f));
	if (apiform_id(req, rep, f.id, sizeof(f.id)))
		return;
	err = announce_get(rm->cf.store, f.id, aform_load_h, &f);
	if (!err)
		err = announce_del(rm->cf.store, f.id);
	if (err == ENOENT) {
		http_reply_fail(rep, "No announcement with this _id");
		return;
	}
	if (err) {
		apiform_store_failed(rep, "pbx/announcements/remove", err);
		return;
	}
	mem_deref(pending_find(rm, f.id));
	unpublish(rm, f.name);
	unpublish_id(rm, f.id);
	upload_release(rm, f.filename);
	log_info("api: announcement removed (name=%s id=%s by=%s)", f.name, f.id, req->user);
	http_reply_ok(rep, MSG_DONE, json_string(""));
}

static int ann_row_h(const struct announce *a, void *arg)
{
	return apiform_append(arg, announce_json(a));
}

static void ann_search_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	static const char *const sorts[] = { "name", "date", "_id", NULL };
	struct routes_mgmt *rm = arg;
	struct announce_query q = { .sort = "name" };
	char name[NAME_MAX_LEN + 1];
	struct http_req creq;
	struct http_page pg;
	uint64_t total = 0;
	json_t *rows;
	int err;

	if (http_arg_bool(req, rep, "alike", true, &q.alike) || apiform_conditions(req, rep, &creq)
	    || http_arg_str(&creq, rep, "name", false, name, sizeof(name)) == EINVAL
	    || apiform_page(req, rep, &pg, sorts))
		return;
	q.name = name;
	if (pg.sort[0])
		q.sort = pg.sort;
	q.desc = pg.dir < 0;
	if (pg.given) {
		q.start = pg.start;
		q.count = pg.count;
	}
	rows = json_array();
	if (!rows) {
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	err = announce_search(rm->cf.store, &q, &total, ann_row_h, rows);
	apiform_reply_rows(rep, "pbx/announcements/search", err, &pg, total, rows);
}

/* --- setup -------------------------------------------------------------------- */

static void destructor(void *arg)
{
	struct routes_mgmt *rm = arg;

	list_flush(&rm->pending);
	list_flush(&rm->uploads);
	mem_deref(rm->dir);
	mem_deref(rm->updir);
}

/* mkdir -p: the default var/announcements may be the first thing in var/. */
static int dir_make(const char *path, char *err, size_t errsz)
{
	char p[512];
	size_t n = strlen(path);
	int e = 0;

	if (n >= sizeof(p))
		e = ENAMETOOLONG;
	for (size_t i = 1; !e && i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		memcpy(p, path, i);
		p[i] = '\0';
		if (mkdir(p, 0755) && errno != EEXIST)
			e = errno;
	}
	if (!e && access(path, W_OK | X_OK))
		e = errno;
	if (e)
		(void)re_snprintf(err, errsz, "media.announcements_dir: cannot use %s: %m", path,
				  e);
	return e;
}

static int routes_add(struct http *h, struct routes_mgmt *rm)
{
	static const char *const ann_ops[] = { "add", "search", "update", "remove" };
	static http_route_h *const ann_h[] = { ann_add_h, ann_search_h, ann_update_h,
					       ann_remove_h };
	char path[64];
	int err;

	err = http_route_add(h, "POST", "pbx/musiconholds/search", NULL, moh_search_h, rm);
	err = err ? err : http_route_add_upload(h, "pbx/announcements/upload", NULL,
						rm->cf.max_upload, upload_h, rm);
	for (size_t i = 0; !err && i < ARRAY_SIZE(ann_ops); i++) {
		(void)re_snprintf(path, sizeof(path), "pbx/announcements/%s", ann_ops[i]);
		err = http_route_add(h, "POST", path, NULL, ann_h[i], rm);
	}
	return err;
}

int routes_mgmt_alloc(struct routes_mgmt **rmp, struct http *h,
		      const struct routes_mgmt_conf *cf, char *err, size_t errsz)
{
	struct routes_mgmt *rm;
	int e;

	if (!rmp || !h || !cf || !cf->store || !str_isset(cf->announce_dir) || !cf->max_upload)
		return EINVAL;
	rm = mem_zalloc(sizeof(*rm), destructor);
	if (!rm)
		return ENOMEM;
	rm->cf = *cf;
	e = str_dup(&rm->dir, cf->announce_dir);
	e = e ? e : re_sdprintf(&rm->updir, "%s/uploads", cf->announce_dir);
	e = e ? e : dir_make(rm->dir, err, errsz);
	e = e ? e : dir_make(rm->updir, err, errsz);
	if (!e && (e = routes_add(h, rm)) != 0)
		(void)re_snprintf(err, errsz, "http: cannot add routes: %m", e);
	if (e) {
		mem_deref(rm);
		return e;
	}
	*rmp = rm;
	return 0;
}
