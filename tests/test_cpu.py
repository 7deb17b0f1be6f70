"""The CPU training path: bf16 detection and fallback, channels-last, the CPU architecture, bf16-vs-fp32 numerics."""
import numpy as np
import pytest
import torch

from false_labels.training.loaders import dataloaders
from false_labels.training.learner import (ARCHS, CPU_PHOTO_RECIPE, LOSSES, OPTS, STUDY_RECIPE, Autocast, cpu_bf16_supported,
                                make_learner, make_model, predict_logits, resolve_precision)

from toys import colour_toy


def test_bf16_detection_and_auto_precision(monkeypatch):
    import false_labels.training.learner as L
    assert isinstance(cpu_bf16_supported(), bool)
    assert resolve_precision("auto", "cpu") == ("bf16" if cpu_bf16_supported() else "fp32")
    monkeypatch.setattr(L, "cpu_bf16_supported", lambda: False)          # a CPU without native bf16: fp32
    assert L.resolve_precision("auto", "cpu") == "fp32"
    monkeypatch.setattr(L, "cpu_bf16_supported", lambda: True)
    assert L.resolve_precision("auto", "cpu") == "bf16"
    assert L.resolve_precision("fp32", "cpu") == "fp32"                  # --precision fp32 always wins
    with pytest.raises(ValueError, match="'fp16' needs a CUDA device"): L.resolve_precision("fp16", "cpu")


def test_learner_layout_follows_precision(one_thread):
    dls = dataloaders(colour_toy(120), task="label", bs=32, device="cpu")
    l16 = make_learner(dls, "small_cnn", precision="bf16")
    l32 = make_learner(dls, "small_cnn", precision="fp32")
    conv16, conv32 = l16.model[0].weight, l32.model[0].weight
    assert conv16.is_contiguous(memory_format=torch.channels_last) and not conv32.is_contiguous(memory_format=torch.channels_last)
    assert any(isinstance(cb, Autocast) for cb in l16.cbs) and not any(isinstance(cb, Autocast) for cb in l32.cbs)
    l = make_learner(dls, "small_cnn", precision="bf16", channels_last=False)
    assert not l.model[0].weight.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("size", [16, 32, 33])
def test_cpu_net_shapes(size, one_thread):
    m = make_model("cpu_net", 7).eval()
    assert m(torch.rand(2, 3, size, size)).shape == (2, 7)
    with pytest.raises(ValueError, match="no pretrained weights for 'cpu_net'"): make_model("cpu_net", 7, pretrained=True)


def test_recipes_are_valid():
    for r in (CPU_PHOTO_RECIPE, STUDY_RECIPE):
        assert r["arch"] in ARCHS and r["opt"] in OPTS and r["loss"] in LOSSES
        assert r["epochs"] >= 1 and r["bs"] >= 1 and r["precision"] in ("auto", "fp32", "bf16")
    assert STUDY_RECIPE["size"] >= 16 and STUDY_RECIPE["n"] >= 100 and 0.0 in STUDY_RECIPE["ratios"]


def _fit_acc(ds, precision, seed):
    torch.manual_seed(seed)
    dls = dataloaders(ds, task="label", bs=32, device="cpu", seed=seed)
    learn = make_learner(dls, "small_cnn", "ce", lr=0.05, precision=precision)
    learn.fit_one_cycle(3)
    return float((predict_logits(learn, dls.test).argmax(1) == dls.test.labels).float().mean())


@pytest.mark.skipif(not cpu_bf16_supported(), reason="no native bf16 on this CPU (autocast would be emulated)")
def test_bf16_and_fp32_reach_the_same_accuracy(one_thread):
    "The same numerics check as the GPU path: bf16 autocast learns a toy task as well as fp32 does."
    ds = colour_toy(600, size=16, strength=40, seed=1)                     # not trivial: the colour lead is faint
    acc16 = np.mean([_fit_acc(ds, "bf16", s) for s in (0, 1)])
    acc32 = np.mean([_fit_acc(ds, "fp32", s) for s in (0, 1)])
    assert acc32 > 0.6 and acc16 > 0.6
    assert abs(acc16 - acc32) < 0.06, (acc16, acc32)
