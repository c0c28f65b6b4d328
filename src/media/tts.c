/* tts: espeak-ng renders into a cache of WAV files named by an MD5 of
 * (lang, text). One worker thread owns the rendering so the main loop never
 * waits; it touches only malloc'ed jobs (libre's mem refcounts are not
 * thread-safe) and signals the loop through libre's mqueue. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <re.h>
#include "core/log.h"
#include "media/tts.h"

extern char **environ;

/* argv elements have a 128 KiB ceiling (MAX_ARG_STRLEN); a prompt is short. */
enum { TTS_TEXT_MAX = 8192, TTS_LANG_MAX = 64 };

struct job {
	struct job *next;       /* in tts->queue or tts->done, under mutex */
	struct tts_req *req;    /* main thread only; NULL once cancelled */
	bool cancelled;         /* under mutex: the worker may skip it */
	int err;
	char *text;
	char lang[TTS_LANG_MAX];
	char path[PATH_MAX];
};

struct jobq { struct job *head, *tail; };

struct tts {
	char *dir;
	char *espeak;
	struct mqueue *mq;
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	pthread_t thread;
	bool locks_ok;
	bool thread_ok;
	bool stop;              /* under mutex */
	struct jobq queue;      /* waiting for the worker */
	struct jobq done;       /* waiting for the main loop */
};

struct tts_req {
	struct tts *tts;        /* weak; NULL once the job is gone */
	struct job *job;
	tts_done_h *doneh;
	void *arg;
};

static void jobq_push(struct jobq *q, struct job *j)
{
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
}

static struct job *jobq_pop(struct jobq *q)
{
	struct job *j = q->head;

	if (!j)
		return NULL;
	q->head = j->next;
	if (!q->head)
		q->tail = NULL;
	j->next = NULL;
	return j;
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	if (j->req) {
		j->req->job = NULL;
		j->req->tts = NULL;
	}
	free(j->text);
	free(j);
}

static bool lang_valid(const char *lang)
{
	size_t n = 0;

	if (!lang || !*lang)
		return false;
	for (; lang[n]; n++) {
		char c = lang[n];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-';
		if (!ok || n + 1 >= TTS_LANG_MAX)
			return false;
	}
	return true;
}

static bool file_nonempty(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

/* Runs espeak-ng into a temporary file in the cache directory, then renames
 * it into place so a reader never sees a half-written WAV. */
static int render(const struct tts *tts, const struct job *j)
{
	char tmp[PATH_MAX];
	char *argv[] = {tts->espeak, "-v", (char *)j->lang, "-s", "150", "-w", tmp,
			"--", j->text, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	pid_t pid;
	int fd, err, status;

	if (re_snprintf(tmp, sizeof(tmp), "%s/.tts-XXXXXX.wav", tts->dir) < 0)
		return ENAMETOOLONG;
	fd = mkstemps(tmp, 4);
	if (fd < 0)
		return errno;
	(void)close(fd);

	err = posix_spawn_file_actions_init(&fa);
	if (err)
		goto out_tmp;
	err = posix_spawnattr_init(&attr);
	if (err) {
		posix_spawn_file_actions_destroy(&fa);
		goto out_tmp;
	}
	/* The worker blocks every signal; espeak must start with none blocked
	 * and default dispositions. */
	sigemptyset(&none);
	sigfillset(&all);
	err = posix_spawnattr_setsigmask(&attr, &none);
	err |= posix_spawnattr_setsigdefault(&attr, &all);
	err |= posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	err |= posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	err |= posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	err |= posix_spawn_file_actions_adddup2(&fa, 1, 2);
	/* The daemon's sockets are not all close-on-exec. */
	err |= posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	if (err)
		err = EINVAL;
	else
		err = posix_spawnp(&pid, tts->espeak, &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		goto out_tmp;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			err = EIO;
			goto out_tmp;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		/* espeak-ng's only routine failure is an unknown voice. */
		err = EINVAL;
		goto out_tmp;
	}
	if (!WIFEXITED(status) || !file_nonempty(tmp)) {
		err = EIO;
		goto out_tmp;
	}
	if (rename(tmp, j->path) == 0)
		return 0;
	err = errno;

 out_tmp:
	(void)unlink(tmp);
	return err;
}

static void *worker(void *arg)
{
	struct tts *tts = arg;

	pthread_mutex_lock(&tts->mtx);
	for (;;) {
		struct job *j;
		bool skip;

		while (!tts->stop && !tts->queue.head)
			pthread_cond_wait(&tts->cond, &tts->mtx);
		if (tts->stop)
			break;
		j = jobq_pop(&tts->queue);
		skip = j->cancelled;
		pthread_mutex_unlock(&tts->mtx);

		if (skip)
			j->err = ECANCELED;
		else if (file_nonempty(j->path))
			j->err = 0;
		else
			j->err = render(tts, j);

		pthread_mutex_lock(&tts->mtx);
		jobq_push(&tts->done, j);
		/* Only fails if the pipe is full; the job is then delivered with
		 * the next one. */
		(void)mqueue_push(tts->mq, 0, NULL);
	}
	pthread_mutex_unlock(&tts->mtx);
	return NULL;
}

/* One job per message: the callback may mem_deref the tts, so nothing here
 * touches it after the call. */
static void mq_handler(int id, void *data, void *arg)
{
	struct tts *tts = arg;
	struct tts_req *req;
	struct job *j;
	char path[PATH_MAX];
	char lang[TTS_LANG_MAX];
	int err;
	(void)id;
	(void)data;

	pthread_mutex_lock(&tts->mtx);
	j = jobq_pop(&tts->done);
	pthread_mutex_unlock(&tts->mtx);
	if (!j)
		return;

	req = j->req;
	err = j->err;
	str_ncpy(path, j->path, sizeof(path));
	str_ncpy(lang, j->lang, sizeof(lang));
	job_free(j);
	if (!req || !req->doneh)
		return;
	if (err)
		log_warn("tts: render failed (lang=%s err=%m)", lang, err);
	req->doneh(err, err ? NULL : path, req->arg);
}

static void tts_destructor(void *arg)
{
	struct tts *tts = arg;

	if (tts->thread_ok) {
		pthread_mutex_lock(&tts->mtx);
		tts->stop = true;
		pthread_cond_signal(&tts->cond);
		pthread_mutex_unlock(&tts->mtx);
		pthread_join(tts->thread, NULL);
	}
	/* The worker is gone: no locking needed for what it left. */
	for (struct job *j; (j = jobq_pop(&tts->queue));)
		job_free(j);
	for (struct job *j; (j = jobq_pop(&tts->done));)
		job_free(j);
	tts->mq = mem_deref(tts->mq);
	if (tts->locks_ok) {
		pthread_cond_destroy(&tts->cond);
		pthread_mutex_destroy(&tts->mtx);
	}
	tts->espeak = mem_deref(tts->espeak);
	tts->dir = mem_deref(tts->dir);
}

/* mkdir -p: the cache may live under a directory that does not exist yet. */
static int mkdir_p(const char *dir)
{
	char p[PATH_MAX];
	size_t n = str_len(dir);

	if (n == 0 || n >= sizeof(p))
		return n ? ENAMETOOLONG : EINVAL;
	memcpy(p, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0755) && errno != EEXIST)
			return errno;
		p[i] = dir[i];
	}
	return 0;
}

