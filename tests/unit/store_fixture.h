/* store_fixture: the unit tests' stores. A temporary one in a fresh
 * directory under /tmp (removed with all its files at teardown), or one in
 * memory. Header only: the CMake glob builds tests/unit/test_*.c, one
 * executable each. Define _GNU_SOURCE before any include (for nftw). */
#ifndef TAMAS_TEST_STORE_FIXTURE_H
#define TAMAS_TEST_STORE_FIXTURE_H

#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "store/store.h"

struct store_fix {
	char dir[64];           /* the temporary directory */
	char db[PATH_MAX];      /* the database file below it */
	char err[256];          /* store_open's message */
	struct store *st;       /* NULL until opened */
};

static inline int store_fix_rm(const char *p, const struct stat *sb, int flag,
			       struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

/* Opens f->db into f->st; a failure fails the test with store_open's
 * message. */
static inline struct store *store_fix_open(struct store_fix *f)
{
	int err = store_open(&f->st, f->db, f->err, sizeof(f->err));

	if (err)
		fail_msg("store_open: %d %s", err, f->err);
	return f->st;
}

/* *state = a store_fix with a new directory /tmp/tamas-<name>-XXXXXX and
 * db = <dir>/<rel> (rel may name subdirectories that do not exist yet);
 * opened when open. */
static inline int store_fix_setup(void **state, const char *name, const char *rel,
				  bool open)
{
	struct store_fix *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/tamas-%s-XXXXXX", name);
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->db, sizeof(f->db), "%s/%s", f->dir, rel);
	*state = f;
	if (open)
		store_fix_open(f);
	return 0;
}

/* Closes the store and removes the directory with everything in it. */
static inline int store_fix_teardown(void **state)
{
	struct store_fix *f = *state;

	store_close(f->st);
	nftw(f->dir, store_fix_rm, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* *state = an open in-memory store. */
static inline int store_fix_mem_setup(void **state)
{
	struct store *st = NULL;
	char err[256];

	if (store_open(&st, ":memory:", err, sizeof(err))) {
		print_error("store_open: %s\n", err);
		return -1;
	}
	*state = st;
	return 0;
}

static inline int store_fix_mem_teardown(void **state)
{
	store_close(*state);
	return 0;
}

#endif
