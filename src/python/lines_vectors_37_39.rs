//! Line-table vectors captured from CPython 3.7, 3.8, 3.9 (see lines_tests.rs).

use super::{Fmt, Set, Vector, L};

pub(super) const PY37: Set = Set {
    fmt: Fmt::Lnotab { signed: true },
    vectors: &[
        PY37_LOOP,
        PY37_CALL,
        PY37_BIG,
        PY37_GAP,
        PY37_GEN,
        PY37_TRYEXC,
        PY37_LISTCOMP,
        PY37_LAMBDA,
        PY37_CRAFTED,
    ],
};

pub(super) const PY38: Set = Set {
    fmt: Fmt::Lnotab { signed: true },
    vectors: &[
        PY38_LOOP,
        PY38_CALL,
        PY38_BIG,
        PY38_GAP,
        PY38_GEN,
        PY38_TRYEXC,
        PY38_LISTCOMP,
        PY38_LAMBDA,
        PY38_CRAFTED,
    ],
};

pub(super) const PY39: Set = Set {
    fmt: Fmt::Lnotab { signed: true },
    vectors: &[
        PY39_LOOP,
        PY39_CALL,
        PY39_BIG,
        PY39_GAP,
        PY39_GEN,
        PY39_TRYEXC,
        PY39_LISTCOMP,
        PY39_LAMBDA,
        PY39_CRAFTED,
    ],
};

