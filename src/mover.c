#include "mover.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "u64map.h"

/* The threads of a lane: one, but for the remote lane's two (a network is slow, not busy). */
#define LANE_WIDTH_MAX 2

struct lane;

struct slot {
	struct lane *l;
	pthread_t thread;
	bool started;
	struct mover_job *running;
};

struct lane {
	struct mover *m;
	struct slot slots[LANE_WIDTH_MAX];
	unsigned width, busy;
	bool alone_running; /* a job that runs alone in its lane is running */
	pthread_cond_t work; /* its own: a job wakes only its lane's threads */
	struct mover_job *head, *tail; /* queued */
	size_t queued;
};

struct mover {
	struct ev_loop *loop;
	ev_async wake;
	pthread_mutex_t lock;
	struct lane lanes[MOVER_LANES];
	struct mover_job *results, *results_tail; /* done by a worker, to apply on the loop */
	atomic_bool stopping;
	bool paused;
	struct u64map *busy; /* (dev, ino) key -> how many jobs on it, a field per lane */
	size_t pending;
	struct mover_totals totals;
	void (*on_idle)(void *ud);
	void *idle_ud;
	void (*on_free)(void *ud, uint64_t dev, uint64_t ino);
	void *free_ud;
};

/* The busy map's value: each lane's count of jobs on the file in a field of these bits. */
#define LANE_BITS (sizeof(uintptr_t) * CHAR_BIT / MOVER_LANES)
#define LANE_ONE(lane) ((uintptr_t)1 << (LANE_BITS * (unsigned)(lane)))
#define LANE_MASK(lane) ((LANE_ONE(lane) << (LANE_BITS - 1) << 1) - LANE_ONE(lane))

static uint64_t busy_key(uint64_t dev, uint64_t ino)
{
	return ino * 0x9e3779b97f4a7c15ULL ^ (dev + 1);
}

