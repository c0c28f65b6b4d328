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
	const char *v[9] = { callid ? callid : "NONE", queue, agent ? agent : "NONE", event };

	if (!queue || !event || !data)
		return EINVAL;
	for (int i = 0; i < 5; i++)
		v[4 + i] = data[i] ? data[i] : "";
	return store_exec(st, "INSERT INTO queue_log(time, callid, queuename, agent, event,"
			  " data1, data2, data3, data4, data5) VALUES("
			  "strftime('%Y-%m-%d %H:%M:%S', 'now'), ?1, ?2, ?3, ?4, ?5, ?6, ?7,"
			  " ?8, ?9)", v, 9, NULL, NULL, NULL);
}
