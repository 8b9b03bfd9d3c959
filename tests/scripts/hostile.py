# Hostile targets for pyflame's robustness tests (tests/hostile.rs, issue 11):
# Python stacks whose code objects, strings, line tables, frame links and
# thread lists have been corrupted in place, to prove that pyflame reads
# garbage without hanging, crashing, stopping the target for long or growing
# its memory.
#
# Valid on Python 2.7 and every 3.x (no f-strings, ASCII source), and on builds
# without ctypes (the free-threaded 3.13t/3.14t here): memory is read and
# written through /proc/self/mem, and every offset is found by scanning, never
# hard-coded (selfmem.py). Only the thread-list mode needs ctypes
# (PyInterpreterState_Head and friends); without it that mode prints a SKIPPED
# line and no fake threads.
#
#   hostile.py fields          4 workers: unreadable co_name/co_filename
#                              (unmapped, NULL, huge/negative length, no NUL
#                              at the end, int, dict, non-compact str), long
#                              names, bad line tables, frames whose code
#                              pointer is no code object
#   hostile.py escapes         1 worker whose frames have names with control,
#                              bidi and separator characters, lone surrogates,
#                              and harmless non-ASCII letters
#   hostile.py chains          3 workers: a frame linking back to itself, one
#                              linking back to an inner frame, one linking to
#                              unmapped memory
#   hostile.py linetable K     1 worker, K nested frames of K code objects that
#                              all share ONE 8 MiB line table
#   hostile.py deep D          1 worker, D-deep recursion
#   hostile.py threads N D     1 worker D deep, plus N fake thread states (copies
#                              of the worker's) linked into the thread list
#   hostile.py churn N         1 worker making, keeping and running a new code
#                              object of N + 6 lines every 3 ms, forever (it
#                              never parks)
#
# Protocol (tests/util/target.rs): every worker runs in its own thread, builds
# its stack, corrupts the OUTER frames (they never run again: the worker parks
# forever in PARK.acquire() at its innermost frame), reads the corruption back
# (exit 3 with a message if it did not take), and records what pyflame must
# print for it. The main thread then prints, before READY:
#   SKIPPED <why>                      a case this interpreter cannot express
#   THREAD <thread id>                 a thread's expected stack follows, leaf first
#   FRAME <file> <func> <line> [<n>]   a frame (n times); a name is '-' when it
#                                      must show as <unreadable>, else its code
#                                      points in hex, ',' between them, 'cp*n'
#                                      for a run of n
#   FAKES <n> <thread id>              n more threads showing that thread's stack
# and parks in a read of stdin. The test kills the target; it never exits
# normally once it has corrupted anything (os._exit everywhere, GC disabled,
# nothing walks a corrupted stack again). Line numbers come from CPython itself
# (frame.f_lineno), or from the marker lines for the frames that park.

import gc
import marshal
import os
import sys
import time

from marks import find_marks

try:
    import _thread as thread_mod
except ImportError:  # Python 2
    import thread as thread_mod

from selfmem import (HEADER, MEM, OFF, PY2, UNMAPPED, V, WORD, data_address, fail,
                     find_offsets, find_word, frame_struct, fresh, line_table, make_layer,
                     pack, uchr)

LINETABLE_SIZE = 8 << 20
TIMEOUT = 60.0


def write(text):
    out = sys.stdout if PY2 else sys.stdout.buffer
    out.write(text if PY2 else text.encode("ascii"))
    out.flush()


MARKS = find_marks(os.path.abspath(__file__))


# ---- what pyflame must print ------------------------------------------------

UNREADABLE = None  # a name pyflame must show as <unreadable>


def code_points(name):
    if PY2 and isinstance(name, str):
        name = name.decode("utf-8", "replace")
    points = []
    for char in name:
        point = ord(char)
        # 2.7 narrow builds: join surrogate pairs.
        if points and 0xdc00 <= point <= 0xdfff and 0xd800 <= points[-1] <= 0xdbff:
            point = 0x10000 + ((points.pop() - 0xd800) << 10) + (point - 0xdc00)
        points.append(point)
    return points