static void busy_add(struct mover *m, const struct mover_job *j, bool add)
{
	uint64_t k = busy_key(j->dev, j->ino);
	uintptr_t n = (uintptr_t)u64map_get(m->busy, k);

	if (!j->ino)
		return;
	if (add)
		n += LANE_ONE(j->lane);
	else
		n -= LANE_ONE(j->lane);
	if (n)
		u64map_put(m->busy, k, (void *)n);
	else
		u64map_del(m->busy, k);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void push(struct mover_job **head, struct mover_job **tail, struct mover_job *j)
{
	j->next = NULL;
	if (*tail)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

static struct mover_job *pop(struct mover_job **head, struct mover_job **tail)
{
	struct mover_job *j = *head;

	if (j) {
		*head = j->next;
		if (!*head)
			*tail = NULL;
		j->next = NULL;
	}
	return j;
}

/* May the lane's next job start now? Not beside a job that runs alone, nor one that must. */
static bool may_start(const struct lane *l)
{
	return l->head && !l->alone_running && !(l->head->alone && l->busy);
}

static void *worker(void *arg)
{
	struct slot *sl = arg;
	struct lane *l = sl->l;
	struct mover *m = l->m;
	sigset_t all;

	/* Signals are the loop's (libev's signal handling): none here. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&m->lock);
	for (;;) {
		struct mover_job *j;

		/* Paused, only an operator's jobs are queued (pause took the others). */
		while (!atomic_load(&m->stopping) && !may_start(l))
			pthread_cond_wait(&l->work, &m->lock);
		if (atomic_load(&m->stopping))
			break;
		j = pop(&l->head, &l->tail);
		l->queued--;
		l->busy++;
		l->alone_running = j->alone;
		sl->running = j;
		j->running = true;
		j->started = (int64_t)time(NULL);
		j->started_ns = mono_ns();
		pthread_mutex_unlock(&m->lock);
		j->run(j);
		pthread_mutex_lock(&m->lock);
		sl->running = NULL;
		l->busy--;
		if (j->alone)
			l->alone_running = false;
		if (l->width > 1)
			pthread_cond_broadcast(&l->work); /* what waited for it to end */
		j->running = false;
		push(&m->results, &m->results_tail, j);
		ev_async_send(m->loop, &m->wake);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/*
 * On the loop: a job's result applied, its file free again. Once no job is
 * left on the file, whoever put work on it off until then is told.
 */
static void finish(struct mover *m, struct mover_job *j, bool cancelled)
{
	uint64_t dev = j->dev, ino = j->ino;

	busy_add(m, j, false);
	if (j->lane != MOVER_REMOTE)
		m->pending--;
	if (cancelled) {
		m->totals.cancelled++;
	} else {
		m->totals.jobs++;
		m->totals.bytes += atomic_load(&j->moved);
	}
	j->done(j, cancelled);
	if (ino && m->on_free && !mover_busy(m, dev, ino))
		m->on_free(m->free_ud, dev, ino);
}

static void idle_check(struct mover *m)
{
	if (!m->pending && m->on_idle)
		m->on_idle(m->idle_ud);
}

static void on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
	struct mover *m = w->data;
	struct mover_job *j, *list;

	(void)loop;
	(void)revents;
	pthread_mutex_lock(&m->lock);
	list = m->results;
	m->results = m->results_tail = NULL;
	pthread_mutex_unlock(&m->lock);
	while ((j = list)) {
		list = j->next;
		finish(m, j, j->started < 0);
	}
	idle_check(m);
}

struct mover *mover_create(struct ev_loop *loop)
{
	struct mover *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->loop = loop;
	m->busy = u64map_create();
	if (!m->busy) {
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&m->lock, NULL);
	for (int i = 0; i < MOVER_LANES; i++)
		pthread_cond_init(&m->lanes[i].work, NULL);
	ev_async_init(&m->wake, on_wake);
	m->wake.data = m;
	ev_async_start(loop, &m->wake);
	ev_unref(loop); /* the loop does not run on for the mover's sake */
	for (int i = 0; i < MOVER_LANES; i++) {
		struct lane *l = &m->lanes[i];

		l->m = m;
		l->width = i == MOVER_REMOTE ? 2 : 1;
		for (unsigned k = 0; k < l->width; k++) {
			struct slot *sl = &l->slots[k];
			char name[16];
			int r;

			sl->l = l;
			r = pthread_create(&sl->thread, NULL, worker, sl);
			if (r) {
				mover_destroy(m);
				errno = r;
				return NULL;
			}
			sl->started = true;
			/* Seen in top -H and /proc/PID/task/TID/comm: which lane is busy, or stuck. */
			snprintf(name, sizeof(name), "sweepd-%s", mover_lane_name((enum mover_lane)i));
			pthread_setname_np(sl->thread, name);
		}
	}
	return m;
}

/* Every lane's thread told to look at its state again (with the lock held). */
static void wake_all(struct mover *m)
{
	for (int i = 0; i < MOVER_LANES; i++)
		pthread_cond_broadcast(&m->lanes[i].work);
}

/* The queued jobs of every lane taken out, to be done as cancelled; with all false, an
 * operator's stay queued. */
static struct mover_job *take_queued(struct mover *m, bool all)
{
	struct mover_job *head = NULL, *tail = NULL, *j;

	for (int i = 0; i < MOVER_LANES; i++) {
		struct lane *l = &m->lanes[i];
		struct mover_job *keep = NULL, *keep_tail = NULL;

		while ((j = pop(&l->head, &l->tail))) {
			if (j->asked && !all) {
				push(&keep, &keep_tail, j);
			} else {
				push(&head, &tail, j);
				l->queued--;
			}
		}
		l->head = keep;
		l->tail = keep_tail;
	}
	return head;
}

static void cancel_list(struct mover *m, struct mover_job *list)
{
	struct mover_job *j;

	while ((j = list)) {
		list = j->next;
		finish(m, j, true);
	}
}

void mover_destroy(struct mover *m)
{
	struct mover_job *queued;

	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	atomic_store(&m->stopping, true);
	queued = take_queued(m, true);
	wake_all(m);
	pthread_mutex_unlock(&m->lock);
	for (int i = 0; i < MOVER_LANES; i++)
		for (unsigned k = 0; k < LANE_WIDTH_MAX; k++)
			if (m->lanes[i].slots[k].started)
				pthread_join(m->lanes[i].slots[k].thread, NULL);
	/*
	 * What ran to its end (or gave up) is applied; what never ran is cancelled,
	 * and so is what those results queue meanwhile.
	 */
	m->on_idle = NULL;
	for (;;) {
		bool more;

		on_wake(m->loop, &m->wake, 0);
		cancel_list(m, queued);
		pthread_mutex_lock(&m->lock);
		queued = take_queued(m, true);
		more = queued || m->results;
		pthread_mutex_unlock(&m->lock);
		if (!more)
			break;
	}
	ev_ref(m->loop);
	ev_async_stop(m->loop, &m->wake);
	u64map_destroy(m->busy);
	for (int i = 0; i < MOVER_LANES; i++)
		pthread_cond_destroy(&m->lanes[i].work);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void mover_submit(struct mover *m, struct mover_job *j)
{
	struct lane *l = &m->lanes[j->lane];

	j->m = m;
	j->running = false;
	atomic_store(&j->moved, 0);
	busy_add(m, j, true);
	if (j->lane != MOVER_REMOTE)
		m->pending++;
	pthread_mutex_lock(&m->lock);
	push(&l->head, &l->tail, j);
	l->queued++;
	if ((m->paused && !j->asked) || atomic_load(&m->stopping)) {
		/* Never started: done as cancelled at the next turn of the loop. */
		pop(&l->head, &l->tail);
		l->queued--;
		push(&m->results, &m->results_tail, j);
		j->started = -1;
		ev_async_send(m->loop, &m->wake);
	} else {
		pthread_cond_signal(&l->work); /* the lane's one thread */
	}
	pthread_mutex_unlock(&m->lock);
}

bool mover_busy(const struct mover *m, uint64_t dev, uint64_t ino)
{
	return m && u64map_get(m->busy, busy_key(dev, ino));
}

bool mover_busy_beside(const struct mover *m, enum mover_lane lane, uint64_t dev, uint64_t ino)
{
	return m && ((uintptr_t)u64map_get(m->busy, busy_key(dev, ino)) & ~LANE_MASK(lane));
}

const char *mover_lane_name(enum mover_lane lane)
{
	static const char *const names[MOVER_LANES] = { "archive", "quick", "logs", "asked",
								"remote" };

	return lane < MOVER_LANES ? names[lane] : "?";
}

double mover_job_elapsed(const struct mover_job *j)
{
	return j->running ? (double)(mono_ns() - j->started_ns) / 1e9 : 0;
}

size_t mover_pending(const struct mover *m)
{
	return m ? m->pending : 0;
}

size_t mover_queued(const struct mover *m, enum mover_lane lane)
{
	struct mover *mm = (struct mover *)m;
	size_t n;

	pthread_mutex_lock(&mm->lock);
	n = m->lanes[lane].queued;
	pthread_mutex_unlock(&mm->lock);
	return n;
}

void mover_pause(struct mover *m, bool paused)
{
	struct mover_job *queued = NULL;

	pthread_mutex_lock(&m->lock);
	m->paused = paused;
	if (paused)
		queued = take_queued(m, false);
	else
		wake_all(m);
	pthread_mutex_unlock(&m->lock);
	cancel_list(m, queued);
	idle_check(m);
}

void mover_on_idle(struct mover *m, void (*fn)(void *ud), void *ud)
{
	m->on_idle = fn;
	m->idle_ud = ud;
}

void mover_on_free(struct mover *m, void (*fn)(void *ud, uint64_t dev, uint64_t ino), void *ud)
{
	m->on_free = fn;
	m->free_ud = ud;
}

bool mover_stopping(const struct mover_job *j)
{
	return atomic_load(&j->m->stopping);
}

void mover_progress(struct mover_job *j, uint64_t moved)
{
	atomic_store(&j->moved, moved);
}

bool mover_chunk_done(struct mover_job *j, uint64_t done)
{
	/* A file with a few holes, compressed, reads them too: never past the job's total. */
	mover_progress(j, j->bytes && done > j->bytes ? j->bytes : done);
	return !mover_stopping(j);
}

void mover_job_free(struct mover_job *j)
{
	if (j) {
		free(j->path);
		free(j);
	}
}

void mover_foreach(struct mover *m, void (*fn)(const struct mover_job *j, bool running, void *ud),
		   void *ud)
{
	pthread_mutex_lock(&m->lock);
	for (int i = 0; i < MOVER_LANES; i++)
		for (unsigned k = 0; k < LANE_WIDTH_MAX; k++)
			if (m->lanes[i].slots[k].running)
				fn(m->lanes[i].slots[k].running, true, ud);
	for (int i = 0; i < MOVER_LANES; i++)
		for (struct mover_job *j = m->lanes[i].head; j; j = j->next)
			fn(j, false, ud);
	pthread_mutex_unlock(&m->lock);
}

struct mover_totals mover_totals(const struct mover *m)
{
	return m ? m->totals : (struct mover_totals){ 0 };
}
