"Tests of false_labels.detectors.registry: the pure array layer of label-error detection."
import warnings
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from sklearn.metrics import average_precision_score, roc_auc_score

from false_labels.detectors import charts as CH, confident as CL, dynamics as DY, ensemble as EN, incv as IV, registry as D, value as TV
from false_labels import arrays as S
from false_labels.noise.corrupt import corrupt
from false_labels.noise.theory import expected_noisy_accuracy, label_precision

cl_filter = pytest.importorskip("cleanlab.filter")
import cleanlab.count as cl_count
import cleanlab.rank as cl_rank

HYP = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

def sim_probs(n, C, ratio, seed, signal=3.0):
    "Given labels, out-of-fold-like probabilities and the corrupted mask."
    rng = np.random.default_rng(seed)
    true = rng.integers(0, C, n)
    given_, mask = corrupt(true, ratio, kind="sym", n_classes=C, seed=seed)
    z = rng.normal(0, 1, (n, C))
    z[np.arange(n), true] += signal * rng.uniform(0.3, 1.5, n)
    p = np.exp(z - z.max(1, keepdims=True))
    return given_, (p / p.sum(1, keepdims=True)).astype(np.float32), mask

def jaccard(a, b): return (a & b).sum() / max((a | b).sum(), 1)

@pytest.fixture(scope="module")
def stats(): return S.synthetic_stats(n=1200, n_classes=4, ratio=0.2, epochs=12, seed=3)

# ---------------------------------------------------------------- input checks
P = np.array([[.7, .2, .1], [.1, .1, .8]])

@pytest.mark.parametrize("probs,labels,msg", [
    ([[np.nan, 1, 0], [.1, .1, .8]], None, "probs[0, 0] = nan"),
    ([[np.inf, 0, 0], [.1, .1, .8]], None, "probs[0, 0] = inf"),
    ([[1.2, -.2, 0], [.1, .1, .8]], None, "probs[0, 1] = -0.2 < 0"),
    ([[.7, .2, .1], [.1, .1, .7]], None, "row 1 sums to 0.9"),
    ([.5, .5], None, "got shape (2,)"),
    (P, [0, 3], "labels[1] = 3 is not in 0..2"),
    (P, [-1, 0], "labels[0] = -1"),
    (P, [0, 1, 2], "labels has 3 entries but probs has 2 rows"),
    (P, [0.5, 1], "labels must be integers"),
])
def test_bad_probs_and_labels_are_named(probs, labels, msg):
    with pytest.raises(ValueError) as e: S.check_probs(probs, labels)
    assert msg in str(e.value)

def test_bad_input_reaches_every_public_entry_point():
    y = np.array([0, 2])
    bad = np.array([[.5, .6, 0], [.1, .1, .8]])
    for f in (CL.find_label_issues, CL.confident_joint, CL.estimate_joint, CL.estimate_noise_rate, CL.label_quality):
        with pytest.raises(ValueError, match="row 0 sums to 1.1"): f(y, bad)
    with pytest.raises(ValueError, match="labels\\[1\\] = 5"): CL.find_label_issues([0, 5], P)

def test_torch_tensors_are_accepted():
    torch = pytest.importorskip("torch")
    y, p, _ = sim_probs(500, 4, 0.2, 0)
    np.testing.assert_array_equal(CL.find_label_issues(torch.tensor(y), torch.tensor(p)), CL.find_label_issues(y, p))
    L = np.random.default_rng(0).random((5, 7))
    np.testing.assert_allclose(DY.ema_loss(torch.tensor(L), 0.3), DY.ema_loss(L, 0.3))

# ---------------------------------------------------------------- EMA
def _pandas_ema(series, alpha):
    "Datumaro's definition: 0 prepended, ewm(adjust=False), last value."
    return pd.Series([0.0, *series]).ewm(alpha=alpha, adjust=False).mean().iloc[-1]

@pytest.mark.parametrize("alpha", [0.001, 0.1, 0.5, 1.0])
def test_ema_matches_datumaro_dense(alpha):
    L = np.random.default_rng(1).random((30, 6)) * 3
    ref = [_pandas_ema(L[:, i], alpha) for i in range(6)]
    np.testing.assert_allclose(DY.ema_loss(L, alpha), ref, rtol=1e-12)
    curves = DY.ema_curves(L, alpha)
    np.testing.assert_allclose(curves[-1], ref, rtol=1e-12)
    np.testing.assert_allclose(curves[:, 2], pd.Series([0.0, *L[:, 2]]).ewm(alpha=alpha, adjust=False).mean().iloc[1:], rtol=1e-12)

