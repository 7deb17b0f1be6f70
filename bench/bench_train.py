"""Training throughput and quality benchmark for false_labels.training.loaders + false_labels.training.learner.

Speed mode (side by side, one process, same model / batch size / precision / optimiser, training phase only):
  plain   a hand-written PyTorch loop over the same device-resident uint8 tensors (same batched flip+shift gather)
  ours    the fastai Learner from `make_learner` over `dataloaders` (TensorDL)
  folder  fastai's default pipeline: ImageDataLoaders.from_folder over PNGs of the same images (PIL decode and a
          random flip per item in worker processes, collate, then Normalize on the device)
  Bars: ours >= 85 % of plain's images/s; ours >= 3x folder's.

CPU mode (`--mode cpu`, issue 18): the project's trainer with its CPU defaults (precision 'auto': bf16 autocast and
channels-last where the CPU has native bf16) against a plain float32 PyTorch loop (NCHW, no autocast) on the same
model, batch, data, optimiser and constant learning rate, for 3 seeds; the two trainings advance epoch by epoch in
turn (AB, BA, ...), so a shared machine's changing speed hits both arms alike; images/s of the training phase and
clean test accuracy of both. Bar: ours >= 2x plain fp32's images/s, same accuracy within seed noise.
  python bench/bench_train.py --mode cpu --threads 2

Quality mode: ResNet-18 with a CIFAR stem at 64 px on a 20,000-image generated set, no noise, <= 30 epochs, SGD
Nesterov + one-cycle + flips/shifts, no label smoothing; clean test accuracy for tasks 14 and 4 and accuracy per
subclass. Bars: >= 95 % (14 classes), >= 98 % (4 classes).

Measured (CPU mode, small_cnn at 32 px, 6,000 generated images, bs 256, 6 epochs, 2 threads, quiet machine, load
0.6-1.9; this session): the trainer's bf16 path at 2.20x the plain fp32 loop's images/s (arms one after the other,
after GlobalAvgPool kept the last ReLU's gradient channels-last: that op 2.6 -> 0.16 ms), 1.94x before it; with the
epochs interleaved (this script now), three runs: 1.65x, 2.38x, 2.69x (median 2.38x; the nine per-seed medians of the
paired epoch ratios 1.66-2.89x, median 2.00x). The machine's speed moves by up to 50 % between epochs (the plain loop
2,150-4,230 img/s in one run). Accuracy over 3
seeds: 0.516 +- 0.030 (ours) vs 0.444 +- 0.132 (plain, one seed diverged at the constant rate); at 15 epochs 0.701 +-
0.009 vs 0.682 +- 0.031. Where the rest goes: conv backward ~45 % of a step, then the first block's BN and ReLU
backward (memory-bound on 256 x 16 x 32 x 32 activations).

GPU:  python bench/bench_train.py --mode all
CPU:  python bench/bench_train.py --device cpu --small --mode all
"""
import argparse, json, os, statistics, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from false_labels.data.alter import SUBCLASSES
from false_labels.training.loaders import dataloaders, gather_augment, pick_device
from false_labels.training.learner import load_model, make_learner, make_loss, make_model, make_opt, predict_logits, train_run
from false_labels.training.recipes import Recipe, RunOptions
from false_labels.noise.spec import NoiseSpec

from common import bench_dataset


CLOCK = time.perf_counter          # --clock cpu: process CPU time (a shared machine's load does not count)


def _sync(dev):
    if dev.type == "cuda": torch.cuda.synchronize(dev)


def get_data(args): return bench_dataset(args.data, args.n, args.size, prefix="bench_train_")


