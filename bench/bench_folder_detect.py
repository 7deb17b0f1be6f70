"""A user's photo folder with some photos in the wrong class folder, and a test/ folder of its own: what does `detect`
with its defaults flag, how many of its flags are misplaced photos, and how many of its safe relabels are right? (issue
24's folder bar: 0.5x-2x the misplaced count flagged at precision >= 0.5, relabels at precision >= 0.9 or none.)

The folder is made as bench/bench_review_apply.py makes it: `--classes` CIFAR-10 classes from the JPEG collection at
`--root` (default /work/cifar; never needed by the tests), `--per-class` training photos each, `--misplaced` of them
moved to a wrong class folder, and `--test-per-class` of the collection's test photos in test/<class>/ (labelled right).
`false-labels detect --data <folder>` then runs in process with nothing else set (the recipe, folds and detectors are
its defaults); the truth is only read afterwards, to score.

CPU:  nice -n 10 python bench/bench_folder_detect.py --per-class 500 --misplaced 200     (~10 min on 1 busy core)
      python bench/bench_folder_detect.py                                                 (400 photos, 41 misplaced; ~3 min)

Measured 2026-12-05 (1 torch thread, 2 cores shared with a DivideMix training and notebook runs, load 2-4), classes
airplane, automobile, frog, ship, 250 test photos a class:
  400 photos, 41 misplaced (10 %): nothing flagged. The test split reads 0.066 (90 % interval 0.000-0.155), INCV 0.199,
    confident learning 0.205: too small a gap to tell from chance on 400 photos (at 0 misplaced the same folder reads
    0.057, 0.000-0.126), so `detect` says there is no evidence and flags nothing (the relabel half holds: nothing
    relabelled); 142 s (172 s at 0 misplaced). Not met at this size; --flag-without-evidence ranks and flags anyway
    (bench_review_apply.py).
  2,000 photos, 200 misplaced (10 %): the test split reads 0.102 (0.060-0.145); 205 flagged (1.02x) at precision 0.790,
    expected 0.831 (0.640-0.903 over the rate's interval); 101 safe relabels, 91 right (0.901); 769 s. Before the test
    split was read, the same folder gave no evidence and flagged nothing.
    Another misplacement (--seed 1): the test split reads 0.120 (0.078-0.160); 239 flagged (1.20x) at precision 0.695,
    expected 0.748 (0.592-0.852); 84 safe relabels, 77 right (0.917); 633 s.
"""
import argparse, json, os, sys, tempfile, time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_review_apply import folder_args, make_folder
from false_labels import cli


def main():
    ap = folder_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0, help="seed of the misplacement (detect keeps its own default seed)")
    ap.add_argument("--work", default=None)
    a = ap.parse_args()
    root = Path(a.root)
    if not (root/"train").is_dir(): sys.exit(f"{root}/train not found: this benchmark needs the CIFAR-10 JPEG collection")
    torch.set_num_threads(a.threads)
    work = Path(a.work or tempfile.mkdtemp(prefix="bench_folder_detect_"))
    print(f"machine: {os.cpu_count()} cores, torch threads {a.threads}, load {os.getloadavg()}; work {work}", flush=True)
    truth = make_folder(root, a.classes.split(","), a.per_class, a.misplaced, a.test_per_class, a.seed, work/"photos")
    t = time.perf_counter()
    rc = cli.main(["detect", "--data", str(work/"photos"), "--out", str(work/"det")])
    secs = time.perf_counter() - t
    if rc != 0: sys.exit(f"detect exited {rc}")
    s = pd.read_csv(work/"det"/"suspects.csv", keep_default_na=False)
    p = json.loads((work/"det"/"params.json").read_text())
    true = s.path.map(truth)
    wrong, f = (true != s.given_name).to_numpy(), s.suspect.to_numpy(bool)
    r = f & s.relabel_safe.to_numpy(bool) if "relabel_safe" in s else np.zeros(len(s), bool)
    nr = p["noise_rate"]
    print(f"\n{len(s)} photos, {wrong.sum()} misplaced; {secs:.0f} s")
    print(f"noise rate: {nr.get('estimator')} {nr.get('rate')}, interval {nr['interval']}, estimates {nr['estimates']}, evidence {nr['evidence']}")
    sel = p["selected"]
    print(f"flagged {f.sum()} ({f.sum() / max(wrong.sum(), 1):.2f}x the misplaced) by {sel}; precision "
          + (f"{wrong[f].mean():.3f}" if f.any() else "n/a")
          + f"; expected {p.get('expected_precision', {}).get(sel)} range {p.get('expected_precision_range', {}).get(sel)}")
    print(f"safe relabels {r.sum()}, right {(s.suggested_name[r] == true[r]).sum()}")


if __name__ == "__main__":
    main()
