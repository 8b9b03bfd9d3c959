# A WSGI application for pyflame's gunicorn tests (tests/gunicorn.rs), run by gunicorn's sync
# workers as gunicorn_app:app; Python 3, ASCII only. Marker comments are parsed by
# tests/util/marks.rs.
#
#   GET /busy?N  spins in busy_request_handler() for N s, then answers "busy PID STOPS": the
#                worker's PID and how often its thread was stopped meanwhile (its voluntary
#                context switches: a thread spinning in Python makes none of its own, every
#                ptrace stop of a sample makes one)
#   GET /        answers "hello PID"
import os
import time


def voluntary_switches():
    with open("/proc/thread-self/status") as status:
        for line in status:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])


def busy_request_handler(seconds):
    before = voluntary_switches()
    end = time.time() + seconds
    n = 0
    while time.time() < end: n += 1  # MARK:busy
    return "busy %d %d\n" % (os.getpid(), voluntary_switches() - before)


def app(environ, start_response):
    if environ["PATH_INFO"] == "/busy":
        answer = busy_request_handler(float(environ["QUERY_STRING"]))  # MARK:app_busy
    else:
        answer = "hello %d\n" % os.getpid()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [answer.encode()]
