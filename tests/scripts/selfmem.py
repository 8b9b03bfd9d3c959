# Reading and writing this process's own memory, and finding where CPython
# keeps what the hostile targets corrupt, for tests/scripts/hostile.py.
#
# Memory goes through /proc/self/mem (so no ctypes is needed: the free-threaded
# builds here have none). No offset is hard-coded: each is FOUND by scanning an
# object for the only word equal to a pointer whose value is known (the id() of
# the field's object): co_name, co_filename and the line table in a code
# object; the code and back links in a frame (PyFrameObject up to 3.10, the
# _PyInterpreterFrame from 3.11); the bits of a str's PEP 393 state.
# find_offsets() fills OFF; it exits with status 3 and a message if any scan is
# ambiguous. Valid on Python 2.7 and every 3.x, ASCII only.

import os
import sys

try:
    import _thread as thread_mod
except ImportError:  # Python 2
    import thread as thread_mod

PY2 = sys.version_info[0] == 2
V = sys.version_info[:2]
HEADER = object.__basicsize__  # sizeof(PyObject): 16, or 32 free-threaded
WORD = 8
MASK64 = (1 << 64) - 1
UNMAPPED = 0x10  # in the first page, never mapped

if PY2:
    import struct

    def unpack(data):
        return struct.unpack("<Q", data)[0]

    def pack(value):
        return struct.pack("<Q", value & MASK64)

    uchr = unichr  # noqa: F821 (Python 2 only)
else:

    def unpack(data):
        return int.from_bytes(data, "little")

    def pack(value):
        return (value & MASK64).to_bytes(8, "little")

    uchr = chr


def fail(message):
    sys.stderr.write("%s: %s\n" % (os.path.basename(sys.argv[0]), message))
    sys.stderr.flush()
    os._exit(3)


# ---- our own memory, through /proc/self/mem ----------------------------------

class Memory(object):
    def __init__(self):
        self.fd = os.open("/proc/self/mem", os.O_RDWR)
        self.lock = thread_mod.allocate_lock()

    def read(self, addr, size):
        chunks = []
        with self.lock:
            os.lseek(self.fd, addr, 0)
            while size > 0:
                chunk = os.read(self.fd, size)
                if not chunk:
                    raise IOError("short read at 0x%x" % addr)
                chunks.append(chunk)
                size -= len(chunk)
        return b"".join(chunks)

    def write(self, addr, data):
        with self.lock:
            os.lseek(self.fd, addr, 0)
            if os.write(self.fd, data) != len(data):
                fail("short write at 0x%x" % addr)

    def word(self, addr):
        return unpack(self.read(addr, WORD))

    def set_word(self, addr, value, what):
        self.write(addr, pack(value))
        if self.word(addr) != value & MASK64:
            fail("%s: writing 0x%x at 0x%x did not take" % (what, value, addr))


MEM = Memory()


def find_word(base, span, value, what, mask=MASK64):
    # The offset of the only 8-byte-aligned word in [base, base + span) equal to
    # value (after mask).
    data = MEM.read(base, span)
    hits = [off for off in range(0, span - WORD + 1, WORD)
            if unpack(data[off:off + WORD]) & mask == value]
    if len(hits) != 1:
        fail("%s: %d words equal 0x%x in %d bytes at 0x%x" % (what, len(hits), value, span, base))
    return hits[0]


def fresh(text):
    # A new str object equal to text (never an interned or cached one).
    copy = text[:1] + text[1:]
    if copy is text or len(text) < 2:
        fail("cannot copy %r" % text[:20])
    return copy


def data_address(obj):
    # Where the characters of a bytes object (2.7 str) or compact ASCII str start.
    return id(obj) + sys.getsizeof(obj) - (len(obj) + 1)


def line_table(code):
    return code.co_linetable if V >= (3, 10) else code.co_lnotab


# ---- offsets, found by scanning ---------------------------------------------

LAYER_SOURCE = (
    "class Layer(object):\n"
    "    def %s(chain, i):\n"
    "        return chain[i](chain, i + 1)\n"
)


def make_layer(name, filename):
    # A function with a code object of its own. Defined in a class, so that
    # co_qualname (3.11+) is not the co_name object.
    namespace = {}
    exec(compile(LAYER_SOURCE % name, filename, "exec"), namespace)
    return namespace["Layer"].__dict__[name]


class Offsets(object):
    pass


OFF = Offsets()


def iframe_of(frame):
    # 3.11+: a PyFrameObject is {PyObject_HEAD; f_back; f_frame; ...}, f_frame
    # pointing to the _PyInterpreterFrame the walkers read.
    return MEM.word(id(frame) + HEADER + WORD)


def frame_struct(frame):
    return id(frame) if V < (3, 11) else iframe_of(frame)


def probe_inner(dummy=0):
    # `dummy` is the first local: up to 3.10 it sits inside the frame's
    # __basicsize__, where a frame pointer would spoil the scan.
    frame = sys._getframe()
    caller = frame.f_back
    base = frame_struct(frame)
    if V < (3, 11):
        span = type(frame).__basicsize__
        OFF.frame_code = find_word(base, span, id(frame.f_code), "f_code")
        OFF.frame_back = find_word(base, span, id(caller), "f_back")
    else:
        # f_executable is a tagged _PyStackRef from 3.14: compare without tag bits.
        OFF.frame_code = find_word(base, 80, id(frame.f_code), "f_code", MASK64 & ~7)
        OFF.frame_back = find_word(base, 80, frame_struct(caller), "previous")
    return dummy


def probe_outer():
    return probe_inner()


def find_offsets():
    code = make_layer("probe_name", "probe_file.py").__code__
    span = type(code).__basicsize__
    OFF.co_name = find_word(id(code), span, id(code.co_name), "co_name")
    OFF.co_filename = find_word(id(code), span, id(code.co_filename), "co_filename")
    OFF.co_table = find_word(id(code), span, id(line_table(code)), "line table")
    probe_outer()
    if not PY2:
        # PyASCIIObject.state follows length and hash: interned, kind:3,
        # compact:1, ascii:1, ... (its unused high bits are not initialised).
        # The kind's shift is the lowest bit where a latin-1 (kind 1) and a
        # UCS-2 (kind 2) string differ; a UCS-4 one (kind 4) confirms it.
        def state(text):
            return unpack(MEM.read(id(text) + HEADER + 2 * WORD, 4) + b"\0" * 4)
        latin1 = fresh(uchr(0xe9) * 4)
        ucs2 = fresh(uchr(0x3b1) * 4)
        ucs4 = fresh(uchr(0x13000) * 4) if sys.maxunicode > 0xffff else None
        diff = state(latin1) ^ state(ucs2)
        shift = (diff & -diff).bit_length() - 1
        if (diff >> shift) & 7 != 3 or ucs4 and (state(latin1) ^ state(ucs4)) >> shift & 7 != 5:
            fail("cannot find the kind bits: 0x%x" % diff)
        OFF.compact_bit = 1 << (shift + 3)
        OFF.state = state
        for text in (latin1, ucs2, fresh("ascii")):
            if not state(text) & OFF.compact_bit:
                fail("a fresh str is not compact? state 0x%x" % state(text))
