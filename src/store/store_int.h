/* store_int: for the store's own repositories (the files of src/store) only, so that each
 * table family keeps its statements in its own file. Nothing outside
 * src/store includes this. */
#ifndef TAMAS_STORE_INT_H
#define TAMAS_STORE_INT_H

#include <sqlite3.h>

struct store;

/* The one connection; used from the main thread only. */
sqlite3 *store_db(struct store *st);
/* An errno value for a SQLite result code (0 for OK/ROW/DONE). */
int store_errno(int sqlite_rc);

#endif
