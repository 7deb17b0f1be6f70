"""Real photos on the CPU: the CPU default architecture and recipe on a 10,000-image CIFAR-10 subset.

Data: the first 1,000 file names of each class in `<root>/train/<class>/` (10,000 training images) and the full
`<root>/test/` (clean test), 32 px JPEGs decoded with OpenCV and cached as .npy under /tmp (never in the repository).
A 500-image validation split (the first 50 test images of each class) only satisfies the loaders' three splits;
test accuracy is measured on the whole test folder.

Training goes through the project's trainer: `data.dataloaders` + `learn.make_learner` + `fit_one_cycle`
(`learn.CPU_PHOTO_RECIPE` by default). Bar: >= 78 % clean-test accuracy in <= 180 s of training on 2 cores.
With `--baseline` the seed recipe (small_cnn, fp32, AdamW, 15 epochs) is measured too.

    python bench/bench_cifar.py [--root /work/cifar] [--threads 2] [--seeds 0] [--epochs N] [--baseline]
"""
import argparse, os, statistics, time
from pathlib import Path

import numpy as np
import torch

from false_labels.data.dataset import Dataset
from false_labels.training.loaders import dataloaders
from false_labels.training.learner import make_learner, predict_logits
from false_labels.training.recipes import CPU_PHOTO_RECIPE


def load_subset(root, per_class:int=1000, cache_dir="/tmp"):
    "(train images, train labels, test images, test labels, classes), decoded once and cached as .npy."
    import cv2
    root = Path(root)
    cache = Path(cache_dir)/f"false_labels_cifar_{per_class}.npz"
    classes = sorted(p.name for p in (root/"train").iterdir() if p.is_dir())
    if cache.exists():
        z = np.load(cache)
        return z["xtr"], z["ytr"], z["xte"], z["yte"], classes
    def read(files):
        return np.stack([cv2.imread(str(f), cv2.IMREAD_COLOR)[..., ::-1] for f in files])
    tr = [(c, f) for i, c in enumerate(classes) for f in sorted((root/"train"/c).iterdir())[:per_class]]
    te = [(c, f) for c in classes for f in sorted((root/"test"/c).iterdir())]
    xtr, xte = read([f for _, f in tr]), read([f for _, f in te])
    ytr = np.array([classes.index(c) for c, _ in tr]); yte = np.array([classes.index(c) for c, _ in te])
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, xtr=xtr, ytr=ytr, xte=xte, yte=yte); os.replace(tmp, cache)
    return xtr, ytr, xte, yte, classes


def subset_dataset(xtr, ytr, xte, yte, classes, n_valid_per_class:int=50)->Dataset:
    "An in-memory Dataset: train = the subset, test = the whole test folder, valid = a few test images (copies)."
    va = np.concatenate([np.flatnonzero(yte == c)[:n_valid_per_class] for c in range(len(classes))])
    images = np.concatenate([xtr, xte[va], xte])
    labels = np.concatenate([ytr, yte[va], yte])
    splits = ["train"] * len(xtr) + ["valid"] * len(va) + ["test"] * len(xte)
    return Dataset.from_arrays(images, labels, classes, splits=splits)


def train_eval(ds, recipe:dict, seed:int=0)->dict:
    "Train through the project's trainer; clean-test accuracy and training wall time."
    r = dict(recipe)
    torch.manual_seed(seed); np.random.seed(seed)
    dls = dataloaders(ds, task="label", bs=r["bs"], device="cpu", seed=seed, augment=True)
    learn = make_learner(dls, r["arch"], r["loss"], lr=r.get("lr"), opt=r["opt"], wd=r.get("wd"),
                         precision=r.get("precision", "auto"), loss_kw=r.get("loss_kw"))
    t, c = time.perf_counter(), time.process_time()
    learn.fit_one_cycle(r["epochs"])
    train_s, cpu_s = time.perf_counter() - t, time.process_time() - c
    pred = predict_logits(learn, dls.test).argmax(1)
    acc = float((pred == dls.test.labels).float().mean())
    return dict(acc=acc, train_s=train_s, cpu_s=cpu_s, precision=learn.precision, lr=float(learn.lr))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default="/work/cifar")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--arch", default=None)
    ap.add_argument("--precision", default=None)
    ap.add_argument("--baseline", action="store_true", help="also the seed recipe: small_cnn, fp32, AdamW, 15 epochs")
    ap.add_argument("--quick", action="store_true", help="smoke run: 100 images per class, 1 epoch")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if not (Path(a.root)/"train").is_dir():
        print(f"no CIFAR-10 folder at {a.root}: skipped"); return
    per_class = 100 if a.quick else 1000
    xtr, ytr, xte, yte, classes = load_subset(a.root, per_class)
    if a.quick: keep = np.concatenate([np.flatnonzero(yte == c)[:100] for c in range(10)]); xte, yte = xte[keep], yte[keep]
    ds = subset_dataset(xtr, ytr, xte, yte, classes)
    recipe = dict(CPU_PHOTO_RECIPE)
    for k in ("epochs", "lr", "arch", "precision"):
        if getattr(a, k) is not None: recipe[k] = getattr(a, k)
    if a.quick: recipe["epochs"] = 1
    arms = [("cpu default", recipe)]
    if a.baseline: arms.append(("seed small_cnn", dict(arch="small_cnn", loss="ce", opt="adamw", bs=128, epochs=15,
                                                       precision="fp32")))
    print(f"CIFAR-10 subset: {len(xtr)} train, {len(xte)} test, 32 px; {a.threads} threads; load {os.getloadavg()}")
    for name, r in arms:
        res = [train_eval(ds, r, s) for s in a.seeds]
        accs, secs = [x["acc"] for x in res], [x["train_s"] for x in res]
        cpus = ", ".join(f"{x['cpu_s']:.0f}" for x in res)
        print(f"{name:15s} {r}: precision {res[0]['precision']} lr {res[0]['lr']:.3g} | test acc "
              f"{', '.join(f'{x:.4f}' for x in accs)} (mean {statistics.mean(accs):.4f}) | train "
              f"{', '.join(f'{x:.0f}' for x in secs)} s wall, {cpus} s CPU | load {os.getloadavg()}", flush=True)
        if name == "cpu default" and not a.quick:
            ok = statistics.mean(accs) >= 0.78 and max(secs) <= 180
            print(f"bar (>= 78 %, <= 180 s on 2 cores): {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
