"""Robust-training benchmark: every method of false_labels.methods.registry side by side, on the same data, same recipe, same seed.

Each method trains through `robust.train_method` (the run folder a sweep would write) at 0 % and at 40 % symmetric
noise; plain cross-entropy ('ce') is the baseline measured in the same process. The noise rate is estimated
(`noise_rate=None`, the realistic case) unless `--noise-rate known`.

Bars (issue 8: 14-class task at 64 px, GPU):
  recovery  the best method at 40 % noise recovers >= 70 % of the clean test accuracy plain CE loses to the noise:
            (best_40 - ce_40) / (ce_0 - ce_40) >= 0.70
  no harm   at 0 % noise no method falls more than 1 point below plain CE: acc_0(method) >= ce_0 - 0.01

GPU:  python bench/bench_robust.py --device cuda                 (20,000 images at 64 px, resnet18_cifar, 30 epochs)
CPU:  python bench/bench_robust.py --device cpu --quick          (6,000 images at 32 px, small_cnn, AdamW, 15 epochs, 11 methods)
Runs are kept under --runs (default: a temporary folder); a finished run (result.json present) is reused, so an
interrupted benchmark resumes where it stopped.
"""
import argparse, json, math, os, tempfile, time
from pathlib import Path

import torch

from false_labels.training.loaders import pick_device
from false_labels.training.learner import LOSSES
from false_labels.methods.registry import METHODS, train_method

from common import bench_dataset

QUICK_METHODS = ("ce", "mae", "gce", "sce", "ls", "bootstrap", "coteaching", "incv-coteaching", "clean-retrain:cl",
                 "clean-retrain:ema", "clean-retrain:aum")


def get_data(args): return bench_dataset(args.data, args.n, args.size, folder=args.runs)   # reused on resume


def run_one(ds, method, ratio, args, dev):
    oracle = "_known" if args.noise_rate == "known" and method not in LOSSES else ""     # the loss runs do not use it
    out = Path(args.runs)/f"{method.replace(':', '_')}_r{ratio:g}_s{args.seed}_{args.opt}{oracle}"
    if (out/"result.json").exists(): return json.loads((out/"result.json").read_text())
    kw = {}
    if args.quick and method == "incv-coteaching": kw["method_kw"] = dict(incv_iter=2)
    if args.quick and method.startswith("clean-retrain:") and method.split(":")[1] in ("cl", "ensemble"): kw["method_kw"] = dict(folds=3)
    noise_rate = "known" if args.noise_rate == "known" else None
    return train_method(ds, out, method=method, task=14, noise="sym", ratio=ratio, arch=args.arch, epochs=args.epochs,
                        seed=args.seed, noise_rate=noise_rate, bs=args.bs, opt=args.opt, device=dev, precision=args.precision,
                        overwrite=True, verbose=args.verbose, **kw)


