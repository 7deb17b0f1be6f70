"""false_labels.study.analysis: fits, plateau test, inverse models, theory check, robustness, bad input.

Fixtures are small synthetic sweeps written by `write_sweep` below from a seeded model of accuracy vs ratio
(final accuracy = acc0 + slope * ratio + N(0, sd)); assertions compare against the model's parameters.
"""
import json, math, warnings
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings, strategies as st

from false_labels.study.inverse import REGRESSORS, inverse_regression
from false_labels.study.analysis import (NoFinishedRunsError, SingleRatioError, confusion_table, excluded_runs,
    fit_bands, group_keys, load_results, metric_columns, noise_regimes, plateau_test, regress_on_ratio,
    robustness, theory_check)
from false_labels.noise.theory import expected_noisy_accuracy

CLASSES = ("a", "b", "c", "d")
RATIOS = (0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3)

# ---------------------------------------------------------------------------------------------------------------
# fixture helpers: a seeded model of accuracy vs ratio, written as a sweep folder per the contract
def simulate(ratios=RATIOS, seeds=3, groups=None, sd=0.01, plateau=False, knot=0.02, curve=None, epochs=3,
             noise="sym", n_classes=len(CLASSES), seed=0):
    """Results rows (every epoch) from a seeded model.

    Final clean accuracy per run: `curve(ratio)` or acc0 + slope * ratio (flat up to `knot` when `plateau`), plus
    N(0, sd). Epoch e of E: acc0 + ((e+1)/E)^2 * (final - acc0) (clean signal first, noise memorised later).
    Accuracy against noisy test labels: acc (1-r) + (1-acc) r / (C-1) (test noise independent of the model)."""
    rng = np.random.default_rng(seed)
    groups = {"resnet": (0.95, -0.5)} if groups is None else groups
    classes = CLASSES[:n_classes] if n_classes <= len(CLASSES) else tuple(f"k{i}" for i in range(n_classes))
    offsets = np.linspace(-0.03, 0.03, len(classes))
    rows = []
    for arch, (acc0, slope) in groups.items():
        for r in ratios:
            for s in range(seeds):
                true = curve(r) if curve is not None else acc0 + slope * (max(r - knot, 0) if plateau else r)
                final = true + rng.normal(0, sd)
                rid = f"{arch}-r{r:g}-s{s}"
                for e in range(epochs):
                    acc = acc0 + ((e + 1) / epochs) ** 2 * (final - acc0)
                    noisy = acc * (1 - r) + (1 - acc) * r / (len(classes) - 1) + rng.normal(0, sd / 4)
                    rows.append(dict(run_id=rid, data="synthetic", task=len(classes), noise=noise, ratio=float(r), arch=arch,
                                     loss="ce", method=None, epochs=epochs, seed=s, bs=16, lr=1e-3, size=32,
                                     realised_ratio=float(r), n_classes=len(classes), epoch=e, train_loss=1.0 / (e + 1),
                                     valid_loss=1.0, valid_acc=acc, test_acc=acc, test_acc_noisy=noisy,
                                     test_macro_precision=acc - 0.01, test_macro_recall=acc, test_macro_f1=acc - 0.005,
                                     test_weighted_precision=acc - 0.01, test_weighted_recall=acc, test_weighted_f1=acc - 0.005,
                                     **{f"f1_{c}": float(np.clip(acc + o, 0, 1)) for c, o in zip(classes, offsets)},
                                     time_s=0.1, run_dir=f"runs/{rid}", notebook=f"runs/{rid}/run.ipynb",
                                     is_final=e == epochs - 1))
    return pd.DataFrame(rows)

def _confusion(acc, n_classes, n=50):
    "Confusion matrix with recall `acc` per class, errors spread evenly over the other classes."
    cm = np.zeros((n_classes, n_classes), dtype=int)
    for c in range(n_classes):
        ok = int(round(np.clip(acc, 0, 1) * n)); cm[c, c] = ok
        for i in range(n - ok): cm[c, (c + 1 + i % (n_classes - 1)) % n_classes] += 1
    return cm

