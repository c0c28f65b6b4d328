/* queuemember: queue_members rows. Prepared per call: agents log in and
 * out a few times a day. */
#include <errno.h>
#include <stddef.h>
#include <sqlite3.h>
#include "store/queuemember.h"
#include "store/store_int.h"

/* Runs sql with ?1 = queue, ?2 = iface and, where sql has them, ?3 = n3,
 * ?4 = n4. A constraint is EEXIST (store_run). */
static int run(struct store *st, const char *sql, const char *queue, const char *iface,
	       int n3, int n4)
{
	sqlite3_stmt *s;
	int err;

	if (!queue || !iface)
		return EINVAL;
	err = store_prepare(st, sql, &s);
	if (err)
		return err;
	err = store_bind_text(s, 1, queue);
	err = err ? err : store_bind_text(s, 2, iface);
	if (!err && sqlite3_bind_parameter_count(s) >= 3)
		err = store_errno(sqlite3_bind_int(s, 3, n3));
	if (!err && sqlite3_bind_parameter_count(s) >= 4)
		err = store_errno(sqlite3_bind_int(s, 4, n4));
	return store_run(s, err, NULL, NULL, NULL);
}

int queuemember_add(struct store *st, const char *queue, const char *iface, unsigned penalty,
		    bool paused)
{
	return run(st, "INSERT INTO queue_members(queuename, interface, penalty, paused)"
		   " VALUES(?1, ?2, ?3, ?4)", queue, iface, (int)penalty, paused);
}

int queuemember_del(struct store *st, const char *queue, const char *iface)
{
	return store_changed(st, run(st, "DELETE FROM queue_members WHERE queuename = ?1 AND"
				     " interface = ?2", queue, iface, 0, 0));
}

int queuemember_set_paused(struct store *st, const char *queue, const char *iface,
			   bool paused)
{
	return store_changed(st, run(st, "UPDATE queue_members SET paused = ?3 WHERE"
				     " queuename = ?1 AND interface = ?2", queue, iface,
				     paused, 0));
}

struct give {
	queuemember_h *h;
	void *arg;
};

static int row_give(sqlite3_stmt *s, void *arg)
{
	const struct give *g = arg;

	return g->h(store_col(s, 0), store_col(s, 1), (unsigned)sqlite3_column_int(s, 2),
		    sqlite3_column_int(s, 3) != 0, g->arg);
}

int queuemember_apply(struct store *st, queuemember_h *h, void *arg)
{
	struct give g = { h, arg };

	if (!h)
		return EINVAL;
	return store_exec(st, "SELECT queuename, interface, penalty, paused FROM queue_members"
			  " ORDER BY queuename, rowid", NULL, 0, row_give, &g, NULL);
}
