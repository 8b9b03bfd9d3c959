//! Line-table vectors captured from CPython 2.7, 3.6 (see lines_tests.rs).

use super::{Fmt, Set, Vector, L};

// Captured vectors. A throwaway script (not kept) compiled the snippet below with each interpreter
// and printed, per code object, the table, co_firstlineno, PyCode_Addr2Line at every offset, and
// the live-frame samples; the crafted_* code objects carry hand-made tables, built with
// types.CodeType / code.replace() so that the interpreter itself answers for them.

// Snippet compiled by every interpreter, with its line numbers:
//
//    1  # header line 1
//    2  # header line 2
//    3  import sys
//    4  LIVE = []
//    5  def P():
//    6      f = sys._getframe(1)
//    7      LIVE.append((f.f_code, f.f_lasti, f.f_lineno))
//    8
//    9  def loop(n):
//   10      total = 0
//   11      for i in range(n):
//   12          if i % 3:
//   13              total += i
//   14          else:
//   15              total -= 1
//   16          P()
//   17      while n > 0:
//   18          n -= 1
//   19      P()
//   20      return total
//   21
//   22  def call(a, b):
//   23      P()
//   24      return max(
//   25          a,
//   26          b,
//   27          len([a,
//   28               P()]),
//   29      )
//   30
//   31  def big(x):
//   32      y = [x + 0, x + 1, x + 2, ... x + 44]  (x + 23] from 3.11: one line > 256 bytecode bytes)
//   33      P()
//   34      for i in range(2):
//   35          x = x - i
//   36      P()
//   37      return x
//   38
//   39  def gap(x):
//   40      y = x + 1
//   41      # pad ... (300 comment lines)
//  341      P()
//  342      z = max(y,
//  343          # pad ... (300 comment lines)
//  643              y)
//  644      P()
//  645      return z
//  646
//  647  def gen(n):
//  648      for i in range(n):
//  649          yield i
//  650      yield -1
//  651
//  652  def tryexc(x):
//  653      try:
//  654          y = 1 // x
//  655      except ZeroDivisionError:
//  656          P()
//  657          y = 0
//  658      finally:
//  659          x = None
//  660      return y
//  661
//  662  def comp(xs):
//  663      return [x * 2
//  664              for x in xs
//  665              if x and P() is None]
//  666
//  667  lam = (lambda a,
//  668         b: a + b + (P() or 0))

pub(super) const PY27: Set = Set {
    fmt: Fmt::Lnotab { signed: false },
    vectors: &[
        PY27_LOOP,
        PY27_CALL,
        PY27_BIG,
        PY27_GAP,
        PY27_GEN,
        PY27_TRYEXC,
        PY27_LAMBDA,
        PY27_CRAFTED,
    ],
};

pub(super) const PY36: Set = Set {
    fmt: Fmt::Lnotab { signed: true },
    vectors: &[
        PY36_LOOP,
        PY36_CALL,
        PY36_BIG,
        PY36_GAP,
        PY36_GEN,
        PY36_TRYEXC,
        PY36_LISTCOMP,
        PY36_LAMBDA,
        PY36_CRAFTED,
    ],
};

#[rustfmt::skip]
const PY27_LOOP: Vector = Vector {
    name: "2.7.18 loop",
    first: 9,
    table: &[
        0x00, 0x01,  0x06, 0x01,  0x13, 0x01,  0x0A, 0x01,  0x0D, 0x02,  0x0A, 0x01,
        0x0B, 0x01,  0x0F, 0x01,  0x0E, 0x01,  0x07, 0x01,
    ],
    lines: &[
        (0, 6, L(10)), (6, 25, L(11)), (25, 35, L(12)), (35, 48, L(13)), (48, 58, L(15)),
        (58, 69, L(16)), (69, 84, L(17)), (84, 98, L(18)), (98, 105, L(19)), (105, 109, L(20)),
    ],
    live: &[
        (61, 16, "probe"), (101, 19, "probe"),
    ],
};

#[rustfmt::skip]
const PY27_CALL: Vector = Vector {
    name: "2.7.18 call",
    first: 22,
    table: &[
        0x00, 0x01,  0x07, 0x01,  0x03, 0x01,  0x03, 0x01,  0x03, 0x01,  0x06, 0x01,
    ],
    lines: &[
        (0, 7, L(23)), (7, 10, L(24)), (10, 13, L(25)), (13, 16, L(26)), (16, 22, L(27)),
        (22, 38, L(28)),
    ],
    live: &[
        (3, 23, "probe"), (25, 28, "probe"),
    ],
};