def write_sweep(path, failed=0, nan=0, parquet=True, **kw):
    """Write a sweep folder from `simulate(**kw)`: results table, plan.json, run folders with status.json and
    class_report/epoch_XXX.json. `failed` runs are absent from the table (status 'failed' with an error); `nan` runs
    finished with NaN metrics. Both are taken from the largest ratio. Returns (path, failed ids, nan ids)."""
    path = Path(path); df = simulate(**kw)
    ids = list(dict.fromkeys(df.sort_values("ratio", ascending=False, kind="stable").run_id))
    failed_ids, nan_ids = ids[:failed], ids[failed:failed + nan]
    df.loc[df.run_id.isin(nan_ids), ["test_acc", "test_acc_noisy", "valid_acc", "train_loss"]] = np.nan
    plan = dict(runs=[])
    for rid, runs in df.groupby("run_id", sort=False):
        d = path/"runs"/rid; (d/"class_report").mkdir(parents=True)
        plan["runs"].append(dict(run_id=rid, params=runs.iloc[0][["ratio", "arch", "seed", "noise"]].to_dict()))
        if rid in failed_ids:
            (d/"status.json").write_text(json.dumps(dict(status="failed", error="CUDA out of memory (simulated)"))); continue
        (d/"status.json").write_text(json.dumps(dict(status="done")))
        (d/"result.json").write_text("{}")
        for row in runs.itertuples():
            cm = _confusion(0.0 if np.isnan(row.test_acc) else row.test_acc, int(row.n_classes))
            classes = [c[3:] for c in df.columns if c.startswith("f1_")]
            (d/"class_report"/f"epoch_{row.epoch:03d}.json").write_text(json.dumps(
                dict(accuracy=row.test_acc, confusion_matrix=cm.tolist(), classes=classes)))
    (path/"plan.json").write_text(json.dumps(plan))
    table = df[~df.run_id.isin(failed_ids)]
    table.to_csv(path/"results.csv", index=False)
    if parquet: table.to_parquet(path/"results.parquet", index=False)
    return path, failed_ids, nan_ids

def final(**kw):
    "Final rows of a simulated table, loaded as analysis sees them."
    return load_results(simulate(**kw), warn=False)

def lin(fits, **where):
    f = fits[(fits.model == "linear")]
    for k, v in where.items(): f = f[f[k] == v]
    assert len(f) == 1, f
    return f.iloc[0]

# ---------------------------------------------------------------------------------------------------------------
# loading
def test_load_results_excludes_and_lists_failed_and_nan_runs(tmp_path):
    sweep, failed, nan = write_sweep(tmp_path/"s", failed=2, nan=1, seeds=2)
    with pytest.warns(UserWarning, match="3 run"):
        df = load_results(sweep)
    assert df.is_final.all() and df.test_acc.notna().all()
    assert not set(df.run_id) & set(failed + nan)
    ex = excluded_runs(df).set_index("run_id")
    assert set(ex.index) == set(failed + nan)
    for r in failed: assert "failed" in ex.loc[r, "reason"] and "out of memory" in ex.loc[r, "reason"]
    for r in nan: assert "NaN" in ex.loc[r, "reason"]
    assert ex.ratio.max() == max(RATIOS)

def test_load_results_all_epochs_and_sources(tmp_path):
    sweep, *_ = write_sweep(tmp_path/"s", parquet=False, epochs=4, seeds=1)
    allep = load_results(sweep, final=False)  # from results.csv alone
    assert allep.groupby("run_id").epoch.nunique().eq(4).all()
    fin = load_results(sweep/"results.csv")
    assert len(fin) == allep.run_id.nunique() and fin.is_final.all()
    raw = pd.read_csv(sweep/"results.csv").drop(columns="is_final")  # is_final recomputed from the epochs
    pd.testing.assert_frame_equal(load_results(raw).reset_index(drop=True)[fin.columns], fin, check_dtype=False)
    strs = pd.read_csv(sweep/"results.csv").assign(is_final=lambda d: d.is_final.map(str))
    assert len(load_results(strs)) == len(fin)