def test_ema_with_missing_observations_runs_over_each_samples_own_losses():
    rng = np.random.default_rng(2)
    L = rng.random((40, 8))
    L[rng.random(L.shape) < 0.6] = np.nan
    L[:, 5] = np.nan                                       # never observed: stays at the starting 0
    alpha = 0.2
    score, curves = DY.ema_loss(L, alpha), DY.ema_curves(L, alpha)
    for i in range(8):
        obs = L[~np.isnan(L[:, i]), i]
        assert score[i] == pytest.approx(_pandas_ema(obs, alpha) if len(obs) else 0.0)
        if len(obs):
            want = pd.Series([0.0, *obs]).ewm(alpha=alpha, adjust=False).mean().iloc[1:].to_numpy()
            np.testing.assert_allclose(curves[~np.isnan(L[:, i]), i], want)
    assert np.isnan(curves[np.isnan(L)]).all()

@HYP
@given(T=st.integers(1, 20), N=st.integers(1, 6), alpha=st.floats(1e-4, 1.0), i=st.integers(0, 5),
       bump=st.floats(0.01, 10), seed=st.integers(0, 1000))
def test_ema_is_linear_and_monotone(T, N, alpha, i, bump, seed):
    L = np.random.default_rng(seed).random((T, N))
    i = i % N
    L2 = L.copy(); L2[:, i] += bump
    s, s2 = DY.ema_loss(L, alpha), DY.ema_loss(L2, alpha)
    assert s2[i] > s[i] and np.allclose(np.delete(s2, i), np.delete(s, i))
    np.testing.assert_allclose(DY.ema_loss(2 * L, alpha), 2 * s, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(DY.ema_curves(L, alpha)[-1], s, rtol=1e-9, atol=1e-12)

@pytest.mark.parametrize("alpha", [0, -0.1, 1.5])
def test_ema_rejects_bad_alpha(alpha):
    with pytest.raises(ValueError, match=f"alpha={alpha}"): DY.ema_loss(np.ones((3, 2)), alpha)

def test_ema_rejects_inf():
    L = np.ones((3, 2)); L[1, 1] = np.inf
    with pytest.raises(ValueError, match=r"losses\[1, 1\] = inf"): DY.ema_loss(L)

def test_mean_loss_dynamics_overall_and_per_label():
    rng = np.random.default_rng(3)
    curves = rng.random((7, 12)); curves[2, 3] = np.nan
    y = rng.integers(0, 3, 12); y[:3] = [0, 1, 2]
    np.testing.assert_allclose(DY.mean_loss_dynamics(curves), np.nanmean(curves, 1))
    per = DY.mean_loss_dynamics(curves, y, 4)
    assert per.shape == (4, 7) and np.isnan(per[3]).all()      # a label without samples
    for c in range(3): np.testing.assert_allclose(per[c], np.nanmean(curves[:, y == c], 1))

# ---------------------------------------------------------------- AUM
def test_aum_is_the_mean_margin():
    M = np.random.default_rng(0).normal(size=(9, 5)); M[3, 1] = np.nan
    np.testing.assert_allclose(DY.aum(M), np.nanmean(M, 0))

def test_threshold_samples():
    y = np.random.default_rng(0).integers(0, 9, 1000)
    y2, m = DY.assign_threshold_samples(y, 9, seed=4)
    assert m.sum() == 1000 // 10 and (y2[m] == 9).all() and (y2[~m] == y[~m]).all()
    np.testing.assert_array_equal(DY.assign_threshold_samples(y, 9, seed=4)[1], m)        # seeded
    _, m2 = DY.assign_threshold_samples(y, 9, seed=4, exclude=m)
    assert m2.sum() == 100 and not (m & m2).any()                                        # disjoint second run
    with pytest.raises(ValueError, match="need 100 threshold samples but only 50"):
        DY.assign_threshold_samples(y, 9, exclude=np.arange(1000) >= 50)
    with pytest.raises(ValueError, match="labels\\[0\\] = 9"): DY.assign_threshold_samples(np.r_[9, y], 9)

def test_flag_by_aum_uses_the_threshold_samples_percentile():
    rng = np.random.default_rng(1)
    a = rng.normal(2, 1, 500)
    thr = np.zeros(500, bool); thr[:50] = True
    a[:50] = rng.normal(-2, 0.5, 50)
    cut = np.percentile(a[:50], 99)
    f = DY.flag_by_aum(a, thr)
    assert not f[thr].any() and (f[~thr] == (a[~thr] < cut)).all()
    assert DY.aum_threshold(a[:50], 50) == pytest.approx(np.median(a[:50]))
    with pytest.raises(ValueError, match="percentile=101"): DY.aum_threshold(a, 101)

# ---------------------------------------------------------------- confident learning vs cleanlab
@pytest.mark.parametrize("seed,n,C", [(0, 20000, 14), (1, 5000, 4), (2, 3000, 10)])
def test_confident_joint_equals_cleanlab(seed, n, C):
    y, p, _ = sim_probs(n, C, 0.2, seed)
    np.testing.assert_allclose(CL.confident_thresholds(y, p), cl_count.get_confident_thresholds(y, p), rtol=1e-6)
    np.testing.assert_array_equal(CL.confident_joint(y, p, calibrate=False), cl_count.compute_confident_joint(y, p, calibrate=False))
    np.testing.assert_array_equal(CL.confident_joint(y, p), cl_count.compute_confident_joint(y, p))
    np.testing.assert_allclose(CL.estimate_joint(y, p), cl_count.estimate_joint(y, p))
    n_cl = cl_count.num_label_issues(y, p, estimation_method="off_diagonal_calibrated")
    assert CL.estimate_noise_rate(y, p) * n == pytest.approx(n_cl, abs=1)
    np.testing.assert_allclose(CL.estimate_noise_matrix(y, p).sum(0), 1)

AGREEMENT = {}

@pytest.mark.parametrize("filter_by", CL.FILTERS)
@pytest.mark.parametrize("seed,n,C,ratio", [(0, 20000, 14, 0.2), (1, 8000, 4, 0.4), (2, 5000, 10, 0.05)])
def test_find_label_issues_agrees_with_cleanlab(filter_by, seed, n, C, ratio):
    y, p, _ = sim_probs(n, C, ratio, seed)
    ours = CL.find_label_issues(y, p, filter_by=filter_by)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = cl_filter.find_label_issues(y, p, filter_by=filter_by, n_jobs=1)
    AGREEMENT[(filter_by, seed)] = j = jaccard(ours, theirs)
    assert j >= 0.99, f"{filter_by}: Jaccard {j:.4f}, {int((ours ^ theirs).sum())} samples differ"

@pytest.mark.parametrize("frac", [0.3, 0.7])
@pytest.mark.parametrize("filter_by", ["prune_by_noise_rate", "prune_by_class", "both"])
def test_frac_noise_agrees_with_cleanlab_and_shrinks_the_set(frac, filter_by):
    y, p, _ = sim_probs(8000, 6, 0.25, 7)
    ours = CL.find_label_issues(y, p, filter_by=filter_by, frac_noise=frac)
    theirs = cl_filter.find_label_issues(y, p, filter_by=filter_by, frac_noise=frac, n_jobs=1)
    assert jaccard(ours, theirs) >= 0.99
    if filter_by == "prune_by_noise_rate": assert not (ours & ~CL.find_label_issues(y, p, filter_by=filter_by)).any()

@HYP
@given(n=st.integers(30, 300), C=st.integers(2, 6), seed=st.integers(0, 10_000), conc=st.floats(0.2, 3.0))
def test_random_probabilities_agree_with_cleanlab(n, C, seed, conc):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(C, conc), n)
    y = np.r_[np.arange(C), rng.integers(0, C, n - C)]          # every class present
    np.testing.assert_array_equal(CL.confident_joint(y, p), cl_count.compute_confident_joint(y, p))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for f in ("prune_by_noise_rate", "both", "confident_learning"):
            ours, theirs = CL.find_label_issues(y, p, filter_by=f), cl_filter.find_label_issues(y, p, filter_by=f, n_jobs=1)
            assert (ours ^ theirs).sum() <= max(1, 0.02 * theirs.sum()), f
            assert not (ours & (p.argmax(1) == y)).any()              # cleanlab #722: argmax == given is not an issue

