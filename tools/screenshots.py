#!/usr/bin/env python3
"""The README's pictures of pages (not charts: those come from the executed notebooks), made from real runs.

    python tools/screenshots.py [--out nbs/images]     # needs Debian's chromium

- `review_page.png`: the review app (`review.html`) of a real detection: 600 generated images at 32 px, 10 % of the
  training labels corrupted, `false-labels detect` with its defaults, opened in headless Chromium (no network).
- `report_page.png`: the top of the HTML report of the embedded study (`data/study/sweep`, made by `make study`),
  when it exists.
Each is written only when the run behind it succeeded; nothing is drawn by hand.
"""
import argparse, shutil, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND"]


def chromium() -> str:
    for c in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(c): return shutil.which(c)
    sys.exit("screenshots: no chromium binary (apt-get install -y chromium)")


def shot(page:Path, png:Path, width:int=1280, height:int=860, wait_ms:int=8000):
    "A screenshot of the top `height` pixels of `page`, as Chromium draws it with no network."
    r = subprocess.run([chromium(), *FLAGS, f"--window-size={width},{height}", f"--virtual-time-budget={wait_ms}",
                        f"--screenshot={png}", page.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    if not png.exists(): sys.exit(f"screenshots: chromium drew nothing for {page}: {r.stderr[-500:]}")
    print(f"wrote {png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}")


def review_page(out:Path):
    "Generated images written as a <class>/ folder of PNGs, 10 % of them in a wrong class folder, then `detect` on it."
    import cv2, numpy as np
    from false_labels.cli import main
    from false_labels.data.generate import generate_dataset
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ds = generate_dataset(tmp/"data", n=600, size=32, seed=0, progress=False, gallery=False)
        y, names = ds.labels(4), ds.classes(4)
        rng = np.random.default_rng(0)
        moved = rng.choice(len(y), len(y) // 10, replace=False)
        given = y.copy(); given[moved] = (y[moved] + rng.integers(1, len(names), len(moved))) % len(names)
        for i, (im, c) in enumerate(zip(ds.images, given)):
            (tmp/"photos"/names[c]).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(tmp/"photos"/names[c]/f"{i:04d}.png"), np.ascontiguousarray(im[..., ::-1]))
        rc = main(["detect", "--data", str(tmp/"photos"), "--out", str(tmp/"det"), "--quiet"])
        if not (tmp/"det"/"review.html").exists(): sys.exit(f"screenshots: detect wrote no review.html (exit {rc})")
        shot(tmp/"det"/"review.html", out/"review_page.png")


def report_page(out:Path):
    page = ROOT/"data"/"study"/"sweep"/"report"/"report.html"
    if page.exists(): shot(page, out/"report_page.png", height=1100)
    else: print(f"skipped report_page.png: no {page.relative_to(ROOT)} (run `make study`)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(ROOT/"nbs"/"images"))
    a = ap.parse_args()
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    review_page(out); report_page(out)
