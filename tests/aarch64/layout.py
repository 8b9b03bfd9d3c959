# Measures, in the running interpreter, the offsets pyflame's per-version table gives for
# CPython 3.7 to 3.12 on x86-64 (src/python/layout/table.rs, src/python/layout/asyncio.rs), so
# that tests/aarch64/checks can compare them on arm64: prints one "name offset" line per
# measured field, found by looking for known pointers in the runtime's structs with ctypes.
import ctypes
import sys
import threading

P = ctypes.c_void_p
api = ctypes.pythonapi
api.PyThreadState_Get.restype = P
api.PyInterpreterState_Head.restype = P


def words(addr, n):
    return [ctypes.c_uint64.from_address(addr + 8 * i).value for i in range(n)]


def first(addr, n, value):
    found = every(addr, n, value)
    return found[0] if found else None


def every(addr, n, value):
    return [8 * i for i, w in enumerate(words(addr, n)) if w == value]


def show(name, value):
    print("%s %s" % (name, "none" if value is None else value))


tstate = api.PyThreadState_Get()
interp = api.PyInterpreterState_Head()
runtime = ctypes.addressof(ctypes.c_char.in_dll(api, "_PyRuntime"))
show("runtime.interpreters_head", first(runtime, 64, interp))
# 3.7 to 3.11: _PyRuntime.gilstate.tstate_current is this thread's state while it runs (so
# is the GIL's last_holder before it: the last place is the one).
if sys.version_info < (3, 12):
    show("runtime.tstate_current", (every(runtime, 400, tstate) or [None])[-1])
show("interp.threads_head", first(interp, 16, tstate))
show("interp.modules", first(interp, 8000, id(sys.modules)))
show("tstate.interp", first(tstate, 8, interp))
show("tstate.thread_id", first(tstate, 64, threading.get_ident()))
api.PyThreadState_GetDict.restype = ctypes.py_object
show("tstate.dict", first(tstate, 64, id(api.PyThreadState_GetDict())))
native = threading.get_native_id()
show("tstate.native_thread_id", first(tstate, 64, native))
tid = None
for off in range(0, 0x800, 4):
    if ctypes.c_int.from_address(threading.get_ident() + off).value == native:
        tid = off
        break
show("pthread.tid", tid)
