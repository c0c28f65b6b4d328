/* store: durable state in SQLite (WAL): schema + migrations, users, CDR, kv.
 * Not for per-call state; one connection, used from the caller's thread. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include "pbx/chan.h"
#include "store/store.h"
#include "store/store_int.h"

/* Statements are prepared once at open; the enum indexes them. */
enum stmt_id {
	Q_USER_ADD, Q_USER_SET, Q_USER_DEL, Q_USER_GET, Q_USER_ALL, Q_USER_COUNT,
	Q_CDR_INSERT, Q_CDR_TAIL,
	Q_KV_PUT, Q_KV_GET, Q_KV_DEL,
	Q_COUNT
};

static const char *const stmt_sql[Q_COUNT] = {
	[Q_USER_ADD] = "INSERT INTO users(ext, password, context, created)"
		" VALUES(?1, ?2, COALESCE(?3, 'main_routing'),"
		" strftime('%Y-%m-%d %H:%M:%S', 'now'))",
	/* An upsert rather than INSERT OR REPLACE keeps `created`. */
	[Q_USER_SET] = "INSERT INTO users(ext, password, context, created)"
		" VALUES(?1, ?2, COALESCE(?3, 'main_routing'),"
		" strftime('%Y-%m-%d %H:%M:%S', 'now'))"
		" ON CONFLICT(ext) DO UPDATE SET password = excluded.password,"
		" context = excluded.context",
	[Q_USER_DEL] = "DELETE FROM users WHERE ext = ?1",
	/* A disabled user (REST API active=no) is no user to the registrar. */
	[Q_USER_GET] = "SELECT ext, password, context FROM users WHERE ext = ?1 AND active",
	[Q_USER_ALL] = "SELECT ext, password, context FROM users ORDER BY ext",
	[Q_USER_COUNT] = "SELECT count(*) FROM users",
	[Q_CDR_INSERT] = "INSERT INTO cdr(calldate, start, answer, end, clid, src,"
		" dst, dcontext, channel, dstchannel, lastapp, lastdata, duration,"
		" billsec, disposition, accountcode, uniqueid, linkedid, userfield,"
		" recordingfile, originated_call_id)"
		" VALUES(?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		" ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
	[Q_CDR_TAIL] = ("SELECT * FROM (SELECT * FROM cdr ORDER BY id DESC LIMIT ?1)"
		" ORDER BY id ASC"),
	[Q_KV_PUT] = "INSERT OR REPLACE INTO kv(family, key, value) VALUES(?1, ?2, ?3)",
	[Q_KV_GET] = "SELECT value FROM kv WHERE family = ?1 AND key = ?2",
	[Q_KV_DEL] = "DELETE FROM kv WHERE family = ?1 AND key = ?2",
};

/* Migration n (1-based) brings user_version from n-1 to n. Append only:
 * never edit a shipped migration, databases in the field already ran it. */
