/* recorder: MixMonitor's file writer. The main loop queues copies of 20 ms
 * frames; one writer thread per daemon mixes and writes them with libsndfile.
 *
 * Threads: libre's mem_ref/mem_deref are not thread-safe, so the writer
 * thread never touches a mem object. What it uses (struct recfile, struct
 * job) is plain malloc'ed memory; a recfile belongs to the writer from
 * recorder_open until it processes that file's CLOSE job, which the
 * recorder's destructor queues last. Failures go back to the main loop
 * through libre's mqueue, keyed by recorder id, so a failure that arrives
 * after the recorder was freed finds no recorder and is ignored.
 *
 * recorder_open checks the path at once but the writer opens the file for
 * real, in queue order: a recording that reopens a path (append to today's
 * file) must not touch it before the previous one has been closed. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sndfile.h>
#include <re.h>
#include "core/log.h"
#include "media/recorder.h"

enum {
	REC_RATE = 8000,
	FRAME_MAX = 1600,
	/* Past 10 s of backlog the disk is not keeping up; holding more
	 * only grows memory, so newer audio is dropped. */
	QUEUE_MAX = 10 * REC_RATE,
	/* Rewrite the header once per second of audio so that a crash or a
	 * full disk leaves a header that matches (nearly) all the data. */
	HDR_EVERY = REC_RATE,
};

/* Writer-owned after open. Fields marked (mtx) are shared with the loop. */
struct recfile {
	SNDFILE *sf;
	char *path;              /* immutable after open */
	unsigned flags;
	unsigned id;             /* immutable: the recorder's id */
	unsigned channels;
	uint64_t since_hdr;
	uint64_t queued;         /* (mtx) samples per direction in the queue */
	int err;                 /* (mtx) set once when open or write failed */
};

enum job_kind { JOB_OPEN, JOB_FRAME, JOB_CLOSE };

struct job {
	struct job *next;
	struct recfile *f;
	enum job_kind kind;
	size_t n;
	int16_t s[];             /* n rx samples, then n tx samples */
};

struct recwriter {
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	pthread_t thread;
	struct job *head, **tail;  /* (mtx) */
	bool stop;                 /* (mtx) */
	struct mqueue *mq;
	struct list recs;          /* live recorders; main loop only */
	unsigned next_id;
	bool mtx_ok, cond_ok, running;
	int16_t out[2 * FRAME_MAX]; /* writer thread only */
};

struct recorder {
	struct le le;            /* in w->recs */
	struct recwriter *w;     /* NULL once the writer is gone */
	struct recfile *f;       /* weak: the writer frees it after closejob */
	struct job *closejob;    /* preallocated: a destructor cannot fail */
	unsigned id;
	recorder_fail_h *failh;
	void *arg;
	uint64_t samples;
	uint64_t dropped;
	int err;
	unsigned log_last, log_supp;
};

/* Writer thread side */

static int sf_check_format(const SF_INFO *info, unsigned channels)
{
	return info->samplerate == REC_RATE && info->channels == (int)channels &&
		info->format == (SF_FORMAT_WAV | SF_FORMAT_PCM_16) ? 0 : EINVAL;
}

/* The fd is opened here rather than by sf_open so that a failure keeps its
 * errno instead of becoming libsndfile's generic error. */