def test_load_results_bad_input(tmp_path):
    with pytest.raises(ValueError, match="does not exist"): load_results(tmp_path/"nowhere")
    (tmp_path/"empty").mkdir()
    with pytest.raises(ValueError, match="no results.parquet"): load_results(tmp_path/"empty")
    with pytest.raises(ValueError, match="lacks column"): load_results(simulate(seeds=1).drop(columns="ratio"))

def test_no_finished_runs_is_a_clear_error(tmp_path):
    df = simulate(seeds=1); df["test_acc"] = np.nan
    with pytest.raises(NoFinishedRunsError, match="no finished runs"): load_results(df, warn=False)
    n = len(RATIOS)
    sweep, failed, _ = write_sweep(tmp_path/"s", failed=n, seeds=1)  # every run failed: empty table
    with pytest.raises(NoFinishedRunsError, match=f"{n} run"): load_results(sweep)

def test_group_keys_skip_parameters_that_follow_others():
    df = final(groups={"resnet": (0.95, -0.5), "cnn": (0.85, -0.7)}, seeds=1)
    assert group_keys(df) == ["arch"]
    assert group_keys(df.assign(lr=df.arch.map({"resnet": 1e-3, "cnn": 1e-2}))) == ["arch"]
    assert group_keys(df.assign(lr=np.where(df.seed % 2 == 0, 1e-3, 1e-2), seed=0)) == ["arch"]
    assert "test_acc" in metric_columns(df) and "f1_a" in metric_columns(df)

# ---------------------------------------------------------------------------------------------------------------
# regression on the ratio
@settings(max_examples=25, deadline=None)
@given(a=st.floats(0.5, 1.0), b=st.floats(-2.0, 0.5), c=st.floats(-1.0, 1.0))
def test_noiseless_fits_are_exact(a, b, c):
    df = final(curve=lambda r: a + b * r + c * r * r, sd=0.0, seeds=2)
    f = regress_on_ratio(df, metrics=["test_acc"])
    p2 = f[f.model == "poly2"].iloc[0]
    np.testing.assert_allclose(p2.coefs, [a, b, c], atol=1e-8)
    lo, hi = min(RATIOS), max(RATIOS)  # poly: mean slope over the range; linear: the least-squares line
    assert p2.slope == pytest.approx((b * hi + c * hi**2 - b * lo - c * lo**2) / (hi - lo), abs=1e-8)
    assert lin(f).slope == pytest.approx(np.polyfit(df.ratio, df.test_acc, 1)[0], abs=1e-8)

def test_linear_fit_recovers_known_slope_with_calibrated_intervals():
    slope, hits, est = -0.6, 0, []
    for s in range(40):
        f = lin(regress_on_ratio(final(groups={"m": (0.9, slope)}, sd=0.02, seed=s), metrics=["test_acc"], degrees=(1,)))
        hits += f.slope_lo <= slope <= f.slope_hi; est.append(f.slope)
    assert hits >= 34, hits  # 95 % nominal; 34/40 is far below what calibrated intervals give
    se = np.std(est) / math.sqrt(len(est))
    assert abs(np.mean(est) - slope) < 4 * se

def test_bootstrap_intervals_cover_the_slope_too():
    hits = 0
    for s in range(15):
        f = lin(regress_on_ratio(final(groups={"m": (0.9, -0.6)}, sd=0.02, seeds=4, seed=s), metrics=["test_acc"],
                                 degrees=(1,), ci="bootstrap", n_boot=300, seed=s))
        hits += f.slope_lo <= -0.6 <= f.slope_hi
    assert hits >= 11, hits