def summarise(rows, methods, ratios):
    "Accuracy table, recovery and no-harm bars."
    acc = {(r["method"], r["ratio"]): r["test_acc"] for r in rows}
    lo, hi = min(ratios), max(ratios)
    ce0, ce1 = acc[("ce", lo)], acc[("ce", hi)]
    lost = ce0 - ce1
    print(f"\n{'method':24s} " + " ".join(f"{'acc@' + format(r, 'g'):>9s}" for r in ratios) +
          f" {'vs ce@' + format(lo, 'g'):>9s} {'recovery@' + format(hi, 'g'):>12s} {'noise used (source)':>26s} {'kept (prec)':>14s} {'time s':>7s}")
    out = []
    for m in methods:
        a0, a1 = acc[(m, lo)], acc[(m, hi)]
        rec = (a1 - ce1) / lost if lost > 0 else math.nan
        r1 = next(r for r in rows if r["method"] == m and r["ratio"] == hi)
        used = "-" if r1["noise_rate_used"] is None else f"{r1['noise_rate_used']:.3f} ({r1['noise_rate_source']})"
        kept = "-" if r1.get("n_kept") is None else f"{r1['n_kept']} ({r1['kept_label_precision']:.3f})"
        t = sum(r["time_s"] for r in rows if r["method"] == m)
        print(f"{m:24s} " + " ".join(f"{acc[(m, r)]:9.4f}" for r in ratios) + f" {a0 - ce0:+9.4f} {rec:12.3f} {used:>26s} {kept:>14s} {t:7.0f}")
        out.append(dict(method=m, **{f"acc_{r:g}": acc[(m, r)] for r in ratios}, delta_clean=a0 - ce0, recovery=rec))
    best = max((o for o in out if o["method"] != "ce"), key=lambda o: o["recovery"])
    worst = min((o for o in out if o["method"] != "ce"), key=lambda o: o["delta_clean"])
    bars = dict(ce_clean=ce0, ce_noisy=ce1, lost_to_noise=lost, best_method=best["method"], best_recovery=best["recovery"],
                recovery_pass=bool(best["recovery"] >= 0.70), worst_clean_method=worst["method"],
                worst_clean_delta=worst["delta_clean"], no_harm_pass=bool(worst["delta_clean"] >= -0.01))
    print(f"\nplain CE: {ce0:.4f} clean, {ce1:.4f} at {hi:.0%} noise (loses {lost:.4f})")
    print(f"recovery bar: best {best['method']} recovers {best['recovery']:.1%} of it (bar >= 70 %): "
          f"{'PASS' if bars['recovery_pass'] else 'FAIL'}")
    print(f"no-harm bar: worst at {lo:.0%} noise is {worst['method']} at {worst['delta_clean']:+.4f} vs CE (bar >= -0.01): "
          f"{'PASS' if bars['no_harm_pass'] else 'FAIL'}")
    return out, bars


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto"); ap.add_argument("--quick", action="store_true", help="small CPU-sized settings")
    ap.add_argument("--data", default=None, help="existing dataset folder (default: generate one)")
    ap.add_argument("--n", type=int, default=20_000); ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--arch", default="resnet18_cifar"); ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--bs", type=int, default=512); ap.add_argument("--precision", default="auto")
    ap.add_argument("--opt", default="sgd", choices=("sgd", "adamw"), help="optimiser of every training (quick: adamw)")
    ap.add_argument("--ratios", default="0,0.4", help="noise ratios (the first is the clean baseline, the last the noisy one)")
    ap.add_argument("--methods", default="all", help="comma-separated names from robust.METHODS, or 'all'")
    ap.add_argument("--noise-rate", default="estimate", choices=("estimate", "known"))
    ap.add_argument("--seed", type=int, default=0); ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--runs", default=None, help="folder for the data and the run folders (kept; finished runs are reused)")
    ap.add_argument("--verbose", action="store_true"); ap.add_argument("--out", default=None, help="write results as JSON")
    args = ap.parse_args(argv)
    if args.quick:
        d = {k: ap.get_default(k) for k in ("n", "size", "arch", "epochs", "bs", "methods", "opt")}
        if args.n == d["n"]: args.n = 6_000
        if args.size == d["size"]: args.size = 32
        if args.arch == d["arch"]: args.arch = "small_cnn"      # ~0.83 clean / ~0.63 at 40 % noise on 14 classes, ~20 s a training
        if args.epochs == d["epochs"]: args.epochs = 15
        if args.bs == d["bs"]: args.bs = 64
        if args.opt == d["opt"]: args.opt = "adamw"             # small_cnn on the CPU: SGD at the default lr underfits
        if args.methods == d["methods"]: args.methods = ",".join(QUICK_METHODS)
    if args.threads: torch.set_num_threads(args.threads)
    methods = list(METHODS) if args.methods == "all" else [m.strip() for m in args.methods.split(",") if m.strip()]
    if "ce" not in methods: methods.insert(0, "ce")
    ratios = [float(r) for r in args.ratios.split(",")]
    args.runs = args.runs or tempfile.mkdtemp(prefix="bench_robust_")
    dev = pick_device(args.device)
    print(f"device {dev} ({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu'}), torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, arch {args.arch}, epochs {args.epochs}, bs {args.bs}, opt {args.opt}, noise rate: "
          f"{args.noise_rate}; runs in {args.runs}", flush=True)
    ds = get_data(args)
    rows = []
    for ratio in ratios:
        for m in methods:
            t = time.time()
            res = run_one(ds, m, ratio, args, dev)
            dt = res.get("total_time_s", time.time() - t)
            rows.append(dict(method=m, ratio=ratio, test_acc=res["final"]["test_acc"], noise_rate_used=res.get("noise_rate_used"),
                             noise_rate_source=res.get("noise_rate_source"), n_kept=res.get("n_kept"),
                             kept_label_precision=res.get("kept_label_precision"), time_s=dt, run=str(Path(args.runs))))
            print(f"  {m:24s} ratio {ratio:g}: test_acc {rows[-1]['test_acc']:.4f} ({dt:.0f}s)", flush=True)
    table, bars = summarise(rows, methods, ratios)
    res = dict(device=str(dev), n=len(ds), size=ds.size, arch=args.arch, epochs=args.epochs, bs=args.bs, opt=args.opt, quick=args.quick,
               noise_rate=args.noise_rate, seed=args.seed, rows=rows, table=table, bars=bars)
    if args.quick: print("(quick CPU settings: not the issue's 64 px / 14-class GPU setting; the bars are indicative only)")
    if args.out: Path(args.out).write_text(json.dumps(res, indent=2, default=float))
    return res


if __name__ == "__main__":
    main()