static int recfile_open(struct recfile *f)
{
	bool append = f->flags & RECORDER_APPEND;
	SF_INFO info = { .samplerate = REC_RATE, .channels = (int)f->channels,
			 .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
	struct stat st;
	int fd, err;

	fd = open(f->path, O_RDWR | O_CREAT | O_CLOEXEC | (append ? 0 : O_TRUNC), 0666);
	if (fd < 0)
		return errno;
	if (fstat(fd, &st)) {
		err = errno;
		(void)close(fd);
		return err;
	}
	append = append && st.st_size > 0;
	if (append)
		memset(&info, 0, sizeof(info));
	/* On failure sf_open_fd has closed fd already (close_desc). */
	f->sf = sf_open_fd(fd, append ? SFM_RDWR : SFM_WRITE, &info, SF_TRUE);
	if (!f->sf) {
		log_warn("recorder: libsndfile refused (path=%s why=%s)", f->path,
			 sf_strerror(NULL));
		return EINVAL;
	}
	err = append ? sf_check_format(&info, f->channels) : 0;
	if (!err && append && sf_seek(f->sf, 0, SEEK_END) < 0)
		err = EIO;
	if (err) {
		sf_close(f->sf);
		f->sf = NULL;
	}
	return err;
}

static void recfile_free(struct recfile *f)
{
	if (!f)
		return;
	if (f->sf && sf_close(f->sf))
		log_warn("recorder: close failed (path=%s)", f->path);
	free(f->path);
	free(f);
}

static int write_errno(int e)
{
	if (e == ENOSPC || e == EFBIG || e == EDQUOT)
		return e;
	return EIO;
}

static void frame_render(struct recwriter *w, const struct job *j)
{
	const int16_t *rx = j->s, *tx = j->s + j->n;

	for (size_t i = 0; i < j->n; i++) {
		if (j->f->channels == 2) {
			w->out[2 * i] = rx[i];
			w->out[2 * i + 1] = tx[i];
			continue;
		}
		int32_t v = (int32_t)rx[i] + tx[i];
		w->out[i] = (int16_t)(v > INT16_MAX ? INT16_MAX :
				      v < INT16_MIN ? INT16_MIN : v);
	}
}

/* Later writes are dropped; the loop learns of it through the mqueue. */
static void file_fail(struct recwriter *w, struct recfile *f, int err)
{
	pthread_mutex_lock(&w->mtx);
	f->err = err;
	pthread_mutex_unlock(&w->mtx);
	if (mqueue_push(w->mq, (int)f->id, (void *)(intptr_t)err))
		log_warn("recorder: cannot notify failure (path=%s)", f->path);
}

static void file_open(struct recwriter *w, struct recfile *f)
{
	int err = recfile_open(f);

	if (!err)
		return;
	log_warn("recorder: cannot open, recording stopped (path=%s err=%m)",
		 f->path, err);
	file_fail(w, f, err);
}

/* On failure sf_close rewrites the header for what reached the disk, so
 * the file stays a valid WAV; the loop learns about it through the mqueue. */
static void frame_write(struct recwriter *w, const struct job *j)
{
	struct recfile *f = j->f;
	sf_count_t done;
	int err;

	if (!f->sf)
		return;
	frame_render(w, j);
	errno = 0;
	done = sf_writef_short(f->sf, w->out, (sf_count_t)j->n);
	if (done == (sf_count_t)j->n && !sf_error(f->sf)) {
		f->since_hdr += j->n;
		if (f->since_hdr >= HDR_EVERY) {
			sf_command(f->sf, SFC_UPDATE_HEADER_NOW, NULL, 0);
			f->since_hdr = 0;
		}
		return;
	}
	err = write_errno(errno);
	log_warn("recorder: write failed, recording stopped (path=%s err=%m sf=%s)",
		 f->path, err, sf_strerror(f->sf));
	if (sf_close(f->sf))
		log_warn("recorder: close after failure failed (path=%s)", f->path);
	f->sf = NULL;
	file_fail(w, f, err);
}

static void *writer_main(void *arg)
{
	struct recwriter *w = arg;

	pthread_mutex_lock(&w->mtx);
	for (;;) {
		struct job *j;

		while (!w->head && !w->stop)
			pthread_cond_wait(&w->cond, &w->mtx);
		j = w->head;
		if (!j)
			break;
		w->head = j->next;
		if (!w->head)
			w->tail = &w->head;
		pthread_mutex_unlock(&w->mtx);

		if (j->kind != JOB_FRAME) {
			if (j->kind == JOB_OPEN)
				file_open(w, j->f);
			else
				recfile_free(j->f);
			free(j);
			pthread_mutex_lock(&w->mtx);
			continue;
		}
		frame_write(w, j);
		pthread_mutex_lock(&w->mtx);
		j->f->queued -= j->n;
		free(j);
	}
	pthread_mutex_unlock(&w->mtx);
	return NULL;
}

/* Main loop side */

static void writer_enqueue(struct recwriter *w, struct job *j)
{
	j->next = NULL;
	*w->tail = j;
	w->tail = &j->next;
	pthread_cond_signal(&w->cond);
}

static void recorder_detach(struct recorder *rec)
{
	struct recwriter *w = rec->w;

	list_unlink(&rec->le);
	rec->w = NULL;
	rec->f = NULL;
	if (!w)
		return;
	pthread_mutex_lock(&w->mtx);
	writer_enqueue(w, rec->closejob);
	pthread_mutex_unlock(&w->mtx);
	rec->closejob = NULL;
}

static void mq_handler(int id, void *data, void *arg)
{
	struct recwriter *w = arg;
	int err = (int)(intptr_t)data;
	struct le *le;

	LIST_FOREACH(&w->recs, le) {
		struct recorder *rec = le->data;

		if (rec->id != (unsigned)id)
			continue;
		rec->err = err;
		if (rec->failh)
			rec->failh(err, rec->arg);
		return;
	}
}

/* Either order of release is safe. Recorders still alive lose their file
 * here: it is closed after what they queued, their later writes return
 * ESHUTDOWN, and a failure not yet delivered is not delivered. */
static void writer_destructor(void *arg)
{
	struct recwriter *w = arg;

	while (w->recs.head) {
		struct recorder *rec = w->recs.head->data;

		recorder_detach(rec);
		rec->err = ESHUTDOWN;
	}
	if (w->running) {
		pthread_mutex_lock(&w->mtx);
		w->stop = true;
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&w->mtx);
		pthread_join(w->thread, NULL);
	}
	if (w->cond_ok)
		pthread_cond_destroy(&w->cond);
	if (w->mtx_ok)
		pthread_mutex_destroy(&w->mtx);
	mem_deref(w->mq);
}