# --- the three arms ---------------------------------------------------------------------------------------------
def plain_epochs(ds, arch, args, dev, seed:int=0, precision=None, cl=None, keep=None):
    "A hand-written loop over the same device tensors as TensorDL uses, as a generator: images/s of each epoch."
    dls = dataloaders(ds, task=args.task, bs=args.bs, device=dev, seed=seed)  # only to share the store, labels and stats
    tr = dls.train
    imgs, ids, labels = tr.store.images, tr.ids, tr.labels
    mean = torch.tensor(tr.mean, device=dev).view(1, 3, 1, 1); std = torch.tensor(tr.std, device=dev).view(1, 3, 1, 1)
    torch.manual_seed(seed)
    model = make_model(arch, dls.c).to(dev)
    cl = dev.type == "cuda" if cl is None else cl
    if cl: model = model.to(memory_format=torch.channels_last)
    opt = make_opt("sgd")(model.parameters(), lr=0.05).opt                 # the same torch optimiser as the learner's
    loss_fn = make_loss("ce")
    amp = _amp(args, dev, precision)
    n, bs, m = tr.n, args.bs, tr.max_shift
    g = torch.Generator().manual_seed(seed)
    if keep is not None: keep.update(model=model, dls=dls, precision=precision or args.precision)
    for ep in range(args.epochs):
        _sync(dev); t = CLOCK()
        order = torch.randperm(n, generator=g).to(dev)
        flip = (torch.rand(n, generator=g) < 0.5).to(dev)
        dy, dx = torch.randint(-m, m + 1, (2, n), generator=g).to(dev)
        model.train()
        for a in range(0, n // bs * bs, bs):
            pos = order[a:a + bs]
            u8 = gather_augment(imgs, ids[pos], flip[a:a + bs], dy[a:a + bs], dx[a:a + bs])
            x = u8.permute(0, 3, 1, 2).float().div_(255)
            x = x.contiguous(memory_format=torch.channels_last) if cl else x.contiguous()
            x = (x - mean) / std
            with amp: loss = loss_fn(model(x).float(), labels[pos])
            loss.backward()
            opt.step(); opt.zero_grad(set_to_none=True)
        _sync(dev)
        yield n // bs * bs / (CLOCK() - t)


def plain_loop(ds, arch, args, dev, seed:int=0, precision=None, cl=None, keep=None)->list:
    "Images/s per epoch of the hand-written loop (`plain_epochs`, run to the end)."
    return list(plain_epochs(ds, arch, args, dev, seed, precision, cl, keep))


class _TrainTimer:
    "A fastai callback timing the training phase of every epoch (synchronised)."
    def __new__(cls, dev):
        from fastai.callback.core import Callback
        class TrainTimer(Callback):
            order = 100
            def __init__(self): self.rates = []
            def before_train(self): _sync(dev); self.t = CLOCK(); self.n = 0
            def after_batch(self):
                if self.training: self.n += len(self.learn.yb[0])
            def after_train(self): _sync(dev); self.rates.append(self.n / (CLOCK() - self.t))
        return TrainTimer()


def ours(ds, arch, args, dev):
    dls = dataloaders(ds, task=args.task, bs=args.bs, device=dev, seed=0)
    return _timed_fit(dls, arch, args, dev)


def _timed_fit(dls, arch, args, dev, seed:int=0, keep=None)->list:
    "Images/s of each epoch of a fastai learner over `dls` (same seed, loss and lr for every arm): `ours_epochs` to the end."
    return list(ours_epochs(dls, arch, args, dev, seed, keep))


def ours_epochs(dls, arch, args, dev, seed:int=0, keep=None):
    "A fastai learner over `dls` (seed, CE, lr 0.05), one `fit(1)` per step (constant rate: the same training as `fit(epochs)`), as a generator."
    torch.manual_seed(seed)
    learn = make_learner(dls, arch, "ce", lr=0.05, precision=args.precision)
    timer = _TrainTimer(dev)
    if keep is not None: keep.update(learn=learn)
    for _ in range(args.epochs):
        learn.fit(1, cbs=[timer])
        yield timer.rates[-1]


def write_pngs(ds, root):
    import cv2
    root = Path(root)
    lab = ds.labels(14); split = ds.manifest["split"].to_numpy()
    jobs = []
    for s, folder in (("train", "train"), ("valid", "valid")):
        for i in np.flatnonzero(split == s):
            d = root/folder/SUBCLASSES[lab[i]]
            jobs.append((d/f"{i}.png", i))
    for d in {p.parent for p, _ in jobs}: d.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(16) as ex:
        list(ex.map(lambda j: cv2.imwrite(str(j[0]), np.ascontiguousarray(ds.images[j[1]][..., ::-1])), jobs))
    return root


def folder(ds, arch, args, dev, png_root):
    from fastai.data.transforms import Normalize
    from fastai.vision.augment import FlipItem
    from fastai.vision.data import ImageDataLoaders
    dls0 = dataloaders(ds, task=14, bs=args.bs, device="cpu", seed=0)   # same normalisation statistics
    fdls = ImageDataLoaders.from_folder(png_root, train="train", valid="valid", bs=args.bs, num_workers=args.workers,
                                        item_tfms=[FlipItem(0.5)], batch_tfms=[Normalize.from_stats(dls0.train.mean, dls0.train.std)],
                                        device=dev, seed=0)
    return _timed_fit(fdls, arch, args, dev)


def _amp(args, dev, precision=None):
    from false_labels.training.learner import resolve_precision
    p = resolve_precision(precision or args.precision, dev)
    if p == "fp32": return torch.autocast(dev.type, enabled=False)
    return torch.autocast(dev.type, dtype=torch.bfloat16 if p == "bf16" else torch.float16)


def speed(ds, args, dev):
    png_root = write_pngs(ds, Path(tempfile.mkdtemp(prefix="bench_png_")))
    rows = []
    arms = dict(plain=plain_loop, ours=ours, folder=lambda *a: folder(*a, png_root=png_root))
    for arch in args.archs.split(","):
        steady = {k: [] for k in arms}
        for rnd in range(args.rounds):                                     # ABC, CBA, ...: no arm always runs first
            for name in (list(arms) if rnd % 2 == 0 else list(arms)[::-1]):
                rates = arms[name](ds, arch, args, dev)
                steady[name] += rates[1:] or rates                         # epoch 1 is warm-up (cudnn, workers)
                print(f"  {arch:16s} {name:7s} " + " ".join(f"{v:9.0f}" for v in rates) + " img/s", flush=True)
        r = {k: statistics.median(v) for k, v in steady.items()}
        print(f"  {arch:16s} median of steady epochs: " + ", ".join(f"{k} {v:.0f}" for k, v in r.items()), flush=True)
        row = dict(arch=arch, size=ds.size, bs=args.bs, precision=args.precision, device=str(dev), **{f"{k}_img_s": v for k, v in r.items()},
                   ours_vs_plain=r["ours"] / r["plain"], ours_vs_folder=r["ours"] / r["folder"])
        print(f"{arch}: ours/plain = {row['ours_vs_plain']:.3f} (bar >= 0.85)   ours/folder = {row['ours_vs_folder']:.2f}x (bar >= 3)", flush=True)
        rows.append(row)
    return rows


# --- CPU: the trainer's defaults against a plain fp32 loop -------------------------------------------------------
def _test_acc(model, dls, precision)->float:
    "Clean test accuracy of a bare model on `dls.test` (eval mode, the precision it trained in)."
    class _L: pass
    learn = _L(); learn.model, learn.precision, learn.dls = model, precision, dls
    pred = predict_logits(learn, dls.test).argmax(1)
    return float((pred == dls.test.labels).float().mean())


def cpu_mode(ds, args, dev):
    "Per seed, plain fp32 loop vs the project's trainer at precision 'auto', their epochs interleaved (AB, BA, ...): rates and accuracies."
    from false_labels.training.learner import resolve_precision
    arch, rows = args.archs.split(",")[0], []
    res = {k: dict(rate=[], acc=[]) for k in ("plain_fp32", "ours")}
    for seed in args.seeds:
        kp, ko = {}, {}
        dls = dataloaders(ds, task=args.task, bs=args.bs, device=dev, seed=seed)
        gens = dict(plain_fp32=plain_epochs(ds, arch, args, dev, seed, precision="fp32", cl=False, keep=kp),
                    ours=ours_epochs(dls, arch, args, dev, seed, keep=ko))
        rates = {k: [] for k in gens}
        for e in range(args.epochs):      # epoch by epoch, the order alternating: a drift of the machine's speed hits both
            for name in (list(gens) if e % 2 == 0 else list(gens)[::-1]): rates[name].append(next(gens[name]))
        acc = dict(plain_fp32=_test_acc(kp["model"], kp["dls"], "fp32"), ours=_test_acc(ko["learn"].model, dls, ko["learn"].precision))
        for name in gens:
            res[name]["rate"] += rates[name][1:] or rates[name]; res[name]["acc"].append(acc[name])
            print(f"  seed {seed} {name:10s} " + " ".join(f"{v:7.0f}" for v in rates[name]) + f" img/s  test acc {acc[name]:.4f}  "
                  f"load {os.getloadavg()[0]:.2f}", flush=True)
        r = [o / p for o, p in zip(rates["ours"][1:], rates["plain_fp32"][1:])]
        print(f"  seed {seed}: ours / plain per epoch pair (after the first): median {statistics.median(r):.2f}x", flush=True)
    med = {k: statistics.median(v["rate"]) for k, v in res.items()}
    acc = {k: (statistics.mean(v["acc"]), statistics.pstdev(v["acc"])) for k, v in res.items()}
    ratio = med["ours"] / med["plain_fp32"]
    print(f"{arch} at {ds.size}px, bs {args.bs}, task {args.task}, {args.epochs} epochs, ours in "
          f"{resolve_precision(args.precision, dev)}: ours {med['ours']:.0f} img/s vs plain fp32 {med['plain_fp32']:.0f} "
          f"-> {ratio:.2f}x (bar >= 2; {args.clock} clock, {torch.get_num_threads()} threads); test acc ours {acc['ours'][0]:.4f} +- {acc['ours'][1]:.4f}, plain fp32 "
          f"{acc['plain_fp32'][0]:.4f} +- {acc['plain_fp32'][1]:.4f} over seeds {args.seeds}", flush=True)
    return dict(arch=arch, ratio=ratio, img_s=med, acc={k: v["acc"] for k, v in res.items()})


# --- quality ------------------------------------------------------------------------------------------------------
def per_subclass_accuracy(run, ds, task, dev):
    "Clean test accuracy per subclass of a finished run (for task 4 too: a 4-class prediction right or wrong per subclass)."
    p = json.loads((Path(run)/"params.json").read_text())
    dls = dataloaders(ds, task=task, bs=512, device=dev, size=p["size"], augment=False)
    model = load_model(run, device=dev)
    if dev.type == "cuda": model = model.to(memory_format=torch.channels_last)
    class _L: pass
    learn = _L(); learn.model, learn.precision, learn.dls = model, "fp32", dls
    pred = predict_logits(learn, dls.test).argmax(1).cpu().numpy()
    te = ds.split_idx("test")
    ok = pred == ds.labels(task)[te]
    sub = ds.labels(14)[te]
    return {SUBCLASSES[k]: float(ok[sub == k].mean()) for k in range(len(SUBCLASSES)) if (sub == k).any()}


def quality(ds, args, dev):
    out = []
    for task, bar in ((14, 0.95), (4, 0.98)):
        run = Path(tempfile.mkdtemp(prefix=f"bench_q{task}_"))/"run"
        t = time.time()
        res = train_run(ds, run, Recipe(args.quality_arch, args.quality_epochs, args.bs, "sgd", precision=args.precision),
                        NoiseSpec("sym", 0.0), RunOptions(track_samples=False, verbose=args.verbose), task=task, seed=0, device=dev)
        acc = res["final"]["test_acc"]
        sub = per_subclass_accuracy(run, ds, task, dev)
        print(f"task {task}: clean test accuracy {acc:.4f} (bar {bar}) in {time.time()-t:.0f}s, {args.quality_epochs} epochs of "
              f"{args.quality_arch} at {ds.size}px, lr {res['lr']:.3g}, bs {args.bs}, {res['precision']}; run: {run}", flush=True)
        print("  per subclass: " + ", ".join(f"{k} {v:.3f}" for k, v in sub.items()), flush=True)
        cm = json.loads((run/"class_report"/f"epoch_{args.quality_epochs - 1:03d}.json").read_text())["confusion_matrix"]
        out.append(dict(task=task, test_acc=acc, bar=bar, passed=acc >= bar, per_subclass=sub, confusion_matrix=cm,
                        train_time_s=res["train_time_s"], run=str(run)))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", default="speed", choices=("speed", "quality", "all", "cpu"))
    ap.add_argument("--task", type=int, default=14, help="speed/cpu-mode labelling (4 or 14)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="cpu-mode seeds")
    ap.add_argument("--clock", default="wall", choices=("wall", "cpu"),
                    help="time per epoch: wall clock, or this process's CPU time (with --threads 1 on a shared machine)")
    ap.add_argument("--device", default="auto"); ap.add_argument("--small", action="store_true", help="tiny CPU-sized settings")
    ap.add_argument("--data", default=None, help="existing dataset folder (default: generate one)")
    ap.add_argument("--n", type=int, default=20_000); ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--bs", type=int, default=512); ap.add_argument("--epochs", type=int, default=3, help="speed-mode epochs per arm")
    ap.add_argument("--archs", default="resnet18,resnet18_cifar", help="speed-mode architectures (comma-separated)")
    ap.add_argument("--workers", type=int, default=None, help="folder pipeline workers (default: min(16, cpus))")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--rounds", type=int, default=1, help="speed-mode rounds, alternating the arms' order")
    ap.add_argument("--quality-arch", default="resnet18_cifar"); ap.add_argument("--quality-epochs", type=int, default=30)
    ap.add_argument("--verbose", action="store_true"); ap.add_argument("--out", default=None, help="write results as JSON")
    ap.add_argument("--quick", action="store_true", help="smoke run (make bench): --small, speed mode, two epochs per arm")
    args = ap.parse_args(argv)
    if args.quick: args.small, args.mode, args.epochs = True, "speed", 2
    if args.small:
        args.n, args.size, args.bs = min(args.n, 600), min(args.size, 32), min(args.bs, 64)
        args.archs = "small_cnn" if args.archs == ap.get_default("archs") else args.archs
        args.quality_arch = "small_cnn" if args.quality_arch == ap.get_default("quality_arch") else args.quality_arch
        args.quality_epochs = min(args.quality_epochs, 4)
    global CLOCK
    if args.clock == "cpu": CLOCK = time.process_time
    if args.mode == "cpu":
        args.device = "cpu"
        if args.archs == ap.get_default("archs"): args.archs = "small_cnn"
        if "--n" not in (argv or sys.argv): args.n = 6000
        if "--size" not in (argv or sys.argv): args.size = 32
        if "--bs" not in (argv or sys.argv): args.bs = 256
        if "--epochs" not in (argv or sys.argv): args.epochs = 6
    if args.workers is None: args.workers = min(16, os.cpu_count() or 1)
    if args.threads: torch.set_num_threads(args.threads)
    dev = pick_device(args.device)
    if dev.type == "cuda": torch.backends.cudnn.benchmark = True
    print(f"device {dev} ({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu'}), torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, n {args.n}, size {args.size}, bs {args.bs}", flush=True)
    ds = get_data(args)
    res = dict(device=str(dev), n=len(ds), size=ds.size, bs=args.bs)
    if args.mode in ("speed", "all"): res["speed"] = speed(ds, args, dev)
    if args.mode == "cpu": res["cpu"] = cpu_mode(ds, args, dev)
    if args.mode in ("quality", "all"): res["quality"] = quality(ds, args, dev)
    if args.out: Path(args.out).write_text(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()
