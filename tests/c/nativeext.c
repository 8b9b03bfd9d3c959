/* An extension module for tests/native.rs, built against the interpreter's own headers (2.7
 * and 3.x): nativeext.call(f) calls f() from C (ext_call -> ext_call_back), and
 * nativeext.spin() spins in C (ext_spin -> ext_spin_inner) holding the GIL, so that another
 * thread waits for it. Native and Python frames interleave: Python -> C -> Python -> C. */
#include <Python.h>

volatile unsigned long ext_sink;

__attribute__((noinline)) static void ext_spin_inner(void) {
    for (;;)
        ext_sink++;
}

__attribute__((noinline)) static PyObject *ext_spin(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    ext_spin_inner();
    Py_RETURN_NONE;
}

__attribute__((noinline)) static PyObject *ext_call_back(PyObject *f) {
    PyObject *r = PyObject_CallObject(f, NULL);
    ext_sink--;
    return r;
}

__attribute__((noinline)) static PyObject *ext_call(PyObject *self, PyObject *f) {
    (void)self;
    return ext_call_back(f);
}

static PyMethodDef methods[] = {
    {"spin", ext_spin, METH_NOARGS, "Spins in C for ever, holding the GIL."},
    {"call", ext_call, METH_O, "Calls f() from C."},
    {NULL, NULL, 0, NULL},
};

#if PY_MAJOR_VERSION >= 3
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "nativeext", NULL, -1, methods};

PyMODINIT_FUNC PyInit_nativeext(void) {
    PyObject *m = PyModule_Create(&module);
#ifdef Py_GIL_DISABLED
    if (m)
        PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED);
#endif
    return m;
}
#else
PyMODINIT_FUNC initnativeext(void) { Py_InitModule("nativeext", methods); }
#endif
