"""The protocol where noise hurts (issue 14): does plain cross-entropy memorise the noise, and do the robust methods
survive it? Every method runs through the user path, `robust.train_method` (the `--method` of `false-labels train`),
and writes a normal run folder; the oracle runs through `learn.train_run` with a setup that keeps the truly clean
samples (the ceiling of every dropping method).

One generated 14-class dataset, one recipe without augmentation and with enough epochs to memorise. For every method
and noise ratio it prints, per epoch (from the run folder): the clean test accuracy and, on the corrupted training
samples, the share predicted as their *given* (false) label (memorisation: margin > 0 in sample_stats.npz). Then
best-epoch vs last-epoch test accuracy and the issue's bars, measured side by side in this process:
  recovery  (method_last - ce_last) / (clean_last - ce_last) >= 0.70 at 40 % noise (clean: CE at 0 %)
  no harm   at 0 % noise no method is more than 1 point below plain CE (last epoch)
Methods needing a noise rate estimate it as a user's run does (`--noise-rate known` gives them the realised one).

CPU (default): python bench/bench_protocol.py --noise sym,pair --noise-rate known \
                 --methods ce,oracle,coteaching,elr,dividemix,coteaching-plus
               (6,000 images at 16 px: 4,194 training; cpu_net_small, 15 epochs, fp32; PROTOCOLS['cpu'])
CPU (small):   python bench/bench_protocol.py --quick ...   (1,500 images at 16 px: 1,050 training; basic_cnn, 20 epochs)
GPU:           python bench/bench_protocol.py --device cuda ...   (14,000 images at 32 px, basic_cnn, 40 epochs, bf16)
Real photos:   python bench/bench_protocol.py --cifar /work/cifar --threads 2 ...   (10,000 CIFAR-10 training JPEGs, the full
               test folder; cpu_net, 15 epochs, bf16 where the CPU has it; 10 classes)
Runs go to --runs (a finished run there is reused, so a protocol can be run in pieces); --threads 1 on a shared CPU
(2 threads spin-wait when other processes hold the cores: a 15-epoch CE run took 570-710 s at load 7-9 with 2 threads).
fp32 on the CPU: bf16 autocast doubled a 16 px epoch here (69 s vs 33 s for cpu_net_small, load ~9).

Measured, CPU protocol (6,000 generated images at 16 px, 14 classes: 4,194 training / 602 valid / 1,204 test;
cpu_net_small, AdamW 3e-3 one-cycle, bs 128, no augmentation, wd 0, fp32, 15 epochs, seed 0; noise rate 'known';
2 shared cores, nice 15, load 3.6-8.9), clean test accuracy:
  method            noise  ratio  best   last   memorised  recovery (last)   seconds (load, threads)
  ce                none   0.0    0.915  0.914  -                            570 (6.9, 2)
  elr               none   0.0    0.914  0.914  -          no harm +0.001     42 (3.9, 1)
  coteaching        none   0.0    0.914  0.906  -          no harm -0.008     82 (4.7, 1)
  ce                sym    0.4    0.630  0.563  0.79       (loses 0.351)     713 (8.5, 2)
  oracle            sym    0.4    0.859  0.859  0.01       +0.84              16 (3.7, 2)
  coteaching        sym    0.4    0.836  0.836  0.09       +0.78             339 (4.2, 2)
  coteaching-plus   sym    0.4    0.757  0.757  0.04       +0.55              94 (6.1, 1)
  elr               sym    0.4    0.748  0.741  0.29       +0.51             226 (4.3, 2)
  elr beta .9 lam 7 sym    0.4    0.745  0.743  0.33       +0.51              58 (5.0, 1)   (CIFAR-100 settings)
  dividemix         sym    0.4    0.418  0.292  0.05       -0.77             133 (6.0, 1)
  ce                pair   0.4    0.603  0.566  0.71       (loses 0.347)      56 (5.2, 1)
  oracle            pair   0.4    0.850  0.844  0.01       +0.80              43 (5.1, 1)
  elr               pair   0.4    0.692  0.686  0.40       +0.34              56 (5.1, 1)
  coteaching        pair   0.4    0.631  0.630  0.34       +0.18              88 (5.1, 1)
  coteaching-plus   pair   0.4    0.517  0.517  0.37       -0.14              58 (5.5, 1)
  dividemix         pair   0.4    0.417  0.411  0.22       -0.45             183 (6.2, 1)
  relabel-retrain   sym    0.4    0.654  0.649  -          +0.24             114 (1.0, 1)   relabel precision 0.45-0.47
  relabel-retrain   pair   0.4    0.602  0.537  -          -0.09             113 (1.0, 1)
  forward           none   0.0    0.925  0.914  -          no harm +0.000     67 (1.5, 1)   T from the clean validation split (glc)
  forward           sym    0.4    0.746  0.746  0.16       +0.52              72 (1.5, 1)
  forward           pair   0.4    0.856  0.856  0.05       +0.83              65 (1.5, 1)   above the oracle (+0.80)
Probes (method_kw), same protocol, 1 thread:
  dividemix bs 32   sym    0.4    0.743  0.743  0.02       +0.51             190 (5.2)   labelled 60 % (86 % clean) -> 53 % (97 %)
  dividemix bs 32   pair   0.4    0.706  0.706  0.15       +0.40             221 (4.1)   best at pair-flip; both still rising
  dividemix bs 32   none   0.0    0.768  0.768  -          no harm -0.145    226        fails the 0 % bar: step-starved too
  coteaching ng 2   sym    0.4    0.789  0.783  0.09       +0.63              62 (5.5)   num_gradual 2 (default 5: +0.78)
  coteaching ng 2   pair   0.4    0.555  0.537  0.45       -0.08              71 (5.9)   (default: +0.18)
  relabel fold_best sym    0.4    0.686  0.682  0.22       +0.34             157 (1.2)   k-fold models stopped at their best held-out epoch
  relabel fold_best pair   0.4    0.580  0.564  0.47       -0.01             127 (1.2)
  forward, T known  pair   0.4    0.872  0.872  -          +0.88              50 (1.1)   the method's ceiling (transition='known')
  forward, T known  sym    0.4    0.764  0.737  -          +0.50              57 (1.1)
  forward anchor    pair   0.4    0.701  0.685  -          +0.34              60 (1.5)   fold_best; its T puts 0.20 on the pair (truth 0.40)
  forward cl        pair   0.4    0.646  0.638  -          +0.21              54 (1.5)   the confident joint splits the pair mass both ways
  forward cl, rate  pair   0.4    0.662  0.654  -          +0.25              57 (1.5)   level 'rate': scaled to the known 0.40
  forward glc, rate pair   0.4    0.826  0.820  -          +0.73              43 (1.5)   level 'rate' (default 'estimate': +0.83)
Forward loss correction (`--method forward`, added after the table's first rows) is the pair-flip answer: with T read
off the clean validation samples (Gold Loss Correction's estimate: row i = the mean predicted given-label distribution of
the validation images of class i, from a network trained on the noisy labels; pair mass 0.355 for a true 0.40, 0.026 on
the reverse neighbour) it recovers 0.83 at pair-flip, above the oracle, and costs nothing at 0 %. Its estimate of T is
the whole game: the same loss with T from anchor points or the confident joint of out-of-fold probabilities recovers
0.21-0.34. At symmetric noise it recovers 0.52 (0.50 with the true T): co-teaching stays the method there.
Second seed (`--seed 1`: the same images, other noise draws, initial weights and order; 1 thread, load 1.5-2.5 beside
CI): CE 0.925 clean, 0.591 sym / 0.619 pair at 40 %; co-teaching 0.829 sym (+0.71), 0.629 pair (+0.03); forward 0.769
sym (+0.53), 0.859 pair (+0.78); at 0 % co-teaching +0.000, forward -0.005. Over the two seeds: the best method recovers
0.71-0.78 at symmetric noise (co-teaching) and 0.78-0.83 at pair-flip (forward).
Bars: CE memorises (79 % sym / 71 % pair of the corrupted samples predicted as their false label at the end, 8 % / 35 %
at epoch 6) and falls from its peak (0.630 at epoch 8 / 0.603 at epoch 10) to 0.563 / 0.566 against 0.914 on clean
labels. The oracle (CE on the 2,516 truly clean samples) recovers 84 % / 80 % of that loss, so the split is big enough.
40 % symmetric: co-teaching clears the 0.70 bar (+0.78); ELR and DivideMix (bs 32) reach +0.51 and do not beat it.
40 % pair-flip: no method reaches the bar; DivideMix with bs 32 is best (+0.40), then ELR (+0.34), both above
co-teaching (+0.18): the flips map each subclass onto its neighbour, a consistent pattern the network fits from the
first epochs (CE: 31 % memorised at epoch 3), so co-teaching's small-loss picks stay only 72-76 % clean (94 % at sym);
a faster forget ramp makes it worse (num_gradual 2). No harm at 0 %: ELR +0.001, co-teaching -0.008 (bar -0.01); DivideMix (bs 32) -0.145.
DivideMix at its defaults is starved here: its warm-up (3 epochs, SGD 0.02 at batch 2 x 128: ~50 steps) leaves both
networks near chance (warm-up loss 2.35 vs ln 14 = 2.64), the GMM's low-loss component is then only 10-13 % of the
samples (97-99 % clean), and as in the reference an epoch is len(labelled) // bs + 1 = 5 steps: ~60 MixMatch steps in
all (the paper's CIFAR-10 warm-up alone is ~3,900 steps). method_kw bs 32 gives it 4x the steps and the +0.51 / +0.40
above, still rising at epoch 15: a longer schedule (the GPU protocol) is where DivideMix can be judged.

Real photos (`--cifar /work/cifar --threads 2`: 10,000 CIFAR-10 training JPEGs, 1,000 per class, all of them training;
validation: 500 test images (copies, 50 per class); test: the full 10,000-image test folder; cpu_net, AdamW one-cycle, bs 128,
no augmentation, bf16, 15 epochs, seed 0, noise rate known; quiet machine, load 1.5-2.0), clean test accuracy:
  method            noise  ratio  best   last   memorised  recovery (last)   seconds (2 threads)
  ce                none   0.0    0.731  0.730  -                            261
  coteaching        none   0.0    0.731  0.730  -          no harm +0.000    446   (forget rate 0: its first network is CE's)
  forward           none   0.0    0.727  0.727  -          no harm -0.003    428   (T from the validation split: glc)
  ce                sym    0.4    0.514  0.422  0.95       (loses 0.308)     255
  oracle            sym    0.4    0.693  0.693  0.04       +0.88             194
  coteaching        sym    0.4    0.643  0.641  0.20       +0.71             487
  forward           sym    0.4    0.611  0.606  0.23       +0.60             424
CE memorises 95 % of the corrupted labels and falls from its peak 0.514 (epoch 6) to 0.422; co-teaching recovers 71 %
of the loss (bar 0.70: met), forward 60 %; neither costs anything at 0 %. (ELR and DivideMix were not run here: on the
generated protocol both stay below co-teaching at symmetric noise.)

Earlier, small CPU protocol (--quick: 1,050 training images at 16 px, basic_cnn, AdamW 1e-3 one-cycle, bs 128, no
augmentation, wd 0, fp32, 20 epochs, sym noise, rate 'known'; 2 shared cores, load 0.8-6.8), clean test accuracy:
  method            ratio  best   last   memorised  recovery (last)
  ce                0.0    0.672  0.666  -
  ce                0.4    0.385  0.382  0.71       (loses 0.284)
  oracle            0.4    0.456  0.456  0.04       +0.26
  coteaching        0.4    0.416  0.416  0.21       +0.12
  coteaching-plus   0.4    0.392  0.392  0.12       +0.04
  elr               0.4    0.375  0.375  0.54       -0.02
  relabel-retrain   0.4    0.362  0.358  -          -0.08   (cl, 4 folds: 247 relabelled at precision 0.30, 173 dropped at 0.66)
  dividemix         0.4    0.345  0.345  0.06       -0.13   (method_kw bs 32, lr 0.05; still rising at epoch 20)
At 0 % (no harm, bar -0.01 vs CE 0.666 last): coteaching 0.649 (-0.017), elr 0.639 (-0.027), coteaching-plus 0.588
(-0.078: the disagreement rule starves it), dividemix 0.362 (-0.30; 0.453 at the end of its warm-up, then its GMM still
splits off a "noisy" share and the MixMatch phase loses ground).
CE memorises (71 % of the corrupted samples predicted as their false label), so noise hurts here; but with 1,050
images even the oracle (630 clean images) recovers only 26 %, and the two-network / relabelling methods are starved
(DivideMix's SGD takes few steps; out-of-fold models are weak): a larger split is needed for the issue's bar.
"""
import argparse, json, os, subprocess, tempfile, time, warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from false_labels.training.learner import Prepared, make_learner, train_run
from false_labels.methods.registry import train_method