@pytest.mark.parametrize("method", CL.QUALITY_METHODS)
def test_label_quality_and_ranking_equal_cleanlab(method):
    y, p, _ = sim_probs(3000, 5, 0.2, 11)
    np.testing.assert_allclose(CL.label_quality(y, p, method),
                               cl_rank.get_label_quality_scores(y, p, method=method, adjust_pred_probs=False), rtol=1e-6)
    issues = CL.find_label_issues(y, p)
    ranked = cl_filter.find_label_issues(y, p, return_indices_ranked_by=method, n_jobs=1)
    ours = CL.order_label_issues(issues, y, p, method)
    assert set(ours) == set(ranked)
    q = CL.label_quality(y, p, method)
    assert np.all(np.diff(q[ours]) >= 0)

def test_unknown_names_list_the_valid_ones():
    y, p, _ = sim_probs(200, 3, 0.2, 0)
    with pytest.raises(ValueError, match="unknown filter_by 'prune'; valid: prune_by_noise_rate, prune_by_class, both"):
        CL.find_label_issues(y, p, filter_by="prune")
    with pytest.raises(ValueError, match="valid: self_confidence, normalized_margin"): CL.label_quality(y, p, "entropy")
    with pytest.raises(ValueError, match="frac_noise=1.5"): CL.find_label_issues(y, p, frac_noise=1.5)