static const char *const migrations[] = {
	"CREATE TABLE users("
	" ext TEXT PRIMARY KEY,"
	" password TEXT NOT NULL,"
	" context TEXT NOT NULL DEFAULT 'main_routing',"
	" created TEXT);"
	"CREATE TABLE cdr("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" calldate TEXT, start TEXT, answer TEXT, end TEXT,"
	" clid TEXT, src TEXT, dst TEXT, dcontext TEXT,"
	" channel TEXT, dstchannel TEXT, lastapp TEXT, lastdata TEXT,"
	" duration INTEGER, billsec INTEGER, disposition TEXT,"
	" amaflags INTEGER DEFAULT 3, accountcode TEXT,"
	" uniqueid TEXT, linkedid TEXT, userfield TEXT, sequence INTEGER);"
	"CREATE INDEX cdr_uniqueid ON cdr(uniqueid);"
	"CREATE INDEX cdr_linkedid ON cdr(linkedid);"
	"CREATE INDEX cdr_calldate ON cdr(calldate);"
	"CREATE TABLE kv("
	" family TEXT NOT NULL, key TEXT NOT NULL, value TEXT,"
	" PRIMARY KEY(family, key));",
	/* 2: MixMonitor's file per call (FreePBX's cdr.recordingfile). */
	"ALTER TABLE cdr ADD COLUMN recordingfile TEXT;",
	/* 3: REST API users (Simotel's API accounts): Basic and/or X-APIKEY,
	 * allowed networks and endpoint permissions, one row each. */
	"CREATE TABLE api_users("
	" name TEXT PRIMARY KEY,"
	" pass_hash TEXT,"          /* salted hash, never the password itself */
	" apikey TEXT,"
	" auth TEXT NOT NULL DEFAULT 'basic',"   /* basic | token | both */
	" allow_ips TEXT NOT NULL DEFAULT '',"   /* comma-separated CIDRs; '' = any */
	" perms TEXT NOT NULL DEFAULT '*',"      /* comma-separated paths; '*' = all */
	" created TEXT);",
	/* 4: webhook outbox: an event is a row until its target acknowledged it,
	 * so a restart or a dead receiver loses nothing; per-call order by id. */
	"CREATE TABLE outbox("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" event TEXT NOT NULL,"
	" call_key TEXT NOT NULL DEFAULT '',"
	" url TEXT NOT NULL,"
	" method TEXT NOT NULL DEFAULT 'POST',"
	" style TEXT NOT NULL DEFAULT 'rest',"
	" body TEXT NOT NULL,"
	" created TEXT NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" next_at INTEGER NOT NULL DEFAULT 0,"  /* epoch ms of the next try */
	" last_error TEXT);"
	"CREATE INDEX outbox_next ON outbox(next_at, id);"
	"CREATE INDEX outbox_call ON outbox(call_key, id);",
	/* 5: users as the REST API sees them (Simotel's PBX users): a stable
	 * API id (24 hex digits, like Simotel's ObjectIds), a display name,
	 * enabled or not, and the remaining Simotel fields as one JSON object.
	 * The trigger gives rows added without an id (tamasctl, seeding) one. */
	"ALTER TABLE users ADD COLUMN id TEXT;"
	"ALTER TABLE users ADD COLUMN name TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE users ADD COLUMN active INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE users ADD COLUMN attrs TEXT NOT NULL DEFAULT '{}';"
	"UPDATE users SET id = lower(hex(randomblob(12)));"
	"CREATE UNIQUE INDEX users_id ON users(id);"
	"CREATE TRIGGER users_id_new AFTER INSERT ON users WHEN NEW.id IS NULL BEGIN"
	" UPDATE users SET id = lower(hex(randomblob(12))) WHERE ext = NEW.ext; END;",
	/* 6: the call/originate/act id of an originated call's legs. */
	"ALTER TABLE cdr ADD COLUMN originated_call_id TEXT;",
	/* 7: trunks added through the REST API (pbx/trunks/...): Simotel's
	 * trunk object as JSON, by API id and unique name. */
	"CREATE TABLE trunks(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" body TEXT NOT NULL, created TEXT NOT NULL);",
	/* 8: the reports API's exact src/dst filters, within a date window. */
	"CREATE INDEX cdr_src ON cdr(src, calldate);"
	"CREATE INDEX cdr_dst ON cdr(dst, calldate);",
	/* 9: post-call survey results (Poll app; reports/poll/search). id is the
	 * API's _id; date is UTC like the CDR's. */
	"CREATE TABLE poll("
	" id TEXT NOT NULL UNIQUE,"
	" uniqueid TEXT NOT NULL,"
	" src TEXT NOT NULL DEFAULT '',"
	" dst TEXT NOT NULL DEFAULT '',"
	" point INTEGER NOT NULL,"
	" label TEXT NOT NULL DEFAULT '',"
	" qnum TEXT NOT NULL DEFAULT '',"
	" date TEXT NOT NULL);"
	"CREATE INDEX poll_date ON poll(date);"
	"CREATE INDEX poll_uniqueid ON poll(uniqueid);",
	/* 10: Asterisk's queue_log (realtime columns), one row per queue event, */
	"CREATE TABLE queue_log("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" time TEXT NOT NULL,"
	" callid TEXT NOT NULL DEFAULT 'NONE',"
	" queuename TEXT NOT NULL,"
	" agent TEXT NOT NULL DEFAULT 'NONE',"
	" event TEXT NOT NULL,"
	" data1 TEXT NOT NULL DEFAULT '', data2 TEXT NOT NULL DEFAULT '',"
	" data3 TEXT NOT NULL DEFAULT '', data4 TEXT NOT NULL DEFAULT '',"
	" data5 TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX queue_log_time ON queue_log(time);"
	"CREATE INDEX queue_log_queue ON queue_log(queuename, time);"
	/* and the dynamic members (AddQueueMember), kept across restarts as
	 * Asterisk's persistentmembers does. */
	"CREATE TABLE queue_members("
	" queuename TEXT NOT NULL,"
	" interface TEXT NOT NULL,"
	" penalty INTEGER NOT NULL DEFAULT 0,"
	" paused INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY(queuename, interface));",
	/* 11: Simotel's blacklist and whitelist (one table, list = 'black' or
	 * 'white'; a number once per list) and announcements (named prompts
	 * whose audio lives under media.announcements_dir). */
	"CREATE TABLE numlist("
	" id TEXT PRIMARY KEY,"
	" list TEXT NOT NULL CHECK(list IN ('black', 'white')),"
	" number TEXT NOT NULL,"
	" labels TEXT NOT NULL DEFAULT '[]',"   /* JSON array of strings */
	" comment TEXT NOT NULL DEFAULT '',"
	" created TEXT NOT NULL,"
	" UNIQUE(list, number));"
	"CREATE TABLE announcements("
	" id TEXT PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" filename TEXT NOT NULL,"              /* under <announcements_dir>/uploads */
	" comment TEXT NOT NULL DEFAULT '',"
	" text TEXT NOT NULL DEFAULT '',"       /* TTS source, '' for an upload */
	" lang TEXT NOT NULL DEFAULT '',"
	" status TEXT NOT NULL DEFAULT 'ready',"  /* ready | rendering */
	" created TEXT NOT NULL);",
	/* 12: queue_log lookups of the queue and agent reports (store/queuerep):
	 * a call's rows by callid, a member's rows by queue and interface. */
	"CREATE INDEX queue_log_call ON queue_log(callid, queuename);"
	"CREATE INDEX queue_log_agent ON queue_log(queuename, agent);",
	/* 13: callback requests (store/cbreq): one row per customer waiting to
	 * be called back; status pending | calling | done | failed. due is the
	 * epoch second from which the automatic call may try it. */
	"CREATE TABLE callback_requests ("
	" id TEXT PRIMARY KEY,"
	" callback TEXT NOT NULL,"
	" caller TEXT NOT NULL,"
	" number TEXT NOT NULL,"
	" target TEXT NOT NULL,"
	" uniqueid TEXT NOT NULL DEFAULT '',"
	" status TEXT NOT NULL DEFAULT 'pending',"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" due INTEGER NOT NULL DEFAULT 0,"
	" call_id TEXT NOT NULL DEFAULT '',"
	" operator TEXT NOT NULL DEFAULT '',"
	" registered_at TEXT NOT NULL,"
	" handled_at TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX callback_requests_status ON callback_requests(status, due);",
	/* 14: the callback module's automatic attempts (store/cbreq), one row
	 * per call tried for a request; outcome "" while it runs, then
	 * ANSWERED | BUSY | NO ANSWER | FAILED. And the callbacks defined
	 * through the REST API (store/cbdef): conf holds their cbconf keys as
	 * a JSON object of strings, loaded after tamas.conf's at start. */
	"CREATE TABLE callback_attempts ("
	" req_id TEXT NOT NULL,"
	" attempt INTEGER NOT NULL,"
	" call_id TEXT NOT NULL DEFAULT '',"
	" agent TEXT NOT NULL DEFAULT '',"
	" started_at TEXT NOT NULL,"
	" ended_at TEXT NOT NULL DEFAULT '',"
	" outcome TEXT NOT NULL DEFAULT '',"
	" PRIMARY KEY(req_id, attempt));"
	"CREATE TABLE callback_defs ("
	" id TEXT PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" conf TEXT NOT NULL,"
	" created_at TEXT NOT NULL);"
	"CREATE INDEX callback_requests_handled ON callback_requests(handled_at);",
	/* 15: queues added over the API (store/queuedef; pbx/queues/add): the
	 * dialable number is the queue's name in pbx/queue, attrs its settings
	 * as a JSON object of strings. tamas.conf queues are not stored. */
	"CREATE TABLE queues("
	" id TEXT PRIMARY KEY,"
	" number TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	" name TEXT NOT NULL,"
	" attrs TEXT NOT NULL DEFAULT '{}',"
	" created TEXT NOT NULL);",
};
#define MIGRATION_COUNT ((int)(sizeof(migrations) / sizeof(migrations[0])))

