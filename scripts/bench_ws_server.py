"""`acikkapi serve --no-migrate`, watched from outside the product for scripts/bench_ws.py.

    .venv/bin/python scripts/bench_ws_server.py GC_LOG [PROFILE]

Before the server starts, a `gc.callbacks` hook appends a line to GC_LOG for every full (generation 2)
collection: its start on the monotonic clock (seconds, the clock every process of the machine shares), its
duration and the objects it collected. With PROFILE, SIGUSR1 starts cProfile and SIGUSR2 stops it and writes its
statistics there (pstats format). Then the normal entry point runs, as `acikkapi serve --no-migrate` would: the
product's code is not changed.
"""

import cProfile
import gc
import os
import signal
import sys
import time


def watch_full_collections(path: str) -> None:
    out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    started = [0.0]

    def note(phase: str, info: dict) -> None:
        if info["generation"] != 2:
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


def main() -> None:
    watch_full_collections(sys.argv[1])
    if len(sys.argv) > 2:
        profile_on_signals(sys.argv[2])
    from acikkapi.cli import main as acikkapi

    acikkapi(["serve", "--no-migrate"])


if __name__ == "__main__":
    main()
