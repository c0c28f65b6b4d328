/* queuelog: queue_log rows (migration 7). One statement per event: a call
 * makes a handful, far fewer than its RTP work. */
#include <errno.h>
#include <stddef.h>
#include <sqlite3.h>
#include "store/queuelog.h"
#include "store/store_int.h"

int queuelog_add(struct store *st, const char *callid, const char *queue, const char *agent,
		 const char *event, const char *const data[5])
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int err = 0, rc;

	if (!db || !queue || !event || !data)
		return EINVAL;
	rc = sqlite3_prepare_v2(db, "INSERT INTO queue_log(time, callid, queuename, agent, event,"
				" data1, data2, data3, data4, data5) VALUES("
				"strftime('%Y-%m-%d %H:%M:%S', 'now'), ?1, ?2, ?3, ?4, ?5, ?6, ?7,"
				" ?8, ?9)", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_errno(rc);
	rc = sqlite3_bind_text(s, 1, callid ? callid : "NONE", -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 2, queue, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 3, agent ? agent : "NONE", -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 4, event, -1, SQLITE_STATIC);
	for (int i = 0; i < 5 && rc == SQLITE_OK; i++)
		rc = sqlite3_bind_text(s, 5 + i, data[i] ? data[i] : "", -1, SQLITE_STATIC);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_DONE)
			err = store_errno(rc) ? store_errno(rc) : EIO;
	}
	else {
		err = store_errno(rc);
	}
	sqlite3_finalize(s);
	return err;
}