@pytest.mark.parametrize("ci,few", [("ols", 2), ("bootstrap", 3)])
def test_intervals_shrink_with_more_seeds(ci, few):
    for s in range(4):
        width = {}
        for n in (few, 4 * few):
            f = lin(regress_on_ratio(final(seeds=n, sd=0.02, seed=s), metrics=["test_acc"], degrees=(1,), ci=ci, n_boot=300))
            width[n] = f.slope_hi - f.slope_lo
        assert width[4 * few] < width[few], (s, width)
    band = {n: fit_bands(final(seeds=n, sd=0.02, seed=9)) for n in (2, 8)}
    assert (band[8].hi - band[8].lo).mean() < (band[2].hi - band[2].lo).mean()

def test_bootstrap_falls_back_to_ols_with_two_seeds():
    df = final(seeds=2)
    boot, ols = (lin(regress_on_ratio(df, metrics=["test_acc"], degrees=(1,), ci=c)) for c in ("bootstrap", "ols"))
    assert "OLS interval instead" in boot.note and (boot.slope_lo, boot.slope_hi) == (ols.slope_lo, ols.slope_hi)

def test_single_seed_fits_without_intervals_said_plainly():
    df = final(seeds=1)
    f = regress_on_ratio(df, metrics=["test_acc", "f1_a"])
    assert f.slope.notna().all() and f.slope_lo.isna().all() and f.p_slope.isna().all()
    assert f.note.str.contains("single seed").all()
    b = fit_bands(df)
    assert b.fit.notna().all() and b.lo.isna().all() and b.note.str.contains("single seed").all()
    p = plateau_test(df)
    assert p.p_value.isna().all() and p.note.str.contains("single seed").all()
    r = robustness(df)
    assert r.slope.notna().all() and r.slope_lo.isna().all() and r.note.str.contains("single seed").all()

def test_single_ratio_is_a_clear_error():
    df = final(ratios=(0.1,))
    for f in (regress_on_ratio, fit_bands, plateau_test, robustness, inverse_regression):
        with pytest.raises(SingleRatioError, match=r"only one ratio \(0.1\)"): f(df)

def test_a_group_with_a_single_ratio_gets_a_note_not_a_crash():
    df = pd.concat([simulate(groups={"resnet": (0.95, -0.5)}), simulate(groups={"cnn": (0.8, -0.5)}, ratios=(0.1,))])
    f = regress_on_ratio(load_results(df, warn=False), metrics=["test_acc"])
    cnn = f[f.arch == "cnn"]
    assert cnn.slope.isna().all() and cnn.note.str.contains("needs at least").all()
    assert f[f.arch == "resnet"].slope.notna().all()

def test_degree_needs_enough_ratios():
    f = regress_on_ratio(final(ratios=(0, 0.1)), metrics=["test_acc"], degrees=(1, 2))
    assert np.isfinite(lin(f).slope) and f[f.model == "poly2"].note.str.contains("at least 3 ratios").all()

def test_bad_ci_names_the_value():
    with pytest.raises(ValueError, match="'exact'"): regress_on_ratio(final(), ci="exact")

# ---------------------------------------------------------------------------------------------------------------
# plateau test
RATIOS_LOW = (0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3)

def test_plateau_detected_when_injected_and_not_otherwise():
    kw = dict(ratios=RATIOS_LOW, seeds=4, sd=0.004, groups={"m": (0.93, -0.6)})
    hit = [plateau_test(final(**kw, plateau=True, seed=s)).verdict.iloc[0] for s in range(10)]
    assert sum(v == "plateau/rise at low ratios" for v in hit) >= 9, hit
    kw["plateau"] = False
    false = [plateau_test(final(**kw, seed=s)).p_value.iloc[0] < 0.05 for s in range(20)]
    assert sum(false) <= 3, false  # about 5 % expected

