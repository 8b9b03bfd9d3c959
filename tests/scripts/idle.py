# A minimal Python target for tests that need "some Python process" but no
# particular stacks (valid on 2.7 and 3.x): prints READY, then blocks in a
# read of stdin (fd 0) until stdin closes, and exits.
import sys

sys.stdout.write("READY\n")
sys.stdout.flush()
if sys.version_info[0] == 2:
    sys.stdin.read(1)  # MARK:wait_read
else:
    sys.stdin.buffer.read(1)  # MARK:wait_read_3