struct store {
	sqlite3 *db;
	sqlite3_stmt *q[Q_COUNT];
};

static int errno_from_sqlite(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:       return 0;
	case SQLITE_FULL:       return ENOSPC;
	case SQLITE_CONSTRAINT: return EEXIST;
	case SQLITE_NOMEM:      return ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:     return EBUSY;
	case SQLITE_PERM:
	case SQLITE_AUTH:       return EACCES;
	case SQLITE_READONLY:   return EROFS;
	case SQLITE_TOOBIG:     return E2BIG;
	case SQLITE_MISUSE:
	case SQLITE_RANGE:      return EINVAL;
	default:                return EIO;
	}
}

/* For a failed step: never 0, even for an unexpected SQLITE_ROW. */
int store_step_err(int rc)
{
	int err = errno_from_sqlite(rc);

	return err ? err : EIO;
}

static void err_set(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errsz)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

/* mkdir -p of the directory part of path (which is modified in place). */
static int mkdir_parents(char *dir, char *err, size_t errsz, const char *path)
{
	struct stat sb;
	char *p;
	int e;

	for (p = dir + 1; ; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(dir, 0750) < 0 && errno != EEXIST)
			goto fail;
		if (stat(dir, &sb) < 0)
			goto fail;
		if (!S_ISDIR(sb.st_mode)) {
			errno = ENOTDIR;
			goto fail;
		}
		*p = c;
		if (c == '\0')
			return 0;
		while (p[1] == '/')
			p++;
		if (p[1] == '\0')
			return 0;
	}

 fail:
	e = errno;
	err_set(err, errsz, "store.path %s: cannot create directory %s: %s",
		path, dir, strerror(e));
	return e;
}