#[rustfmt::skip]
pub(super) const PY27_BIG: Vector = Vector {
    name: "2.7.18 big",
    first: 31,
    table: &[
        0x00, 0x01,  0xFF, 0x00,  0x42, 0x01,  0x07, 0x01,  0x13, 0x01,  0x0E, 0x01,
        0x07, 0x01,
    ],
    lines: &[
        (0, 321, L(32)), (321, 328, L(33)), (328, 347, L(34)), (347, 361, L(35)), (361, 368, L(36)),
        (368, 372, L(37)),
    ],
    live: &[
        (324, 33, "probe"), (364, 36, "probe"),
    ],
};

#[rustfmt::skip]
pub(super) const PY27_GAP: Vector = Vector {
    name: "2.7.18 gap",
    first: 39,
    table: &[
        0x00, 0x01,  0x0A, 0xFF,  0x00, 0x2E,  0x07, 0x01,  0x06, 0xFF,  0x00, 0x2E,
        0x09, 0x01,  0x07, 0x01,
    ],
    lines: &[
        (0, 10, L(40)), (10, 17, L(341)), (17, 23, L(342)), (23, 32, L(643)), (32, 39, L(644)),
        (39, 43, L(645)),
    ],
    live: &[
        (13, 341, "probe"), (35, 644, "probe"),
    ],
};

#[rustfmt::skip]
const PY27_GEN: Vector = Vector {
    name: "2.7.18 gen",
    first: 647,
    table: &[
        0x00, 0x01,  0x13, 0x01,  0x09, 0x01,
    ],
    lines: &[
        (0, 19, L(648)), (19, 28, L(649)), (28, 37, L(650)),
    ],
    live: &[
        (-1, 647, "unstarted gen"), (22, 649, "suspended gen"), (31, 650, "suspended gen"),
    ],
};

#[rustfmt::skip]
const PY27_TRYEXC: Vector = Vector {
    name: "2.7.18 tryexc",
    first: 652,
    table: &[
        0x00, 0x01,  0x03, 0x00,  0x03, 0x01,  0x0E, 0x01,  0x0D, 0x01,  0x07, 0x01,
        0x0E, 0x02,  0x07, 0x01,
    ],
    lines: &[
        (0, 6, L(653)), (6, 20, L(654)), (20, 33, L(655)), (33, 40, L(656)), (40, 54, L(657)),
        (54, 61, L(659)), (61, 65, L(660)),
    ],
    live: &[
        (36, 656, "probe"), (12, 654, "traceback"),
    ],
};

#[rustfmt::skip]
const PY27_LAMBDA: Vector = Vector {
    name: "2.7.18 <lambda>",
    first: 667,
    table: &[
        0x00, 0x01,
    ],
    lines: &[
        (0, 21, L(668)),
    ],
    live: &[
        (10, 668, "probe"),
    ],
};

#[rustfmt::skip]
pub(super) const PY27_CRAFTED: Vector = Vector {
    name: "2.7.18 crafted_lnotab",
    first: 100,
    table: &[
        0x00, 0x01,  0x04, 0xFE,  0xFF, 0x00,  0x05, 0x03,  0x02, 0x81,  0x00, 0x81,
        0x04, 0x7F,  0x00, 0xFF,  0x06, 0x01,
    ],
    lines: &[
        (0, 4, L(101)), (4, 264, L(355)), (264, 266, L(358)), (266, 270, L(616)),
        (270, 276, L(998)), (276, 288, L(999)),
    ],
    live: &[],
};

#[rustfmt::skip]
const PY36_LOOP: Vector = Vector {
    name: "3.6.15 loop",
    first: 9,
    table: &[
        0x00, 0x01,  0x04, 0x01,  0x0E, 0x01,  0x08, 0x01,  0x0A, 0x02,  0x08, 0x01,
        0x0A, 0x01,  0x0A, 0x01,  0x0C, 0x01,  0x06, 0x01,
    ],
    lines: &[
        (0, 4, L(10)), (4, 18, L(11)), (18, 26, L(12)), (26, 36, L(13)), (36, 44, L(15)),
        (44, 54, L(16)), (54, 64, L(17)), (64, 76, L(18)), (76, 82, L(19)), (82, 86, L(20)),
    ],
    live: &[
        (46, 16, "probe"), (78, 19, "probe"),
    ],
};

