/* gochan._native._lock: the lock of the compiled build's channels and waiters.
 *
 * The same contract as the subset of threading.Lock that gochan uses (acquire with
 * blocking and timeout, release, locked, the with statement; no owner, so one thread
 * may release what another acquired, as a waiter's park lock needs), but an
 * uncontended acquire or release is one atomic instruction.  threading.Lock parses
 * its arguments with PyArg_ParseTupleAndKeywords and reads the monotonic clock even
 * for a non-blocking try; a channel operation takes two to four of these calls, which
 * made them a third of a buffered send and receive in the compiled build.
 *
 * Contended or parked, a thread releases the GIL and first spins: it tests the lock
 * between sched_yield() calls for up to a budget (20 us at most, adapted: doubled when
 * a spin got the lock, halved when it ran out, with a full-length probe every 8th
 * wait), and once it has the lock it waits,
 * still spinning, until the releaser lets go of the GIL.  When the CPUs are
 * oversubscribed, a sched_yield() hands the CPU to another runnable thread for a whole
 * scheduler slice (milliseconds, not microseconds), which made hand-offs 10-30x slower
 * than sleeping; a spin that overran its bound that way stops spinning for a while
 * (see COOLDOWN_MIN_NS).  A hand-off between two
 * threads on a channel then costs no kernel wake-up at all: without the spin, the
 * parked thread slept on its semaphore, and once woken it often slept again on the
 * GIL, which the waker still held; on this 2-core VM each of those wake-ups took
 * ~10 us, most of an unbuffered send+recv (benchmarks/channels.py: Chan() 2.6x,
 * Chan(1) 2.4x, ping-pong 2.9x faster than without the spin, load 4-5).  Only when
 * the spin runs out does the thread sleep on a PyThread lock used as a semaphore
 * (allocated on the first sleep), waking for signals as threading.Lock does:
 * Py_MakePendingCalls runs the handlers and an exception they raise
 * (KeyboardInterrupt) propagates from acquire().
 *
 * Protocol: `locked` is 0 or 1; a sleeper increments `sleepers` before its last test
 * of `locked`, a releaser clears `locked` before it reads `sleepers` (both
 * sequentially consistent), so either the sleeper sees the lock free or the releaser
 * sees the sleeper and posts `sem`.  Extra posts only cause a spurious wake-up, after
 * which the sleeper tests again.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>
#include <stdatomic.h>
#include <stdint.h>
#ifdef _WIN32
#include <windows.h>
#define yield_cpu() SwitchToThread()
#else
#include <sched.h>
#define yield_cpu() sched_yield()
#endif
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000 && !defined(Py_GIL_DISABLED)
#define Py_BUILD_CORE 1
#include "internal/pycore_runtime.h" /* _PyRuntime.ceval.gil, for gil_held() */
#undef Py_BUILD_CORE
#endif

typedef struct {
    PyObject_HEAD
    atomic_int locked;
    atomic_int sleepers;
    /* NULL until a thread first sleeps on this lock (set without the GIL, by
     * compare-and-swap); a PyThread lock used as a semaphore, held while "empty". */
    _Atomic(PyThread_type_lock) sem;
} LockObject;

static inline int
try_take(LockObject *self)
{
    int expected = 0;
    return atomic_compare_exchange_strong(&self->locked, &expected, 1);
}

/* Monotonic nanoseconds, callable without the GIL: a public function from 3.13, private
 * but exported before (its error path raises nothing when asked not to). */
static inline int64_t
now_ns(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyTime_t t;
    (void)PyTime_MonotonicRaw(&t);
    return t;
#else
    return (int64_t)_PyTime_GetMonotonicClock();
#endif
}

