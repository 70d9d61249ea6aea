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
 * Contended or parked, a thread releases the GIL and sleeps on a PyThread lock used as
 * a semaphore (allocated on the first contention), waking for signals as
 * threading.Lock does: Py_MakePendingCalls runs the handlers and an exception they
 * raise (KeyboardInterrupt) propagates from acquire().
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

/* Monotonic nanoseconds: a public function from 3.13, private but exported before. */
static int64_t
monotonic_ns(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyTime_t t;
    (void)PyTime_MonotonicRaw(&t);
    return t;
#else
    return (int64_t)_PyTime_GetMonotonicClock();
#endif
}

typedef struct {
    PyObject_HEAD
    atomic_int locked;
    atomic_int sleepers;
    PyThread_type_lock sem; /* NULL until first contended; taken while "empty" */
} LockObject;

static inline int
try_take(LockObject *self)
{
    int expected = 0;
    return atomic_compare_exchange_strong(&self->locked, &expected, 1);
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
    self->sem = NULL;
    return (PyObject *)self;
}

static void
Lock_dealloc(LockObject *self)
{
    if (self->sem != NULL) {
        PyThread_free_lock(self->sem);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The slow path, GIL held: sleep until the lock is ours, `timeout` (seconds, < 0 for
 * none) runs out (0), or a signal handler raises (-1, exception set). */
static int
acquire_slow(LockObject *self, double timeout)
{
    if (self->sem == NULL) {
        PyThread_type_lock sem = PyThread_allocate_lock();
        if (sem == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        PyThread_acquire_lock(sem, WAIT_LOCK);
        self->sem = sem; /* under the GIL: no other thread allocates meanwhile */
    }
    int64_t deadline = 0;
    if (timeout >= 0) {
        deadline = monotonic_ns() + (int64_t)(timeout * 1e9);
    }
    PyThread_type_lock sem = self->sem;
    int got = 0;
    atomic_fetch_add(&self->sleepers, 1);
    for (;;) {
        if (try_take(self)) {
            got = 1;
            break;
        }
        PY_TIMEOUT_T us = -1;
        if (timeout >= 0) {
            int64_t left = deadline - monotonic_ns();
            if (left <= 0) {
                break;
            }
            us = (PY_TIMEOUT_T)(left / 1000) + 1;
        }
        PyLockStatus status;
        Py_BEGIN_ALLOW_THREADS
        status = PyThread_acquire_lock_timed(sem, us, 1);
        Py_END_ALLOW_THREADS
        /* Interrupted, nothing was consumed: a post meant for us stays for another
         * sleeper.  Timed out: the try_take above failed, so a holder will post. */
        if (status == PY_LOCK_INTR && Py_MakePendingCalls() < 0) {
            atomic_fetch_sub(&self->sleepers, 1);
            return -1;
        }
    }
    atomic_fetch_sub(&self->sleepers, 1);
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
        PyThread_release_lock(self->sem);
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

static struct PyModuleDef lock_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "gochan._native._lock",
    .m_doc = "The compiled build's lock (see gochan/_native/_lock.c).",
    .m_size = -1,
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
