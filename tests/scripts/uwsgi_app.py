# A WSGI application for pyflame's uWSGI tests (tests/uwsgi.rs); Python 3, ASCII only.
# Marker comments are parsed by tests/util/marks.rs.
#
#   GET /block  writes the worker's PID to $PYFLAME_TEST_DIR/handling, then blocks in
#               wait_for_gate(), opening the FIFO $PYFLAME_TEST_DIR/gate until the test
#               opens it for writing
#   GET /spin   spins in spin() for half a second
#   GET /spin?N writes the worker's PID to $PYFLAME_TEST_DIR/spinning, then spins for N s
#   GET /quit   ends uWSGI at once with status 7 (which pyflame -t passes on)
#   GET /busy?N spins in busy_request_handler() for N s, then answers "busy PID STOPS": the
#               worker's PID and how often its thread was stopped meanwhile (its voluntary
#               context switches: a thread spinning in Python makes none of its own, every
#               ptrace stop of a sample makes one)
import os
import time

DIR = os.environ["PYFLAME_TEST_DIR"]


def wait_for_gate():
    with open(os.path.join(DIR, "gate"), "rb") as gate:  # MARK:gate
        gate.read(1)


def spin(seconds):
    end = time.time() + seconds
    n = 0
    while time.time() < end: n += 1  # MARK:spin


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


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/block":
        with open(os.path.join(DIR, "handling"), "w") as handling:
            handling.write(str(os.getpid()))
        wait_for_gate()  # MARK:app_block
    elif path == "/spin":
        seconds = float(environ.get("QUERY_STRING") or 0.5)
        if environ.get("QUERY_STRING"):
            with open(os.path.join(DIR, "spinning"), "w") as spinning:
                spinning.write(str(os.getpid()))
        spin(seconds)  # MARK:app_spin
    elif path == "/quit":
        os._exit(7)
    elif path == "/busy":
        answer = busy_request_handler(float(environ["QUERY_STRING"]))  # MARK:app_busy
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [answer.encode()]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"done\n"]