int recwriter_alloc(struct recwriter **wp)
{
	struct recwriter *w;
	int err;

	if (!wp)
		return EINVAL;
	w = mem_zalloc(sizeof(*w), writer_destructor);
	if (!w)
		return ENOMEM;
	w->tail = &w->head;
	err = mqueue_alloc(&w->mq, mq_handler, w);
	if (err)
		goto out;
	err = pthread_mutex_init(&w->mtx, NULL);
	if (err)
		goto out;
	w->mtx_ok = true;
	err = pthread_cond_init(&w->cond, NULL);
	if (err)
		goto out;
	w->cond_ok = true;
	err = pthread_create(&w->thread, NULL, writer_main, w);
	if (err)
		goto out;
	w->running = true;

 out:
	if (err) {
		log_warn("recorder: cannot start writer (err=%m)", err);
		mem_deref(w);
		return err;
	}
	*wp = w;
	return 0;
}

static int mkdir_parents(const char *path)
{
	char *dir = strdup(path);
	int err = 0;

	if (!dir)
		return ENOMEM;
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0777) && errno != EEXIST) {
			err = errno;
			break;
		}
		*p = '/';
	}
	free(dir);
	return err;
}

/* What can be known without waiting for the writer: the directories, the
 * permissions and, when appending, the existing file's format. Creating the
 * file here is harmless: the writer truncates or appends to it anyway. */
static int path_check(const char *path, unsigned flags, unsigned channels)
{
	SF_INFO info = { 0 };
	struct stat st;
	SNDFILE *sf;
	int fd, err;

	err = mkdir_parents(path);
	if (err)
		return err;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0)
		return errno;
	if (fstat(fd, &st)) {
		err = errno;
		(void)close(fd);
		return err;
	}
	if (!(flags & RECORDER_APPEND) || st.st_size == 0) {
		(void)close(fd);
		return 0;
	}
	sf = sf_open_fd(fd, SFM_READ, &info, SF_TRUE);
	if (!sf)
		return EINVAL;
	sf_close(sf);
	err = sf_check_format(&info, channels);
	if (err)
		log_warn("recorder: cannot append to a different format (path=%s "
			 "rate=%d channels=%d)", path, info.samplerate, info.channels);
	return err;
}