def test_confident_learning_finds_most_flips():
    y, p, bad = sim_probs(10000, 10, 0.2, 5, signal=5.0)
    r = D.evaluate_detection(1 - CL.label_quality(y, p), bad, CL.find_label_issues(y, p))
    assert r["precision"] > 0.8 and r["recall"] > 0.8 and r["auroc"] > 0.95
    assert CL.estimate_noise_rate(y, p) == pytest.approx(0.2, abs=0.04)

def test_gap_estimate_takes_the_models_own_errors_out():
    "A model right `a` of the time on clean data, scored on labels with symmetric noise eps: the gap recovers eps."
    rng = np.random.default_rng(3)
    for C, a in ((4, 0.9), (14, 0.6), (14, 0.95)):
        true = rng.integers(C, size=100_000)
        other = lambda y: (y + rng.integers(1, C, size=len(y))) % C
        pred = np.where(rng.random(len(true)) < a, true, other(true))
        for eps in (0.0, 0.02, 0.2, 0.5):
            given = np.where(rng.random(len(true)) < eps, other(true), true)
            est = CL.estimate_noise_from_gap((pred == given).mean(), (pred == true).mean(), C)
            assert est == pytest.approx(eps, abs=0.012), (C, a, eps, est)
            if eps == 0: assert CL.estimate_noise_rate(given, np.eye(C)[pred] * 0.9 + 0.1 / C) > 0.8 * (1 - a)  # CL: errors = noise
    assert CL.estimate_noise_from_gap(0.95, 0.9, 4) == 0.0                  # noisy better than clean: no noise, not negative
    with pytest.raises(ValueError, match="at or below chance"): CL.estimate_noise_from_gap(0.2, 0.25, 4)
    with pytest.raises(ValueError, match="clean_acc 1.2 must be in"): CL.estimate_noise_from_gap(0.5, 1.2, 4)
    with pytest.raises(ValueError, match="n_classes 1 must be"): CL.estimate_noise_from_gap(0.5, 0.9, 1)

# ---------------------------------------------------------------- INCV
def test_noise_estimate_inverts_chens_formula():
    for kind, C in (("sym", 4), ("sym", 14), ("pair", 10)):
        top = (C - 1) / C if kind == "sym" else 0.5
        for eps in np.linspace(0.01, top - 0.01, 15):
            acc = expected_noisy_accuracy(eps, C, kind)
            assert IV.estimate_noise_from_accuracy(acc, C, kind) == pytest.approx(eps, abs=0.0011)
    assert IV.estimate_noise_from_accuracy(0.01, 4) == 0.75                  # worse than chance: the largest ε

class Recorder:
    "A fit_predict that records its calls and delegates to a linear model."
    def __init__(self, X, y, C, save_best=False):
        self.inner, self.calls, self.C = S.linear_fit_predict(X, y, C, epochs=10), [], C
    def __call__(self, train_idx, eval_idx, save_best=None):
        self.calls.append((np.array(train_idx), np.array(eval_idx), save_best))
        return self.inner(train_idx, eval_idx)

@pytest.fixture(scope="module")
def blobs():
    s = S.synthetic_stats(n=1600, n_classes=4, ratio=0.3, epochs=5, folds=2, seed=11)
    return s["features"], s["given"], s["corrupted"]

def test_incv_protocol(blobs):
    X, y, bad = blobs
    rec = Recorder(X, y, 4)
    r = IV.incv(y, rec, n_classes=4, n_iter=3, seed=0)
    tr1, ev1, sb1 = rec.calls[0]; tr2, ev2, _ = rec.calls[1]
    assert sorted(np.r_[ev1, ev2]) == list(range(len(y))) and abs(len(ev1) - len(ev2)) <= 1   # halves of everything
    np.testing.assert_array_equal(np.sort(tr1), np.sort(ev2))                                   # train on the other half
    for tr, ev, _ in rec.calls: assert not set(tr) & set(ev)                                   # never evaluate on training data
    assert all(sb for *_, sb in rec.calls[:2])                                                  # iteration 1 checkpoints
    assert not (r.selected & r.candidate).any() and not (r.selected & r.discarded).any()
    assert not (r.discarded & r.candidate).any()
    # selection = held-out argmax equals the label, so the selected set is much cleaner than the data
    lp = D.label_precision_recall(r.selected, bad)
    assert lp["label_precision"] > 0.95 and lp["label_recall"] > 0.85
    assert 0.15 < r.eval_ratio < 0.45 and 0 <= r.noise_selected < 0.1
    assert len(r.log) == 6 and r.log[-1]["total_selected"] == r.selected.sum()
    n_drop = [row["n_discard"] for row in r.log[:2]]
    ratio = min(2, r.eval_ratio / (1 - r.eval_ratio))
    assert n_drop == [int(ratio * row["n_selected"]) for row in r.log[:2]]
    assert np.isfinite(r.ce).all() and (r.flagged == ~r.selected).all()