#[rustfmt::skip]
const PY37_LOOP: Vector = Vector {
    name: "3.7.16 loop",
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
const PY37_CALL: Vector = Vector {
    name: "3.7.16 call",
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
pub(super) const PY37_BIG: Vector = Vector {
    name: "3.7.16 big",
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
const PY37_GAP: Vector = Vector {
    name: "3.7.16 gap",
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
const PY37_GEN: Vector = Vector {
    name: "3.7.16 gen",
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
const PY37_TRYEXC: Vector = Vector {
    name: "3.7.16 tryexc",
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
const PY37_LISTCOMP: Vector = Vector {
    name: "3.7.16 <listcomp>",
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
const PY37_LAMBDA: Vector = Vector {
    name: "3.7.16 <lambda>",
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
const PY37_CRAFTED: Vector = Vector {
    name: "3.7.16 crafted_lnotab",
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

#[rustfmt::skip]
const PY38_LOOP: Vector = Vector {
    name: "3.8.18 loop",
    first: 9,
    table: &[
        0x00, 0x01,  0x04, 0x01,  0x0C, 0x01,  0x08, 0x01,  0x0A, 0x02,  0x08, 0x01,
        0x08, 0x01,  0x08, 0x01,  0x0A, 0x01,  0x06, 0x01,
    ],
    lines: &[
        (0, 4, L(10)), (4, 16, L(11)), (16, 24, L(12)), (24, 34, L(13)), (34, 42, L(15)),
        (42, 50, L(16)), (50, 58, L(17)), (58, 68, L(18)), (68, 74, L(19)), (74, 78, L(20)),
    ],
    live: &[
        (44, 16, "probe"), (70, 19, "probe"),
    ],
};

#[rustfmt::skip]
const PY38_CALL: Vector = Vector {
    name: "3.8.18 call",
    first: 22,
    table: &[
        0x00, 0x01,  0x06, 0x01,  0x02, 0x01,  0x02, 0x01,  0x02, 0x01,  0x04, 0x01,
        0x04, 0xFF,  0x04, 0xFD,
    ],
    lines: &[
        (0, 6, L(23)), (6, 8, L(24)), (8, 10, L(25)), (10, 12, L(26)), (12, 16, L(27)),
        (16, 20, L(28)), (20, 24, L(27)), (24, 28, L(24)),
    ],
    live: &[
        (2, 23, "probe"), (18, 28, "probe"),
    ],
};

#[rustfmt::skip]
pub(super) const PY38_BIG: Vector = Vector {
    name: "3.8.18 big",
    first: 31,
    table: &[
        0x00, 0x01,  0xFF, 0x00,  0x13, 0x01,  0x06, 0x01,  0x0C, 0x01,  0x0C, 0x01,
        0x06, 0x01,
    ],
    lines: &[
        (0, 274, L(32)), (274, 280, L(33)), (280, 292, L(34)), (292, 304, L(35)), (304, 310, L(36)),
        (310, 314, L(37)),
    ],
    live: &[
        (276, 33, "probe"), (306, 36, "probe"),
    ],
};

#[rustfmt::skip]
pub(super) const PY38_GAP: Vector = Vector {
    name: "3.8.18 gap",
    first: 39,
    table: &[
        0x00, 0x01,  0x08, 0x7F,  0x00, 0x7F,  0x00, 0x2F,  0x06, 0x01,  0x04, 0x7F,
        0x00, 0x7F,  0x00, 0x2F,  0x02, 0x80,  0x00, 0x80,  0x00, 0xD3,  0x04, 0x7F,
        0x00, 0x7F,  0x00, 0x30,  0x06, 0x01,
    ],
    lines: &[
        (0, 8, L(40)), (8, 14, L(341)), (14, 18, L(342)), (18, 20, L(643)), (20, 24, L(342)),
        (24, 30, L(644)), (30, 34, L(645)),
    ],
    live: &[
        (10, 341, "probe"), (26, 644, "probe"),
    ],
};

#[rustfmt::skip]
const PY38_GEN: Vector = Vector {
    name: "3.8.18 gen",
    first: 647,
    table: &[
        0x00, 0x01,  0x0C, 0x01,  0x08, 0x01,
    ],
    lines: &[
        (0, 12, L(648)), (12, 20, L(649)), (20, 30, L(650)),
    ],
    live: &[
        (-1, 647, "unstarted gen"), (14, 649, "suspended gen"), (22, 650, "suspended gen"),
    ],
};

#[rustfmt::skip]
const PY38_TRYEXC: Vector = Vector {
    name: "3.8.18 tryexc",
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
const PY38_LISTCOMP: Vector = Vector {
    name: "3.8.18 <listcomp>",
    first: 663,
    table: &[
        0x06, 0x01,  0x02, 0x01,  0x04, 0x00,  0x0A, 0xFE,
    ],
    lines: &[
        (0, 6, L(663)), (6, 8, L(664)), (8, 22, L(665)), (22, 34, L(663)),
    ],
    live: &[
        (14, 665, "probe"),
    ],
};

#[rustfmt::skip]
const PY38_LAMBDA: Vector = Vector {
    name: "3.8.18 <lambda>",
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
const PY38_CRAFTED: Vector = Vector {
    name: "3.8.18 crafted_lnotab",
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

#[rustfmt::skip]
const PY39_LOOP: Vector = Vector {
    name: "3.9.18 loop",
    first: 9,
    table: &[
        0x00, 0x01,  0x04, 0x01,  0x0C, 0x01,  0x08, 0x01,  0x0A, 0x02,  0x08, 0x01,
        0x08, 0x01,  0x08, 0x01,  0x0A, 0x01,  0x06, 0x01,
    ],
    lines: &[
        (0, 4, L(10)), (4, 16, L(11)), (16, 24, L(12)), (24, 34, L(13)), (34, 42, L(15)),
        (42, 50, L(16)), (50, 58, L(17)), (58, 68, L(18)), (68, 74, L(19)), (74, 78, L(20)),
    ],
    live: &[
        (44, 16, "probe"), (70, 19, "probe"),
    ],
};

#[rustfmt::skip]
const PY39_CALL: Vector = Vector {
    name: "3.9.18 call",
    first: 22,
    table: &[
        0x00, 0x01,  0x06, 0x01,  0x02, 0x01,  0x02, 0x01,  0x02, 0x01,  0x04, 0x01,
        0x04, 0xFF,  0x04, 0xFD,
    ],
    lines: &[
        (0, 6, L(23)), (6, 8, L(24)), (8, 10, L(25)), (10, 12, L(26)), (12, 16, L(27)),
        (16, 20, L(28)), (20, 24, L(27)), (24, 28, L(24)),
    ],
    live: &[
        (2, 23, "probe"), (18, 28, "probe"),
    ],
};

#[rustfmt::skip]
pub(super) const PY39_BIG: Vector = Vector {
    name: "3.9.18 big",
    first: 31,
    table: &[
        0x00, 0x01,  0xFF, 0x00,  0x13, 0x01,  0x06, 0x01,  0x0C, 0x01,  0x0C, 0x01,
        0x06, 0x01,
    ],
    lines: &[
        (0, 274, L(32)), (274, 280, L(33)), (280, 292, L(34)), (292, 304, L(35)), (304, 310, L(36)),
        (310, 314, L(37)),
    ],
    live: &[
        (276, 33, "probe"), (306, 36, "probe"),
    ],
};

#[rustfmt::skip]
const PY39_GAP: Vector = Vector {
    name: "3.9.18 gap",
    first: 39,
    table: &[
        0x00, 0x01,  0x08, 0x7F,  0x00, 0x7F,  0x00, 0x2F,  0x06, 0x01,  0x04, 0x7F,
        0x00, 0x7F,  0x00, 0x2F,  0x02, 0x80,  0x00, 0x80,  0x00, 0xD3,  0x04, 0x7F,
        0x00, 0x7F,  0x00, 0x30,  0x06, 0x01,
    ],
    lines: &[
        (0, 8, L(40)), (8, 14, L(341)), (14, 18, L(342)), (18, 20, L(643)), (20, 24, L(342)),
        (24, 30, L(644)), (30, 34, L(645)),
    ],
    live: &[
        (10, 341, "probe"), (26, 644, "probe"),
    ],
};

#[rustfmt::skip]
const PY39_GEN: Vector = Vector {
    name: "3.9.18 gen",
    first: 647,
    table: &[
        0x00, 0x01,  0x0C, 0x01,  0x08, 0x01,
    ],
    lines: &[
        (0, 12, L(648)), (12, 20, L(649)), (20, 30, L(650)),
    ],
    live: &[
        (-1, 647, "unstarted gen"), (14, 649, "suspended gen"), (22, 650, "suspended gen"),
    ],
};

#[rustfmt::skip]
const PY39_TRYEXC: Vector = Vector {
    name: "3.9.18 tryexc",
    first: 652,
    table: &[
        0x00, 0x01,  0x04, 0x01,  0x0C, 0x01,  0x0C, 0x01,  0x06, 0x01,  0x0C, 0x02,
        0x0C, 0x01,
    ],
    lines: &[
        (0, 4, L(653)), (4, 16, L(654)), (16, 28, L(655)), (28, 34, L(656)), (34, 46, L(657)),
        (46, 58, L(659)), (58, 62, L(660)),
    ],
    live: &[
        (30, 656, "probe"), (8, 654, "traceback"),
    ],
};

#[rustfmt::skip]
const PY39_LISTCOMP: Vector = Vector {
    name: "3.9.18 <listcomp>",
    first: 663,
    table: &[
        0x06, 0x01,  0x02, 0x01,  0x0E, 0xFE,
    ],
    lines: &[
        (0, 6, L(663)), (6, 8, L(664)), (8, 22, L(665)), (22, 34, L(663)),
    ],
    live: &[
        (14, 665, "probe"),
    ],
};

#[rustfmt::skip]
const PY39_LAMBDA: Vector = Vector {
    name: "3.9.18 <lambda>",
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
const PY39_CRAFTED: Vector = Vector {
    name: "3.9.18 crafted_lnotab",
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
