"""Benchmark false_labels.noise.corrupt against naive baselines measured side by side in the same process.

Baselines do the same job without the guarantees: sym = `rng.choice(N, k, replace=False)` + a random other class;
matrix = an independent draw per sample from its row of T (inverse CDF). Run: `python bench/bench_noise.py [N | --quick]`.
Uses CUDA too when a GPU is present (timings include a synchronisation).
"""
import sys, time
import numpy as np
import torch
from false_labels.core import versions
from false_labels.noise.corrupt import corrupt, noise_matrix, _hash

PARENT = np.array([0, 0, 0, 0, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3])


def best_of(f, n=3):
    "Best wall time of `n` calls (seconds)."
    ts = []
    for _ in range(n):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts)


def naive_sym(y, r, C, rng):
    idx = rng.choice(len(y), round(r * len(y)), replace=False)
    out = y.copy(); out[idx] = (y[idx] + rng.integers(1, C, len(idx))) % C
    return out


def naive_matrix(y, T, rng):
    cdf = np.cumsum(T, 1)
    return np.minimum((rng.random(len(y))[:, None] > cdf[y]).sum(1), len(T) - 1)


def main(N=1_000_000, C=14, r=0.2):
    rng = np.random.default_rng(0)
    y = rng.integers(0, C, N)
    yt = torch.as_tensor(y)
    T = noise_matrix('sym', 0.3, C) * 0.5 + noise_matrix('pair', 0.3, C) * 0.5
    print(f"N={N:,} C={C} ratio={r}  torch threads={torch.get_num_threads()}  numpy {versions()['numpy']} torch {versions()['torch']}")
    rows = [('hash (numpy)', lambda: _hash(np.arange(N), 0, 0), lambda: rng.integers(0, 2**32, N)),
            ('sym (numpy)', lambda: corrupt(y, r), lambda: naive_sym(y, r, C, rng)),
            ('sym (torch cpu)', lambda: corrupt(yt, r), lambda: naive_sym(y, r, C, rng)),
            ('pair (numpy)', lambda: corrupt(y, r, 'pair'), lambda: naive_sym(y, r, C, rng)),
            ('hier-within (numpy)', lambda: corrupt(y, r, 'hier-within', parents=PARENT), lambda: naive_sym(y, r, C, rng)),
            ('matrix, T as given (numpy)', lambda: corrupt(y, None, 'matrix', T=T), lambda: naive_matrix(y, T, rng)),
            ('matrix, T as given (torch cpu)', lambda: corrupt(yt, None, 'matrix', T=T), lambda: naive_matrix(y, T, rng))]
    if torch.cuda.is_available():
        yg = yt.cuda()
        def on_gpu(f):
            def g(): f(); torch.cuda.synchronize()
            return g
        rows += [('sym (cuda)', on_gpu(lambda: corrupt(yg, r)), lambda: naive_sym(y, r, C, rng)),
                 ('matrix (cuda)', on_gpu(lambda: corrupt(yg, None, 'matrix', T=T)), lambda: naive_matrix(y, T, rng))]
        n_np, m_np = corrupt(y, r); n_g, m_g = corrupt(yg, r)
        assert (n_g.cpu().numpy() == n_np).all() and (m_g.cpu().numpy() == m_np).all()
        print("cuda result == numpy result: ok")
    print(f"{'operation':32s} {'ours (s)':>9s} {'baseline (s)':>13s} {'ratio':>7s}")
    for name, ours, base in rows:
        a, b = best_of(ours), best_of(base)
        print(f"{name:32s} {a:9.4f} {b:13.4f} {a / b:7.2f}")


if __name__ == '__main__':
    args = sys.argv[1:]
    if "--quick" in args: main(100_000)                  # smoke-sized (make bench)
    else: main(int(args[0]) if args else 1_000_000)
