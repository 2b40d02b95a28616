/* SPDX-License-Identifier: MIT */
/*
 * prio_watch.c — see prio_watch.h. One thread, woken on a timer. The
 * reader and the watcher share three atomics (no_lift_until, lifted,
 * lifts); besides, the watcher only reads the rings' positions, which the
 * kernel and the reader publish atomically (prio_fill_fn).
 */
#include "prio_watch.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "mono_clock.h"
#include "priority.h"

struct prio_watch {
	pthread_t thread;
	pthread_mutex_t lock;     /* guards stop, started; cond waits on it */
	pthread_cond_t cond;
	bool stop;
	int started;              /* 0 until the thread has raised itself: 1, or -errno */
	pid_t reader;
	bool sched_idle;
	prio_fill_fn fill;
	void *ctx;
	uint64_t no_lift_until;   /* atomic: set by the reader */
	bool lifted;              /* atomic: set here, cleared by the reader's sync */
	uint64_t lifts;           /* atomic */
};

int prio_catch_up(bool sched_idle, pid_t tid)
{
	if (sched_idle &&
	    sched_setscheduler(tid, SCHED_OTHER, &(struct sched_param){ 0 }))
		return -errno;
	if (setpriority(PRIO_PROCESS, tid, 0))
		return -errno;
	return 0;
}

/* Whether the reader is at (or on its way to) its rest priority. Asked of
 * the kernel, not of a flag: the reader may go back to rest just as it is
 * lifted, and its two calls and the watcher's two interleave (nice 0 left
 * at SCHED_IDLE was seen). */
static bool reader_resting(const struct prio_watch *w)
{
	int nice;

	if (w->sched_idle && sched_getscheduler(w->reader) == SCHED_IDLE)
		return true;
	errno = 0;
	nice = getpriority(PRIO_PROCESS, w->reader);
	return !errno && nice > 0;
}

/* One look: lift the reader if the ring is past the boost mark, the
 * governor has not said to leave it, and it is resting. */
static void look(struct prio_watch *w)
{
	if (mono_ns() < __atomic_load_n(&w->no_lift_until, __ATOMIC_ACQUIRE) ||
	    w->fill(w->ctx) < PRIO_BOOST_FILL || !reader_resting(w))
		return;
	if (prio_catch_up(w->sched_idle, w->reader))
		return; /* the reader's own boost reports why */
	__atomic_store_n(&w->lifted, true, __ATOMIC_RELEASE);
	__atomic_add_fetch(&w->lifts, 1, __ATOMIC_RELAXED);
}

static void timespec_after(struct timespec *ts, uint64_t ns)
{
	uint64_t t = mono_ns() + ns;

	ts->tv_sec = t / 1000000000ull;
	ts->tv_nsec = t % 1000000000ull;
}

static void *watch(void *arg)
{
	struct prio_watch *w = arg;
	struct timespec next;
	int err = prio_catch_up(w->sched_idle, 0);

	pthread_mutex_lock(&w->lock);
	w->started = err ? err : 1;
	pthread_cond_broadcast(&w->cond);
	while (!err && !w->stop) {
		timespec_after(&next, PRIO_WATCH_NS);
		while (!w->stop &&
		       pthread_cond_timedwait(&w->cond, &w->lock, &next) != ETIMEDOUT)
			;
		if (w->stop)
			break;
		pthread_mutex_unlock(&w->lock);
		look(w);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* The thread takes no signal: session.c reads them from a signalfd, and a
 * signal delivered to this thread instead would end the process. */
static int spawn(struct prio_watch *w)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&w->thread, NULL, watch, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -err;
}

int prio_watch_start(struct prio_watch **out, pid_t reader, bool sched_idle,
		     prio_fill_fn fill, void *ctx)
{
	struct prio_watch *w = calloc(1, sizeof(*w));
	pthread_condattr_t attr;
	int err;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->reader = reader;
	w->sched_idle = sched_idle;
	w->fill = fill;
	w->ctx = ctx;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &attr);
	pthread_condattr_destroy(&attr);
	err = spawn(w);
	if (err)
		goto fail;
	pthread_mutex_lock(&w->lock);
	while (!w->started)
		pthread_cond_wait(&w->cond, &w->lock);
	err = w->started < 0 ? w->started : 0;
	pthread_mutex_unlock(&w->lock);
	if (err) {
		pthread_join(w->thread, NULL);
		goto fail;
	}
	*out = w;
	return 0;
fail:
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return err;
}

bool prio_watch_sync(struct prio_watch *w, uint64_t no_lift_until)
{
	if (!w)
		return false;
	__atomic_store_n(&w->no_lift_until, no_lift_until, __ATOMIC_RELEASE);
	return __atomic_exchange_n(&w->lifted, false, __ATOMIC_ACQ_REL);
}

uint64_t prio_watch_lifts(const struct prio_watch *w)
{
	return w ? __atomic_load_n(&w->lifts, __ATOMIC_RELAXED) : 0;
}

void prio_watch_stop(struct prio_watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