def name_token(name):
    if name is UNREADABLE:
        return "-"
    items = []
    run = 0
    points = code_points(name)
    for n, point in enumerate(points):
        run += 1
        if n + 1 == len(points) or points[n + 1] != point:
            items.append("%x" % point if run == 1 else "%x*%d" % (point, run))
            run = 0
    return ",".join(items)


def frame_lines(frames):
    # frames: [file, func, line] leaf first; runs of equal frames folded.
    lines = []
    n = 0
    while n < len(frames):
        run = 1
        while n + run < len(frames) and frames[n + run] == frames[n]:
            run += 1
        file_name, func, line = frames[n]
        text = "FRAME %s %s %d" % (name_token(file_name), name_token(func), line)
        lines.append(text if run == 1 else "%s %d" % (text, run))
        n += run
    return lines


def describe(frame):
    code = frame.f_code
    return [code.co_filename, code.co_name, frame.f_lineno]


def stack_of(frame):
    frames = []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    return frames


KEEP = []  # every object a corrupted pointer points at, alive forever
SKIPPED = []


# ---- corruptions of one frame ---------------------------------------------------

def str_with_length(text, length, what):
    obj = fresh(text)
    KEEP.append(obj)
    MEM.set_word(id(obj) + HEADER, length, what)
    return id(obj)


def non_compact_str(text):
    # An instance of a str subclass is a non-compact PyUnicodeObject (its
    # characters behind a data pointer); turning its type into str makes it
    # an exact str that is not compact.
    class SubStr(str):
        pass
    obj = SubStr(text)
    KEEP.append((SubStr, obj))
    type_off = find_word(id(obj), HEADER, id(SubStr), "ob_type")
    MEM.set_word(id(obj) + type_off, id(str), "ob_type")
    if type(obj) is not str or OFF.state(obj) & OFF.compact_bit:
        fail("non-compact str: type %r, state 0x%x" % (type(obj), OFF.state(obj)))
    return id(obj)


def compact_cleared_str():
    # A compact ASCII str with its compact bit cleared: read as a legacy string,
    # its data pointer would be eight 'x' (a non-canonical address).
    obj = fresh("x" * 200)
    KEEP.append(obj)
    addr = id(obj) + HEADER + 2 * WORD
    state = OFF.state(obj)
    MEM.write(addr, pack(state & ~OFF.compact_bit)[:4])
    if OFF.state(obj) & OFF.compact_bit:
        fail("clearing the compact bit did not take")
    return id(obj)


def kept(obj):
    KEEP.append(obj)
    return id(obj)


def bad_name(kind, what):
    # (pointer to store, expected name) for a co_name/co_filename of this kind.
    if kind == "unmapped":
        return UNMAPPED, UNREADABLE
    if kind == "null":
        return 0, UNREADABLE
    if kind == "hugelen":
        return str_with_length("huge_length_name", 1 << 40, what), UNREADABLE
    if kind == "neglen":
        return str_with_length("negative_length_name", -5, what), UNREADABLE
    if kind == "noterm":
        # length 6: the character after the sixth is '_', not the NUL CPython
        # always stores after the last character
        return str_with_length("noterm_name", 6, what), UNREADABLE
    if kind == "int":
        return kept(10 ** 30 + 7), UNREADABLE
    if kind == "dict":
        return kept({"co_name": "dict"}), UNREADABLE
    if kind == "noncompact":
        # Legacy (non-compact) strings are valid up to 3.11; 3.12 removed them,
        # so an exact str that is not compact is garbage there.
        text = "non_compact_name"
        return non_compact_str(text), (text if V < (3, 12) else UNREADABLE)
    if kind == "compact_cleared":
        return compact_cleared_str(), UNREADABLE
    if kind.startswith("long"):
        # long<length>[_<code point hex>]: a legitimate long name
        spec = kind[4:].split("_")
        char = uchr(int(spec[1], 16)) if len(spec) > 1 else "x"
        text = fresh(char * int(spec[0]))
        KEEP.append(text)
        return id(text), text
    fail("unknown name corruption %r" % kind)


