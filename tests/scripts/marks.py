# The marker comments of a test script ("# MARK" + ":name" at the end of a
# line): name -> line number, read the way tests/util/marks.rs reads them, so
# that a script and its test agree on its line numbers. Imported by stacks.py
# and hostile.py; valid on Python 2.7 and every 3.x, ASCII only.

import os
import sys


def find_marks(path):
    # The tag is split so that this line does not count as a marker.
    tag = "# " + "MARK:"
    marks = {}
    with open(path, "rb") as source:
        for number, raw in enumerate(source, 1):
            line = raw.decode("utf-8")
            at = line.find(tag)
            if at < 0:
                continue
            name = ""
            for char in line[at + len(tag):]:
                if not (char.isalnum() or char == "_"):
                    break
                name += char
            if not name or name in marks:
                sys.stderr.write("bad or duplicate marker on line %d of %s\n" % (number, path))
                sys.stderr.flush()
                os._exit(3)
            marks[str(name)] = number
    return marks