def test_plateau_slopes_match_the_model():
    p = plateau_test(final(ratios=RATIOS_LOW, seeds=6, sd=0.002, plateau=True, groups={"m": (0.9, -0.8)})).iloc[0]
    assert abs(p.slope_low) < 0.2 and p.slope_high == pytest.approx(-0.8, abs=0.05)

def test_plateau_needs_low_ratios():
    p = plateau_test(final(ratios=(0, 0.1, 0.2, 0.3))).iloc[0]
    assert p.verdict == "untested" and "needs >= 2 ratios" in p.note

# ---------------------------------------------------------------------------------------------------------------
# inverse models
@pytest.mark.parametrize("name", REGRESSORS)
def test_inverse_regression_whatever_model_wins(name):
    df = final(seeds=3)
    r = inverse_regression(df, models=[name], n_repeats=1)
    best = r[r.best]
    assert len(best) == 1 and best.model.iloc[0] == name
    assert np.isfinite(best[["cv_rmse", "test_rmse", "train_rmse"]].to_numpy(float)).all()
    assert isinstance(json.loads(best.best_params.iloc[0]), dict)

def test_inverse_regression_full_comparison_reads_the_ratio_back(tmp_path):
    df = final(seeds=4, sd=0.005, groups={"resnet": (0.95, -0.5), "cnn": (0.85, -0.7)})
    r = inverse_regression(df, out=tmp_path/"regr_results.csv")
    assert set(r.model.dropna()) == set(REGRESSORS)
    best = r[r.best]
    assert len(best) == 2 and (best.test_rmse < r[r.model == "dummy"].cv_rmse.to_numpy()).all()
    assert (best.pearson_r > 0.9).all() and (best.test_r2 > 0.8).all()
    back = pd.read_csv(tmp_path/"regr_results.csv")
    assert len(back) == len(r) and set(back.columns) == set(r.columns)

def test_inverse_regression_delta_and_missing_baseline():
    df = final(seeds=3)
    d = inverse_regression(df, delta=True, models=["linear", "elastic_net"], n_repeats=1)
    assert d.delta.all() and np.isfinite(d[d.best].test_rmse).all()
    nz = final(seeds=3, ratios=RATIOS[1:])
    m = inverse_regression(nz, delta=True, models=["linear"])
    assert m.note.str.contains("ratio 0").all()
    with pytest.raises(ValueError, match="'nope'"): inverse_regression(df, models=["nope"])
    with pytest.raises(ValueError, match="unknown feature"): inverse_regression(df, feature="acc")
    few = inverse_regression(final(seeds=1, ratios=(0, 0.1, 0.2)), models=["linear"])
    assert few.note.str.contains("too few runs").all()

# ---------------------------------------------------------------------------------------------------------------
# theory check
@pytest.mark.parametrize("kind", ["sym", "pair"])
def test_theory_check_meets_chen_when_the_noise_is_memorised(kind):
    C, ratios = 4, (0.0, 0.1, 0.2, 0.4)
    rows = []
    for e in ratios:
        for s in range(2):  # a perfect network that learned the noise: clean accuracy 1-e, noisy score Chen's value
            memorised = (1 - e) ** 2 + (e ** 2 / (C - 1) if kind == "sym" else e ** 2)
            rows.append(dict(run_id=f"r{e}-{s}", ratio=e, seed=s, noise=kind, n_classes=C, epoch=0, is_final=True,
                             test_acc=1 - e, test_acc_noisy=memorised))
    th = theory_check(load_results(pd.DataFrame(rows)))
    np.testing.assert_allclose(th.theory, expected_noisy_accuracy(np.array(ratios), C, kind))
    np.testing.assert_allclose(th.gap, 0, atol=1e-12)
    np.testing.assert_allclose(th[th.ratio >= 0.2].position, 1, atol=1e-9)