def set_code_field(code, offset, value, what):
    MEM.set_word(id(code) + offset, value, what)


def corrupt(kind, frame, expected):
    # Applies corruption `kind` to this frame (its code object is its own) and
    # updates expected = [file, func, line] to what pyflame must print.
    code = frame.f_code
    field, _, how = kind.partition(":")
    if field in ("name", "file"):
        offset = OFF.co_name if field == "name" else OFF.co_filename
        value, shown = bad_name(how, kind)
        set_code_field(code, offset, value, kind)
        expected[1 if field == "name" else 0] = shown
    elif field == "table":
        if how == "unmapped":
            value = UNMAPPED
        elif how == "null":
            value = 0
        elif how == "dict":
            value = kept({"co_linetable": 1})
        elif how == "hugelen":
            table = bytes(bytearray(line_table(code)))
            value = kept(table)
            MEM.set_word(value + HEADER, 1 << 40, kind)
        elif how == "shared":
            value = id(SHARED_TABLE[0])
        else:
            fail("unknown table corruption %r" % kind)
        set_code_field(code, OFF.co_table, value, kind)
        if how != "shared":
            expected[2] = 0
        elif int(code.co_name.split("_")[1]) % 100 == 0:
            # CPython's own answer from the big table (up to 3.9 it scans all of
            # the zero increments, 8 MiB, so only every 100th frame is asked).
            line = frame.f_lineno
            if line != expected[2]:
                fail("the big line table moved a line: %d, was %d" % (line, expected[2]))
    elif field == "code":
        # The frame's code pointer at something that is no code object.
        target = {"dict": lambda: kept({"f_code": 1}), "int": lambda: kept(10 ** 40 + 3),
                  "unmapped": lambda: UNMAPPED}[how]()
        addr = frame_struct(frame) + OFF.frame_code
        tag = MEM.word(addr) & 7 if V >= (3, 11) else 0
        MEM.set_word(addr, target | tag, kind)
        expected[:] = [UNREADABLE, UNREADABLE, 0]
    elif field == "escape":
        text = ESCAPES[how]
        name = fresh(text)
        # a colon too, which stays as it is (only a file name can hold one: the
        # dump's frames are split at their last two colons)
        file_name = fresh("/hostile:colon/" + text + ".py")
        KEEP.extend([name, file_name])
        set_code_field(code, OFF.co_name, id(name), kind)
        set_code_field(code, OFF.co_filename, id(file_name), kind)
        expected[:2] = [file_name, name]
    else:
        fail("unknown corruption %r" % kind)


def escape_names():
    # label -> name. Written with escapes (this file is ASCII); on 2.7 names
    # are byte strings, so they are UTF-8, and the lone surrogate is an invalid
    # byte instead.
    source = [
        ("newline", r"new\nline"), ("cr", r"carriage\rreturn"), ("tab", r"tab\there"),
        ("nul", r"nul\x00byte"), ("c0", r"c0\x01\x02\x1f\x7fdel"),
        ("esc", r"\x1b[31mred\x1b[0m\x1b]0;title\x07"), ("c1", r"c1\x80\x85\x9fend"),
        ("semicolon", r"semi;colon;"), ("rlo", r"rlo\u202eevil.py"),
        ("bidi", r"bidi\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069"),
        ("separators", r"line\u2028para\u2029end"), ("surrogate", r"lone\ud800and\udfff"),
        ("plain", r"back\\slash with spaces"), ("letters", r"caf\xe9 \u51fd\u6570 \u03b1\u03b2"),
        ("near_misses", r"nbsp\xa0zwj\u200dzwsp\u200btilde~"),
    ]
    names = {}
    for label, escaped in source:
        text = escaped.encode("ascii").decode("unicode_escape") if not PY2 else \
            escaped.decode("unicode_escape")
        if PY2:
            text = text.encode("utf-8") if label != "surrogate" else "lone\xffand\xfe"
        names[label] = text
    return names


ESCAPES = escape_names()


# ---- workers -----------------------------------------------------------------