from common import bench_dataset

PROTOCOLS = {   # defaults per device: the CPU one runs in minutes per run on 2 cores; bf16 doubles a CPU epoch at 16 px
    "cpu": dict(n=6000, size=16, arch="cpu_net_small", epochs=15, precision="fp32"),
    "cuda": dict(n=14000, size=32, arch="basic_cnn", epochs=40, precision="bf16"),
    "quick": dict(n=1500, size=16, arch="basic_cnn", epochs=20, precision="fp32"),
    "cifar": dict(n=10000, size=32, arch="cpu_net", epochs=15, precision="auto"),   # --cifar ROOT: real photos, 10 classes
}
METHODS = ("ce", "oracle", "coteaching", "elr", "coteaching-plus", "dividemix", "relabel-retrain", "forward")


def oracle_setup(run):
    "Cross-entropy on the truly clean training samples only."
    tr, info = run.dls.train, run.dls.info
    keep = torch.as_tensor(~np.asarray(info.corrupted), device=tr.ids.device)
    sub = tr.new(ids=tr.ids[keep], labels=tr.labels[keep], true_labels=tr.true_labels[keep], drop_last=int(keep.sum()) > tr.bs)
    dls = type(run.dls)(sub, run.dls.valid, run.dls.test, info=info, path=run.dls.path, device=run.dls.device)
    return Prepared(make_learner(dls, path=run.out, **run.recipe), kept=keep.cpu().numpy(), params=dict(method="oracle"))