def test_theory_check_clean_line_and_identity():
    df = final(groups={"m": (0.95, 0.0)}, sd=0.0, seeds=2)  # noise does no harm: measured noisy acc on the clean line
    th = theory_check(df)
    np.testing.assert_allclose(th.test_acc_noisy, th.expected_from_acc, atol=0.01)
    np.testing.assert_allclose(th.dropna(subset=["position"]).position, 0, atol=0.2)
    assert th.position.notna().any() and (th.gap > 0).iloc[-1]

def test_theory_check_without_closed_form_says_so():
    th = theory_check(final(noise="matrix"))
    assert th.theory.isna().all() and th.note.str.contains("no closed form").all()

def test_noise_regimes_move_from_clean_line_to_theory():
    df = load_results(simulate(groups={"m": (0.95, -0.9)}, epochs=5, seeds=2, sd=0.0), final=False, warn=False)
    reg = noise_regimes(df)
    assert set(reg.epoch) == set(range(5)) and set(reg.ratio) == set(RATIOS)
    pos = reg[reg.ratio == 0.3].sort_values("epoch").position.to_numpy()
    assert np.all(np.diff(pos) > 0) and pos[0] < 0.2 and pos[-1] > 0.8

# ---------------------------------------------------------------------------------------------------------------
# robustness ranking
def test_robustness_ranks_by_known_slopes():
    groups = {"steady": (0.9, -0.2), "middling": (0.9, -0.5), "fragile": (0.95, -1.0)}
    r = robustness(final(groups=groups, seeds=4, sd=0.005), n_boot=300)
    assert r.arch.tolist() == ["steady", "middling", "fragile"]
    for g in r.itertuples():
        s = groups[g.arch][1]
        assert g.slope_lo - 0.05 < s < g.slope_hi + 0.05
        if g.drop_reached: assert g.drop_ratio == pytest.approx(0.05 / -s, abs=0.02)

def test_robustness_censored_drop_is_ranked_best():
    r = robustness(final(groups={"flat": (0.9, -0.05), "steep": (0.9, -1.0)}, seeds=3, sd=0.002), n_boot=200)
    flat = r.set_index("arch").loc["flat"]
    assert not flat.drop_reached and np.isnan(flat.drop_ratio) and flat.rank_drop == 1
    assert r.arch.iloc[0] == "flat"

@settings(max_examples=30, deadline=None)
@given(slope=st.floats(-3.0, -0.3), drop=st.floats(0.01, 0.08))
def test_drop_ratio_interpolates_a_straight_line(slope, drop):
    expected = drop / -slope
    assume(abs(expected - max(RATIOS)) > 1e-6)  # exactly at the last ratio, rounding decides
    r = robustness(final(groups={"m": (0.95, slope)}, sd=0.0, seeds=1), drop=drop, n_boot=10).iloc[0]
    if expected <= max(RATIOS): assert r.drop_ratio == pytest.approx(expected, rel=1e-6)
    else: assert not r.drop_reached
    assert r.auc == pytest.approx(0.95 + slope * (min(RATIOS) + max(RATIOS)) / 2, abs=1e-9)

def test_robustness_ranks_within_settings():
    df = pd.concat([simulate(groups={"a": (0.9, -0.2), "b": (0.9, -0.8)}, noise=k) for k in ("sym", "pair")])
    r = robustness(load_results(df, warn=False), n_boot=50)
    for noise, g in r.groupby("noise"):
        assert g["rank"].tolist() == [1.0, 2.0] and g.arch.tolist() == ["a", "b"], noise

# ---------------------------------------------------------------------------------------------------------------
# confusion matrices from the run folders
def test_confusion_table_from_run_folders(tmp_path):
    sweep, failed, _ = write_sweep(tmp_path/"s", failed=1, seeds=2)
    df = load_results(sweep, warn=False)
    cm = confusion_table(df, ratios=[0, 0.11, 0.3])
    assert sorted(cm.ratio.unique()) == [0.0, 0.1, 0.3]  # nearest swept ratios
    assert np.allclose(cm.groupby(["ratio", "true"]).share.sum(), 1)
    diag = cm[cm.true == cm.pred].groupby("ratio").share.mean()
    acc = df.groupby("ratio").test_acc.mean()
    for r in diag.index: assert diag[r] == pytest.approx(acc[r], abs=0.03)
    assert cm.groupby("ratio")["count"].sum().loc[0.0] == 2 * 50 * len(CLASSES)  # two seeds summed