PARK = thread_mod.allocate_lock()  # held by main forever: workers park on it
PARK.acquire()
WORKERS = {}  # thread ident -> Worker


class Worker(object):
    # A thread that builds a stack, corrupts it and parks at worker_leaf().
    def __init__(self, label, enter):
        self.label = label
        self.enter = enter  # enter(worker): calls worker_leaf at the innermost
        self.corruptions = {}  # id(code object) -> corruption kind
        self.after = None  # after(worker, frames): chain corruptions
        self.expected = None
        self.ident = None
        self.tstate = None
        self.done = False

    def start(self):
        thread_mod.start_new_thread(self.run, ())

    def run(self):
        self.ident = thread_mod.get_ident()
        WORKERS[self.ident] = self
        self.enter(self)

    def arrive(self, leaf):
        frames = stack_of(leaf)
        self.expected = [describe(f) for f in frames]
        self.expected[0][2] = MARKS["worker_park"]
        for n, frame in enumerate(frames):
            # by id: hashing a code object may compare it with a corrupted one
            kind = self.corruptions.get(id(frame.f_code))
            if kind is not None:
                corrupt(kind, frame, self.expected[n])
        if self.after is not None:
            self.after(self, frames)
        KEEP.append(frames)
        if TSTATE_API is not None:
            self.tstate = TSTATE_API["PyThreadState_Get"]()
        self.done = True


def worker_leaf(chain, i):
    WORKERS[thread_mod.get_ident()].arrive(sys._getframe())
    PARK.acquire()  # MARK:worker_park


def layered(kinds):
    # enter(): a chain of layers, outermost first, one per corruption kind,
    # each a code object of its own, then worker_leaf.
    def enter(worker):
        chain = []
        for n, kind in enumerate(kinds):
            # named after the corruption, for whoever reads a failing diff
            label = kind.replace(":", "_") or "intact"
            layer = make_layer("layer_%d_%s" % (n, label), "/hostile/layer_%d.py" % n)
            chain.append(layer)
            if kind:
                worker.corruptions[id(layer.__code__)] = kind
        chain.append(worker_leaf)
        chain[0](chain, 1)
    return enter


def dive(n):
    if n == 0:
        return worker_leaf(None, 0)
    return dive(n - 1)


def deep(depth):
    def enter(worker):
        dive(depth)
    return enter


# ---- modes -------------------------------------------------------------------

NAME_KINDS = ["unmapped", "null", "hugelen", "neglen", "noterm", "int", "dict"]
PY3_NAME_KINDS = ["noncompact", "compact_cleared"]


def fields_workers():
    names = ["name:" + k for k in NAME_KINDS] + ["file:unmapped", "file:null",
                                                   "file:hugelen", "file:int", "file:dict"]
    if PY2:
        SKIPPED.append("name:noncompact, name:compact_cleared on 2.7: its str is not "
                       "PEP 393's, with no compact and legacy forms")
    else:
        names += ["name:" + k for k in PY3_NAME_KINDS]
    longs = ["name:long1024", "name:long1025", "name:long17408", "name:long1048576",
             "file:long17408"]
    if PY2:
        SKIPPED.append("name:long9216_3b1 on 2.7: names are byte strings")
    else:
        longs.append("name:long9216_3b1")
    tables = ["", "table:unmapped", "table:null", "table:dict", "table:hugelen", ""]
    codes = ["", "code:dict", "", "code:int", "code:unmapped", ""]
    return [Worker("names", layered([""] + names + [""])),
            Worker("long", layered(longs)),
            Worker("tables", layered(tables)),
            Worker("codes", layered(codes))]


def escapes_workers():
    kinds = ["escape:" + label for label in sorted(ESCAPES)]
    return [Worker("escapes", layered(kinds))]