def run(method, ds, noise, ratio, args, out):
    kw = dict(task=args.task, noise=noise, ratio=ratio, arch=args.arch, epochs=args.epochs, seed=args.seed, bs=args.bs,
              lr=args.lr, opt=args.opt, wd=args.wd, precision=args.precision, augment=False, device=args.device,
              overwrite=True)                                      # an interrupted run is redone
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "oracle": res = train_run(ds, out, method=oracle_setup, **kw)
        else:
            nr = None if args.noise_rate is None else ("known" if args.noise_rate == "known" else float(args.noise_rate))
            res = train_method(ds, out, method=method, noise_rate=nr if method != "ce" else None,
                               method_kw=args.method_kw.get(method), **kw)
    secs = time.perf_counter() - t
    m = pd.read_csv(out/"metrics.csv")
    z = np.load(out/"sample_stats.npz")
    cor = z["corrupted"]
    mem = (z["margin"][:, cor] > 0).mean(1) if cor.any() else np.full(len(m), np.nan)
    accs = m["test_acc"].to_numpy()
    rows = [dict(epoch=int(e), test_acc=float(a), memorised=float(x)) for e, a, x in zip(m["epoch"], accs, mem)]
    return dict(method=method, ratio=ratio, realised=res["realised_ratio"], best=float(accs.max()),
                best_epoch=int(accs.argmax()), last=float(accs[-1]), memorised_last=float(mem[-1]) if cor.any() else None,
                seconds=secs, rows=rows, noise_rate_used=res.get("noise_rate_used"), noise_rate_source=res.get("noise_rate_source"),
                prep_time_s=res.get("prep_time_s"), out=str(out))