static int dir_prepare(const char *path, char *err, size_t errsz)
{
	char dir[PATH_MAX];
	char *slash;
	int e;

	if (strlen(path) >= sizeof(dir)) {
		err_set(err, errsz, "store.path %s: path too long", path);
		return ENAMETOOLONG;
	}
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';

	if (strcmp(dir, ".") && strcmp(dir, "/")) {
		e = mkdir_parents(dir, err, errsz, path);
		if (e)
			return e;
	}

	/* WAL creates -wal and -shm files beside the database. */
	if (access(dir, W_OK | X_OK) < 0) {
		e = errno;
		err_set(err, errsz, "store.path %s: directory %s not writable: %s",
			path, dir, strerror(e));
		return e;
	}
	return 0;
}

static int exec_sql(struct store *st, const char *sql)
{
	return errno_from_sqlite(sqlite3_exec(st->db, sql, NULL, NULL, NULL));
}

static int pragma_int(struct store *st, const char *sql, int *v)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return errno_from_sqlite(rc);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : store_step_err(rc);
}

static int wal_enable(struct store *st, bool memory)
{
	const char *want = memory ? "memory" : "wal";
	sqlite3_stmt *s;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return errno_from_sqlite(rc);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		err = store_step_err(rc);
	else if (sqlite3_stricmp((const char *)sqlite3_column_text(s, 0), want))
		err = ENOTSUP;   /* e.g. a file system without shared memory */
	sqlite3_finalize(s);
	return err;
}