def chain_worker(label, link):
    # Five layers; the third from the outside (index 2) gets its back link
    # changed by link(frames, n) -> (target value, expected tail).
    worker = Worker(label, layered([""] * 5))

    def after(worker, frames):
        layers = [n for n, f in enumerate(frames) if f.f_code.co_name.startswith("layer_")]
        n = layers[2]  # leaf first: layers[0] is the innermost layer
        target, tail = link(frames, n)
        MEM.set_word(frame_struct(frames[n]) + OFF.frame_back, target, label)
        worker.expected[n + 1:] = tail
    worker.after = after
    return worker


CYCLE = ["<pyflame>", "<cycle>", 0]


def chains_workers():
    return [
        chain_worker("self_loop", lambda frames, n: (frame_struct(frames[n]), [CYCLE])),
        chain_worker("inner_loop", lambda frames, n: (frame_struct(frames[n - 2]), [CYCLE])),
        chain_worker("unmapped_back", lambda frames, n: (UNMAPPED, [[UNREADABLE, UNREADABLE, 0]])),
    ]


SHARED_TABLE = []  # linetable mode: the one big line table


def linetable_workers(count):
    # One 8 MiB line table: this code's own table, then entries CPython never
    # reaches for these frames (zero increments up to 3.10; from 3.11, "no
    # location" entries of 8 code units each).
    real = line_table(make_layer("probe_table", "probe.py").__code__)
    filler = b"\0" if V < (3, 11) else b"\xff"
    SHARED_TABLE.append(real + filler * (LINETABLE_SIZE - len(real)))
    return [Worker("linetable", layered(["table:shared"] * count))]


# ---- fake thread states (ctypes) ------------------------------------------------

def tstate_api():
    try:
        import ctypes
    except ImportError:
        return None
    api = {}
    for name, args in [("PyThreadState_Get", []), ("PyInterpreterState_Head", []),
                       ("PyInterpreterState_ThreadHead", [ctypes.c_void_p]),
                       ("PyThreadState_Next", [ctypes.c_void_p])]:
        function = getattr(ctypes.pythonapi, name)
        function.restype = ctypes.c_void_p
        function.argtypes = args
        api[name] = function
    return api


TSTATE_API = None


def thread_states():
    interp = TSTATE_API["PyInterpreterState_Head"]()
    states = []
    tstate = TSTATE_API["PyInterpreterState_ThreadHead"](interp)
    while tstate:
        states.append(tstate)
        if len(states) > 100000:
            fail("the thread list does not end")
        tstate = TSTATE_API["PyThreadState_Next"](tstate)
    return states


def add_fake_thread_states(worker, count):
    # Copies the worker's thread state `count` times into buffers of our own and
    # links them after the last real one: the interpreter's thread list then
    # holds `count` more threads, all showing the worker's stack.
    real = thread_states()
    if len(real) < 2:
        fail("expected at least 2 thread states, found %d" % len(real))
    next_off = find_word(real[0], 1024, real[1], "PyThreadState.next")
    size = 4096
    while size > 256:
        try:
            image = MEM.read(worker.tstate, size)
            break
        except (IOError, OSError):
            size //= 2
    else:
        fail("cannot read the worker's thread state")
    buffers = [b"\0" * (size + 64) for _ in range(count)]
    KEEP.append(buffers)
    addresses = [(data_address(b) + 15) & ~15 for b in buffers]
    for n, addr in enumerate(addresses):
        MEM.write(addr, image)
        following = addresses[n + 1] if n + 1 < len(addresses) else 0
        MEM.set_word(addr + next_off, following, "fake next")
    MEM.set_word(real[-1] + next_off, addresses[0], "last real next")
    found = thread_states()
    if len(found) != len(real) + count:
        fail("thread list holds %d states, wanted %d" % (len(found), len(real) + count))


# ---- code churn --------------------------------------------------------------------

CHURN_HEAD = (
    "def churned(n):\n"
    "    total = 0\n"
    "    for i in range(n):\n"
    "        total += i\n"
    "    if n < 0:\n"
)
CHURN_PERIOD = 0.003  # seconds each new code object runs: about 300 a second
CHURNED = [0]


