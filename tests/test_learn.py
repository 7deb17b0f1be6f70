"Tests for false_labels.training.learner: architectures, losses, learner, the run folder, reproducibility, bad input."
import json
import os
import warnings
from functools import partial
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings, strategies as st

from false_labels.core import OutputExistsError, read_json
from false_labels.training.loaders import DeviceUnavailableError, dataloaders
from false_labels.data.dataset import Dataset
from false_labels.training.learner import (ARCHS, LOSSES, RUN_FILES, PretrainedWeightsMissing, default_lr, load_model, make_learner,
                                make_loss, make_model, resolve_precision, train_run)
from toys import colour_toy

pytestmark = pytest.mark.usefixtures("one_thread")


toy = partial(colour_toy, n=200)


@pytest.fixture(scope="module")
def tds(): return toy()


RUN = dict(task="label", arch="small_cnn", epochs=2, bs=32, device="cpu")


@pytest.fixture(scope="module")
def run(tds, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")/"r"
    return out, train_run(tds, out, ratio=0.2, seed=1, **RUN)


# --- architectures
@pytest.mark.parametrize("arch", list(ARCHS))
def test_archs_build_and_run(arch):
    m = make_model(arch, 5).eval()
    with torch.no_grad(): assert m(torch.zeros(2, 3, 32, 32)).shape == (2, 5)


def test_arch_errors(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="unknown arch 'vgg16'; valid: resnet18, resnet34, resnet50, resnet18_cifar"):
        make_model("vgg16", 3)
    with pytest.raises(ValueError, match="no pretrained weights for 'xresnet18'"): make_model("xresnet18", 3, pretrained=True)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(PretrainedWeightsMissing, match="not in the local torch cache.*resnet18-f37072fd.pth"):
        make_model("resnet18", 3, pretrained=True)


def test_pretrained_from_local_cache(monkeypatch, tmp_path):
    "Weights found in the torch cache are loaded (here: a random 'ImageNet' state dict we put there)."
    import torchvision
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    ref = torchvision.models.resnet18(weights=None)
    ck = tmp_path/"hub"/"checkpoints"; ck.mkdir(parents=True)
    torch.save(ref.state_dict(), ck/"resnet18-f37072fd.pth")
    m = make_model("resnet18", 7, pretrained=True)
    assert torch.equal(m.layer1[0].conv1.weight, ref.layer1[0].conv1.weight) and m.fc.out_features == 7


def test_timm_names():
    try: import timm  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="timm is not installed"): make_model("timm:resnet18", 3)
        return
    assert make_model("timm:resnet18", 3)(torch.zeros(1, 3, 32, 32)).shape == (1, 3)


# --- losses
@pytest.mark.parametrize("name", list(LOSSES))
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), C=st.integers(2, 14))
def test_losses_finite_and_pull_towards_label(name, seed, C):
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(6, C, generator=g) * 3).requires_grad_()
    y = torch.randint(0, C, (6,), generator=g)
    loss_fn = make_loss(name, reduction="none")
    per = loss_fn(logits, y)
    assert per.shape == (6,) and torch.isfinite(per).all() and (per >= -1e-6).all()
    grad, = torch.autograd.grad(per.sum(), logits)
    gy = grad[torch.arange(6), y]
    if name == "ls":  # smoothing pushes back once p_y exceeds 1 - eps + eps/C
        p = logits.softmax(1)[torch.arange(6), y]
        gy = gy[p < 1 - 0.1 + 0.1 / C]
    assert (gy <= 1e-6).all(), (name, gy)
    assert torch.isclose(make_loss(name)(logits, y), per.mean()) and torch.isclose(make_loss(name, reduction="sum")(logits, y), per.sum())