static int migration_run(struct store *st, int n)
{
	char sql[64];
	int err;

	err = exec_sql(st, "BEGIN IMMEDIATE");
	if (err)
		return err;
	err = exec_sql(st, migrations[n - 1]);
	if (!err) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", n);
		err = exec_sql(st, sql);
	}
	if (!err)
		err = exec_sql(st, "COMMIT");
	if (err)
		(void)exec_sql(st, "ROLLBACK");
	return err;
}

static int schema_migrate(struct store *st, const char *path, char *err, size_t errsz)
{
	int version = 0, e, n;

	e = pragma_int(st, "PRAGMA user_version", &version);
	if (e)
		goto fail;
	if (version > MIGRATION_COUNT) {
		err_set(err, errsz, "store.path %s: schema version %d is newer than"
			" this tamas supports (%d)", path, version, MIGRATION_COUNT);
		return EPROTO;
	}
	for (n = version + 1; n <= MIGRATION_COUNT; n++) {
		e = migration_run(st, n);
		if (e) {
			err_set(err, errsz, "store.path %s: migration %d failed: %s",
				path, n, sqlite3_errmsg(st->db));
			return e;
		}
	}
	return 0;

 fail:
	err_set(err, errsz, "store.path %s: %s", path, sqlite3_errmsg(st->db));
	return e;
}

static int db_configure(struct store *st, const char *path, bool memory,
			char *err, size_t errsz)
{
	int e;

	e = errno_from_sqlite(sqlite3_busy_timeout(st->db, 5000));
	if (!e)
		e = wal_enable(st, memory);
	if (e == ENOTSUP) {
		err_set(err, errsz, "store.path %s: cannot enable WAL journal mode", path);
		return e;
	}
	if (!e)
		e = exec_sql(st, "PRAGMA synchronous=FULL");
	if (!e)
		e = exec_sql(st, "PRAGMA foreign_keys=ON");
	if (e) {
		err_set(err, errsz, "store.path %s: %s", path, sqlite3_errmsg(st->db));
		return e;
	}
	return 0;
}

int store_set_synchronous(struct store *st, bool full)
{
	if (!st)
		return EINVAL;
	return exec_sql(st, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
}

static int stmts_prepare(struct store *st, const char *path, char *err, size_t errsz)
{
	int i, rc;

	for (i = 0; i < Q_COUNT; i++) {
		rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1,
					SQLITE_PREPARE_PERSISTENT, &st->q[i], NULL);
		if (rc != SQLITE_OK) {
			err_set(err, errsz, "store.path %s: %s", path,
				sqlite3_errmsg(st->db));
			return errno_from_sqlite(rc);
		}
	}
	return 0;
}

