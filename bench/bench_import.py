"""Import throughput: images/s per core of `imports.import_images` on a folder of small JPEGs, storage included.

Baseline, measured side by side in the same process on the same files: a bare `cv2.imread` loop (decode only, no
resize, no storage). Target (issue 17): >= 2,000 images/s per core, storage (images.npy, manifest, card, SHA-256)
included.

Columns:
  bare imread     baseline: cv2.imread of every file, one thread, CPU time
  import x1       import_images(workers=1): scan + decode + store + manifest + card, per CPU second of this process
  import xK       import_images(workers=K cores): wall-clock images/s in total and per core
  cached          second call on unchanged files (stat + open the stored dataset), wall seconds

The source: --src (any ImageFolder), else /work/cifar/train if present (50,000 32x32 JPEGs), else a folder of
--n synthetic 32x32 JPEGs written once with OpenCV under /tmp/false_labels_bench_jpegs_<n>.
Run: python bench/bench_import.py [--src DIR] [--n 50000] [--workers K] [--quick]
"""
import argparse, os, shutil, subprocess, tempfile, time
from pathlib import Path

import cv2
import numpy as np

from false_labels.data.formats import import_images, scan_image_folder


def synthetic_folder(n:int, size:int=32, classes:int=10)->Path:
    "A folder of `n` small JPEGs in `classes` class folders (written once, then reused)."
    root = Path(tempfile.gettempdir())/f"false_labels_bench_jpegs_{n}_{size}"
    if (root/".complete").exists(): return root
    rng = np.random.default_rng(0)
    for c in range(classes): (root/f"class{c}").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        base = np.array([(37 * i) % 256, (91 * (i % classes)) % 256, 128], np.uint8)
        im = np.clip(base + rng.integers(-40, 40, (size, size, 3)), 0, 255).astype(np.uint8)
        cv2.imwrite(str(root/f"class{i % classes}"/f"{i:06d}.jpg"), im)
    (root/".complete").touch()
    return root


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=None)
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--quick", action="store_true", help="2,000 synthetic images: a smoke run")
    a = ap.parse_args()
    if a.quick: a.n, a.src = 2000, None
    src = Path(a.src) if a.src else (Path("/work/cifar/train") if not a.quick and Path("/work/cifar/train").is_dir()
                                     else synthetic_folder(a.n))
    print(f"machine: {os.cpu_count()} cores; load {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    files = scan_image_folder(src)["files"]
    n = len(files)
    print(f"source: {src} ({n} images)")
    c = time.process_time()
    for f in files: cv2.imread(f, cv2.IMREAD_COLOR)
    base = n / (time.process_time() - c)
    print(f"bare imread     {base:9,.0f} images/s per core")
    out = Path(tempfile.mkdtemp(prefix="bench_import_"))
    try:
        c, w = time.process_time(), time.perf_counter()
        ds = import_images(src, out=out/"x1", size=32, workers=1, progress=False, verbose=False)
        cpu, wall = time.process_time() - c, time.perf_counter() - w
        print(f"import x1       {n / cpu:9,.0f} images/s per core ({n / wall:,.0f}/s wall; {n / cpu / base:.2f}x bare imread)"
              f"  -> {ds}")
        w = time.perf_counter()
        import_images(src, out=out/"xk", size=32, workers=a.workers, progress=False, verbose=False)
        wall = time.perf_counter() - w
        print(f"import x{a.workers:<2}      {n / wall:9,.0f} images/s wall, {n / wall / a.workers:,.0f} per core")
        w = time.perf_counter()
        import_images(src, out=out/"xk", size=32, workers=a.workers, progress=False, verbose=False)
        print(f"cached          {time.perf_counter() - w:9.2f} s for the second call")
    finally: shutil.rmtree(out, ignore_errors=True)
    print(f"load after: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__": main()
