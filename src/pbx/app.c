/* app: the registry of dialplan applications, looked up case-insensitively
 * as Asterisk's pbx_findapp does (app.Dial == app.dial == app.DIAL). */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "pbx/app.h"

struct app {
	struct le le;
	char *name;
	app_exec_h *exech;
};

static struct hash *apps;

static void app_destructor(void *data)
{
	struct app *a = data;

	hash_unlink(&a->le);
	mem_deref(a->name);
}

static bool name_cmp(struct le *le, void *arg)
{
	const struct app *a = le->data;
	return !str_casecmp(a->name, arg);
}

static struct app *app_find(const char *name)
{
	struct le *le;

	if (!apps || !name)
		return NULL;
	le = hash_lookup(apps, hash_joaat_str_ci(name), name_cmp, (void *)name);
	return le ? le->data : NULL;
}

int app_register(const char *name, app_exec_h *exech)
{
	struct app *a;
	int err;

	if (!str_isset(name) || !exech)
		return EINVAL;
	if (!apps) {
		err = hash_alloc(&apps, 64);
		if (err)
			return err;
	}
	if (app_find(name))
		return EALREADY;
	a = mem_zalloc(sizeof(*a), app_destructor);
	if (!a)
		return ENOMEM;
	err = str_dup(&a->name, name);
	if (err) {
		mem_deref(a);
		return err;
	}
	a->exech = exech;
	hash_append(apps, hash_joaat_str_ci(name), &a->le, a);
	return 0;
}

bool app_exists(const char *name)
{
	return app_find(name) != NULL;
}

const char *app_name(const char *name)
{
	const struct app *a = app_find(name);
	return a ? a->name : NULL;
}

int app_exec(struct chan *ch, const char *name, const char *data, app_done_h *doneh,
	     void *arg)
{
	struct app *a = app_find(name);

	if (!a)
		return ENOENT;
	if (!ch || !doneh)
		return EINVAL;
	return a->exech(ch, data ? data : "", doneh, arg);
}

void app_unregister_all(void)
{
	if (!apps)
		return;
	hash_flush(apps);
	apps = mem_deref(apps);
}

/* Asterisk option strings: letters, some with "(argument)". */
bool app_opt(const char *opts, char c, char *argbuf, size_t sz)
{
	int depth = 0;

	for (const char *p = opts; p && *p; p++) {
		if (*p == '(') {
			++depth;
			continue;
		}
		if (*p == ')') {
			if (depth)
				--depth;
			continue;
		}
		if (depth || *p != c)
			continue;
		if (argbuf) {
			argbuf[0] = '\0';
			if (p[1] == '(') {
				const char *e = strchr(p + 2, ')');
				if (e)
					(void)re_snprintf(argbuf, sz, "%b", p + 2, (size_t)(e - p - 2));
			}
		}
		return true;
	}
	return false;
}