int store_open(struct store **stp, const char *path, char *err, size_t errsz)
{
	const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	struct store *st;
	bool memory;
	int e, rc;

	err_set(err, errsz, "%s", "");
	if (!stp || !path || !*path) {
		err_set(err, errsz, "store.path: empty");
		return EINVAL;
	}
	memory = !strcmp(path, ":memory:");
	if (!memory) {
		e = dir_prepare(path, err, errsz);
		if (e)
			return e;
	}

	st = calloc(1, sizeof(*st));
	if (!st) {
		err_set(err, errsz, "store.path %s: out of memory", path);
		return ENOMEM;
	}

	rc = sqlite3_open_v2(path, &st->db, flags, NULL);
	if (rc != SQLITE_OK) {
		err_set(err, errsz, "store.path %s: cannot open: %s", path,
			st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		e = errno_from_sqlite(rc);
		goto out;
	}
	e = db_configure(st, path, memory, err, errsz);
	if (!e)
		e = schema_migrate(st, path, err, errsz);
	if (!e)
		e = stmts_prepare(st, path, err, errsz);

 out:
	if (e)
		store_close(st);
	else
		*stp = st;
	return e;
}

sqlite3 *store_db(struct store *st)
{
	return st ? st->db : NULL;
}

int store_errno(int sqlite_rc)
{
	return errno_from_sqlite(sqlite_rc);
}

void store_close(struct store *st)
{
	int i;

	if (!st)
		return;
	for (i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(st->q[i]);
	sqlite3_close(st->db);
	free(st);
}

/* Binds text args ?1..?n in order; NULL binds SQL NULL. */
static int bind_texts(sqlite3_stmt *s, int n, const char *const *v)
{
	int i, rc;

	for (i = 0; i < n; i++) {
		rc = v[i] ? sqlite3_bind_text(s, i + 1, v[i], -1, SQLITE_STATIC)
			  : sqlite3_bind_null(s, i + 1);
		if (rc != SQLITE_OK)
			return errno_from_sqlite(rc);
	}
	return 0;
}

/* Steps a statement that returns no rows, then resets it. */
static int step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : store_step_err(rc);
}

static void stmt_release(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

static int str_fits(const char *s, size_t sz)
{
	return strlen(s) < sz;
}

int store_user_add(struct store *st, const char *ext, const char *password,
		   const char *context, bool replace)
{
	const struct user_rec *u = NULL;
	const char *v[3] = {ext, password, context};
	sqlite3_stmt *s;
	int err;

	if (!st || !ext || !*ext || !password)
		return EINVAL;
	/* Reject what store_user_get could not hand back whole. */
	if (!str_fits(ext, sizeof(u->ext)) || !str_fits(password, sizeof(u->password))
	    || (context && !str_fits(context, sizeof(u->context))))
		return EINVAL;

	s = st->q[replace ? Q_USER_SET : Q_USER_ADD];
	err = bind_texts(s, 3, v);
	if (err) {
		stmt_release(s);
		return err;
	}
	return step_done(s);
}

static int changed_one(struct store *st, int err)
{
	if (err)
		return err;
	return sqlite3_changes(st->db) > 0 ? 0 : ENOENT;
}

int store_user_del(struct store *st, const char *ext)
{
	sqlite3_stmt *s;
	int err;

	if (!st || !ext)
		return EINVAL;
	s = st->q[Q_USER_DEL];
	err = bind_texts(s, 1, &ext);
	if (err) {
		stmt_release(s);
		return err;
	}
	return changed_one(st, step_done(s));
}

static void col_copy(char *dst, size_t sz, sqlite3_stmt *s, int col)
{
	const unsigned char *v = sqlite3_column_text(s, col);

	snprintf(dst, sz, "%s", v ? (const char *)v : "");
}

static void user_from_row(struct user_rec *u, sqlite3_stmt *s)
{
	col_copy(u->ext, sizeof(u->ext), s, 0);
	col_copy(u->password, sizeof(u->password), s, 1);
	col_copy(u->context, sizeof(u->context), s, 2);
}

int store_user_get(struct store *st, const char *ext, struct user_rec *out)
{
	sqlite3_stmt *s;
	int err, rc;

	if (!st || !ext || !out)
		return EINVAL;
	s = st->q[Q_USER_GET];
	err = bind_texts(s, 1, &ext);
	if (!err) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			user_from_row(out, s);
		else
			err = rc == SQLITE_DONE ? ENOENT : store_step_err(rc);
	}
	stmt_release(s);
	return err;
}

int store_user_apply(struct store *st, store_user_h *h, void *arg)
{
	struct user_rec u;
	sqlite3_stmt *s;
	int err = 0, rc;

	if (!st || !h)
		return EINVAL;
	s = st->q[Q_USER_ALL];
	/* A handler that re-enters apply would reset our cursor under us. */
	if (sqlite3_stmt_busy(s))
		return EBUSY;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		user_from_row(&u, s);
		err = h(&u, arg);
		if (err)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = store_step_err(rc);
	stmt_release(s);
	return err;
}

int store_user_count(struct store *st, unsigned *n)
{
	sqlite3_stmt *s;
	int err = 0, rc;

	if (!st || !n)
		return EINVAL;
	s = st->q[Q_USER_COUNT];
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*n = (unsigned)sqlite3_column_int64(s, 0);
	else
		err = store_step_err(rc);
	stmt_release(s);
	return err;
}

/* Asterisk's CDR time format, in UTC: "2026-11-25 06:44:20". */
static const char *time_fmt(char *buf, size_t sz, uint64_t us)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	if (!us || !gmtime_r(&t, &tm) || !strftime(buf, sz, "%Y-%m-%d %H:%M:%S", &tm))
		return NULL;
	return buf;
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

static int cdr_bind(sqlite3_stmt *s, const struct cdr_rec *r)
{
	char start[32], answer[32], end[32];
	const char *v[20] = {
		time_fmt(start, sizeof(start), r->start_us),
		time_fmt(answer, sizeof(answer), r->answer_us),
		time_fmt(end, sizeof(end), r->end_us),
		nz(r->clid), nz(r->src), nz(r->dst), nz(r->dcontext),
		nz(r->channel), nz(r->dstchannel), nz(r->lastapp), nz(r->lastdata),
		NULL, NULL,                  /* duration, billsec: integers */
		nz(r->disposition), nz(r->accountcode), nz(r->uniqueid),
		nz(r->linkedid), nz(r->userfield), nz(r->recordingfile),
		r->originated_call_id && *r->originated_call_id ? r->originated_call_id : NULL,
	};
	int err, rc;

	/* SQLITE_TRANSIENT: the time strings live on this stack frame. */
	for (int i = 0; i < 20; i++) {
		if (i == 11 || i == 12)
			continue;
		rc = v[i] ? sqlite3_bind_text(s, i + 1, v[i], -1, SQLITE_TRANSIENT)
			  : sqlite3_bind_null(s, i + 1);
		if (rc != SQLITE_OK)
			return errno_from_sqlite(rc);
	}
	err = errno_from_sqlite(sqlite3_bind_int64(s, 12, r->duration));
	if (!err)
		err = errno_from_sqlite(sqlite3_bind_int64(s, 13, r->billsec));
	return err;
}

int store_begin(struct store *st)
{
	return st ? exec_sql(st, "BEGIN IMMEDIATE") : EINVAL;
}

int store_commit(struct store *st)
{
	return st ? exec_sql(st, "COMMIT") : EINVAL;
}

void store_rollback(struct store *st)
{
	if (st)
		(void)exec_sql(st, "ROLLBACK");
}

/* One INSERT in autocommit is its own transaction; with WAL and
 * synchronous=FULL the commit is fsynced before sqlite3_step returns. */
int store_cdr_write(struct store *st, const struct cdr_rec *rec)
{
	sqlite3_stmt *s;
	int err;

	if (!st || !rec)
		return EINVAL;
	s = st->q[Q_CDR_INSERT];
	err = cdr_bind(s, rec);
	if (err) {
		stmt_release(s);
		return err;
	}
	return step_done(s);
}

struct sbuf {
	char *p;
	size_t len, cap;
	int err;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 512;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->err = ENOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/* Length of a valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and past U+10FFFF are not UTF-8. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)
	    || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* JSON string (RFC 8259 §7). Caller IDs come off the wire, so bytes that are
 * not UTF-8 become U+FFFD rather than making the line unparseable. */
static void sb_json_str(struct sbuf *b, const unsigned char *s, size_t n)
{
	char esc[8];
	size_t i = 0, len;

	sb_put(b, "\"", 1);
	while (i < n) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			esc[0] = '\\', esc[1] = (char)c;
			sb_put(b, esc, 2);
			i++;
			continue;
		}
		if (c < 0x20) {
			const char *short_esc = c == '\n' ? "\\n" : c == '\r' ? "\\r"
				: c == '\t' ? "\\t" : c == '\b' ? "\\b"
				: c == '\f' ? "\\f" : NULL;

			if (short_esc)
				sb_puts(b, short_esc);
			else {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				sb_puts(b, esc);
			}
			i++;
			continue;
		}
		len = utf8_len(s + i, n - i);
		if (!len) {
			sb_puts(b, "\\ufffd");
			i++;
			continue;
		}
		sb_put(b, (const char *)s + i, len);
		i += len;
	}
	sb_put(b, "\"", 1);
}

