"""Tests for false_labels.noise.corrupt: exact, nested, reproducible corruption; real labels; theory."""
import numpy as np
import pandas as pd
import pytest
import torch
import altair as alt
from hypothesis import given, settings, assume, HealthCheck, strategies as st

from false_labels.noise.corrupt import (NOISE_KINDS, CIFAR10_CLASSES, CIFAR10_ASYM_MAP, corrupt, symmetric_noise, pair_noise, transition_noise, hierarchical_noise, noise_matrix, nested_corrupt, corrupt_split, check_ratio, compare_labels, _hash, _mul32, _mix32, _quota_sequence)
from false_labels.noise.real import read_labels_csv
from false_labels.noise.theory import expected_noisy_accuracy, label_precision, label_recall
from false_labels.noise.charts import plot_transition_matrix, plot_realised_ratios

PARENT = np.array([0, 0, 0, 0, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3])     # as false_labels.data.alter.PARENT
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _kw(kind, C, rng=None):
    "Keyword arguments that make `kind` usable on C classes (hier kinds use the 14-subclass taxonomy)."
    if kind == 'matrix':
        rng = rng or np.random.default_rng(C)
        T = rng.dirichlet(np.ones(C), size=C) * 0.5 + np.eye(C) * 0.5
        return dict(T=T)
    if kind.startswith('hier'): return dict(parents=PARENT)
    return {}


def _informative(kind, y, r, C, kw):
    "Oracle from the expected matrix: every present class keeps its label more often than any single wrong one."
    if kind == 'matrix': return True
    p = np.bincount(y, minlength=C)
    try: M = noise_matrix(kind, r, C, priors=p, **kw)
    except ValueError: return False                              # asks for more flips than eligible samples
    off = np.where(np.eye(C, dtype=bool), -np.inf, M).max(1)
    rows = p > 0
    gap = np.diag(M)[rows] - off[rows]
    assume(np.all(np.abs(gap) > 1e-9))                            # stay off the exact boundary (float rounding)
    return bool(np.all(gap > 0))


labels_st = st.integers(2, 14).flatmap(lambda C: st.tuples(st.just(C), st.lists(st.integers(0, C - 1), min_size=1, max_size=300)))


