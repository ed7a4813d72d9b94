"""`acikkapi serve --no-migrate`, watched from outside the product for scripts/bench_ws.py.

    .venv/bin/python scripts/bench_ws_server.py GC_LOG [PROFILE [CENSUS]]

Before the server starts, a `gc.callbacks` hook appends a line to GC_LOG for every full (generation 2)
collection: its start on the monotonic clock (seconds, the clock every process of the machine shares), its
duration and the objects it collected. With PROFILE, SIGUSR1 starts cProfile and SIGUSR2 stops it and writes its
statistics there (pstats format). With CENSUS, SIGRTMIN runs a full collection, timed (not logged in GC_LOG), and
then writes to CENSUS (JSON) how long it took and the objects the collector tracks, counted by type; and
SIGRTMIN+1 calls gc.freeze() (an experiment: what freezing the subscribers' objects would give). Then the
normal entry point runs, as `acikkapi serve --no-migrate` would: the product's code is not changed.
"""

import collections
import cProfile
import gc
import json
import os
import signal
import sys
import time


FORCED = [False]  # a census's own collection is not the server's


def watch_full_collections(path: str) -> None:
    out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    started = [0.0]

    def note(phase: str, info: dict) -> None:
        if info["generation"] != 2 or FORCED[0]:
            return
        now = time.monotonic()
        if phase == "start":
            started[0] = now
        else:
            os.write(out, f"{started[0]:.6f} {now - started[0]:.6f} {info['collected']}\n".encode())

    gc.callbacks.append(note)


def profile_on_signals(path: str) -> None:
    profiler = cProfile.Profile()

    def start(signum, frame) -> None:
        profiler.enable()

    def stop(signum, frame) -> None:
        profiler.disable()
        profiler.dump_stats(path)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)


def census_on_signal(path: str) -> None:
    def census(signum, frame) -> None:
        FORCED[0] = True
        try:
            started = time.perf_counter()
            collected = gc.collect()
            seconds = time.perf_counter() - started
        finally:
            FORCED[0] = False
        objects = gc.get_objects()  # the frozen ones (gc.freeze) are not among them
        types = collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in objects)
        del objects
        with open(path + ".part", "w") as out:
            json.dump({"collect_s": seconds, "collected": collected, "tracked": sum(types.values()),
                       "frozen": gc.get_freeze_count(), "types": dict(types)}, out)
        os.replace(path + ".part", path)

    signal.signal(signal.SIGRTMIN, census)
    signal.signal(signal.SIGRTMIN + 1, lambda signum, frame: gc.freeze())


def main() -> None:
    watch_full_collections(sys.argv[1])
    if len(sys.argv) > 2:
        profile_on_signals(sys.argv[2])
    if len(sys.argv) > 3:
        census_on_signal(sys.argv[3])
    from acikkapi.cli import main as acikkapi

    acikkapi(["serve", "--no-migrate"])


if __name__ == "__main__":
    main()