class ProbRecorder(Recorder):
    "A Recorder that also keeps each call's returned probabilities."
    def __call__(self, train_idx, eval_idx, save_best=None):
        p = super().__call__(train_idx, eval_idx, save_best); self.calls[-1] += (np.asarray(p),); return p

def test_incv_keeps_every_held_out_prediction_and_iteration_ones_scores(blobs):
    X, y, bad = blobs
    rec = ProbRecorder(X, y, 4)
    r = IV.incv(y, rec, n_classes=4, n_iter=3, seed=0)
    want, count = np.zeros((len(y), 4)), np.zeros(len(y), int)
    for tr, ev, _, p in rec.calls: want[ev] += p; count[ev] += 1
    np.testing.assert_array_equal(r.heldout_count, count)
    assert (count >= 1).all() and (count[r.selected & (r.selected_at > 1)] >= 2).all()    # iteration 1 scores everyone
    np.testing.assert_allclose(r.heldout_probs, want / count[:, None])
    first = np.zeros(len(y))
    for tr, ev, _, p in rec.calls[:2]: first[ev] = -np.log(p[np.arange(len(ev)), y[ev]] + 1e-8)
    np.testing.assert_allclose(r.score_first, first)                     # iteration 1's two half-models only
    assert not np.allclose(r.score_first, r.ce)                          # later iterations re-score the candidates
    assert roc_auc_score(bad, r.score_first) > 0.9

def test_aum_runs_flag_only_when_every_run_agrees():
    rng = np.random.default_rng(0)
    A = rng.normal(0, 1, (2, 500)); T = np.zeros((2, 500), bool); T[0, :100] = True; T[1, 100:200] = True
    score, flags, cuts = DY.aum_runs(A, T, 90)
    for r in range(2): assert cuts[r] == pytest.approx(np.percentile(A[r, T[r]], 90))
    real = ~T
    want = np.array([all(A[r, i] < cuts[r] for r in range(2) if real[r, i]) for i in range(500)])
    np.testing.assert_array_equal(flags, want)
    np.testing.assert_allclose(score, (A * real).sum(0) / real.sum(0))
    one = (A < cuts[:, None]) & real
    assert flags.sum() < one.any(0).sum()                                 # stricter than "flagged by a run"
    with pytest.raises(ValueError, match="threshold samples in every run"): DY.aum_runs(A[:, :2], np.ones((2, 2), bool))

def test_ensemble_cuts():
    s = np.arange(100.)
    f, how = EN.cut_ensemble(s, cut="rate", noise_rate=0.237)
    assert f.sum() == 24 and f[-24:].all() and "top 24" in how
    f, _ = EN.cut_ensemble(np.r_[np.zeros(80), np.full(20, 3.)] + np.random.default_rng(0).normal(0, .1, 100), cut="gmm")
    assert f.sum() == 20 and f[80:].all()
    votes = [s > 10, s > 50, s > 90]
    np.testing.assert_array_equal(EN.cut_ensemble(s, votes, "vote")[0], s > 50)
    with pytest.raises(ValueError, match="unknown ensemble cut 'mean'; valid: rate, gmm, vote"): EN.cut_ensemble(s, cut="mean")
    with pytest.raises(ValueError, match="noise_rate None must be a share"): EN.cut_ensemble(s, cut="rate")
    with pytest.raises(ValueError, match="noise_rate 1.5"): EN.cut_ensemble(s, cut="rate", noise_rate=1.5)
    stats = S.synthetic_stats(n=400, n_classes=4, ratio=0.2, epochs=6, seed=1)
    d = D.score_from_stats(stats, "ensemble", probs=stats["oof_probs"], members=["ema", "aum", "cl"], ensemble_cut="rate", noise_rate=0.2)
    assert d.flagged.sum() == 80 and "round(0.200" in d.info["cut"]

def test_incv_pair_noise_discards_nothing(blobs):
    X, y, _ = blobs
    r = IV.incv(y, S.linear_fit_predict(X, y, 4, epochs=10), n_classes=4, n_iter=2, noise_kind="pair")
    assert not r.discarded.any()