def test_loss_values():
    x = torch.tensor([[2.0, 0.0, -1.0]]); y = torch.tensor([0])
    p = x.softmax(1)[0]
    assert torch.isclose(make_loss("ce")(x, y), -p[0].log())
    assert torch.isclose(make_loss("mae")(x, y), 2 * (1 - p[0]))
    assert torch.isclose(make_loss("gce")(x, y), (1 - p[0] ** 0.7) / 0.7)
    assert torch.isclose(make_loss("sce")(x, y), 0.1 * -p[0].log() - torch.log(torch.tensor(1e-4)) * (1 - p[0]))
    assert torch.isclose(make_loss("bootstrap", beta=1.0)(x, y), -p[0].log())
    assert torch.isclose(make_loss("ls", eps=0.0)(x, y), -p[0].log())
    with pytest.raises(ValueError, match="unknown loss 'focal'; valid: ce, mae, gce, sce, ls, bootstrap, bootstrap_hard"):
        make_loss("focal")
    with pytest.raises(ValueError, match="unknown reduction 'avg'"): make_loss("ce", reduction="avg")


def test_losses_accept_bf16_logits():
    x = torch.randn(4, 5).bfloat16(); y = torch.tensor([0, 1, 2, 3])
    for n in LOSSES: assert make_loss(n)(x, y).dtype == torch.float32


# --- precision and learning rates
def test_precision_and_lr():
    assert resolve_precision("auto", "cpu") in ("fp32", "bf16") and resolve_precision("bf16", "cpu") == "bf16"  # auto: see test_cpu.py
    with pytest.raises(ValueError, match="'fp16' needs a CUDA device"): resolve_precision("fp16", "cpu")
    assert default_lr("resnet18", "sgd", 512) == pytest.approx(2 * default_lr("resnet18", "sgd", 256))
    assert default_lr("resnet18", "sgd", 256, pretrained=True) == pytest.approx(default_lr("resnet18") / 10)


# --- the learner with fastai's tools
def test_learner_fit_summary_lr_find_show(tds):
    import matplotlib.pyplot as plt
    torch.manual_seed(0)
    dls = dataloaders(tds, task="label", ratio=0.1, bs=32, device="cpu")
    learn = make_learner(dls, "small_cnn", "ce")
    learn.fit_one_cycle(2)
    assert learn.recorder.values[-1][2] >= 0.85                    # valid accuracy (20 samples) on an easy task
    assert all(isinstance(l, torch.Tensor) and l.device.type == "cpu" for l in learn.recorder.losses)
    s = str(learn.summary())
    assert "Total params" in s and "32 x 3 x 16 x 16" in s
    sug = learn.lr_find(num_it=12, show_plot=True)
    assert np.isfinite(sug.valley)
    axs = dls.show_batch(max_n=4)
    assert len(axs) >= 4 and all(ax.get_title() for ax in list(axs)[:4])     # each image titled with its label
    plt.close("all")
    learn.show_results(max_n=4)
    titles = [ax.get_title() for ax in plt.gcf().axes if ax.get_title()]
    assert len(titles) == 4 and all(t.count("/") == 1 and set(t.split("/")) <= set(dls.vocab) for t in titles)  # label/prediction
    preds, targs = learn.get_preds(dl=dls.test)
    assert preds.shape == (dls.test.n, 3) and torch.allclose(preds.sum(1), torch.ones(dls.test.n))
    plt.close("all")


def test_bf16_autocast_on_cpu(tds):
    dls = dataloaders(tds, task="label", bs=32, device="cpu")
    learn = make_learner(dls, "small_cnn", "ce", precision="bf16")
    dtypes = []
    conv = next(m for m in learn.model.modules() if isinstance(m, torch.nn.Conv2d))
    h = conv.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))
    try: learn.fit(1, 1e-2)
    finally: h.remove()
    assert dtypes and set(dtypes) == {torch.bfloat16}, set(dtypes)      # the convolutions ran in bf16, not fp32
    assert np.isfinite(learn.recorder.values[-1][0])


def test_batch_ids_callback(tds):
    from fastai.callback.core import Callback
    seen = []
    class Grab(Callback):
        def after_batch(self):
            if self.training: seen.append(self.learn.batch_ids.clone())
    dls = dataloaders(tds, task="label", bs=32, device="cpu")
    make_learner(dls, "small_cnn", cbs=[Grab()]).fit(1)
    ids = torch.cat(seen)
    assert len(ids) == len(dls.train) * 32 and set(ids.tolist()) <= set(tds.split_idx("train").tolist())