/* Whether some thread holds the GIL, read without holding it.  Only CPython 3.11's
 * layout is known here (a field of _PyRuntime, reached through the internal headers);
 * elsewhere this says "free" and a spinner takes the GIL as any thread does. */
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000 && !defined(Py_GIL_DISABLED)
static inline int
gil_held(void)
{
    return _Py_atomic_load_relaxed(&_PyRuntime.ceval.gil.locked) == 1;
}
#else
static inline int
gil_held(void)
{
    return 0;
}
#endif

/* The spin budget in nanoseconds, shared by all locks and adapted under the GIL:
 * doubled (up to SPIN_MAX_NS) each time a spin gets the lock, halved (down to
 * SPIN_MIN_NS) each time it runs out and the thread sleeps after all.  Every
 * SPIN_PROBE-th wait below the maximum spins the full SPIN_MAX_NS instead: a hand-off
 * rarely comes within 1-2 us (the peer runs Python to make it), so without probes a
 * run of failures (a phase of long waits) would leave the budget too short ever to
 * succeed again, which measured as runs where spinning never resumed. */
#define SPIN_MAX_NS 20000
#define SPIN_MIN_NS 1000
#define SPIN_PROBE 8
static int64_t spin_ns = SPIN_MAX_NS;
static unsigned int spin_waits = 0;

/* A spin that lasted OVERRUN_NS (ten times its bound) was descheduled: the CPUs are
 * oversubscribed, and there a yield costs a scheduler slice.  No thread spins then
 * until `quiet_until`, for a cooldown that doubles (up to COOLDOWN_MAX_NS) when the
 * overrun came within a cooldown of the end of the previous one and starts again
 * from COOLDOWN_MIN_NS otherwise: under steady load the spin costs a slice at most
 * about once a second, and once the load is gone spinning resumes within a second. */
#define OVERRUN_NS (10 * 2 * SPIN_MAX_NS)
#define COOLDOWN_MIN_NS 10000000
#define COOLDOWN_MAX_NS 1000000000
static int64_t cooldown_ns = COOLDOWN_MIN_NS;
static int64_t quiet_until = 0;
static int64_t overruns = 0;

/* GIL released: wait up to `budget` ns for the lock to be released, yielding the CPU
 * between tests; 1 if taken, with `*overran` set when the whole spin took OVERRUN_NS.
 * Once taken, wait (within twice the budget) for the releaser to drop the GIL too: it
 * usually still holds it, and a thread that asks for a held GIL sleeps on a condition
 * variable until it is dropped, which costs the same kernel wake-up that spinning
 * saves. */
static int
spin_take(LockObject *self, int64_t budget, int *overran)
{
    int64_t start = now_ns();
    int got = 0;
    for (;;) {
        if (atomic_load_explicit(&self->locked, memory_order_relaxed) == 0 && try_take(self)) {
            got = 1;
            break;
        }
        if (now_ns() - start >= budget) {
            break;
        }
        yield_cpu();
    }
    while (got && gil_held() && now_ns() - start < 2 * budget) {
        yield_cpu();
    }
    *overran = now_ns() - start >= OVERRUN_NS;
    return got;
}

static PyObject *
Lock_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if (PyTuple_GET_SIZE(args) || (kwargs && PyDict_GET_SIZE(kwargs))) {
        PyErr_SetString(PyExc_TypeError, "Lock() takes no arguments");
        return NULL;
    }
    LockObject *self = (LockObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    atomic_init(&self->locked, 0);
    atomic_init(&self->sleepers, 0);
    atomic_init(&self->sem, NULL);
    return (PyObject *)self;
}