static int thread_start(struct tts *tts)
{
	sigset_t all, old;
	int err;

	/* Signals belong to the main loop, not to the worker. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&tts->thread, NULL, worker, tts);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!err)
		tts->thread_ok = true;
	return err;
}

int tts_alloc(struct tts **ttsp, const char *cache_dir, const char *espeak)
{
	struct tts *tts;
	struct stat st;
	int err;

	if (!ttsp || !cache_dir || !*cache_dir)
		return EINVAL;
	err = mkdir_p(cache_dir);
	if (err)
		return err;
	if (stat(cache_dir, &st) || !S_ISDIR(st.st_mode))
		return ENOTDIR;

	tts = mem_zalloc(sizeof(*tts), tts_destructor);
	if (!tts)
		return ENOMEM;
	err = pthread_mutex_init(&tts->mtx, NULL);
	if (err) {
		mem_deref(tts);
		return err;
	}
	err = pthread_cond_init(&tts->cond, NULL);
	if (err) {
		pthread_mutex_destroy(&tts->mtx);
		mem_deref(tts);
		return err;
	}
	tts->locks_ok = true;

	err = str_dup(&tts->dir, cache_dir);
	if (!err)
		err = str_dup(&tts->espeak, espeak && *espeak ? espeak : "espeak-ng");
	if (!err)
		err = mqueue_alloc(&tts->mq, mq_handler, tts);
	if (!err)
		err = thread_start(tts);
	if (err) {
		mem_deref(tts);
		return err;
	}
	*ttsp = tts;
	return 0;
}

int tts_path(const struct tts *tts, const char *text, const char *lang, char *buf, size_t sz)
{
	uint8_t md[MD5_SIZE];
	int err, n;

	if (!tts || !text || !buf || !sz || !lang_valid(lang))
		return EINVAL;
	/* lang cannot hold '\n', so the pair is unambiguous. */
	err = md5_printf(md, "%s\n%s", lang, text);
	if (err)
		return err;
	n = re_snprintf(buf, sz, "%s/%s-%w.wav", tts->dir, lang, md, sizeof(md));
	if (n < 0 || (size_t)n >= sz)
		return ENAMETOOLONG;
	return 0;
}

static void req_destructor(void *arg)
{
	struct tts_req *req = arg;

	if (!req->job)
		return;
	pthread_mutex_lock(&req->tts->mtx);
	req->job->cancelled = true;
	req->job->req = NULL;
	pthread_mutex_unlock(&req->tts->mtx);
}

int tts_render(struct tts_req **reqp, struct tts *tts, const char *text, const char *lang,
	       tts_done_h *doneh, void *arg)
{
	struct tts_req *req;
	struct job *j;
	size_t len;
	int err;

	if (!reqp || !tts || !text || !lang_valid(lang))
		return EINVAL;
	len = strlen(text);
	if (len == 0 || len > TTS_TEXT_MAX)
		return EINVAL;

	j = calloc(1, sizeof(*j));
	if (!j)
		return ENOMEM;
	j->text = strdup(text);
	if (!j->text) {
		free(j);
		return ENOMEM;
	}
	str_ncpy(j->lang, lang, sizeof(j->lang));
	err = tts_path(tts, text, lang, j->path, sizeof(j->path));
	req = err ? NULL : mem_zalloc(sizeof(*req), req_destructor);
	if (!req) {
		job_free(j);
		return err ? err : ENOMEM;
	}
	req->tts = tts;
	req->job = j;
	req->doneh = doneh;
	req->arg = arg;
	j->req = req;

	pthread_mutex_lock(&tts->mtx);
	if (file_nonempty(j->path)) {
		/* Cached: skip the worker's queue, still complete on the loop
		 * (whose handler cannot run before we unlock). */
		err = mqueue_push(tts->mq, 0, NULL);
		if (!err)
			jobq_push(&tts->done, j);
	}
	else {
		jobq_push(&tts->queue, j);
		pthread_cond_signal(&tts->cond);
	}
	pthread_mutex_unlock(&tts->mtx);
	if (err) {
		job_free(j);
		mem_deref(req);
		return err;
	}

	*reqp = req;
	return 0;
}
