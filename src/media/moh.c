/* moh: file-mode music-on-hold classes. The directory is scanned when the
 * class is added, so a hold costs no directory walk. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "core/log.h"
#include "media/moh.h"
#include "media/player.h"

enum moh_sort { MOH_ALPHA, MOH_RANDOM, MOH_RANDSTART };

struct mohclass {
	struct le le;
	char *name;
	char *dir;
	enum moh_sort sort;
	char **files;
	size_t nfiles;
};

struct mohset {
	struct list classes;
};

static void class_destructor(void *arg)
{
	struct mohclass *c = arg;

	list_unlink(&c->le);
	for (size_t i = 0; i < c->nfiles; i++)
		mem_deref(c->files[i]);
	mem_deref(c->files);
	mem_deref(c->name);
	mem_deref(c->dir);
}

static void set_destructor(void *arg)
{
	struct mohset *ms = arg;

	list_flush(&ms->classes);
}

int mohset_alloc(struct mohset **msp)
{
	struct mohset *ms;

	if (!msp)
		return EINVAL;
	ms = mem_zalloc(sizeof(*ms), set_destructor);
	if (!ms)
		return ENOMEM;
	*msp = ms;
	return 0;
}

static bool is_audio(const char *name)
{
	static const char *const ext[] = { ".wav", ".WAV", ".flac", ".ogg", ".sln", ".au" };
	const char *dot = strrchr(name, '.');

	if (!dot || name[0] == '.')
		return false;
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (!strcmp(dot, ext[i]))
			return true;
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int class_scan(struct mohclass *c, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int err = 0;

	if (!d)
		return errno;
	while (!err && (e = readdir(d))) {
		char **files;

		if (!is_audio(e->d_name))
			continue;
		/* libre's mem_realloc does not take NULL */
		files = c->files ? mem_realloc(c->files, (c->nfiles + 1) * sizeof(*files))
				 : mem_zalloc(sizeof(*files), NULL);
		if (!files) {
			err = ENOMEM;
			break;
		}
		c->files = files;
		err = re_sdprintf(&c->files[c->nfiles], "%s/%s", dir, e->d_name);
		if (!err)
			++c->nfiles;
	}
	(void)closedir(d);
	if (!err && c->nfiles)
		qsort(c->files, c->nfiles, sizeof(*c->files), cmp_str);
	return err;
}

int mohset_add(struct mohset *ms, const char *name, const char *directory, const char *sort)
{
	struct mohclass *c;
	int err;

	if (!ms || !str_isset(name) || !str_isset(directory))
		return EINVAL;
	c = mem_zalloc(sizeof(*c), class_destructor);
	if (!c)
		return ENOMEM;
	if (!str_isset(sort) || !str_casecmp(sort, "alpha"))
		c->sort = MOH_ALPHA;
	else if (!str_casecmp(sort, "random"))
		c->sort = MOH_RANDOM;
	else if (!str_casecmp(sort, "randstart"))
		c->sort = MOH_RANDSTART;
	else {
		err = EINVAL;
		goto out;
	}
	err = str_dup(&c->name, name);
	if (!err)
		err = str_dup(&c->dir, directory);
	if (!err)
		err = class_scan(c, directory);
	if (!err && !c->nfiles)
		err = ENOENT;
	if (err) {
		log_warn("moh: class '%s': no audio files in %s (%m)", name, directory, err);
		goto out;
	}
	list_append(&ms->classes, &c->le, c);
	return 0;
 out:
	mem_deref(c);
	return err;
}

static const struct mohclass *class_find(const struct mohset *ms, const char *name)
{
	for (struct le *le = ms ? ms->classes.head : NULL; le; le = le->next) {
		const struct mohclass *c = le->data;
		if (!str_casecmp(c->name, name))
			return c;
	}
	return NULL;
}

bool mohset_exists(const struct mohset *ms, const char *name)
{
	return class_find(ms, name) != NULL;
}

int mohset_fill(const struct mohset *ms, const char *name, struct player *p)
{
	const struct mohclass *c = str_isset(name) ? class_find(ms, name) : NULL;
	size_t first = 0;
	int err = 0;

	if (!c)
		c = class_find(ms, "default");
	if (!c || !p)
		return ENOENT;
	if (c->sort != MOH_ALPHA)
		first = rand_u32() % c->nfiles;
	for (size_t i = 0; i < c->nfiles && !err; i++) {
		size_t k = c->sort == MOH_RANDOM ? rand_u32() % c->nfiles
						  : (first + i) % c->nfiles;
		err = player_add_file(p, c->files[k]);
	}
	player_set_loop(p, true);
	return err;
}

int mohset_foreach(const struct mohset *ms, mohset_class_h *h, void *arg)
{
	static const char *const sorts[] = { "alpha", "random", "randstart" };
	int err = 0;

	if (!ms || !h)
		return EINVAL;
	for (struct le *le = ms->classes.head; le && !err; le = le->next) {
		const struct mohclass *c = le->data;
		struct mohclass_info ci = {
			.name = c->name, .directory = c->dir, .sort = sorts[c->sort],
			.files = (const char *const *)c->files, .nfiles = c->nfiles,
		};

		err = h(&ci, arg);
	}
	return err;
}