def test_incv_checkpointing_schedule_follows_the_noise_estimate():
    y = np.random.default_rng(0).integers(0, 4, 400)
    seen = []
    def random_model(train_idx, eval_idx, save_best):            # chance-level: noisy accuracy ~ 1/C, so ε > 0.6
        seen.append(save_best)
        return np.random.default_rng(len(seen)).dirichlet(np.ones(4), len(eval_idx))
    r = IV.incv(y, random_model, n_classes=4, n_iter=3)
    assert r.eval_ratio > 0.6
    assert seen[:2] == [True, True] and not any(seen[2:])

def test_incv_uses_a_given_noise_rate(blobs):
    X, y, _ = blobs
    rec = Recorder(X, y, 4)
    r = IV.incv(y, rec, n_classes=4, n_iter=2, seed=0, noise_rate=0.1)
    assert r.eval_ratio == 0.1 and r.noise_selected == pytest.approx(1 - label_precision(0.1, 4, "sym"))
    assert [row["n_discard"] for row in r.log[:2]] == [int(0.1 / 0.9 * row["n_selected"]) for row in r.log[:2]]
    assert [sb for *_, sb in rec.calls] == [True] * 4                   # ε <= 0.3: checkpoints through iteration 4
    assert not IV.incv(y, rec, n_classes=4, n_iter=1, noise_rate=0.0).discarded.any()   # no noise: nothing discarded
    with pytest.raises(ValueError, match="noise_rate 1.2 must be in"): IV.incv(y, rec, n_classes=4, noise_rate=1.2)

def test_incv_bad_trainer_output_and_names(blobs):
    X, y, _ = blobs
    with pytest.raises(ValueError, match="expected \\(800, 4\\)"): IV.incv(y, lambda tr, ev: np.full((len(ev), 3), 1 / 3), n_classes=4)
    with pytest.raises(ValueError, match="sums to 2"): IV.incv(y, lambda tr, ev: np.full((len(ev), 4), 0.5), n_classes=4)
    with pytest.raises(ValueError, match="unknown noise_kind 'asym'; valid: sym, pair"): IV.incv(y, None, noise_kind="asym")

def test_out_of_fold_probs_never_predict_training_samples(blobs):
    X, y, _ = blobs
    rec = Recorder(X, y, 4)
    p = S.out_of_fold_probs(rec, y, folds=4)
    assert p.shape == (len(y), 4) and np.allclose(p.sum(1), 1)
    evs = [ev for _, ev, _ in rec.calls]
    assert sorted(np.concatenate(evs)) == list(range(len(y)))
    for tr, ev, _ in rec.calls: assert not set(tr) & set(ev)
    with pytest.raises(ValueError, match="folds=1"): S.out_of_fold_probs(rec, y, folds=1)

# ---------------------------------------------------------------- training values
def _reference_episode(X, y, V, yv, W0, order, lr):
    "One Training-ValueNet episode, the slow obvious way (float64 NumPy)."
    W, b, tv = W0.copy(), np.zeros(W0.shape[1]), np.zeros(len(X))
    def vloss(W, b):
        z = V @ W + b
        z = z - z.max(1, keepdims=True)
        return np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(len(yv)), yv])
    for i in order:
        before = vloss(W, b)
        g = S._softmax(X[i] @ W + b); g[y[i]] -= 1
        W = W - lr * np.outer(X[i], g); b = b - lr * g
        tv[i] += before - vloss(W, b)
    return tv

def test_vectorised_episodes_equal_the_one_example_loop():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    n, M, Dm, C, B = 25, 15, 5, 3, 4
    X, V = rng.normal(size=(n, Dm)), rng.normal(size=(M, Dm))
    y, yv = rng.integers(0, C, n), rng.integers(0, C, M)
    W0 = rng.normal(0, 0.3, (B, Dm, C))
    orders = np.stack([rng.permutation(n) for _ in range(B)] )
    orders = np.concatenate([orders, np.stack([rng.permutation(n) for _ in range(B)])], 1)   # two epochs
    got = TV._mc_core(torch.tensor(X), torch.tensor(y), torch.tensor(V), torch.tensor(yv), torch.tensor(W0),
                     torch.tensor(orders), 0.1).numpy()
    want = sum(_reference_episode(X, y, V, yv, W0[b], orders[b], 0.1) for b in range(B))
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-12)

