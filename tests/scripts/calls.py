# A single-threaded program that never blocks and never stops calling: every way CPython
# enters and leaves a Python frame, as fast as it can, for pyflame's test that such a
# program is never sampled as idle or failed (tests/windows.rs). Valid on Python 2.7 and
# every 3.x (free-threaded builds too), ASCII only.
#
# After READY, main() loops forever over run(), which calls Python from Python, from C
# (sorted's key, map, heapq's comparisons, a type's __init__, a property, __iter__ and
# next), through generators and comprehensions, and raises and catches an exception. Its
# only thread holds the GIL throughout (no I/O, no sleep, no thread ever started), so every
# sample must find it in a Python frame under <module> -> main.

import heapq
import sys


class Node(object):
    def __init__(self, i):
        self.i = i
        self.edges = []

    def __lt__(self, other):
        return self.i < other.i

    @property
    def weight(self):
        return self.i * 3


class Counter(object):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return self

    def __next__(self):
        if self.n == 0:
            raise StopIteration
        self.n -= 1
        return self.n

    next = __next__


def doubles(n):
    for i in range(n):
        yield i * 2


def fill(nodes):
    for node in nodes:
        node.edges = [x for x in doubles(4)]


def fail(n):
    raise ValueError(n)


def run():
    nodes = [Node(i) for i in range(40)]
    fill(nodes)
    heap = []
    for node in nodes:
        heapq.heappush(heap, node)
    ordered = sorted(nodes, key=lambda node: -node.weight)
    total = sum(map(lambda node: node.i, ordered))
    total += sum(Counter(10))
    try:
        fail(total)
    except ValueError:
        pass
    return total


def main():
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    while True:
        run()


main()
