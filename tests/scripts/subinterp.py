"""A target with a subinterpreter (3.12+): a thread of the main interpreter runs code in a
subinterpreter, which sleeps in a known function. Prints READY once the subinterpreter's code
is sleeping, then blocks reading stdin."""
import os
import sys
import threading
import time

try:
    import _interpreters as interpreters  # 3.13+
except ImportError:
    import _xxsubinterpreters as interpreters  # 3.12

# The code the subinterpreter runs: co_filename is "<string>", lines count from 1.
SUB = """\
import time
def sub_sleep(path):
    open(path, "w").close()
    time.sleep(3600)
sub_sleep(%r)
"""


def run_sub(interp, marker):
    interpreters.run_string(interp, SUB % marker)  # MARK:run_string


def main():
    # Not tempfile: it needs math and _random, which minimal test builds lack.
    tmp = os.environ.get("TMPDIR", "/tmp")
    marker = os.path.join(tmp, "pyflame-subinterp-%d" % os.getpid())
    interp = interpreters.create()
    t = threading.Thread(target=run_sub, args=(interp, marker))
    t.daemon = True
    t.start()
    while not os.path.exists(marker):
        time.sleep(0.01)
    os.unlink(marker)
    time.sleep(0.05)
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    sys.stdin.buffer.read(1)  # MARK:wait_read
    os._exit(0)


main()