# ---------------------------------------------------------------------------------------------------------------
# per-class precision/recall columns; INCV's methods x settings table
FIXTURE = Path(__file__).parent/"fixtures"/"sweep_v1"

def test_an_old_sweep_gains_per_class_precision_and_recall_from_its_class_reports(tmp_path):
    import shutil
    from false_labels.study.analysis import class_columns, lacks_per_class
    root = tmp_path/"fx"; shutil.copytree(FIXTURE, root)
    assert lacks_per_class(pd.read_parquet(root/"sweep"/"results.parquet"))   # written before the columns existed
    df = load_results(root/"sweep", warn=False)
    assert class_columns(df, "precision") == ["precision_blob", "precision_blur", "precision_channel", "precision_offset"]
    assert len(class_columns(df, "recall")) == 4 and "precision_requested" not in class_columns(df, "precision")
    checked = 0
    for row in df.itertuples():
        f = root/"sweep"/"runs"/row.run_id/"class_report"/f"epoch_{row.epoch:03d}.json"
        if not f.exists(): assert math.isnan(row.precision_blob); continue   # no report, no number
        rep = json.loads(f.read_text()); checked += 1
        for c in rep["classes"]:
            assert getattr(row, f"precision_{c}") == rep[c]["precision"] and getattr(row, f"recall_{c}") == rep[c]["recall"]
    assert checked >= 2
    assert pd.read_parquet(root/"sweep"/"results.parquet").shape == pd.read_parquet(FIXTURE/"sweep"/"results.parquet").shape  # left alone

def test_method_settings_are_means_and_sds_over_seeds_at_the_best_and_last_epoch():
    from false_labels.study.analysis import method_settings, settings_table, epoch_curves
    groups = {"ce": (0.9, -0.5), "robust": (0.9, -0.1)}
    allep = pd.concat([load_results(simulate(groups=groups, ratios=(0, 0.2), seeds=3, epochs=4, sd=0.0, noise=k), final=False, warn=False)
                       for k in ("sym", "pair")], ignore_index=True)
    ms = method_settings(allep)
    assert set(ms.columns) >= {"arch", "noise", "ratio", "epoch", "mean", "sd", "n_runs"} and (ms.n_runs == 3).all()
    last = ms[ms.epoch == "last"].set_index(["arch", "noise", "ratio"])["mean"]
    for (arch, noise, ratio), v in last.items(): assert abs(v - (0.9 + groups[arch][1] * ratio)) < 1e-9
    assert (ms.sd.fillna(0) < 1e-9).all()
    # by hand: best = the max over each run's epochs, then the mean over seeds
    hand = allep.groupby(["arch", "noise", "ratio", "run_id"]).test_acc.max().groupby(["arch", "noise", "ratio"]).mean()
    best = ms[ms.epoch == "best"].set_index(["arch", "noise", "ratio"])["mean"]
    assert np.allclose(best.loc[hand.index], hand)
    t = settings_table(ms)
    assert list(t.columns) == ["method", "epoch", "pair 0 %", "pair 20 %", "sym 0 %", "sym 20 %"]
    assert t.set_index(["method", "epoch"]).loc[("arch=ce", "last"), "sym 20 %"] == "80.0 ± 0.0"
    ec = epoch_curves(allep)
    assert len(ec) == 2 * 2 * 2 * 4 and (ec.n_runs == 3).all()
    with pytest.raises(ValueError, match="unknown metric 'nope'"): method_settings(allep, "nope")