static void
Lock_dealloc(LockObject *self)
{
    PyThread_type_lock sem = atomic_load(&self->sem);
    if (sem != NULL) {
        PyThread_free_lock(sem);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The lock's semaphore, allocated by the first thread that needs it (the GIL may be
 * released); NULL if out of memory. */
static PyThread_type_lock
get_sem(LockObject *self)
{
    PyThread_type_lock sem = atomic_load(&self->sem);
    if (sem != NULL) {
        return sem;
    }
    PyThread_type_lock mine = PyThread_allocate_lock();
    if (mine == NULL) {
        return NULL;
    }
    PyThread_acquire_lock(mine, WAIT_LOCK);
    if (atomic_compare_exchange_strong(&self->sem, &sem, mine)) {
        return mine;
    }
    PyThread_free_lock(mine); /* another thread won; `sem` is now its semaphore */
    return sem;
}

/* The slow path, GIL held: wait until the lock is ours, `timeout` (seconds, < 0 for
 * none) runs out (0), or a signal handler raises (-1, exception set).  With the GIL
 * released, first spin (spin_take), then sleep on `sem`. */
static int
acquire_slow(LockObject *self, double timeout)
{
    int64_t deadline = 0;
    if (timeout >= 0) {
        deadline = now_ns() + (int64_t)(timeout * 1e9);
    }
    int64_t current = spin_ns;
    int64_t budget = current < SPIN_MAX_NS && ++spin_waits % SPIN_PROBE == 0 ? SPIN_MAX_NS : current;
    int spin = (timeout < 0 || timeout * 1e9 > (double)budget) && now_ns() >= quiet_until;
    int got = 0, spun = 0, overran = 0, interrupted, no_memory = 0;
    do {
        interrupted = 0;
        Py_BEGIN_ALLOW_THREADS
        if (spin) {
            got = spun = spin_take(self, budget, &overran);
        }
        PyThread_type_lock sem = NULL;
        if (!got && (sem = get_sem(self)) == NULL) {
            no_memory = 1;
        }
        if (sem != NULL) {
            atomic_fetch_add(&self->sleepers, 1);
            for (;;) {
                if (try_take(self)) {
                    got = 1;
                    break;
                }
                PY_TIMEOUT_T us = -1;
                if (timeout >= 0) {
                    int64_t left = deadline - now_ns();
                    if (left <= 0) {
                        break;
                    }
                    us = (PY_TIMEOUT_T)(left / 1000) + 1;
                }
                /* Interrupted, nothing was consumed: a post meant for us stays for
                 * another sleeper.  Timed out: the try_take above failed, so a holder
                 * will post. */
                if (PyThread_acquire_lock_timed(sem, us, 1) == PY_LOCK_INTR) {
                    interrupted = 1;
                    break;
                }
            }
            atomic_fetch_sub(&self->sleepers, 1);
        }
        Py_END_ALLOW_THREADS
        if (spin && overran) {
            int64_t now = now_ns();
            if (now - quiet_until > cooldown_ns) {
                cooldown_ns = COOLDOWN_MIN_NS;
            }
            else if ((cooldown_ns *= 2) > COOLDOWN_MAX_NS) {
                cooldown_ns = COOLDOWN_MAX_NS;
            }
            quiet_until = now + cooldown_ns;
            overruns++;
            spin_ns = SPIN_MIN_NS;
            spin = 0;
        }
        else if (spin) {
            int64_t next = spun ? 2 * budget : current / 2;
            spin_ns = next > SPIN_MAX_NS ? SPIN_MAX_NS : next < SPIN_MIN_NS ? SPIN_MIN_NS : next;
            spin = 0;
        }
        if (no_memory) {
            PyErr_NoMemory();
            return -1;
        }
        if (interrupted && Py_MakePendingCalls() < 0) {
            return -1;
        }
    } while (interrupted);
    return got;
}

static PyObject *
Lock_acquire(LockObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs == 0 && try_take(self)) {
        Py_RETURN_TRUE;
    }
    int blocking = 1;
    double timeout = -1.0;
    if (nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "acquire() takes at most 2 arguments");
        return NULL;
    }
    if (nargs >= 1) {
        blocking = PyObject_IsTrue(args[0]);
        if (blocking < 0) {
            return NULL;
        }
    }
    if (nargs == 2) {
        timeout = PyFloat_AsDouble(args[1]);
        if (timeout == -1.0 && PyErr_Occurred()) {
            return NULL;
        }
        if (!blocking && timeout != -1.0) {
            PyErr_SetString(PyExc_ValueError, "can't specify a timeout for a non-blocking call");
            return NULL;
        }
        if (timeout < 0 && timeout != -1.0) {
            PyErr_SetString(PyExc_ValueError, "timeout value must be a non-negative number");
            return NULL;
        }
    }
    if (try_take(self)) {
        Py_RETURN_TRUE;
    }
    if (!blocking || timeout == 0) {
        Py_RETURN_FALSE;
    }
    int got = acquire_slow(self, timeout);
    if (got < 0) {
        return NULL;
    }
    return PyBool_FromLong(got);
}