static void sb_json_col(struct sbuf *b, sqlite3_stmt *s, int col)
{
	char num[32];

	switch (sqlite3_column_type(s, col)) {
	case SQLITE_NULL:
		sb_puts(b, "null");
		break;
	case SQLITE_INTEGER:
		snprintf(num, sizeof(num), "%lld", (long long)sqlite3_column_int64(s, col));
		sb_puts(b, num);
		break;
	case SQLITE_FLOAT:
		snprintf(num, sizeof(num), "%.17g", sqlite3_column_double(s, col));
		sb_puts(b, num);
		break;
	default: {
		const unsigned char *t = sqlite3_column_text(s, col);

		if (!t) {
			b->err = b->err ? b->err : ENOMEM;
			return;
		}
		sb_json_str(b, t, (size_t)sqlite3_column_bytes(s, col));
	}
	}
}

static int row_to_json(struct sbuf *b, sqlite3_stmt *s)
{
	int i, n = sqlite3_column_count(s);

	b->len = 0;
	sb_put(b, "{", 1);
	for (i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(s, i);

		if (i)
			sb_put(b, ",", 1);
		sb_json_str(b, (const unsigned char *)name, strlen(name));
		sb_put(b, ":", 1);
		sb_json_col(b, s, i);
	}
	sb_put(b, "}", 1);
	return b->err;
}