# --- the run folder
def test_run_folder_files_and_schema(run, tds):
    out, res = run
    assert sorted(p.name for p in out.iterdir()) == sorted([*RUN_FILES, ".false_labels"])   # the run files and the mark
    classes = ["red", "green", "blue"]
    assert json.loads((out/"label_mapping.json").read_text()) == {"0": "red", "1": "green", "2": "blue"}
    p = json.loads((out/"params.json").read_text())
    for k in ("task", "noise", "ratio", "arch", "loss", "epochs", "seed", "bs", "lr", "size", "device", "precision",
              "pretrained", "compile", "dataset_hash", "versions", "n_train", "n_test"):
        assert k in p, k
    m = pd.read_csv(out/"metrics.csv")
    cols = ["epoch", "train_loss", "valid_loss", "valid_acc", "test_acc", "test_acc_noisy", "test_macro_precision",
            "test_macro_recall", "test_macro_f1", "test_weighted_precision", "test_weighted_recall", "test_weighted_f1"]
    assert list(m.columns) == cols + [f"{k}_{c}" for k in ("f1", "precision", "recall") for c in classes] + ["time_s"]
    assert list(m.epoch) == [0, 1] and m.notna().all().all()
    assert ((m[cols[3:]] >= 0) & (m[cols[3:]] <= 1)).all().all()
    assert sorted(p.name for p in (out/"class_report").iterdir()) == ["epoch_000.json", "epoch_001.json"]
    rep = json.loads((out/"class_report"/"epoch_001.json").read_text())
    assert rep["classes"] == classes and {"accuracy", "macro avg", "weighted avg", *classes} <= set(rep)
    cm = np.array(rep["confusion_matrix"])
    n_test = len(tds.split_idx("test"))
    assert cm.shape == (3, 3) and cm.sum() == n_test and rep["accuracy"] == pytest.approx(m.test_acc.iloc[-1])
    assert np.trace(cm) / n_test == pytest.approx(m.test_acc.iloc[-1])
    assert any(f.name.startswith("events.out.tfevents") for f in (out/"scalars").iterdir())
    s = np.load(out/"sample_stats.npz")
    n_tr = len(tds.split_idx("train"))
    assert set(s.files) == {"ids", "given", "true", "corrupted", "loss", "margin", "probs"}
    assert s["loss"].shape == s["margin"].shape == (2, n_tr) and s["loss"].dtype == np.float32
    assert s["probs"].shape == (n_tr, 3) and np.allclose(s["probs"].sum(1), 1, atol=1e-5)
    np.testing.assert_array_equal(s["ids"], tds.split_idx("train"))
    np.testing.assert_array_equal(s["true"], tds.labels("label")[s["ids"]])
    np.testing.assert_array_equal(s["corrupted"], s["given"] != s["true"])
    assert s["corrupted"].sum() == res["n_corrupted"] == round(0.2 * n_tr)
    # margin > 0 exactly when the model's eval prediction is the given label (last epoch, from the same pass as probs)
    np.testing.assert_array_equal(s["margin"][-1] > 0, s["probs"].argmax(1) == s["given"])
    r = json.loads((out/"result.json").read_text())
    assert r["final"] == pytest.approx(m.iloc[-1].to_dict()) and r["realised_ratio"] == pytest.approx(res["n_corrupted"] / n_tr)
    assert {"train_time_s", "device", "n_corrupted"} <= set(r) and r["device"] == "cpu"
    assert (out/"result.json").stat().st_mtime_ns >= max(f.stat().st_mtime_ns for f in out.iterdir() if f.is_file())
    assert "Total params" in (out/"model_summary.txt").read_text()
    m2 = load_model(out)
    assert m2(torch.zeros(1, 3, 16, 16)).shape == (1, 3)