#[rustfmt::skip]
const PY36_CALL: Vector = Vector {
    name: "3.6.15 call",
    first: 22,
    table: &[
        0x00, 0x01,  0x06, 0x01,  0x02, 0x01,  0x02, 0x01,  0x02, 0x01,  0x04, 0x01,
    ],
    lines: &[
        (0, 6, L(23)), (6, 8, L(24)), (8, 10, L(25)), (10, 12, L(26)), (12, 16, L(27)),
        (16, 28, L(28)),
    ],
    live: &[
        (2, 23, "probe"), (18, 28, "probe"),
    ],
};

#[rustfmt::skip]
pub(super) const PY36_BIG: Vector = Vector {
    name: "3.6.15 big",
    first: 31,
    table: &[
        0x00, 0x01,  0xFF, 0x00,  0x13, 0x01,  0x06, 0x01,  0x0E, 0x01,  0x0E, 0x01,
        0x06, 0x01,
    ],
    lines: &[
        (0, 274, L(32)), (274, 280, L(33)), (280, 294, L(34)), (294, 308, L(35)), (308, 314, L(36)),
        (314, 318, L(37)),
    ],
    live: &[
        (276, 33, "probe"), (310, 36, "probe"),
    ],
};

#[rustfmt::skip]
pub(super) const PY36_GAP: Vector = Vector {
    name: "3.6.15 gap",
    first: 39,
    table: &[
        0x00, 0x01,  0x08, 0x7F,  0x00, 0x7F,  0x00, 0x2F,  0x06, 0x01,  0x04, 0x7F,
        0x00, 0x7F,  0x00, 0x2F,  0x06, 0x01,  0x06, 0x01,
    ],
    lines: &[
        (0, 8, L(40)), (8, 14, L(341)), (14, 18, L(342)), (18, 24, L(643)), (24, 30, L(644)),
        (30, 34, L(645)),
    ],
    live: &[
        (10, 341, "probe"), (26, 644, "probe"),
    ],
};

#[rustfmt::skip]
const PY36_GEN: Vector = Vector {
    name: "3.6.15 gen",
    first: 647,
    table: &[
        0x00, 0x01,  0x0E, 0x01,  0x0A, 0x01,
    ],
    lines: &[
        (0, 14, L(648)), (14, 24, L(649)), (24, 34, L(650)),
    ],
    live: &[
        (-1, 647, "unstarted gen"), (16, 649, "suspended gen"), (26, 650, "suspended gen"),
    ],
};

#[rustfmt::skip]
const PY36_TRYEXC: Vector = Vector {
    name: "3.6.15 tryexc",
    first: 652,
    table: &[
        0x00, 0x01,  0x04, 0x01,  0x0C, 0x01,  0x0E, 0x01,  0x06, 0x01,  0x0E, 0x02,
        0x06, 0x01,
    ],
    lines: &[
        (0, 4, L(653)), (4, 16, L(654)), (16, 30, L(655)), (30, 36, L(656)), (36, 50, L(657)),
        (50, 56, L(659)), (56, 60, L(660)),
    ],
    live: &[
        (32, 656, "probe"), (8, 654, "traceback"),
    ],
};

#[rustfmt::skip]
const PY36_LISTCOMP: Vector = Vector {
    name: "3.6.15 <listcomp>",
    first: 663,
    table: &[
        0x06, 0x01,  0x02, 0x01,
    ],
    lines: &[
        (0, 6, L(663)), (6, 8, L(664)), (8, 34, L(665)),
    ],
    live: &[
        (14, 665, "probe"),
    ],
};

#[rustfmt::skip]
const PY36_LAMBDA: Vector = Vector {
    name: "3.6.15 <lambda>",
    first: 667,
    table: &[
        0x00, 0x01,
    ],
    lines: &[
        (0, 18, L(668)),
    ],
    live: &[
        (8, 668, "probe"),
    ],
};

#[rustfmt::skip]
pub(super) const PY36_CRAFTED: Vector = Vector {
    name: "3.6.15 crafted_lnotab",
    first: 100,
    table: &[
        0x00, 0x01,  0x04, 0xFE,  0xFF, 0x00,  0x05, 0x03,  0x02, 0x81,  0x00, 0x81,
        0x04, 0x7F,  0x00, 0xFF,  0x06, 0x01,
    ],
    lines: &[
        (0, 4, L(101)), (4, 264, L(99)), (264, 266, L(102)), (266, 270, L(-152)),
        (270, 276, L(-26)), (276, 288, L(-25)),
    ],
    live: &[],
};