def churn(lines):
    # A new code object every CHURN_PERIOD: a copy of one function (made by
    # marshal, so that it costs little next to running it) with `lines` more
    # lines that never run (a few distinct stacks), so with a line table of its
    # own as real code has. Every copy is kept, so that every one has an
    # address never seen before.
    source = CHURN_HEAD + "".join("        total += %d\n" % n for n in range(lines)) + \
        "    return total\n"
    blob = marshal.dumps(compile(source, "/hostile/churned.py", "exec"))
    made = []
    while True:
        namespace = {}
        exec(marshal.loads(blob), namespace)
        churned = namespace["churned"]
        made.append(churned)
        until = time.time() + CHURN_PERIOD
        while time.time() < until:
            churned(100)
        CHURNED[0] += 1


# ---- the main thread -------------------------------------------------------------

def wait_parked(workers):
    # Every worker at its parking line in two polls in a row (the sleep lets a
    # worker that got there take the GIL and block).
    deadline = time.time() + TIMEOUT
    in_a_row = 0
    while in_a_row < 2:
        frames = sys._current_frames()
        places = []
        for worker in workers:
            frame = worker.done and frames.get(worker.ident)
            places.append(frame and (frame.f_code.co_name, frame.f_lineno))
            frame = None
        frames = None
        wanted = [("worker_leaf", MARKS["worker_park"])] * len(workers)
        in_a_row = in_a_row + 1 if places == wanted else 0
        if time.time() > deadline:
            fail("workers not parked: %r" % places)
        time.sleep(0.01)


def park(workers, fakes):
    stdin_read = sys.stdin.read if PY2 else sys.stdin.buffer.read
    mine = [describe(f) for f in stack_of(sys._getframe())]
    mine[0][2] = MARKS["park_read"]
    lines = ["SKIPPED " + why for why in SKIPPED]
    lines += ["THREAD %d" % thread_mod.get_ident()] + frame_lines(mine)
    for worker in workers:
        lines += ["THREAD %d" % worker.ident] + frame_lines(worker.expected)
    if fakes:
        lines.append("FAKES %d %d" % (fakes, workers[0].ident))
    write("\n".join(lines) + "\nREADY\n")
    stdin_read(1)  # MARK:park_read
    os._exit(0)  # never return through corrupted frames


def main():
    global TSTATE_API
    gc.disable()  # the collector must never walk a corrupted frame or object
    sys.setrecursionlimit(10 ** 6)
    for size in (256 << 20, 64 << 20):
        try:
            thread_mod.stack_size(size)  # deep stacks up to 3.10 recurse in C
            break
        except (ValueError, thread_mod.error):
            pass
    find_offsets()
    mode, args = sys.argv[1], [int(a) for a in sys.argv[2:]]
    fakes = 0
    if mode == "churn":
        thread_mod.start_new_thread(churn, tuple(args))
        deadline = time.time() + TIMEOUT
        while CHURNED[0] < 50:
            if time.time() > deadline:
                fail("churn does not run")
            time.sleep(0.01)
        write("READY\n")
        (sys.stdin.read if PY2 else sys.stdin.buffer.read)(1)
        os._exit(0)
    if mode == "threads":
        TSTATE_API = tstate_api()
        fakes, depth = args
        if TSTATE_API is None:
            SKIPPED.append("fake thread states: no ctypes module in this build")
            fakes = 0
        workers = [Worker("deep", deep(depth))]
    elif mode == "fields":
        workers = fields_workers()
    elif mode == "escapes":
        workers = escapes_workers()
    elif mode == "chains":
        workers = chains_workers()
    elif mode == "linetable":
        workers = linetable_workers(args[0])
    elif mode == "deep":
        workers = [Worker("deep", deep(args[0]))]
    else:
        fail("unknown mode %r" % mode)
    for worker in workers:
        worker.start()
        # one at a time: a worker corrupts with MEM while no other one builds
        deadline = time.time() + TIMEOUT
        while not worker.done:
            if time.time() > deadline:
                fail("worker %s did not arrive" % worker.label)
            time.sleep(0.005)
    wait_parked(workers)
    if fakes:
        add_fake_thread_states(workers[0], fakes)
    park(workers, fakes)


if __name__ == "__main__":
    main()
