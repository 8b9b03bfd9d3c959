"""The demo workload `make demo` profiles: a main thread doing CPU work through a few layers
of calls, a worker thread doing JSON round trips, and a thread that mostly sleeps.

Runs until killed (or for the number of seconds given as its first argument). Prints READY
once every thread has started."""
import json
import sys
import threading
import time


def is_prime(n):
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True


def count_primes(limit):
    return sum(1 for n in range(limit) if is_prime(n))


def fibonacci(n):
    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)


def compute():
    count_primes(20000)
    fibonacci(18)


def serialize(records):
    return json.dumps(records, sort_keys=True)


def json_worker(stop):
    records = [{"id": i, "name": "item%d" % i, "tags": ["a", "b", "c"]} for i in range(200)]
    while not stop.is_set():
        json.loads(serialize(records))


def sleeper(stop):
    while not stop.is_set():
        time.sleep(0.05)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3600.0
    stop = threading.Event()
    threads = [
        threading.Thread(target=json_worker, args=(stop,), name="json-worker"),
        threading.Thread(target=sleeper, args=(stop,), name="sleeper"),
    ]
    for t in threads:
        t.daemon = True
        t.start()
    print("READY")
    sys.stdout.flush()
    deadline = time.time() + seconds
    while time.time() < deadline:
        compute()
    stop.set()


if __name__ == "__main__":
    main()
