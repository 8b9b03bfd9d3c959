# -*- coding: utf-8 -*-
# Python 3 only (PEP 3131 identifiers): imported by stacks.py on 3.x.
#
# Three functions with non-ASCII names, one per PEP 393 string kind, each
# calling the next: Latin-1 (1 byte per char, but not ASCII), BMP CJK
# (2 bytes per char) and astral Egyptian hieroglyphs (4 bytes per char).
# The names are written precomposed (NFC = NFKC), so co_name is exactly the
# text below. Marker lines are parsed by tests/util/marks.rs.


def café(then):
    return 函数(then)  # MARK:cafe


def 函数(then):
    return 𓀀𓀁(then)  # MARK:cjk


def 𓀀𓀁(then):
    return then()  # MARK:astral


ENTRY = café
