# Checks pyflame's SVG and speedscope files with real parsers (xml.etree, json) for the
# end-to-end tests (tests/formats.rs, tests/browser.rs), and prints what it read in lines of
# tab-separated fields that the Rust side compares with what it expects. Exit status 1 and a
# message on stderr when a file is malformed.
#
#   check_formats.py svg FILE
#     title<TAB>text / summary<TAB>text
#     frame<TAB>x<TAB>y<TAB>width<TAB>title           one per <g> of #frames, in order
#   check_formats.py speedscope FILE
#     name<TAB>text
#     profile<TAB>name<TAB>sum of weights<TAB>endValue
#     sample<TAB>profile index<TAB>weight<TAB>frame;frame;...   frames as "name (file:line)"
#
# Run with the system's python3 (3.5 or later).

import json
import sys
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
XHTML = "{http://www.w3.org/1999/xhtml}"


def fail(message):
    sys.stderr.write("check_formats.py: %s\n" % message)
    sys.exit(1)


def out(*fields):
    line = "\t".join(str(f) for f in fields)
    sys.stdout.buffer.write((line + "\n").encode("utf-8"))


def check_svg(path):
    root = ET.parse(path).getroot()
    if root.tag != SVG + "svg":
        fail("the root element is %s" % root.tag)
    # Self-contained: no element refers to anything outside the file.
    for element in root.iter():
        for name, value in element.attrib.items():
            if name.endswith("href") or name == "src":
                fail("%s refers to %s" % (element.tag, value))
    scripts = root.findall(SVG + "script")
    if len(scripts) != 1 or "function zoom" not in (scripts[0].text or ""):
        fail("expected one inline script")
    if root.find(SVG + "style") is None:
        fail("no inline style")
    if root.find(".//" + XHTML + "input") is None:
        fail("no search box")
    texts = dict((t.get("id"), t) for t in root.iter(SVG + "text") if t.get("id"))
    for needed in ("title", "summary", "details", "matched", "unzoom"):
        if needed not in texts:
            fail("no #%s" % needed)
    out("title", "".join(texts["title"].itertext()))
    out("summary", "".join(texts["summary"].itertext()))
    frames = [g for g in root.iter(SVG + "g") if g.get("id") == "frames"]
    if len(frames) != 1:
        fail("expected one #frames group")
    for g in frames[0]:
        rects = g.findall(SVG + "rect")
        titles = g.findall(SVG + "title")
        if g.tag != SVG + "g" or len(rects) != 1 or len(titles) != 1:
            fail("a frame is not <g> with one <title> and one <rect>")
        r = rects[0]
        out("frame", r.get("x"), r.get("y"), r.get("width"), titles[0].text)


def check_speedscope(path):
    with open(path, "rb") as f:
        data = json.loads(f.read().decode("utf-8"))
    # The required properties of the published schema, and their types.
    if data.get("$schema") != "https://www.speedscope.app/file-format-schema.json":
        fail("$schema is %r" % data.get("$schema"))
    frames = data["shared"]["frames"]
    for frame in frames:
        if not isinstance(frame.get("name"), str):
            fail("a frame without a name: %r" % frame)
        if "line" in frame and not isinstance(frame["line"], int):
            fail("a frame's line is not a number: %r" % frame)
    profiles = data["profiles"]
    if not profiles:
        fail("no profiles")
    out("name", data.get("name", ""))
    for index, p in enumerate(profiles):
        for key in ("type", "name", "unit", "startValue", "endValue", "samples", "weights"):
            if key not in p:
                fail("profile %d has no %s" % (index, key))
        if p["type"] != "sampled" or p["unit"] not in (
            "none", "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes"
        ):
            fail("profile %d: type %r unit %r" % (index, p["type"], p["unit"]))
        if len(p["samples"]) != len(p["weights"]):
            fail("profile %d: %d samples, %d weights" % (index, len(p["samples"]), len(p["weights"])))
        if p["endValue"] < p["startValue"]:
            fail("profile %d ends before it starts" % index)
        out("profile", p["name"], sum(p["weights"]), p["endValue"])
        for stack, weight in zip(p["samples"], p["weights"]):
            names = []
            for i in stack:
                if not 0 <= i < len(frames):
                    fail("frame index %d out of range" % i)
                f = frames[i]
                if "file" in f:
                    where = f["file"] + (":%d" % f["line"] if "line" in f else "")
                    names.append("%s (%s)" % (f["name"], where))
                else:
                    names.append(f["name"])
            out("sample", index, weight, ";".join(names))


def main():
    kind, path = sys.argv[1], sys.argv[2]
    try:
        {"svg": check_svg, "speedscope": check_speedscope}[kind](path)
    except (ET.ParseError, OSError, ValueError, KeyError, TypeError) as e:
        fail("%s: %s: %s" % (path, type(e).__name__, e))


main()