static PyObject *
Lock_enter(LockObject *self, PyObject *unused)
{
    if (!try_take(self) && acquire_slow(self, -1.0) < 0) {
        return NULL;
    }
    Py_RETURN_TRUE;
}

static PyObject *
Lock_release(LockObject *self, PyObject *unused)
{
    int expected = 1;
    if (!atomic_compare_exchange_strong(&self->locked, &expected, 0)) {
        PyErr_SetString(PyExc_RuntimeError, "release unlocked lock");
        return NULL;
    }
    if (atomic_load(&self->sleepers) > 0) {
        PyThread_release_lock(atomic_load(&self->sem));
    }
    Py_RETURN_NONE;
}

static PyObject *
Lock_exit(LockObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return Lock_release(self, NULL);
}

static PyObject *
Lock_locked(LockObject *self, PyObject *unused)
{
    return PyBool_FromLong(atomic_load(&self->locked));
}

static PyObject *
Lock_repr(LockObject *self)
{
    return PyUnicode_FromFormat("<gochan._native._lock.Lock %s>",
                                atomic_load(&self->locked) ? "locked" : "unlocked");
}

static PyMethodDef Lock_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))Lock_acquire, METH_FASTCALL,
     "acquire(blocking=True, timeout=-1) -> bool (positional only), as threading.Lock's"},
    {"release", (PyCFunction)Lock_release, METH_NOARGS, "Release the lock (any thread may)."},
    {"locked", (PyCFunction)Lock_locked, METH_NOARGS, "Whether the lock is held."},
    {"__enter__", (PyCFunction)Lock_enter, METH_NOARGS, "acquire()"},
    {"__exit__", (PyCFunction)(void (*)(void))Lock_exit, METH_FASTCALL, "release()"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject LockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "gochan._native._lock.Lock",
    .tp_basicsize = sizeof(LockObject),
    .tp_dealloc = (destructor)Lock_dealloc,
    .tp_repr = (reprfunc)Lock_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A lock like threading.Lock (no owner), with a one-instruction fast path.",
    .tp_new = Lock_new,
    .tp_methods = Lock_methods,
};

/* For tests and benchmarks: the spin policy's shared state. */
static PyObject *
spin_state(PyObject *module, PyObject *unused)
{
    int64_t quiet_for = quiet_until - now_ns();
    return Py_BuildValue("{sLsLsLsL}", "budget_ns", (long long)spin_ns, "cooldown_ns",
                         (long long)cooldown_ns, "quiet_for_ns",
                         (long long)(quiet_for > 0 ? quiet_for : 0), "overruns",
                         (long long)overruns);
}

static PyMethodDef module_methods[] = {
    {"_spin_state", spin_state, METH_NOARGS,
     "The spin budget, the cooldown, how long spinning stays off, and the overruns so far."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef lock_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "gochan._native._lock",
    .m_doc = "The compiled build's lock (see gochan/_native/_lock.c).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__lock(void)
{
    if (PyType_Ready(&LockType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&lock_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&LockType);
    if (PyModule_AddObject(module, "Lock", (PyObject *)&LockType) < 0) {
        Py_DECREF(&LockType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
