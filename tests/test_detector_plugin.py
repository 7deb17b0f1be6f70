"""A new detector, defined and registered in this one file, appears in the CLI (`detect --method`), the sweep
(`detect --ratios`), the report's detection table and the docs' listing of detectors, without touching another file."""
from dataclasses import dataclass
import json
import numpy as np
import pandas as pd
import pytest
from false_labels.cli import main
from false_labels.detectors.registry import DETECTORS, Detection, Detector, detector_notes, detector_table, register_detector, registered_detectors

TINY = ["--arch", "small_cnn", "--epochs", "1", "--bs", "32", "--device", "cpu", "--allow-no-learning", "--size", "16",
        "--task", "4", "--folds", "2", "--quiet"]

pytestmark = pytest.mark.usefixtures("one_thread")


@dataclass
class LastLossSettings:
    "The settings of the `last_loss` detector."
    cut: float = 1.0 # flag a sample whose last training loss exceeds this


def last_loss(stats:dict, cut:float=1.0, **_)->Detection:
    "The given label's loss at the last observation of training: high = suspicious."
    s = np.asarray(stats["loss"], np.float64)
    last = np.array([c[~np.isnan(c)][-1] if (~np.isnan(c)).any() else 0.0 for c in s.T])
    return Detection("last_loss", last, last > cut, dict(cut=f"last loss > {cut:g}"))


@pytest.fixture
def plugin():
    d = register_detector(Detector("last_loss", last_loss, "stats['loss']", ("dynamics",), settings=LastLossSettings,
                                   explain="the given label's training loss at the end of training"))
    yield d
    DETECTORS.pop("last_loss", None)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("plugin")/"ds"
    assert main(["generate", "--out", str(out), "--n", "160", "--size", "16", "--seed", "1", "--workers", "1", "--quiet"]) == 0
    return out


def test_the_docs_list_it(plugin):
    t = detector_table()
    assert "last_loss" in list(t.name) and list(t.name)[:7] == ["ema", "ema_epoch", "aum", "cl", "incv", "tv", "ensemble"]
    assert detector_notes()["last_loss"] == "the given label's training loss at the end of training"
    assert "last_loss" in registered_detectors()


def test_detect_runs_it_and_writes_its_scores(plugin, data, tmp_path):
    out = tmp_path/"det"
    assert main(["detect", "--data", str(data), "--out", str(out), "--method", "last_loss", "--ratio", "0.2", *TINY]) == 0
    ev = pd.read_csv(out/"evaluation.csv")
    assert list(ev.method) == ["last_loss"]
    sus = pd.read_csv(out/"suspects.csv")
    assert {"score_last_loss", "flagged_last_loss"} <= set(sus.columns)
    z = np.load(out/"detection_stats.npz")
    assert z["score_last_loss"].shape == (len(sus),)
    assert json.loads((out/"params.json").read_text())["selected"] == "last_loss"


def test_its_own_settings_reach_it(plugin, data, tmp_path):
    from false_labels.detectors.pipeline import detect_labels
    ev = detect_labels(data, tmp_path/"d", task=4, ratio=0.2, method="last_loss", settings=dict(last_loss=dict(cut=0.0)),
                       arch="small_cnn", epochs=1, bs=32, device="cpu", size=16, folds=2, allow_no_learning=True)
    assert ev.set_index("method").loc["last_loss", "cut"] == "last loss > 0"


def test_the_sweep_and_the_report_show_it(plugin, data, tmp_path):
    "`detect --ratios` (with --fold-best, refused before DetectOptions) scores it at every ratio; the report's table has its rows."
    from false_labels.study.report import detection_section
    out = tmp_path/"sweep"
    assert main(["detect", "--data", str(data), "--out", str(out), "--method", "last_loss,cl", "--ratios", "0.1,0.2",
                 "--fold-best", *TINY]) == 0
    res = pd.read_csv(out/"detection_results.csv")
    assert set(res.method) == {"last_loss", "cl", "cleanlab"} and sorted(res.ratio.unique()) == [0.1, 0.2]
    assert json.loads((out/"params.json").read_text())["fold_best"] is True
    sec = detection_section(out)
    assert "last_loss" in set(sec.tables["detection"]["method"])