static void recorder_destructor(void *arg)
{
	struct recorder *rec = arg;

	recorder_detach(rec);
	free(rec->closejob);
}

int recorder_open(struct recorder **recp, struct recwriter *w, const char *path,
		  unsigned flags, recorder_fail_h *failh, void *arg)
{
	unsigned channels = (flags & RECORDER_STEREO) ? 2 : 1;
	struct recorder *rec = NULL;
	struct recfile *f = NULL;
	struct job *openjob = NULL;
	int err;

	if (!recp || !w || !path || !*path ||
	    (flags & ~(unsigned)(RECORDER_STEREO | RECORDER_APPEND)))
		return EINVAL;
	rec = mem_zalloc(sizeof(*rec), recorder_destructor);
	f = calloc(1, sizeof(*f));
	if (!rec || !f) {
		err = ENOMEM;
		goto out;
	}
	rec->closejob = calloc(1, sizeof(*rec->closejob));
	openjob = calloc(1, sizeof(*openjob));
	f->path = strdup(path);
	if (!rec->closejob || !openjob || !f->path) {
		err = ENOMEM;
		goto out;
	}
	err = path_check(path, flags, channels);
	if (err)
		goto out;
	f->channels = channels;
	f->flags = flags;
	f->id = rec->id = ++w->next_id;
	rec->closejob->kind = JOB_CLOSE;
	rec->closejob->f = f;
	rec->failh = failh;
	rec->arg = arg;
	rec->f = f;
	rec->w = w;
	list_append(&w->recs, &rec->le, rec);
	openjob->kind = JOB_OPEN;
	openjob->f = f;
	pthread_mutex_lock(&w->mtx);
	writer_enqueue(w, openjob);
	pthread_mutex_unlock(&w->mtx);

 out:
	if (err) {
		log_warn("recorder: cannot open (path=%s err=%m)", path, err);
		free(openjob);
		recfile_free(f);
		mem_deref(rec);
		return err;
	}
	*recp = rec;
	return 0;
}

static void drop_log(struct recorder *rec, size_t n)
{
	rec->dropped += n;
	log_ratelimited(&rec->log_last, &rec->log_supp,
			"recorder: disk too slow, dropping audio (path=%s dropped=%llu)",
			rec->f->path, (unsigned long long)rec->dropped);
}

int recorder_write(struct recorder *rec, const int16_t *rx, const int16_t *tx, size_t n)
{
	struct recwriter *w;
	struct job *j;
	int err = 0;

	if (!rec || n > FRAME_MAX)
		return EINVAL;
	if (rec->err)
		return rec->err;
	if (!n)
		return 0;
	w = rec->w;
	j = malloc(sizeof(*j) + 2 * n * sizeof(int16_t));
	if (!j)
		return ENOMEM;
	j->kind = JOB_FRAME;
	j->f = rec->f;
	j->n = n;
	if (rx)
		memcpy(j->s, rx, n * sizeof(int16_t));
	else
		memset(j->s, 0, n * sizeof(int16_t));
	if (tx)
		memcpy(j->s + n, tx, n * sizeof(int16_t));
	else
		memset(j->s + n, 0, n * sizeof(int16_t));

	pthread_mutex_lock(&w->mtx);
	if (rec->f->err)
		err = rec->f->err;
	else if (rec->f->queued + n > QUEUE_MAX)
		err = ENOBUFS;
	else {
		rec->f->queued += n;
		writer_enqueue(w, j);
	}
	pthread_mutex_unlock(&w->mtx);
	if (err) {
		free(j);
		if (err == ENOBUFS)
			drop_log(rec, n);
		return err;
	}
	rec->samples += n;
	return 0;
}

uint64_t recorder_samples(const struct recorder *rec)
{
	return rec ? rec->samples : 0;
}
