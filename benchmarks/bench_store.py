"""Store speed against a real S3 API: moto's server on 127.0.0.1 through s3fs, and the local disk beside it.

Per-object latency of a 50 KB put and read (median and p90 over sequential calls), then how many
50 KB objects one process moves per second, calling the store from 1 thread and from 8 (s3fs runs
every call on one event loop, so threads overlap their requests). moto is a Python server sharing the
machine's cores: its figures are a floor for a real endpoint's throughput, not a forecast.

Run: `.venv/bin/python benchmarks/bench_store.py` (needs the dev extras); prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "store"))

from moto_s3 import start_moto_s3

from augcli.store import Store, open_store

SIZE = 50 * 1024
THREADS = 8


def latencies(fn: Callable[[int], object], n: int) -> tuple[float, float]:
    times = []
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - started)
    times.sort()
    return statistics.median(times) * 1000, times[int(0.9 * (n - 1))] * 1000


def rate(fn: Callable[[int], object], n: int, threads: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(fn, range(n)))
    return n / (time.perf_counter() - started)


def measure(name: str, store: Store, n: int) -> list[str]:
    data = os.urandom(SIZE)
    store.put("warm.bin", data)
    put_med, put_p90 = latencies(lambda i: store.put(f"lat/{i:05d}.bin", data), n)
    get_med, get_p90 = latencies(lambda i: store.read_bytes(f"lat/{i:05d}.bin"), n)
    rows = [f"| {name} | put 50 KB | {put_med:.1f} | {put_p90:.1f} | {1000 / put_med:.0f} |"]
    rows.append(f"| {name} | read 50 KB | {get_med:.1f} | {get_p90:.1f} | {1000 / get_med:.0f} |")
    puts = rate(lambda i: store.put(f"rate/{i:05d}.bin", data), 4 * n, THREADS)
    reads = rate(lambda i: store.read_bytes(f"rate/{i:05d}.bin"), 4 * n, THREADS)
    rows.append(f"| {name} | put, {THREADS} threads | | | {puts:.0f} |")
    rows.append(f"| {name} | read, {THREADS} threads | | | {reads:.0f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="objects per latency series")
    args = parser.parse_args()
    server = start_moto_s3()
    try:
        os.environ.update(server.env())
        rows = measure("s3 (moto)", open_store(f"s3://{server.bucket}/{uuid.uuid4().hex[:8]}"), args.n)
        with tempfile.TemporaryDirectory() as tmp:
            rows += measure("local disk", open_store(tmp), args.n)
    finally:
        server.stop()
    print(f"{os.cpu_count()} cores, {args.n} objects a series\n")
    print("| store | operation | median ms | p90 ms | objects/s |")
    print("| --- | --- | ---: | ---: | ---: |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