# ---------------------------------------------------------------- hashing
def test_hash_is_identical_for_ints_numpy_and_torch():
    ids = np.arange(0, 2**32, 2**32 // 997, dtype=np.int64)[:997]
    h = _hash(ids, 123, 0)
    assert h.tolist() == _hash(torch.as_tensor(ids), 123, 0).tolist()
    assert h[:20].tolist() == [_hash(int(i), 123, 0) for i in ids[:20]]
    assert h.min() >= 0 and h.max() < 2**32
    x = np.random.default_rng(0).integers(0, 2**32, 5000, dtype=np.int64)
    for m in (0x7FEB352D, 0x846CA68B, 0xFFFFFFFF, 1):
        assert (_mul32(x, m) == ((x.astype(np.uint64) * np.uint64(m)) & np.uint64(0xFFFFFFFF)).astype(np.int64)).all()
    assert len(np.unique(_mix32(np.arange(200_000)))) == 200_000       # bijection: no ties in priorities
    assert (_hash(ids, 1, 0) != h).mean() > 0.99 and (_hash(ids, 123, 1) != h).mean() > 0.99


# ---------------------------------------------------------------- exactness, mask, nesting, determinism, torch
@SETTINGS
@given(data=labels_st, kind=st.sampled_from(NOISE_KINDS), r=st.floats(0, 0.6), seed=st.integers(0, 2**40))
def test_exact_count_and_mask(data, kind, r, seed):
    C, y = data
    if kind.startswith('hier'): C, y = 14, [v % 14 for v in y]
    y = np.array(y)
    kw = _kw(kind, C)
    if not _informative(kind, y, r, C, kw):
        with pytest.raises(ValueError, match='too high|can change'): corrupt(y, r, kind, C, seed, **kw)
        return
    try: noisy, mask = corrupt(y, r, kind, C, seed, **kw)
    except ValueError as e:                                       # matrix: ratio beyond what T's shape allows
        assert kind == 'matrix' and 'too high for this T' in str(e); return
    assert mask.dtype == bool and noisy.dtype == y.dtype
    assert int(mask.sum()) == round(r * len(y))                   # exact count, every kind
    assert (mask == (noisy != y)).all()                           # the mask marks exactly the changed labels
    assert noisy.min() >= 0 and noisy.max() < C


@SETTINGS
@given(data=labels_st, kind=st.sampled_from(NOISE_KINDS), rs=st.lists(st.floats(0, 0.45), min_size=2, max_size=4, unique=True),
       seed=st.integers(0, 2**31))
def test_nested_with_same_false_labels(data, kind, rs, seed):
    C, y = data
    if kind.startswith('hier'): C, y = 14, [v % 14 for v in y]
    y = np.array(y)
    kw = _kw(kind, C)
    assume(all(_informative(kind, y, r, C, kw) for r in rs))
    try: fam = nested_corrupt(y, rs, kind, C, seed, **kw)
    except ValueError as e:
        assert kind == 'matrix' and 'too high for this T' in str(e); return
    assert list(fam) == sorted(rs)
    (n0, m0), *rest = fam.values()
    for n1, m1 in rest:
        assert m1[m0].all()                                       # corrupted set grows
        assert (n1[m0] == n0[m0]).all()                           # a corrupted sample keeps its false label
        assert (n1[~m1] == y[~m1]).all()                          # nothing flipped back
        n0, m0 = n1, m1


@SETTINGS
@given(data=labels_st, kind=st.sampled_from(NOISE_KINDS), r=st.floats(0, 0.45), seed=st.integers(0, 2**62),
       dtype=st.sampled_from([torch.int64, torch.int32, torch.int16]))
def test_numpy_equals_torch(data, kind, r, seed, dtype):
    C, y = data
    if kind.startswith('hier'): C, y = 14, [v % 14 for v in y]
    y = np.array(y)
    kw = _kw(kind, C)
    assume(_informative(kind, y, r, C, kw))
    yt = torch.as_tensor(y, dtype=dtype)
    try: n_np, m_np = corrupt(y, r, kind, C, seed, **kw)
    except ValueError as e:                      # refused: torch must refuse the same input with the same message
        with pytest.raises(ValueError) as et: corrupt(yt, r, kind, C, seed, **kw)
        assert str(et.value) == str(e)
        return
    n_t, m_t = corrupt(yt, r, kind, C, seed, **kw)
    assert isinstance(n_t, torch.Tensor) and n_t.dtype == dtype and m_t.dtype == torch.bool
    assert n_t.device == yt.device
    assert (n_t.numpy() == n_np).all() and (m_t.numpy() == m_np).all()


@pytest.mark.parametrize('kind', NOISE_KINDS)
def test_deterministic_and_seed_dependent(kind):
    C = 14
    y = np.arange(1400) % C
    kw = _kw(kind, C)
    a = corrupt(y, 0.1, kind, C, 3, **kw)
    b = corrupt(y, 0.1, kind, C, 3, **kw)
    c = corrupt(y, 0.1, kind, C, 4, **kw)
    assert (a[0] == b[0]).all() and (a[1] == b[1]).all()
    assert (a[1] != c[1]).any()
    assert not np.shares_memory(a[0], y) and (y == np.arange(1400) % C).all()   # input untouched


def test_fourteen_classes_half_percent_flips_exactly():
    for per_class in (1150, 1000, 37):
        y = np.repeat(np.arange(14), per_class)
        for kind in NOISE_KINDS:
            kw = dict(T=noise_matrix('sym', 0.005, 14)) if kind == 'matrix' else _kw(kind, 14)
            _, mask = corrupt(y, 0.005, kind, 14, 0, **kw)
            assert int(mask.sum()) == round(0.005 * len(y)), (kind, per_class)
    for per_class in (1150, 1000):                                 # T as given: the expected count, rounded
        _, mask = transition_noise(np.repeat(np.arange(14), per_class), noise_matrix('sym', 0.005, 14))
        assert abs(int(mask.sum()) - 0.005 * 14 * per_class) <= 0.5 + 1e-9   # cleanlab's truncation flips none


def test_output_types():
    y = np.arange(100, dtype=np.int32) % 5
    n, m = corrupt(y, 0.2)
    assert n.dtype == np.int32 and m.dtype == bool
    n, m = corrupt(y.tolist(), 0.2)
    assert isinstance(n, np.ndarray) and n.dtype == np.int64 and int(m.sum()) == 20
    n, m = corrupt(np.array([], dtype=np.int64), 0.3, n_classes=3)
    assert n.shape == (0,) and m.shape == (0,)
    n, m = corrupt(y, 0.0)
    assert (n == y).all() and not m.any()


def test_tensor_subclasses_stay_tensors():
    class Labels(torch.Tensor): pass                              # like fastai's TensorCategory
    y = torch.arange(40).remainder(4).as_subclass(Labels)
    noisy, mask = corrupt(y, 0.25, seed=1)
    assert isinstance(noisy, torch.Tensor) and int(mask.sum()) == 10
    assert (noisy.as_subclass(torch.Tensor).numpy() == corrupt(np.arange(40) % 4, 0.25, seed=1)[0]).all()


def test_ids_key_the_hash():
    y = np.arange(50) % 5
    n1, m1 = corrupt(y, 0.2, ids=np.arange(50))
    n2, m2 = corrupt(y, 0.2)
    assert (n1 == n2).all() and (m1 == m2).all()
    n3, m3 = corrupt(y, 0.2, ids=np.arange(50) + 1000)
    assert int(m3.sum()) == 10 and (m3 != m1).any()
    with pytest.raises(ValueError, match='one entry per label'): corrupt(y, 0.2, ids=np.arange(3))
    with pytest.raises(ValueError, match=r'\[0, 2\*\*32\)'): corrupt(y, 0.2, ids=np.arange(50) - 1)
    with pytest.raises(ValueError, match='distinct'): corrupt(y, 0.2, ids=np.arange(50) // 2)


def test_symmetric_false_labels_are_uniform_over_other_classes():
    C, N = 5, 50_000
    y = np.arange(N) % C
    noisy, mask = symmetric_noise(y, 0.4, seed=9)
    cnt = pd.crosstab(y[mask], noisy[mask]).values
    off = cnt[~np.eye(C, dtype=bool)].reshape(C, C - 1)
    exp = mask.sum() / (C * (C - 1))
    assert np.abs(off - exp).max() < 5 * np.sqrt(exp)              # roughly uniform, never the true class
    assert np.abs(np.bincount(y[mask], minlength=C) - mask.sum() / C).max() < 5 * np.sqrt(mask.sum() / C)


# ---------------------------------------------------------------- pair
def test_pair_default_and_maps():
    y = np.arange(400) % 4
    n, m = pair_noise(y, 0.3, seed=1)
    assert int(m.sum()) == 120 and (n[m] == (y[m] + 1) % 4).all()
    yc = np.arange(1000) % 10
    n, m = corrupt(yc, 0.2, 'pair', mapping=CIFAR10_ASYM_MAP, classes=CIFAR10_CLASSES)
    names = np.array(CIFAR10_CLASSES)
    pairs = set(zip(names[yc[m]], names[n[m]]))
    assert pairs <= set(CIFAR10_ASYM_MAP.items()) and int(m.sum()) == 200
    assert pairs == set(CIFAR10_ASYM_MAP.items())
    n2, m2 = pair_noise(yc, 0.2, mapping={9: 1, 2: 0, 4: 7, 3: 5, 5: 3})                     # same map by index
    assert (n2 == n).all() and (m2 == m).all()
    n3, m3 = pair_noise(y, 0.2, mapping=[1, 0, -1, 2])                                      # array; 2 is never changed
    assert (y[m3] != 2).all() and (n3[m3] == np.array([1, 0, -1, 2])[y[m3]]).all()


def test_pair_mapping_errors():
    y = np.arange(100) % 10
    with pytest.raises(ValueError, match="unknown class 'lorry'.*valid: airplane"):
        pair_noise(y, 0.1, mapping={'truck': 'lorry'}, classes=CIFAR10_CLASSES)
    with pytest.raises(ValueError, match='pass classes='): pair_noise(y, 0.1, mapping=CIFAR10_ASYM_MAP)
    with pytest.raises(ValueError, match='class 12'): pair_noise(y, 0.1, mapping={0: 12})
    with pytest.raises(ValueError, match='3 entries for 10 classes'): pair_noise(y, 0.1, mapping=[1, 2, 0])
    with pytest.raises(ValueError, match='changes no class'): pair_noise(y, 0.1, mapping={0: 0})
    with pytest.raises(ValueError, match=r'use ratio < 0\.25'):                              # half the classes mapped
        pair_noise(y, 0.25, mapping=CIFAR10_ASYM_MAP, classes=CIFAR10_CLASSES)
    with pytest.raises(ValueError, match='only 20 of 100 can change'): pair_noise(y, 0.3, mapping={0: 1, 1: 0})


# ---------------------------------------------------------------- hierarchy
@SETTINGS
@given(y=st.lists(st.integers(0, 13), min_size=20, max_size=300), r=st.floats(0, 0.3), seed=st.integers(0, 10**9))
def test_hierarchy_constraints(y, r, seed):
    y = np.array(y)
    assume(np.isin(y, [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13]).mean() > 0.6)
    nw, mw = hierarchical_noise(y, r, PARENT, 'hier-within', seed)
    na, ma = hierarchical_noise(y, r, PARENT, 'hier-across', seed)
    assert (PARENT[nw] == PARENT[y]).all() and (nw[mw] != y[mw]).all()     # within: the 4-class label survives
    assert not mw[y == 4].any()                                              # blur_gaussian has no sibling
    assert (PARENT[na[ma]] != PARENT[y[ma]]).all()                          # across: the class always changes
    assert int(mw.sum()) == int(ma.sum()) == round(r * len(y))


def test_hierarchy_errors():
    y = np.arange(140) % 14
    with pytest.raises(ValueError, match='needs `parents`'): corrupt(y, 0.1, 'hier-within')
    with pytest.raises(ValueError, match='14 entries but n_classes is 4'): corrupt(y, 0.1, 'hier-within', 4, parents=PARENT)
    with pytest.raises(ValueError, match='unknown hierarchical noise kind'): hierarchical_noise(y, 0.1, PARENT, 'hier')
    with pytest.raises(ValueError, match='label 13 .* outside'): hierarchical_noise(y, 0.1, PARENT[:10])
    with pytest.raises(ValueError, match='too high'): hierarchical_noise(y, 0.7, PARENT)


# ---------------------------------------------------------------- transition matrices
def _quota_reference(w, n, caps=None):
    "The quota method by its definition: each seat to the best w/(a+1) among parties below upper quota (linear scan)."
    q = np.asarray(w, float) / np.sum(w)
    cap = np.full(len(q), n + 1) if caps is None else np.asarray(caps)
    a, seq = np.zeros(len(q), int), []
    for h in range(n):
        free = (q > 0) & (a < cap)
        ok = free & (a < (h + 1) * q)
        ok = ok if ok.any() else free
        j = int(np.argmax(np.where(ok, q / (a + 1), -1)))
        a[j] += 1; seq.append(j)
    return np.array(seq, dtype=np.int64)


def test_quota_sequence_is_house_monotone_and_within_quota():
    rng = np.random.default_rng(0)
    for t in range(60):
        w = rng.dirichlet(np.full(rng.integers(1, 12), rng.uniform(0.1, 3)))
        w[rng.random(len(w)) < 0.2] = 0
        if t % 4 == 0: w = np.round(w * 6) / 6                       # rational shares hit quota boundaries exactly
        if w.sum() == 0: continue
        caps = rng.integers(0, 30, len(w)) if t % 3 == 0 else None
        n = 150 if caps is None else min(150, int(np.where(w > 0, caps, 0).sum()))
        seq = _quota_sequence(w, n, caps)
        assert (seq == _quota_reference(w, n, caps)).all()          # the fast two-heap version equals the definition
        if caps is not None: continue
        pref = np.cumsum(np.eye(len(w), dtype=int)[seq], axis=0)      # counts after each seat: monotone by construction
        share = np.arange(1, n + 1)[:, None] * w / w.sum()
        assert (np.abs(pref - share) < 1 + 1e-9).all()                # every prefix within quota
        assert (pref[:, w == 0] == 0).all()


@SETTINGS
@given(C=st.integers(2, 8), n=st.integers(1, 400), seed=st.integers(0, 10**6), conc=st.floats(0.1, 3))
def test_transition_counts_are_exact(C, n, seed, conc):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, n)
    T = rng.dirichlet(np.full(C, conc), size=C)
    noisy, mask = transition_noise(y, T, seed=seed)
    counts = np.zeros((C, C), int); np.add.at(counts, (y, noisy), 1)
    nc = np.bincount(y, minlength=C)
    assert (counts.sum(1) == nc).all()                                        # every row sums exactly
    v = nc * (1 - np.diag(T))
    K = round(v.sum())
    assert int(mask.sum()) == K == (nc - np.diag(counts)).sum()              # the total is exact
    m = nc - np.diag(counts)
    if K: assert (np.abs(m - K * v / v.sum()) < 1 + 1e-9).all()              # each class within quota of its share
    for c in np.flatnonzero(m):
        w = T[c].copy(); w[c] = 0
        off = np.delete(counts[c] - m[c] * w / w.sum(), c)
        assert (np.abs(off) < 1 + 1e-9).all()                                # each cell within quota of the class's flips
    assert (np.abs(counts - nc[:, None] * T) < 2 + 1e-9).all()               # so within two samples of n_c*T


def test_transition_with_ratio_keeps_shape():
    T = np.array([[0.8, 0.2, 0.0], [0.1, 0.6, 0.3], [0.0, 0.0, 1.0]])
    y = np.repeat([0, 1, 2], [300, 200, 100])
    noisy, mask = transition_noise(y, T, 0.1)
    assert int(mask.sum()) == 60 and not mask[y == 2].any()
    assert (noisy[(y == 0) & mask] == 1).all()
    emp = compare_labels(y, noisy)['transition'].values
    assert np.abs(emp - noise_matrix('matrix', 0.1, T=T, priors=np.bincount(y))).max() < 0.01
    with pytest.raises(ValueError, match='too high for this T'): transition_noise(y, T, 0.7)
    with pytest.raises(ValueError, match='changes no label'): transition_noise(y, np.eye(3), 0.1)
    n0, m0 = transition_noise(y, np.eye(3))
    assert not m0.any()


def test_T_validation_names_the_row():
    y = np.arange(30) % 3
    with pytest.raises(ValueError, match=r"row 1 \('b'\) sums to 0\.7"):
        transition_noise(y, [[1, 0, 0], [0.2, 0.5, 0], [0, 0, 1]], classes=['a', 'b', 'c'])
    with pytest.raises(ValueError, match=r'T\[0, 1\] = -0\.1 is negative'):
        transition_noise(y, [[1.1, -0.1, 0], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match='square'): transition_noise(y, np.ones((3, 2)) / 2)
    with pytest.raises(ValueError, match='NaN'): transition_noise(y, [[np.nan, 1, 0], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match='label 2 .* outside'): transition_noise(y, np.eye(2))
    with pytest.raises(ValueError, match='needs a transition matrix'): corrupt(y, 0.1, 'matrix')


# ---------------------------------------------------------------- expected matrices
def test_noise_matrix():
    for kind in ('sym', 'pair', 'hier-within', 'hier-across'):
        M = noise_matrix(kind, 0.2, 14, parents=PARENT if kind.startswith('hier') else None)
        assert np.allclose(M.sum(1), 1) and (M >= 0).all()
    assert np.allclose(noise_matrix('sym', 0.3, 4), np.where(np.eye(4, dtype=bool), 0.7, 0.1))
    M = noise_matrix('hier-within', 0.3, parents=PARENT)
    assert M[4, 4] == 1 and np.isclose(M[0, 0], 1 - 0.3 * 14 / 13) and M[0, 5] == 0
    with pytest.raises(ValueError, match='needs n_classes'): noise_matrix('sym', 0.1)
    with pytest.raises(ValueError, match='exceeds the share'): noise_matrix('pair', 0.6, 10, mapping={0: 1})
    big = np.arange(60_000) % 6
    noisy, _ = corrupt(big, 0.3, 'sym', seed=2)
    assert np.abs(compare_labels(big, noisy)['transition'].values - noise_matrix('sym', 0.3, 6)).max() < 0.01


# ---------------------------------------------------------------- bad input
def test_bad_input_messages():
    y = np.arange(100) % 4
    for r in (1, 1.0, -0.01, 7):
        with pytest.raises(ValueError, match=rf'ratio {r} is outside \[0, 1\)'): corrupt(y, r)
    for r in ('0.1', None, float('nan'), True):
        with pytest.raises(ValueError, match='ratio'): corrupt(y, r)
    with pytest.raises(ValueError, match=r'with 2 classes, symmetric noise at ratio >= 0\.5'): corrupt(np.arange(10) % 2, 0.5)
    with pytest.raises(ValueError, match=r'with 2 classes'): check_ratio(0.6, 2, 'sym')
    corrupt(np.arange(10) % 2, 0.4)
    with pytest.raises(ValueError, match=r'with 2 classes'): corrupt(np.array([1]), 0.5, n_classes=2)   # even when 0 flips
    with pytest.raises(ValueError, match=r'use ratio < 0\.75'): corrupt(y, 0.75)
    with pytest.raises(ValueError, match="unknown noise kind 'asym'; valid: sym, pair, matrix, hier-within, hier-across"):
        corrupt(y, 0.1, 'asym')
    with pytest.raises(ValueError, match=r'label 7 \(sample 3\) is outside'): corrupt(np.array([0, 1, 2, 7]), 0.1, n_classes=4)
    with pytest.raises(ValueError, match=r'label -1 \(sample 1\)'): corrupt(np.array([0, -1]), 0.1)
    with pytest.raises(ValueError, match='must be integers, got dtype float64'): corrupt(np.array([0.0, 1.0]), 0.1)
    with pytest.raises(ValueError, match='must be integers'): corrupt(torch.tensor([0.0, 1.0]), 0.1)
    with pytest.raises(ValueError, match='one-dimensional'): corrupt(np.zeros((2, 2), int), 0.1)
    with pytest.raises(ValueError, match='mapping is not used'): corrupt(y, 0.1, 'sym', mapping={0: 1})
    with pytest.raises(ValueError, match='parents is not used'): corrupt(y, 0.1, 'pair', parents=PARENT)
    with pytest.raises(ValueError, match='ratio None is only allowed'): corrupt(y, None)
    with pytest.raises(ValueError, match='seed 1.5 must be an integer'): corrupt(y, 0.1, seed=1.5)
    with pytest.raises(ValueError, match='at least 2 classes'): symmetric_noise(np.zeros(10, int), 0.2)
    with pytest.raises(ValueError, match='3 class names given for 4 classes'): corrupt(y, 0.1, classes=['a', 'b', 'c'], n_classes=4)


# ---------------------------------------------------------------- splits
def test_corrupt_split_only_train_by_default():
    split = np.array(['train'] * 600 + ['valid'] * 150 + ['test'] * 250)
    y = np.arange(1000) % 5
    noisy, mask = corrupt_split(y, split, 0.1)
    assert int(mask.sum()) == 60 and not mask[600:].any() and (noisy[600:] == y[600:]).all()
    n2, m2 = corrupt_split(y, split, 0.1, corrupt=('train', 'valid'))
    assert int(m2.sum()) == 75
    n3, m3 = corrupt_split(y, pd.Series(split), 0.1, corrupt='train', seed=0)
    assert (n3 == noisy).all()
    sub_n, sub_m = corrupt(y[:600], 0.1, ids=np.arange(600))                 # hash keyed by global sample position
    assert (sub_n == noisy[:600]).all()
    nt, mt = corrupt_split(torch.as_tensor(y), split, 0.1, 'hier-within', parents=np.array([0, 0, 1, 1, 1]))
    nn, mn = corrupt_split(y, split, 0.1, 'hier-within', parents=np.array([0, 0, 1, 1, 1]))
    assert (nt.numpy() == nn).all() and (mt.numpy() == mn).all()
    with pytest.raises(ValueError, match="unknown split 'val'; valid: test, train, valid"): corrupt_split(y, split, 0.1, corrupt='val')
    with pytest.raises(ValueError, match='splits has 3 entries for 1000 labels'): corrupt_split(y, ['train'] * 3, 0.1)


# ---------------------------------------------------------------- real noisy labels
def test_read_labels_csv(tmp_path):
    p = tmp_path / 'h.csv'
    p.write_text("path,label\ntrain/0.png,cat\ntrain/1.png,dog\n train/2.png ,3\n")
    assert read_labels_csv(p, classes=CIFAR10_CLASSES).tolist() == [3, 5, 3]
    assert read_labels_csv(p, ids=['train/1.png', 'train/2.png'], classes=CIFAR10_CLASSES).tolist() == [5, 3]
    from pathlib import Path
    assert read_labels_csv(p, ids=[Path('train/0.png')], classes=CIFAR10_CLASSES).tolist() == [3]
    q = tmp_path / 'ix.csv'
    q.write_text("image_id,given,annotator\n2,1,a\n0,0,b\n1,9,c\n")
    assert read_labels_csv(q, ids=np.arange(3)).tolist() == [0, 9, 1]
    assert read_labels_csv(q, ids=torch.arange(3)).tolist() == [0, 9, 1]
    assert read_labels_csv(q, ids=[0], id_col='image_id', label_col='given').tolist() == [0]


def test_read_labels_csv_errors(tmp_path):
    p = tmp_path / 'a.csv'
    p.write_text("id,label\n0,cat\n1,kitten\n2,puppy\n")
    with pytest.raises(ValueError, match=r"unknown class label\(s\) 'kitten' \(id 1\), 'puppy' \(id 2\); valid: airplane"):
        read_labels_csv(p, classes=CIFAR10_CLASSES)
    with pytest.raises(ValueError, match=r"not class indices: 'cat' \(id 0\).*pass classes="): read_labels_csv(p)
    p.write_text("id,label\n0,1\n1,2\n0,3\n5,1\n5,2\n")
    with pytest.raises(ValueError, match=r"duplicated id\(s\) '0', '5'"): read_labels_csv(p)
    p.write_text("id,label\n0,1\n1,2\n")
    with pytest.raises(ValueError, match=r"2 requested id\(s\) missing from column 'id': '7', '8'"): read_labels_csv(p, ids=[0, 7, 8])
    with pytest.raises(ValueError, match=r"'12' \(id 1\)"): read_labels_csv(_w(p, "id,label\n0,1\n1,12\n"), classes=CIFAR10_CLASSES)
    with pytest.raises(ValueError, match=r"'' \(id 1\)"): read_labels_csv(_w(p, "id,label\n0,1\n1,\n"))
    with pytest.raises(ValueError, match="unknown label column 'y'; valid: id, label"): read_labels_csv(_w(p, "id,label\n0,1\n"), label_col='y')
    with pytest.raises(ValueError, match='cannot tell which column holds the ids'): read_labels_csv(_w(p, "a,b,c\n0,1,2\n"))


def _w(p, text):
    p.write_text(text); return p


def test_compare_labels():
    y = np.repeat(np.arange(3), [50, 30, 20])
    noisy = y.copy(); noisy[:10] = 1; noisy[50:53] = 2
    out = compare_labels(y, noisy, ['a', 'b', 'c'])
    assert out['n'] == 100 and out['n_changed'] == 13 and np.isclose(out['noise_rate'], 0.13)
    assert out['counts'].loc['a', 'b'] == 10 and out['counts'].values.sum() == 100
    assert np.isclose(out['transition'].loc['a', 'b'], 0.2) and np.allclose(out['transition'].values.sum(1), 1)
    pc = out['per_class']
    assert pc.loc['a', 'n_changed'] == 10 and np.isclose(pc.loc['b', 'noise_rate'], 0.1) and pc.loc['a', 'top_false'] == 'b'
    assert pd.isna(pc.loc['c', 'top_false'])
    out_t = compare_labels(torch.as_tensor(y), torch.as_tensor(noisy), n_classes=4)
    assert np.isnan(out_t['transition'].values[3]).all() and out_t['n_changed'] == 13
    with pytest.raises(ValueError, match='clean has 100 labels but noisy has 2'): compare_labels(y, noisy[:2])


# ---------------------------------------------------------------- theory
def test_theory_formulas():
    assert np.isclose(expected_noisy_accuracy(0.0, 10), 1.0)
    assert np.isclose(expected_noisy_accuracy(0.5, 10, 'sym'), 0.25 + 0.25 / 9)
    assert np.isclose(expected_noisy_accuracy(0.4, 10, 'pair'), 0.36 + 0.16)
    assert np.isclose(expected_noisy_accuracy(0.5, 2, 'sym'), expected_noisy_accuracy(0.5, 2, 'pair'))
    assert np.isclose(label_precision(0.5, 10, 'sym'), 0.25 / (0.25 + 0.25 / 9))       # 0.9
    assert np.isclose(label_precision(0.5, 10, 'pair'), 0.5)
    assert np.isclose(label_precision(0.0, 4), 1.0)
    assert label_recall(0.3) == pytest.approx(0.7) and isinstance(label_recall(0.3), float)
    e = np.linspace(0, 0.9, 10)
    assert np.allclose(expected_noisy_accuracy(e, 14), (1 - e) ** 2 + e ** 2 / 13)
    # the formula is sum_d T[c, d]^2 of the expected matrix
    for kind in ('sym', 'pair'):
        M = noise_matrix(kind, 0.3, 7)
        assert np.isclose(expected_noisy_accuracy(0.3, 7, kind), (M ** 2).sum(1).mean())
    with pytest.raises(ValueError, match=r'noise rate 1\.0 is outside'): label_recall(1.0)
    with pytest.raises(ValueError, match='outside'): expected_noisy_accuracy(np.array([0.1, -0.2]), 4)
    assert np.isnan(expected_noisy_accuracy(np.array([0.1, np.nan]), 4)).tolist() == [False, True]   # missing stays missing
    with pytest.raises(ValueError, match="unknown theory kind 'hier-within'"): label_precision(0.1, 4, 'hier-within')
    with pytest.raises(ValueError, match='at least 2'): expected_noisy_accuracy(0.1, 1)


def test_theory_matches_simulation():
    "A 'model' that predicts a fresh noisy draw: accuracy vs noisy labels and LP/LR of the kept set match the formulas."
    C, N, eps = 6, 120_000, 0.3
    y = np.arange(N) % C
    given, _ = corrupt(y, eps, 'sym', seed=1)
    pred, _ = corrupt(y, eps, 'sym', seed=2)
    keep = pred == given
    assert abs(keep.mean() - expected_noisy_accuracy(eps, C)) < 0.01
    assert abs((given[keep] == y[keep]).mean() - label_precision(eps, C)) < 0.01
    assert abs(keep[given == y].mean() - label_recall(eps)) < 0.01


# ---------------------------------------------------------------- plots
def test_plots_return_charts():
    ch = plot_transition_matrix(noise_matrix('sym', 0.2, 3), ['a', 'b', 'c'])
    assert isinstance(ch, alt.LayerChart) and ch.to_dict()['title'] == 'P(given label | true class)'
    out = compare_labels(np.arange(30) % 3, np.arange(30) % 3)
    assert isinstance(plot_transition_matrix(out['transition'], fmt=''), alt.Chart)
    df = pd.DataFrame(dict(requested=[0.01, 0.1, 0.01, 0.1], realised=[0.01, 0.1, 0.0, 0.09], generator=['a', 'a', 'b', 'b']))
    for rel in (False, True):
        d = plot_realised_ratios(df, relative=rel).to_dict()
        assert 'layer' in d
    assert isinstance(plot_realised_ratios([0.1, 0.2], [0.1, 0.2], group=['x', 'y']), alt.LayerChart)


def test_corrupting_labels_imports_no_charts():
    "`noise.corrupt` and `noise.spec` (the training path) import no altair: the charts live in `noise.charts`."
    import subprocess, sys
    code = "import sys, false_labels.noise.spec, false_labels.data.labels; assert 'altair' not in sys.modules, 'altair imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