def test_reproducible_on_cpu(run, tds, tmp_path):
    out, res = run
    res2 = train_run(tds, tmp_path/"again", ratio=0.2, seed=1, **RUN)
    a, b = pd.read_csv(out/"metrics.csv").drop(columns="time_s"), pd.read_csv(tmp_path/"again"/"metrics.csv").drop(columns="time_s")
    pd.testing.assert_frame_equal(a, b)
    s1, s2 = np.load(out/"sample_stats.npz"), np.load(tmp_path/"again"/"sample_stats.npz")
    for k in s1.files: np.testing.assert_array_equal(s1[k], s2[k])
    other = train_run(tds, tmp_path/"other", ratio=0.2, seed=2, epochs=1, **{k: v for k, v in RUN.items() if k != "epochs"})
    s3 = np.load(tmp_path/"other"/"sample_stats.npz")
    assert not np.array_equal(s1["corrupted"], s3["corrupted"])


def test_run_from_generated_folder_cli_style(tmp_path):
    "The CLI passes strings: a dataset folder path and task '14'."
    from false_labels.data.generate import generate_dataset
    ds = generate_dataset(tmp_path/"data", n=140, size=32, seed=0, workers=1, progress=False, gallery=False)
    res = train_run(str(tmp_path/"data"), str(tmp_path/"run"), task="14", noise="hier-across", ratio=0.1, arch="small_cnn",
                    loss="sce", epochs=1, seed=0, bs=32, device="cpu", track_samples=False)
    assert res["task"] == 14 and res["n_classes"] == 14 and res["dataset_hash"] and res["data"].endswith("data")
    s = np.load(tmp_path/"run"/"sample_stats.npz")
    assert s["loss"].shape == (0, len(ds.split_idx("train"))) and s["probs"].shape[1] == 14
    assert len(json.loads((tmp_path/"run"/"class_report"/"epoch_000.json").read_text())["confusion_matrix"]) == 14


def test_run_bad_input(tds, tmp_path, run):
    out, _ = run
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(ValueError, match="unknown arch 'resnet9'; valid: resnet18"): train_run(tds, tmp_path/"a", **{**RUN, "arch": "resnet9"})
    with pytest.raises(ValueError, match="unknown loss 'nll'; valid: ce, mae"): train_run(tds, tmp_path/"b", loss="nll", **RUN)
    with pytest.raises(ValueError, match="does not exist"): train_run(tmp_path/"missing", tmp_path/"c", **RUN)
    with pytest.raises(ValueError, match="ratio"): train_run(tds, tmp_path/"d", ratio=1.2, **RUN)
    with pytest.raises(ValueError, match="unknown task 4"): train_run(tds, tmp_path/"e", **{**RUN, "task": 4})
    with pytest.raises(OutputExistsError, match="already holds a run"): train_run(tds, out, **RUN)
    assert not [p.name for p in tmp_path.iterdir() if p.name in "abcde"], "a refused run created its folder"
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before, "a refused run changed the finished one"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_run_cuda_request_without_gpu(tds, tmp_path):
    with pytest.raises(DeviceUnavailableError): train_run(tds, tmp_path/"s", **{**RUN, "device": "cuda!"})
    with pytest.warns(UserWarning, match="falling back to the CPU"):
        res = train_run(tds, tmp_path/"f", **{**RUN, "device": "cuda", "epochs": 1})
    assert res["device"] == "cpu" and res["device_requested"] == "cuda"


def test_overwrite_keeps_foreign_files(tds, tmp_path):
    out = tmp_path/"r"; out.mkdir(); (out/"run.ipynb").write_text("{}")
    train_run(tds, out, **{**RUN, "epochs": 1})                  # a foreign file does not block a run
    train_run(tds, out, overwrite=True, **{**RUN, "epochs": 1})
    assert (out/"run.ipynb").read_text() == "{}" and (out/"result.json").exists()


def test_a_method_is_one_setup(tmp_path):
    "train_run takes a setup: its callbacks run, its params/result fields and kept mask land in the run folder."
    import numpy as np
    from fastai.callback.core import Callback
    from false_labels.training.learner import Prepared, make_learner
    class Count(Callback):
        def before_fit(self): self.n = 0
        def after_batch(self): self.n += self.training
    def setup(run):
        cb = Count()
        kept = np.ones(run.dls.train.n, bool); kept[0] = False
        return Prepared(make_learner(run.dls, path=run.out, **run.recipe), cbs=[cb], kept=kept, params=dict(method="count"),
                        result=dict(extra=1), after_fit=lambda learn: dict(n_batches=cb.n))
    res = train_run(colour_toy(n=120), tmp_path/"run", task="label", arch="small_cnn", epochs=1, bs=32, device="cpu", method=setup)
    assert res["method"] == "count" and res["extra"] == 1 and res["n_batches"] > 0 and "prep_time_s" in res
    assert read_json(tmp_path/"run"/"params.json")["method"] == "count"
    assert np.load(tmp_path/"run"/"sample_stats.npz")["kept"].sum() == res["n_train"] - 1