def test_training_values_rank_the_flips(stats):
    kw = dict(n_classes=4, episodes=12, lr=0.05, train_per_class=120, val_per_class=40, seed=0)
    r = TV.training_values(stats["features"], stats["given"], stats["val_features"], stats["val_labels"], **kw)
    bad = stats["corrupted"]
    assert r.values.shape == bad.shape and len(r.mc_index) == 480 and len(set(r.mc_index)) == 480
    assert r.mc_values[bad[r.mc_index]].mean() < 0 < r.mc_values[~bad[r.mc_index]].mean()
    assert roc_auc_score(bad, r.score) > 0.85
    assert (r.flagged == (r.values < 0)).all()
    r2 = TV.training_values(stats["features"], stats["given"], stats["val_features"], stats["val_labels"], **kw)
    np.testing.assert_array_equal(r.values, r2.values)                                        # seeded
    rr = TV.training_values(stats["features"], stats["given"], stats["val_features"], stats["val_labels"], regressor="ridge", **kw)
    assert roc_auc_score(bad, rr.score) > 0.85

def test_training_values_bad_input(stats):
    X, y = stats["features"], stats["given"]
    with pytest.raises(ValueError, match="val_features has 5 rows, expected 400"):
        TV.training_values(X, y, X[:5], stats["val_labels"], 4)
    with pytest.raises(ValueError, match="unknown kind 'tree'; valid: mlp, ridge"):
        TV.fit_value_regressors(X[:50], y[:50], np.zeros(50), 4, kind="tree")
    Xn = X.copy(); Xn[3, 0] = np.nan
    with pytest.raises(ValueError, match="features contains NaN or inf \\(first at row 3\\)"):
        TV.mc_training_values(Xn, y, X[:10], y[:10], 4, episodes=1)

# ---------------------------------------------------------------- cutting, ensembles, evaluation
def test_flag_top_k_and_gmm():
    s = np.r_[np.random.default_rng(0).normal(0, 0.1, 300), np.random.default_rng(1).normal(3, 0.1, 30)]
    np.testing.assert_array_equal(D.flag_top_k(s, 30), np.arange(330) >= 300)
    np.testing.assert_array_equal(D.flag_by_gmm(s), np.arange(330) >= 300)
    assert not D.flag_by_gmm(np.ones(10)).any()
    with pytest.raises(ValueError, match="k=400"): D.flag_top_k(s, 400)

@HYP
@given(seed=st.integers(0, 1000), n=st.integers(2, 50))
def test_rank_ensemble_ignores_monotone_rescaling(seed, n):
    rng = np.random.default_rng(seed)
    a, b = rng.random(n), rng.random(n)
    np.testing.assert_allclose(EN.ensemble({"a": a, "b": b}), EN.ensemble({"a": np.exp(5 * a) - 3, "b": b}))
    np.testing.assert_allclose(EN.ensemble({"a": a}, "zscore_mean").mean(), 0, atol=1e-12)

def test_ensemble_errors():
    with pytest.raises(ValueError, match="unknown ensemble method 'vote'; valid: rank_mean, zscore_mean"): EN.ensemble({"a": [1, 2]}, "vote")
    with pytest.raises(ValueError, match="differ in length"): EN.ensemble({"a": [1, 2], "b": [1, 2, 3]})
    with pytest.raises(ValueError, match="at least one"): EN.ensemble({})
    with pytest.raises(ValueError, match=r"scores\['a'\]\[1\] = nan"): EN.ensemble({"a": [1, np.nan]})

def test_evaluate_detection_by_hand_and_against_sklearn():
    t = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 0], bool)
    s = np.array([.9, .8, .7, .6, .5, .4, .3, .2, .1, 0])
    f = s >= 0.6                                                   # flags 0..3: tp 2, fp 2, fn 1
    r = D.evaluate_detection(s, t, f)
    assert (r["k"], r["precision_at_k"], r["recall_at_k"]) == (3, 2 / 3, 2 / 3)
    assert (r["precision"], r["recall"], r["f1"], r["n_flagged"]) == (0.5, 2 / 3, 4 / 7, 4)
    assert r["auroc"] == pytest.approx(roc_auc_score(t, s)) and r["auprc"] == pytest.approx(average_precision_score(t, s))
    assert D.evaluate_detection(s, t, k=5)["recall_at_k"] == 2 / 3
    assert np.isnan(D.evaluate_detection(s, np.zeros(10, bool))["auroc"])
    with pytest.raises(ValueError, match="k=11 is larger than the dataset \\(10 samples\\)"): D.evaluate_detection(s, t, k=11)
    with pytest.raises(ValueError, match="true_mask has 9 entries, expected 10"): D.evaluate_detection(s, t[:9])
    with pytest.raises(ValueError, match=r"scores\[2\] = nan"): D.evaluate_detection(np.r_[s[:2], np.nan, s[3:]], t)

def test_label_precision_recall_by_hand():
    bad = np.array([1, 1, 0, 0, 0, 0], bool)
    kept = np.array([1, 0, 1, 1, 0, 0], bool)
    assert D.label_precision_recall(kept, bad) == dict(n_kept=3, label_precision=2 / 3, label_recall=0.5)

