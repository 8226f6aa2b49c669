"""Photo pipeline speed and memory, against the bare JPEG decode and a naive Pillow pipeline.

One generated 12-megapixel phone-like JPEG (4032x3024, EXIF orientation 6, GPS, q92). Three ways
through it, in this one process and run, each repeated BENCH_ROUNDS times (median reported):
- decode (the floor): open and fully decode the JPEG, nothing else;
- naive: full decode, exif_transpose, LANCZOS resize to 1600 and to 320 from the full image, encode;
- pipeline (ours): backend.evidence.imaging.process_photo (draft to the target box, transpose,
  reducing-gap resize, thumbnail from the display copy, two JPEG q82 encodes, hashes).
Peak memory is the growth of the process's resident set during one photo (VmHWM, reset through
/proc/self/clear_refs after malloc_trim before each measured run; tracemalloc where that is
unavailable, which misses Pillow's own buffers and so reads low).
Ends with: result pipeline_ms=… naive_ms=… decode_ms=… ratio_decode=… speedup_naive=… peak_mib=…
(ratio_decode = pipeline / decode, target <= 1.6; speedup_naive = naive / pipeline, target >= 3).
Never fails on a time; only on an error in the benchmark itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import hashlib
import io
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageOps

from backend.evidence.imaging import process_photo
from tests.data.corpus import phone_photo

# BENCH_ROUNDS=1 for the CI smoke run.
ROUNDS = max(1, int(os.environ.get("BENCH_ROUNDS", "9")))
MAX_PIXELS = 40_000_000


def bare_decode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.load()


def naive(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        upright = ImageOps.exif_transpose(image)
    scale = 1600 / max(upright.size)
    display = upright.resize(
        (round(upright.width * scale), round(upright.height * scale)), Image.Resampling.LANCZOS
    )
    scale = 320 / max(upright.size)
    thumb = upright.resize(
        (round(upright.width * scale), round(upright.height * scale)), Image.Resampling.LANCZOS
    )
    for image in (display, thumb):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=82)
        hashlib.sha256(buffer.getvalue()).hexdigest()


def pipeline(data: bytes) -> None:
    process_photo(data, max_pixels=MAX_PIXELS)


def _rss_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _release_freed_memory() -> None:
    """Hand freed heap back to the OS, so the next peak is not hidden inside memory already resident."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: the peak may then read low
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def peak_mib(work: Callable[[], None]) -> tuple[float, str]:
    _release_freed_memory()
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # resets VmHWM to the current resident set
        before = _rss_kib("VmRSS")
        work()
        peak = _rss_kib("VmHWM")
        if before is not None and peak is not None:
            return (peak - before) / 1024, "resident set"
    except OSError:
        pass
    tracemalloc.start()
    work()
    _current, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return traced / 2**20, "tracemalloc"


def median_ms(work: Callable[[bytes], None], data: bytes) -> float:
    work(data)  # warm up: plugins loaded, caches filled
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        work(data)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    data = phone_photo()
    with Image.open(io.BytesIO(data)) as image:
        print(f"input: {image.width}x{image.height} JPEG, {len(data) / 1e6:.1f} MB, EXIF orientation 6")
    print(f"rounds: {ROUNDS} (median), Pillow {Image.__version__}, one process")
    results = {
        name: median_ms(work, data)
        for name, work in (("decode", bare_decode), ("naive", naive), ("pipeline", pipeline))
    }
    peaks = {
        name: peak_mib(lambda w=work: w(data))
        for name, work in (("decode", bare_decode), ("naive", naive), ("pipeline", pipeline))
    }
    ratio = results["pipeline"] / results["decode"]
    speedup = results["naive"] / results["pipeline"]
    print(f"{'path':<34}{'ms/photo':>10}{'x decode':>10}{'peak MiB':>10}")
    labels = {
        "decode": "bare full decode (floor)",
        "naive": "naive Pillow (decode, 2x LANCZOS)",
        "pipeline": "our pipeline",
    }
    for name, label in labels.items():
        ratio_to_floor = results[name] / results["decode"]
        print(f"{label:<34}{results[name]:>10.1f}{ratio_to_floor:>10.2f}{peaks[name][0]:>10.1f}")
    print(f"peak memory measured by: {peaks['pipeline'][1]}")
    print(f"pipeline / decode = {ratio:.2f} (target <= 1.6); naive / pipeline = {speedup:.2f} (target >= 3)")
    print(
        f"result pipeline_ms={results['pipeline']:.1f} naive_ms={results['naive']:.1f} "
        f"decode_ms={results['decode']:.1f} ratio_decode={ratio:.2f} speedup_naive={speedup:.2f} "
        f"peak_mib={peaks['pipeline'][0]:.1f}"
    )


if __name__ == "__main__":
    main()
