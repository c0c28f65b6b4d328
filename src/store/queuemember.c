/* queuemember: queue_members rows. Prepared per call: agents log in and
 * out a few times a day. */
#include <errno.h>
#include <stddef.h>
#include <sqlite3.h>
#include "store/queuemember.h"
#include "store/store_int.h"

static int run(struct store *st, const char *sql, const char *queue, const char *iface,
	       int n3, int n4, int *changes)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int rc, err = 0;

	if (!db || !queue || !iface)
		return EINVAL;
	rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_errno(rc);
	rc = sqlite3_bind_text(s, 1, queue, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 2, iface, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && sqlite3_bind_parameter_count(s) >= 3)
		rc = sqlite3_bind_int(s, 3, n3);
	if (rc == SQLITE_OK && sqlite3_bind_parameter_count(s) >= 4)
		rc = sqlite3_bind_int(s, 4, n4);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_CONSTRAINT)
		err = EEXIST;
	else if (rc != SQLITE_DONE)
		err = store_errno(rc) ? store_errno(rc) : EIO;
	if (changes)
		*changes = sqlite3_changes(db);
	sqlite3_finalize(s);
	return err;
}

int queuemember_add(struct store *st, const char *queue, const char *iface, unsigned penalty,
		    bool paused)
{
	return run(st, "INSERT INTO queue_members(queuename, interface, penalty, paused)"
		   " VALUES(?1, ?2, ?3, ?4)", queue, iface, (int)penalty, paused, NULL);
}

int queuemember_del(struct store *st, const char *queue, const char *iface)
{
	int n = 0, err = run(st, "DELETE FROM queue_members WHERE queuename = ?1 AND"
			     " interface = ?2", queue, iface, 0, 0, &n);

	return err ? err : n ? 0 : ENOENT;
}

int queuemember_set_paused(struct store *st, const char *queue, const char *iface,
			   bool paused)
{
	int n = 0, err = run(st, "UPDATE queue_members SET paused = ?3 WHERE queuename = ?1"
			     " AND interface = ?2", queue, iface, paused, 0, &n);

	return err ? err : n ? 0 : ENOENT;
}

int queuemember_apply(struct store *st, queuemember_h *h, void *arg)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int rc, err = 0;

	if (!db || !h)
		return EINVAL;
	rc = sqlite3_prepare_v2(db, "SELECT queuename, interface, penalty, paused FROM"
				" queue_members ORDER BY queuename, rowid", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_errno(rc);
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW)
		err = h((const char *)sqlite3_column_text(s, 0),
			(const char *)sqlite3_column_text(s, 1),
			(unsigned)sqlite3_column_int(s, 2), sqlite3_column_int(s, 3) != 0, arg);
	if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = store_errno(rc) ? store_errno(rc) : EIO;
	sqlite3_finalize(s);
	return err;
}
