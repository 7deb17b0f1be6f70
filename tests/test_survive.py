"Tests for false_labels.methods elr, coteaching_plus, dividemix, relabel and forward: the fastai parts and the methods."
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from false_labels.core import seed_everything
from false_labels.training.loaders import dataloaders
from false_labels.training.learner import predict_logits
from false_labels.methods.coteaching import forget_schedule
from false_labels.methods.coteaching_plus import CoTeachingPlus, CoTeachingPlusLoss, default_init_epoch
from false_labels.methods.dividemix import DivideMix, augment_batch, default_lambda_u, default_warmup, dividemix_learner, gmm_clean_prob
from false_labels.methods.elr import ELR, ELRLoss, elr_learner
from false_labels.methods.shared import TwinNets, corrupted_by_id, twin_learner
from toys import colour_toy

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def dls():
    return dataloaders(colour_toy(n=240), task="label", noise="sym", ratio=0.3, bs=32, device="cpu", augment=False)


# --- ELR
def test_elr_loss_matches_formula():
    lf = ELRLoss(beta=0.7, lam=3.0); lf.reset(10, 3)
    logits = torch.randn(4, 3, requires_grad=True); y = torch.tensor([0, 1, 2, 0]); ids = torch.tensor([9, 2, 5, 0])
    lf.target[ids] = torch.tensor([[.5, .25, .25]] * 4)
    lf.ids = ids
    loss = lf(logits, y)
    p = logits.softmax(1).clamp(1e-4, 1 - 1e-4); q = p.detach() / p.detach().sum(1, keepdim=True)
    t = 0.7 * torch.tensor([[.5, .25, .25]] * 4) + 0.3 * q
    want = (F.cross_entropy(logits, y, reduction="none") + 3 * torch.log(1 - (t * p).sum(1))).mean()
    assert torch.allclose(loss, want, atol=1e-6) and torch.allclose(lf.target[ids], t)
    loss.backward()
    assert logits.grad is not None


def test_elr_no_ids_is_ce_and_no_update():
    lf = ELRLoss(); lf.reset(5, 3)
    logits, y = torch.randn(2, 3), torch.tensor([0, 1])
    assert torch.allclose(lf(logits, y), F.cross_entropy(logits, y))
    assert lf.target.sum() == 0
    lf.ids = torch.tensor([0, 1])
    with torch.no_grad(): lf(logits, y)                  # evaluation passes never touch the target
    assert lf.target.sum() == 0


def test_elr_bad_args():
    with pytest.raises(ValueError, match="beta"): ELRLoss(beta=1.5)
    with pytest.raises(ValueError, match="lam"): ELRLoss(lam=-1)


def test_elr_learner_fills_targets_of_training_ids(dls):
    seed_everything(0)
    learn = elr_learner(dls, arch="small_cnn", lr=1e-2, opt="adamw")
    learn.fit(1)
    t = learn.loss_func.target
    ids = torch.as_tensor(dls.info.ids)
    seen = t[ids].sum(1) > 0
    assert seen.float().mean() > 0.8 and torch.allclose(t[ids][seen].sum(1), torch.full((int(seen.sum()),), 0.3), atol=1e-4)
    others = torch.ones(len(t), dtype=torch.bool); others[ids] = False
    assert t[others].sum() == 0                             # validation and test samples never enter the target
    assert learn.loss_func.ids is None


# --- Co-teaching+
def test_plus_schedule_and_init_epoch():
    s = forget_schedule(12, 0.4, num_gradual=5)
    assert np.allclose(s[:5], np.linspace(0, 0.4, 5)) and (s[5:] == 0.4).all()
    assert default_init_epoch(200) == 20 and default_init_epoch(5) == 1
    with pytest.raises(ValueError, match="num_gradual"): forget_schedule(5, 0.2, num_gradual=0)


def test_coteaching_plus_picks_among_disagreements():
    lf = CoTeachingPlusLoss(); lf.disagree, lf.forget_rate = True, 0.0
    a = torch.tensor([[2., 0.], [2., 0.], [0., 2.]]); b = torch.tensor([[2., 0.], [0., 2.], [2., 0.]])
    pred = torch.stack([a, b]).requires_grad_()
    y = torch.tensor([0, 0, 0])
    loss = lf(pred, y)
    assert lf.pool.tolist() == [1, 2] and lf.picked.shape == (2, 2)
    ce = F.cross_entropy(pred.detach().flatten(0, 1), y.repeat(2), reduction="none").view(2, 3)
    assert torch.allclose(loss, ce[:, 1:].mean(1).sum())
    lf.disagree = False
    lf(pred, y); assert lf.pool.tolist() == [0, 1, 2]
    assert lf(a, y).ndim == 0                                   # evaluation logits: plain loss


