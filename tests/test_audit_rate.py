"""Issue 25: the noise rate of real human noise comes from an audit sample (validation images with both the given and
the verified label) before any model-based estimate; nothing is audited where the labels were corrupted by us, and
asking for an audit without a sample is a one-line error. Driven through the CLI in process."""
import json

import pytest

from procs import cli_in_process
from false_labels.data.formats import import_images
from false_labels.study.benchmark import fake_cifar
from false_labels.training.loaders import dataloaders


cli = cli_in_process


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    src = fake_cifar(tmp_path_factory.mktemp("cifar"), per_class=12, test_per_class=4, human_rates=dict(worse_label=0.4, aggre_label=0.1))
    return import_images(src, out=tmp_path_factory.mktemp("ds")/"data", progress=False, verbose=False)


TRAIN = ["--method", "coteaching", "--epochs", "1", "--arch", "small_cnn", "--bs", "16", "--device", "cpu", "--quiet"]


def test_a_label_set_is_audited_on_its_validation_images(ds, tmp_path):
    dls = dataloaders(ds.with_labels("worst"), task="label", noise="sym", ratio=0, device="cpu", augment=False)
    a = dls.info.audit()
    assert a is not None and a["n"] == len(dls.valid.labels) > 0
    assert a["rate"] == pytest.approx(float((dls.info.valid_audit != dls.valid.labels.numpy()).mean()))
    assert a["lo"] <= a["rate"] <= a["hi"]
    rc, out, err = cli("train", "--data", ds.path, "--labels", "worst", "--out", tmp_path/"run", *TRAIN)
    assert rc == 0, err
    r = json.loads((tmp_path/"run"/"result.json").read_text())
    assert r["noise_rate_source"].startswith("audit (") and r["noise_rate_used"] == pytest.approx(a["rate"])
    assert r["noise_rate_estimates"]["audit_n"] == a["n"] and "gap" not in r["noise_rate_estimates"]   # no model trained for it


def test_the_clean_set_audits_to_zero(ds):
    dls = dataloaders(ds.with_labels("clean"), task="label", noise="sym", ratio=0, device="cpu", augment=False)
    assert dls.info.audit()["rate"] == 0.0


def test_injected_noise_is_never_audited(ds, tmp_path):
    dls = dataloaders(ds.with_labels("clean"), task="label", noise="sym", ratio=0.3, device="cpu", augment=False)
    assert dls.info.audit() is None                    # our own corruption: an audit would read the answer off the truth
    rc, _, err = cli("train", "--data", ds.path, "--labels", "clean", "--noise", "sym", "--ratio", "0.3",
                     "--noise-estimator", "audit", "--out", tmp_path/"run", *TRAIN)
    assert rc == 2 and "noise_estimator 'audit' needs validation images" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path/"run"/"result.json").exists()


def test_an_explicit_estimator_skips_the_audit(ds, tmp_path):
    rc, _, err = cli("train", "--data", ds.path, "--labels", "worst", "--noise-estimator", "cl", "--out", tmp_path/"run", *TRAIN)
    assert rc == 0, err
    r = json.loads((tmp_path/"run"/"result.json").read_text())
    assert r["noise_rate_source"] == "cl" and "audit" not in r["noise_rate_estimates"]


DETECT = ["--method", "cl", "--folds", "2", "--epochs", "1", "--allow-no-learning", "--arch", "small_cnn", "--bs", "16", "--device", "cpu", "--quiet"]


def test_detect_reads_the_audit_first(ds, tmp_path):
    a = dataloaders(ds.with_labels("worst"), task="label", noise="sym", ratio=0, device="cpu", augment=False).info.audit()
    rc, out, err = cli("detect", "--data", ds.path, "--labels", "worst", "--out", tmp_path/"det", *DETECT)
    assert rc == 0, err
    s = json.loads((tmp_path/"det"/"params.json").read_text())["noise_rate"]
    assert s["estimator"] == "audit" and s["rate"] == pytest.approx(a["rate"])
    assert s["interval"] == pytest.approx([a["lo"], a["hi"]]) and s["evidence"] == (a["lo"] > 0)
    assert {"incv", "cl"} <= set(s["estimates"])          # the model-based estimates are still shown beside it


def test_detect_never_audits_injected_noise(ds, tmp_path):
    rc, _, err = cli("detect", "--data", ds.path, "--labels", "clean", "--ratio", "0.3", "--noise-estimator", "audit",
                     "--out", tmp_path/"det", *DETECT)
    assert rc == 2 and "noise_estimator 'audit' needs validation images" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path/"det").exists() or not any((tmp_path/"det").iterdir())
    rc, _, err = cli("detect", "--data", ds.path, "--labels", "clean", "--ratio", "0.3", "--out", tmp_path/"det2", *DETECT)
    assert rc == 0, err
    assert json.loads((tmp_path/"det2"/"params.json").read_text())["noise_rate"]["estimator"] != "audit"