int store_cdr_tail(struct store *st, unsigned n, store_line_h *h, void *arg)
{
	struct sbuf b = {0};
	sqlite3_stmt *s;
	int err, rc = SQLITE_DONE;

	if (!st || !h)
		return EINVAL;
	s = st->q[Q_CDR_TAIL];
	if (sqlite3_stmt_busy(s))
		return EBUSY;
	err = errno_from_sqlite(sqlite3_bind_int64(s, 1, n));
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		err = row_to_json(&b, s);
		if (!err)
			err = h(b.p, arg);
	}
	if (!err && rc != SQLITE_DONE)
		err = store_step_err(rc);
	stmt_release(s);
	free(b.p);
	return err;
}

int store_kv_put(struct store *st, const char *family, const char *key, const char *value)
{
	const char *v[3] = {family, key, value};
	sqlite3_stmt *s;
	int err;

	if (!st || !family || !key || !value)
		return EINVAL;
	s = st->q[Q_KV_PUT];
	err = bind_texts(s, 3, v);
	if (err) {
		stmt_release(s);
		return err;
	}
	return step_done(s);
}

/* ENOENT if absent; ENOBUFS (with the value truncated) if buf is too small. */
int store_kv_get(struct store *st, const char *family, const char *key, char *buf, size_t sz)
{
	const char *v[2] = {family, key};
	sqlite3_stmt *s;
	int err, rc;

	if (!st || !family || !key || !buf || !sz)
		return EINVAL;
	s = st->q[Q_KV_GET];
	err = bind_texts(s, 2, v);
	if (!err) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			const unsigned char *t = sqlite3_column_text(s, 0);
			size_t len = (size_t)sqlite3_column_bytes(s, 0);

			snprintf(buf, sz, "%s", t ? (const char *)t : "");
			if (len >= sz)
				err = ENOBUFS;
		} else {
			err = rc == SQLITE_DONE ? ENOENT : store_step_err(rc);
		}
	}
	stmt_release(s);
	return err;
}

int store_kv_del(struct store *st, const char *family, const char *key)
{
	const char *v[2] = {family, key};
	sqlite3_stmt *s;
	int err;

	if (!st || !family || !key)
		return EINVAL;
	s = st->q[Q_KV_DEL];
	err = bind_texts(s, 2, v);
	if (err) {
		stmt_release(s);
		return err;
	}
	return changed_one(st, step_done(s));
}