def test_coteaching_plus_fit_logs(dls):
    seed_everything(0)
    learn = twin_learner(dls, CoTeachingPlusLoss(), arch="small_cnn", lr=1e-2, opt="adamw")
    cb = CoTeachingPlus(forget_schedule(3, 0.3, num_gradual=2), init_epoch=1, corrupted_by_id=corrupted_by_id(dls.info))
    learn.fit(3, cbs=[cb])
    assert [r["disagree"] for r in cb.log] == [False, True, True]
    assert cb.log[0]["pool_share"] == 1.0 and 0 <= cb.log[-1]["pool_share"] < 1
    assert 0 <= cb.log[-1]["picked_clean_share"] <= 1
    assert isinstance(learn.model, TwinNets) and predict_logits(learn, dls.test).shape == (dls.test.n, 3)


def test_callbacks_refuse_wrong_loss(dls):
    learn = twin_learner(dls, torch.nn.CrossEntropyLoss(), arch="small_cnn")
    with pytest.raises(ValueError, match="CoTeachingPlusLoss"): learn.fit(1, cbs=[CoTeachingPlus([0.1])])


# --- DivideMix
def test_gmm_and_defaults():
    rng = np.random.default_rng(0)
    w = gmm_clean_prob(np.r_[rng.normal(0.1, 0.05, 80), rng.normal(1.0, 0.1, 20)])
    assert (w[:80] > 0.5).all() and (w[80:] < 0.5).all()
    with pytest.raises(ValueError, match="at least 2"): gmm_clean_prob([1.0])
    assert default_lambda_u("sym", 0.2) == 0 and default_lambda_u("sym", 0.5) == 25 and default_lambda_u("pair", 0.4) == 0
    assert default_warmup(30) == 10 and default_warmup(2) == 1 and default_warmup(300, 391) == 10   # a third at most; the paper's 10 of 300


def test_augment_batch_reproducible_and_shape():
    x = torch.randn(4, 3, 16, 16)
    a = augment_batch(x, torch.Generator().manual_seed(3)); b = augment_batch(x, torch.Generator().manual_seed(3))
    assert a.shape == x.shape and torch.equal(a, b)
    c = augment_batch(x, torch.Generator().manual_seed(3), max_shift=0)
    assert all(torch.equal(c[i], x[i]) or torch.equal(c[i], x[i].flip(2)) for i in range(4))