# --- binary task, per-class columns, checkpoints
def test_binary_task_per_class_columns_and_checkpoints(tds, tmp_path):
    out = tmp_path/"b"
    res = train_run(tds, out, **{**RUN, "task": "binary:blue", "epochs": 3}, ratio=0.1, checkpoint_every=1, track_samples=False)
    assert res["classes"] == ["not_blue", "blue"] and res["n_classes"] == 2 and res["task"] == "binary:blue"
    assert sorted(p.name for p in (out/"checkpoints").iterdir()) == ["epoch_000.pth", "epoch_001.pth", "epoch_002.pth"]
    m = pd.read_csv(out/"metrics.csv")
    rep = json.loads((out/"class_report"/"epoch_002.json").read_text())
    for c in ("blue", "not_blue"):
        assert m[f"precision_{c}"].iloc[-1] == rep[c]["precision"] and m[f"recall_{c}"].iloc[-1] == rep[c]["recall"]
    sd = [torch.load(out/"checkpoints"/f"epoch_{e:03d}.pth") for e in range(3)]
    final = torch.load(out/"model.pth")
    assert all(torch.equal(sd[2][k], final[k]) for k in final)              # the last checkpoint is the final model
    assert any(not torch.equal(sd[0][k], sd[2][k]) for k in final)          # and training moved it
    assert load_model(out, epoch=1) is not None
    train_run(tds, out, **{**RUN, "epochs": 1}, overwrite=True, track_samples=False)
    assert not (out/"checkpoints").exists()                                  # a replaced run takes its checkpoints along
    for bad in (0, -2, 1.5, "x"):
        with pytest.raises(ValueError, match="checkpoint_every"): train_run(tds, tmp_path/"c", **RUN, checkpoint_every=bad)
    assert not (tmp_path/"c").exists()


def test_typed_options_give_the_same_run(tds, tmp_path):
    "train_run(recipe, noise, opts) and train_run(**the old keywords) write the same run (every number but the timings)."
    from false_labels.noise.spec import NoiseSpec
    from false_labels.training.learner import run_settings
    from false_labels.training.recipes import Recipe, RunOptions
    kw = train_run(tds, tmp_path/"kw", task="label", noise="pair", ratio=0.2, arch="small_cnn", epochs=1, bs=32, opt="adamw",
                   loss="gce", loss_kw=dict(q=0.5), wd=1e-3, device="cpu", seed=2, track_samples=False)
    typed = train_run(tds, tmp_path/"typed", Recipe("small_cnn", 1, 32, "adamw", loss="gce", loss_kw=dict(q=0.5)), NoiseSpec("pair", 0.2),
                      RunOptions(wd=1e-3, track_samples=False), task="label", device="cpu", seed=2)
    drop = ("train_time_s", "total_time_s", "versions", "final")
    assert {k: v for k, v in kw.items() if k not in drop} == {k: v for k, v in typed.items() if k not in drop}
    assert {k: v for k, v in kw["final"].items() if k != "time_s"} == {k: v for k, v in typed["final"].items() if k != "time_s"}
    assert (kw["noise"], kw["wd"], kw["loss_kw"], kw["opt"]) == ("pair", 1e-3, {"q": 0.5}, "adamw")
    with pytest.raises(TypeError, match="unexpected keyword argument"): train_run(tds, tmp_path/"x", epoch=1)
    r, n, o = run_settings(arch="small_cnn", ratio=0.1, mapping={0: 1}, noise="pair", size=8)
    assert (r.arch, r.epochs, n.kind, n.ratio, n.kw(), o.size) == ("small_cnn", 5, "pair", 0.1, {"mapping": {0: 1}}, 8)
