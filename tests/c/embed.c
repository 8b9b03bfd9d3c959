/* An application that embeds CPython, for tests/embedded.rs: it runs the script named on its
 * command line as __main__, as `python script args` would. Options before the script (the
 * test harness passes -E -s -B) are ignored; bytecode is never written; sys.path starts with the script's directory.
 *
 * Built two ways:
 *   linked against libpython (pythonX.Y-config --embed --ldflags);
 *   with -DLIBPYTHON='"/path/libpythonX.Y.so.1.0"': not linked against it; it runs without
 *   Python for $EMBED_DELAY_MS milliseconds (default 500), then dlopen()s libpython and calls
 *   it through dlsym, as a plugin host (uWSGI) or a lazily initialising application does.
 * PREFIX (pythonX.Y-config --prefix) is set as PYTHONHOME, so that the standard library is the
 * one of this libpython whatever python is first in $PATH. */
#include <Python.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifdef LIBPYTHON
#include <dlfcn.h>
static void *libpython;

static void *symbol(const char *name) {
    void *address = dlsym(libpython, name);
    if (!address) {
        fprintf(stderr, "embed: %s has no %s\n", LIBPYTHON, name);
        exit(3);
    }
    return address;
}
#define PY(name) ((__typeof__(&name))symbol(#name))
#else
#define PY(name) (name)
#endif

int main(int argc, char **argv) {
    int first = 1;
    while (first < argc && argv[first][0] == '-')
        first++;
    if (first >= argc) {
        fprintf(stderr, "usage: %s [options ignored] script.py [args...]\n", argv[0]);
        return 2;
    }
    const char *script = argv[first];
    FILE *file = fopen(script, "r");
    if (!file) {
        perror(script);
        return 2;
    }
#ifdef LIBPYTHON
    const char *delay = getenv("EMBED_DELAY_MS");
    usleep((delay ? atoi(delay) : 500) * 1000);
    libpython = dlopen(LIBPYTHON, RTLD_NOW | RTLD_GLOBAL);
    if (!libpython) {
        fprintf(stderr, "embed: %s\n", dlerror());
        return 3;
    }
#endif
    setenv("PYTHONHOME", PREFIX, 1);
    setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
    PY(Py_Initialize)();
#if PY_MAJOR_VERSION >= 3
    wchar_t **args = calloc(argc - first, sizeof *args);
    for (int i = first; i < argc; i++)
        args[i - first] = PY(Py_DecodeLocale)(argv[i], NULL);
    PY(PySys_SetArgvEx)(argc - first, args, 1);
#else
    PY(PySys_SetArgvEx)(argc - first, argv + first, 1);
#endif
    /* sys.exit(N) in the script exits the process with status N from inside this call. */
    int failed = PY(PyRun_SimpleFileExFlags)(file, script, 1, NULL);
    PY(Py_Finalize)();
    return failed ? 1 : 0;
}