def test_dividemix_runs_and_divides(dls):
    seed_everything(0)
    learn = dividemix_learner(dls, arch="small_cnn")
    dm = DivideMix(warmup=1, lambda_u=25, rampup=1, corrupted_by_id=corrupted_by_id(dls.info))
    w0 = [p.detach().clone() for p in learn.model.nets[1].parameters()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        learn.fit(2, cbs=[dm])
    assert [r["phase"] for r in dm.log] == ["warmup", "dividemix"]
    assert dm.prob_clean.shape == (2, dls.train.n) and ((dm.prob_clean >= 0) & (dm.prob_clean <= 1)).all()
    assert np.isfinite(dm.log[-1]["loss"])
    assert any(not torch.equal(a, b) for a, b in zip(w0, learn.model.nets[1].parameters()))   # both nets train
    assert learn.model.eval_output == "mean"


def test_dividemix_bad_args(dls):
    with pytest.raises(ValueError, match="p_threshold"): DivideMix(p_threshold=1.0)
    learn = twin_learner(dls, CoTeachingPlusLoss(), arch="small_cnn")
    learn.model = learn.model.nets[0]
    with pytest.raises(ValueError, match="TwinNets"): learn.fit(1, cbs=[DivideMix()])


# --- the methods through train_method (the user path): tiny data, 1-2 epochs
from false_labels.methods.registry import train_method  # noqa: E402
from false_labels.methods.relabel import relabel_flagged  # noqa: E402

MRUN = dict(task="label", noise="sym", ratio=0.3, arch="small_cnn", bs=32, device="cpu", seed=0)


@pytest.fixture(scope="module")
def mds(): return colour_toy(n=160)


def _run(mds, tmp_path, method, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = train_method(mds, tmp_path/method, method=method, **{**MRUN, **kw})
    import json
    assert json.loads((tmp_path/method/"result.json").read_text()) == res
    return res


def test_method_elr(mds, tmp_path):
    res = _run(mds, tmp_path, "elr", epochs=1, method_kw=dict(lam=2.0))
    assert res["method"] == "elr" and res["elr_lam"] == 2.0 and res["elr_beta"] == 0.7
    assert res["noise_rate_source"] == "unused" and res["noise_rate_used"] is None
    assert "elr trained 1 epochs, under a quarter of its reference schedule (120)" in res["schedule_note"]   # a short run says so
    with pytest.raises(ValueError, match="method .elr. trains with loss ce; loss .gce. conflicts"): _run(mds, tmp_path, "elr", epochs=1, loss="gce", overwrite=True)


def test_method_coteaching_plus(mds, tmp_path):
    res = _run(mds, tmp_path, "coteaching-plus", epochs=2, noise_rate=0.3, method_kw=dict(init_epoch=1, num_gradual=1))
    assert res["noise_rate_source"] == "given" and res["forget_rate"] == 0.3 and res["init_epoch"] == 1
    assert [r["disagree"] for r in res["selection"]] == [False, True]
    assert res["forget_schedule"] == [0.0, 0.3] and 0 <= res["peer_test_acc"] <= 1


def test_method_dividemix(mds, tmp_path):
    res = _run(mds, tmp_path, "dividemix", epochs=2, noise_rate=0.3, method_kw=dict(warmup=1))
    assert res["lambda_u"] == default_lambda_u("sym", 0.3) == 25 and res["warmup"] == 1
    assert [r["phase"] for r in res["selection"]] == ["warmup", "dividemix"] and res["divided"]
    kept = np.load(tmp_path/"dividemix"/"sample_stats.npz")["kept"]
    assert res["n_kept"] == int(kept.sum()) and 0 < res["n_kept"] < len(kept)
    share = (res["selection"][1]["labeled_share_0"] + res["selection"][1]["labeled_share_1"]) / 2
    assert 0 <= res["kept_label_precision"] <= 1 and 0 < share < 1
    assert _run(mds, tmp_path, "dividemix", epochs=1, method_kw=dict(lambda_u=0.0, warmup=1), overwrite=True)["noise_rate_source"] == "unused"


def test_relabel_flagged_rule():
    p = np.array([[.9, .1], [.6, .4], [.5, .5], [.2, .8], [.7, .3]])
    new, kept, f = relabel_flagged(p, np.array([1, 1, 0, 1, 0]), np.array([True, True, True, False, True]), threshold=0.55)
    assert new.tolist() == [0, 0, 0, 1, 0] and kept.tolist() == [True, True, False, True, True]
    assert f == dict(n_flagged=4, n_relabelled=2, n_confirmed=1, n_dropped=1)
    with pytest.raises(ValueError, match="threshold"): relabel_flagged(p, np.zeros(5, int), np.zeros(5, bool), threshold=0)


def test_method_relabel_retrain_counts(mds, tmp_path):
    res = _run(mds, tmp_path, "relabel-retrain", epochs=1, noise_rate=0.3, method_kw=dict(folds=2, threshold=0.4))
    n = res["n_train"]
    kept = np.load(tmp_path/"relabel-retrain"/"sample_stats.npz")["kept"]
    assert res["n_flagged"] == round(0.3 * n) == res["n_relabelled"] + res["n_confirmed"] + res["n_dropped"]
    assert res["n_kept"] == n - res["n_dropped"] == int(kept.sum())
    assert res["detector"] == "cl" and res["relabel_threshold"] == 0.4
    for k in ("relabel_precision", "drop_precision"):
        assert res[k] is None or 0 <= res[k] <= 1
    assert 0 <= res["label_accuracy_before"] <= 1 and 0 <= res["label_accuracy_after"] <= 1


def test_dividemix_never_trains_on_a_batch_of_one():
    dls = next(d for d in (dataloaders(colour_toy(n=k), task="label", noise="sym", ratio=0.3, bs=32, device="cpu",
                                       augment=False) for k in range(160, 180)) if d.train.n % 2 == 1)
    n = dls.train.n
    b = next(b for b in range(4, n) if (n - 1) % (2 * b) == 0)        # warm-up batches of 2b leave exactly 1 sample
    seed_everything(0)
    learn = dividemix_learner(dls, arch="basic_cnn")                   # batch norm on 1x1 maps: fails on a batch of 1
    dm = DivideMix(warmup=1, bs=b, rampup=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        learn.fit(2, cbs=[dm])                                          # batch norm refuses a batch of 1 in training
    assert [r["phase"] for r in dm.log] == ["warmup", "dividemix"]


def test_method_forward_known_transition_is_the_injected_noise(mds, tmp_path):
    "transition='known': T is the injected noise's own matrix at the realised rate; its error is measured against the labels."
    from false_labels.noise.corrupt import noise_matrix
    from false_labels.methods.forward import ForwardLoss
    res = _run(mds, tmp_path, "forward", epochs=1, noise="pair", method_kw=dict(transition="known"))
    T = np.array(res["transition_matrix"])
    np.testing.assert_allclose(T, noise_matrix("pair", res["realised_ratio"], 3), atol=1e-6)
    assert res["transition"] == "known" and res["noise_rate_source"] == "transition (known)"
    assert 0 <= res["transition_error"] < 0.5 and res["noise_rate_used"] == pytest.approx(res["realised_ratio"])
    with pytest.raises(ValueError, match="method .forward. trains with loss ce; loss .gce. conflicts"): _run(mds, tmp_path, "forward", epochs=1, loss="gce", overwrite=True)
    with pytest.raises(ValueError, match="unknown method_kw transition 'true'; valid: auto, glc, anchor, cl, known"):
        _run(mds, tmp_path, "forward", epochs=1, method_kw=dict(transition="true"), overwrite=True)
    with pytest.raises(ValueError, match="transition 'known' needs noise sym, pair or matrix"):
        _run(mds, tmp_path, "forward", epochs=1, noise="idn", method_kw=dict(transition="known"), overwrite=True)


def test_method_forward_estimates_T_and_scales_it_to_a_given_rate(mds, tmp_path):
    "glc (default with clean validation labels) / anchor / cl estimates; level='rate' sets T's off-diagonal level to the rate, its shape kept."
    res = _run(mds, tmp_path, "forward", epochs=1, noise_rate=0.25, method_kw=dict(folds=2, transition="cl", level="rate"))
    T = np.array(res["transition_matrix"])
    np.testing.assert_allclose(T.sum(1), 1, atol=1e-5)
    prior = np.bincount(np.load(tmp_path/"forward"/"sample_stats.npz")["given"], minlength=3) / res["n_train"]
    assert prior @ (1 - np.diag(T)) == pytest.approx(0.25, abs=1e-4) == res["transition_flip_share"] and res["noise_rate_source"] == "given"
    res = _run(mds, tmp_path, "forward", epochs=1, method_kw=dict(folds=2, transition="anchor"), overwrite=True)
    assert res["transition"] == "anchor" and res["noise_rate_source"] == "transition (anchor)" and "cl" in res["noise_rate_estimates"]
    res = _run(mds, tmp_path, "forward", epochs=2, overwrite=True)                       # auto: glc on the clean validation split
    T = np.array(res["transition_matrix"])
    assert res["transition"] == "glc" and res["transition_level"] == "estimate" and res["noise_rate_used"] == pytest.approx(res["transition_flip_share"])
    assert np.diag(T).min() > 0.3 and res["transition_error"] < 1
    res = _run(mds, tmp_path, "forward", epochs=1, corrupt_valid=True, method_kw=dict(folds=2), overwrite=True)
    assert res["transition"] == "anchor"                                                  # auto with noisy validation labels
    with pytest.raises(ValueError, match="transition 'glc' reads T off clean validation labels"):
        _run(mds, tmp_path, "forward", epochs=1, corrupt_valid=True, method_kw=dict(transition="glc"), overwrite=True)
    with pytest.raises(ValueError, match="unknown method_kw level 'known'; valid: estimate, rate"):
        _run(mds, tmp_path, "forward", epochs=1, method_kw=dict(level="known"), overwrite=True)