# ---------------------------------------------------------------- registry
def test_run_detectors_all_with_every_input(stats):
    fp = S.linear_fit_predict(stats["features"], stats["given"], 4, epochs=10)
    tv = TV.training_values(stats["features"], stats["given"], stats["val_features"], stats["val_labels"], 4,
                           episodes=8, lr=0.05, train_per_class=80, val_per_class=30)
    dets = D.run_detectors(stats, "all", probs=stats["oof_probs"], fit_predict=fp, n_classes=4, tv=tv)
    assert list(dets) == list(D.stats_detectors()) == ["ema", "aum", "cl", "incv", "tv", "ensemble"]
    for d in dets.values(): assert d.score.shape == d.flagged.shape == (1200,) and d.flagged.dtype == bool
    table = D.evaluate_detectors(dets, stats["corrupted"])
    assert list(table.index) == list(dets) and {"f1", "auroc", "precision_at_k", "kept_label_precision"} <= set(table.columns)
    assert (table["auroc"] > 0.9).all()
    assert dets["ensemble"].info["members"] == ["ema", "aum", "cl", "incv", "tv"]
    sus = D.scores_table(dets, stats["given"], stats["oof_probs"], true=stats["true"])
    assert sus["score_ensemble"].is_monotonic_decreasing and {"id", "given", "predicted", "true"} <= set(sus.columns)

def test_run_detectors_skips_missing_inputs_only_for_all(stats):
    with pytest.warns(UserWarning, match="skipped detectors: incv: .*; tv:"):
        dets = D.run_detectors(stats)
    assert list(dets) == ["ema", "aum", "cl", "ensemble"] and dets["cl"].info["probs"] == "in-sample"
    with pytest.raises(D.MissingInputError, match="method 'tv' needs tv="): D.run_detectors(stats, ["tv"])
    with pytest.raises(ValueError, match="unknown detection method 'loss'; valid: ema, aum, cl, incv, tv, ensemble"):
        D.score_from_stats(stats, "loss")
    with pytest.raises(ValueError, match="sample_stats lacks 'margin'"): D.score_from_stats({"given": stats["given"]}, "aum")

def test_detector_cuts(stats):
    d = D.score_from_stats(stats, "ema", k=100)
    assert d.flagged.sum() == 100 and d.info["cut"] == "top 100"
    thr = np.zeros(1200, bool); thr[:40] = True
    d = D.score_from_stats(dict(stats, threshold=thr), "aum")
    assert not d.flagged[:40].any() and "threshold" in d.info["cut"]
    assert (D.score_from_stats(stats, "aum").flagged == (DY.aum(stats["margin"]) < 0)).all()
    e = D.score_from_stats(stats, "ensemble", members=["ema", "aum"])
    assert e.info["members"] == ["ema", "aum"]

# ---------------------------------------------------------------- charts and toy data
def test_charts_are_small_and_well_formed(stats):
    dets = D.run_detectors(stats, ["ema", "aum", "cl"], probs=stats["oof_probs"])
    h = CH.plot_score_histograms(dets, stats["corrupted"], bins=20).to_dict()
    data = next(iter(h["datasets"].values()))
    assert len(data) == 3 * 2 * 20 and h["facet"]["field"] == "method"
    pr = CH.plot_pr_curves(dets, stats["corrupted"], max_points=50).to_dict()
    assert len(pr["layer"]) == 2 and sum(len(v) for v in pr["datasets"].values()) <= 3 * 50 + 3
    curves = DY.ema_curves(stats["loss"], 0.1)
    top = np.argsort(-DY.ema_loss(stats["loss"], 0.1))[:6]
    ch = CH.plot_ema_curves(curves, stats["given"], top, mode="label_mean", class_names=list("abcd")).to_dict()
    panels = {r["panel"] for r in next(iter(ch["datasets"].values()))}
    assert panels == {"abcd"[c] for c in stats["given"][top]}
    with pytest.raises(ValueError, match="unknown mode 'median'"): CH.plot_ema_curves(curves, stats["given"], top, mode="median")

def test_synthetic_stats_looks_like_a_run(stats):
    assert stats["loss"].shape == stats["margin"].shape == (12, 1200)
    assert stats["corrupted"].sum() == 240 and ((stats["given"] != stats["true"]) == stats["corrupted"]).all()
    assert np.allclose(stats["probs"].sum(1), 1, atol=1e-5) and np.allclose(stats["oof_probs"].sum(1), 1, atol=1e-5)
    late = stats["loss"][-1]
    assert late[stats["corrupted"]].mean() > 2 * late[~stats["corrupted"]].mean()