def show(res):
    nr = res.get("noise_rate_used")
    print(f"\n== {res['method']} at {res['noise']} {res['ratio']:.0%} (realised {res['realised']:.3f}): "
          f"best {res['best']:.4f} (epoch {res['best_epoch']}), last {res['last']:.4f}, {res['seconds']:.0f} s"
          + (f", noise rate {nr:.3f} ({res['noise_rate_source']})" if nr is not None else ""), flush=True)
    print("epoch  test_acc  memorised")
    for r in res["rows"]: print(f"{r['epoch']:5d}  {r['test_acc']:.4f}    {r['memorised']:.4f}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data"); p.add_argument("--n", type=int, default=None, help="images (default: see PROTOCOLS)")
    p.add_argument("--size", type=int, default=None); p.add_argument("--arch", default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--bs", type=int, default=128); p.add_argument("--opt", default="adamw"); p.add_argument("--lr", type=float, default=None)
    p.add_argument("--wd", type=float, default=0.0, help="weight decay (0: let CE memorise)")
    p.add_argument("--precision", default=None, help="fp32, bf16 or auto (default: see PROTOCOLS)")
    p.add_argument("--noise", default="sym", help="noise kinds, comma-separated: sym, pair (e.g. sym,pair)"); p.add_argument("--ratios", default="0,0.4")
    p.add_argument("--noise-rate", default=None, help="None: estimate (the user path); 'known'; or a number")
    p.add_argument("--methods", default=",".join(METHODS)); p.add_argument("--seed", type=int, default=0)
    p.add_argument("--method-kw", type=json.loads, default={}, help='JSON: method -> its method_kw, e.g. \'{"dividemix": {"bs": 32}}\'')
    p.add_argument("--device", default="cpu"); p.add_argument("--threads", type=int, default=None,
                   help="torch threads (default on CPU: 1; several threads spin-wait on a shared machine)")
    p.add_argument("--folder", default=None, help="where the generated dataset is kept (reused)")
    p.add_argument("--runs", default=None, help="where the run folders go (default: a temporary folder); "
                   "a run already finished there (bench.json) is reused")
    p.add_argument("--json", default=None, help="write all results here (rewritten after every run)")
    p.add_argument("--quick", action="store_true", help="the small CPU protocol (1,500 images at 16 px, basic_cnn)")
    p.add_argument("--cifar", default=None, metavar="ROOT",
                   help="real photos: the 10,000-image CIFAR-10 subset of ROOT/train (1,000 per class) and its full test folder")
    args = p.parse_args()
    proto = PROTOCOLS["cifar" if args.cifar else "quick" if args.quick else "cuda" if args.device.startswith("cuda") else "cpu"]
    for k, v in proto.items():
        if getattr(args, k) is None: setattr(args, k, v)
    if args.threads or args.device == "cpu": torch.set_num_threads(args.threads or 1)
    print("machine:", os.cpu_count(), "cores;", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
          "| device", args.device, flush=True)
    args.task = 14
    if args.cifar:
        from bench_cifar import load_subset, subset_dataset
        if not (Path(args.cifar)/"train").is_dir(): print(f"no CIFAR-10 folder at {args.cifar}: skipped"); return
        ds, args.task = subset_dataset(*load_subset(args.cifar, args.n // 10)), "label"
    else: ds = bench_dataset(args.data, args.n, args.size, folder=args.folder or "/tmp/bench_protocol", prefix="bench_protocol_")
    runs = Path(args.runs or tempfile.mkdtemp(prefix="bench_protocol_runs_"))
    ratios = [float(r) for r in args.ratios.split(",")]
    methods, kinds = args.methods.split(","), args.noise.split(",")
    results = []
    for noise in kinds:
        for ratio in ratios:
            if ratio == 0 and noise != kinds[0]: continue                 # 0 % is the same run for every kind
            for m in methods:
                if m == "oracle" and ratio == 0: continue
                out = runs/f"{m}_{noise}_{ratio}"
                if args.runs and (out/"bench.json").exists():          # a finished run of an earlier call: reused
                    res = json.loads((out/"bench.json").read_text()); results.append(res); show(res); continue
                res = run(m, ds, noise, ratio, args, out); res["noise"] = noise if ratio else "none"
                res["load"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
                (out/"bench.json").write_text(json.dumps(res))
                show(res); results.append(res)
                print("load:", res["load"], flush=True)
                if args.json: Path(args.json).write_text(json.dumps(results, indent=1))
    summary(results, methods, ratios, kinds)


def summary(results, methods, ratios, kinds):
    "The table and the issue's bars, from `results`."
    print("\n== summary (clean test accuracy)")
    print(f"{'method':16s} {'noise':>5s} {'ratio':>6s} {'best':>7s} {'last':>7s} {'memorised':>9s} {'seconds':>8s}")
    for r in results:
        mem = r["memorised_last"]
        print(f"{r['method']:16s} {r['noise']:>5s} {r['ratio']:6.2f} {r['best']:7.4f} {r['last']:7.4f} "
              f"{'' if mem is None else f'{mem:9.4f}':>9s} {r['seconds']:8.0f}")
    last = {(r["method"], r["noise"], r["ratio"]): r["last"] for r in results}
    clean = last.get(("ce", "none", 0.0))
    if clean is None: return
    for noise in kinds:
        for ratio in [r for r in ratios if r > 0]:
            lost = clean - last.get(("ce", noise, ratio), np.nan)
            if not lost > 0: continue
            print(f"{noise} {ratio:.0%}: CE loses {lost:.4f} (last epoch); recovery = (method_last - ce_last) / (clean_last - ce_last)")
            for m in methods:
                if m != "ce" and (m, noise, ratio) in last:
                    print(f"  {m:16s} {(last[(m, noise, ratio)] - last[('ce', noise, ratio)]) / lost:+.2f} (bar 0.70)")
    for m in methods:
        if m not in ("ce", "oracle") and (m, "none", 0.0) in last:
            print(f"no harm at 0 %: {m} {last[(m, 'none', 0.0)] - clean:+.4f} vs CE (bar >= -0.01)")

if __name__ == "__main__":
    main()
