"End-to-end: the `false-labels` command as a user runs it (subprocess, tiny settings, CPU)."
import json, subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]

def fl(*args, ok=True):
    r = subprocess.run([sys.executable, "-m", "false_labels", *map(str, args)], capture_output=True, text=True,
                       cwd=ROOT, timeout=600)
    if ok: assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r

def one_error(r, cmd:str)->str:
    "The refusal of a bad input: exit 2, one line `false-labels CMD: error: ...` on stderr, no traceback; return it."
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, f"exit {r.returncode}: {r.stderr[-1500:]}"
    assert "Traceback" not in r.stdout + r.stderr and len(lines) == 1, r.stderr[-1500:]
    assert lines[0].startswith(f"false-labels {cmd}: error: "), lines[0]
    return lines[0]

@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli")/"ds"
    r = fl("generate", "--out", out, "--n", 280, "--size", 24, "--seed", 3, "--workers", 1, "--quiet")
    assert "blob" in r.stdout  # the one-screen summary
    return out

def test_generate_writes_a_loadable_dataset(dataset):
    from false_labels.data.dataset import load_dataset
    ds = load_dataset(dataset)
    assert len(ds) == 280 and ds.images.shape[1:] == (24, 24, 3) and ds.images.dtype == np.uint8
    assert (dataset/"gallery.png").exists() and json.loads((dataset/"card.json").read_text())["seed"] == 3

def test_generate_refuses_a_non_empty_folder(dataset):
    r = fl("generate", "--out", dataset, "--n", 20, "--size", 24, ok=False)
    assert "overwrite" in one_error(r, "generate")

def test_generate_chooses_the_generator_version(tmp_path):
    "--generator-version 1 remakes the images of version 1 (byte for byte as the Python call); a version that does not exist is refused."
    from false_labels.data.dataset import load_dataset
    from false_labels.data.generate import generate_dataset
    fl("generate", "--out", tmp_path/"v1", "--n", 140, "--size", 24, "--seed", 1, "--workers", 1, "--quiet", "--generator-version", 1)
    got, want = load_dataset(tmp_path/"v1"), generate_dataset(tmp_path/"py", n=140, size=24, seed=1, workers=1, progress=False, version=1)
    assert got.card["params"]["generator_version"] == 1 and np.array_equal(got.images, want.images)
    assert "--generator-version" in one_error(fl("generate", "--out", tmp_path/"v9", "--n", 60, "--generator-version", 9, ok=False), "generate")

def test_train_writes_a_run_folder(dataset, tmp_path):
    run = tmp_path/"run"
    r = fl("train", "--data", dataset, "--allow-no-learning", "--task", 4, "--noise", "sym", "--ratio", 0.1, "--arch", "small_cnn",
           "--epochs", 1, "--seed", 0, "--bs", 64, "--device", "cpu", "--out", run)
    res = json.loads((run/"result.json").read_text())
    n_train = int((pd.read_csv(dataset/"manifest.csv").split == "train").sum())
    assert res["n_corrupted"] == round(0.1 * n_train)
    assert (run/"metrics.csv").exists() and (run/"sample_stats.npz").exists()
    assert "accuracy" in r.stdout

def test_train_with_a_robust_method(dataset, tmp_path):
    run = tmp_path/"run"
    r = fl("train", "--data", dataset, "--allow-no-learning", "--task", 4, "--ratio", 0.2, "--arch", "small_cnn", "--epochs", 1, "--bs", 64,
           "--device", "cpu", "--method", "coteaching", "--noise-rate", "known", "--out", run)
    res = json.loads((run/"result.json").read_text())
    assert (res["method"], res["noise_rate_source"]) == ("coteaching", "known") and res["selection"]
    assert f"method coteaching: noise rate {res['realised_ratio']:.4f} (known)" in r.stdout
    r = fl("train", "--data", dataset, "--method", "coteaching", "--noise-rate", "lots", "--out", tmp_path/"x", ok=False)
    assert "not 'known' or a number: 'lots'" in one_error(r, "train")
    r = fl("train", "--data", dataset, "--method", "coteaching", "--noise-estimator", "guess", "--out", tmp_path/"z", ok=False)
    assert "unknown noise_estimator 'guess'" in one_error(r, "train")
    r = fl("train", "--data", dataset, "--method", "coteach", "--out", tmp_path/"y", ok=False)
    assert "unknown method 'coteach'" in one_error(r, "train")

def test_train_forward_with_method_settings(dataset, tmp_path):
    "--method-kw hands a JSON object to the method (forward with the injected noise's T); bad JSON or keys are one-line refusals."
    run = tmp_path/"run"
    fl("train", "--data", dataset, "--allow-no-learning", "--task", 4, "--noise", "pair", "--ratio", 0.2, "--arch", "small_cnn", "--epochs", 1, "--bs", 64,
       "--device", "cpu", "--method", "forward", "--method-kw", '{"transition": "known"}', "--out", run, "--quiet")
    res = json.loads((run/"result.json").read_text())
    assert res["method_kw"] == {"transition": "known"} and res["transition"] == "known"
    assert np.allclose(np.diag(res["transition_matrix"]), 1 - res["realised_ratio"], atol=1e-6)
    r = fl("train", "--data", dataset, "--method", "forward", "--method-kw", "{transition: known}", "--out", tmp_path/"x", ok=False)
    assert "--method-kw: not JSON" in one_error(r, "train")
    r = fl("train", "--data", dataset, "--method", "forward", "--method-kw", '{"transitions": "glc"}', "--out", tmp_path/"y", ok=False)
    assert "unknown method_kw 'transitions' for method 'forward'; valid: transition, level" in one_error(r, "train")
    assert "--method-kw" in one_error(fl("train", "--data", dataset, "--method-kw", "{}", "--out", tmp_path/"z", ok=False), "train")
    assert not any((tmp_path/d).exists() for d in "xyz")

def test_train_names_an_unknown_architecture(dataset, tmp_path):
    r = fl("train", "--data", dataset, "--arch", "resnet999", "--out", tmp_path/"x", ok=False)
    line = one_error(r, "train")
    assert "resnet999" in line and "resnet18" in line

def test_sweep_then_report(dataset, tmp_path):
    sw = tmp_path/"sweep"
    fl("sweep", "--data", dataset, "--allow-no-learning", "--task", 4, "--ratios", "0,0.2", "--seeds", 1, "--arch", "small_cnn",
       "--epochs", 1, "--bs", 64, "--device", "cpu", "--out", sw, "--jobs", 1)
    res = pd.read_parquet(sw/"results.parquet")
    assert sorted(res[res.is_final].ratio.unique()) == [0.0, 0.2]
    r = fl("report", sw)
    assert (sw/"report"/"report.html").exists() and "report" in r.stdout

def test_detect_scores_every_method(dataset, tmp_path):
    out = tmp_path/"det"
    r = fl("detect", "--data", dataset, "--allow-no-learning", "--task", 4, "--ratio", 0.2, "--method", "cl,ema,ensemble", "--folds", 2,
           "--arch", "small_cnn", "--epochs", 2, "--bs", 64, "--device", "cpu", "--out", out)
    ev = pd.read_csv(out/"evaluation.csv")
    assert {"cl", "ema", "ensemble"} <= set(ev.method) and ev.auroc.between(0, 1).all()
    sus = pd.read_csv(out/"suspects.csv")
    assert len(sus) == int((pd.read_csv(dataset/"manifest.csv").split == "train").sum())
    assert (out/"dirty_ids.txt").exists() and "auroc" in r.stdout

def test_detect_names_an_unknown_method(dataset, tmp_path):
    r = fl("detect", "--data", dataset, "--method", "magic", "--out", tmp_path/"x", "--device", "cpu", ok=False)
    assert "magic" in one_error(r, "detect")

def test_sweep_compares_robust_methods(dataset, tmp_path):
    sw = tmp_path/"methods"
    fl("sweep", "--data", dataset, "--allow-no-learning", "--task", 4, "--ratios", "0.3", "--seeds", 1, "--arch", "small_cnn",
       "--method", "ce,coteaching", "--method", "clean-retrain:cl", "--epochs", 1, "--bs", 64, "--device", "cpu",
       "--noise-rate", "known", "--out", sw)
    res = pd.read_parquet(sw/"results.parquet")
    assert set(res[res.is_final].method) == {"ce", "coteaching", "clean-retrain:cl"}
    for d in res[res.is_final & (res.method != "ce")].run_dir:
        r = json.loads((Path(d)/"result.json").read_text())
        assert (r["noise_rate_source"], r["noise_rate_used"]) == ("known", r["realised_ratio"])
    fl("report", sw)
    assert "coteaching" in (sw/"report"/"report.html").read_text()

def test_train_a_binary_task_with_checkpoints(dataset, tmp_path):
    run = tmp_path/"run"
    fl("train", "--data", dataset, "--allow-no-learning", "--task", "binary:blob", "--ratio", 0.1, "--arch", "small_cnn", "--epochs", 2, "--bs", 64,
       "--device", "cpu", "--checkpoint-every", 1, "--out", run, "--quiet")
    res = json.loads((run/"result.json").read_text())
    assert res["classes"] == ["not_blob", "blob"] and res["task"] == "binary:blob" and res["checkpoint_every"] == 1
    assert sorted(p.name for p in (run/"checkpoints").iterdir()) == ["epoch_000.pth", "epoch_001.pth"]
    r = fl("train", "--data", dataset, "--task", "binary:cat", "--out", tmp_path/"x", ok=False)
    assert "unknown class 'cat' in task 'binary:cat'; valid: blob, blur" in one_error(r, "train")
    r = fl("train", "--data", dataset, "--checkpoint-every", 0, "--out", tmp_path/"y", ok=False)
    assert "checkpoint_every" in one_error(r, "train") and not (tmp_path/"y").exists()
    r = fl("study", "--task", "binary:cat", "--out", tmp_path/"s", ok=False)
    assert "unknown class 'cat'" in one_error(r, "study") and not (tmp_path/"s").exists()
    r = fl("sweep", "--data", dataset, "--ratios", "0.1", "--task", "binary:cat", "--out", tmp_path/"w", ok=False)
    assert "unknown class 'cat'" in one_error(r, "sweep") and not (tmp_path/"w").exists()

def test_detect_on_a_binary_task_with_its_cut_options(dataset, tmp_path):
    "detect --task binary:<class> scores two classes (the class and the rest), with the sharper-detection options recorded; bad ones are refused in one line."
    fl("detect", "--data", dataset, "--allow-no-learning", "--out", tmp_path/"det", "--task", "binary:blob", "--ratio", 0.1, "--method", "cl",
       "--folds", 2, "--epochs", 1, "--arch", "small_cnn", "--quiet", "--ensemble-cut", "vote", "--no-pool-probs", "--incv-score", "first",
       "--fold-best")
    params = json.loads((tmp_path/"det"/"params.json").read_text())
    assert (params["ensemble_cut"], params["pool_probs"], params["incv_score"], params["fold_best"]) == ("vote", False, "first", True)
    assert "--ensemble-cut" in one_error(fl("detect", "--data", dataset, "--out", tmp_path/"d3", "--ensemble-cut", "best", ok=False), "detect")
    z = np.load(tmp_path/"det"/"detection_stats.npz")
    assert set(np.unique(z["true"])) == {0, 1} and z["oof_probs"].shape[1] == 2 and (z["given"] != z["true"]).any()
    assert "binary:cat" in one_error(fl("detect", "--data", dataset, "--out", tmp_path/"d2", "--task", "binary:cat", ok=False), "detect")


def _help(argv):
    import contextlib, io
    from false_labels import cli
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as e: cli.main(argv + ["--help"])
    assert e.value.code == 0
    return out.getvalue()

def test_help_has_a_line_for_every_option_and_lists_the_choices_from_the_registries():
    "No bare option in any --help; fixed sets of values listed from the registries (so they cannot drift)."
    import argparse, re
    from false_labels import cli
    from false_labels.training.learner import LOSSES
    from false_labels.training.archs import ARCHS
    from false_labels.methods.registry import methods
    from false_labels.detectors.pipeline import METHODS as DETECTORS
    sub = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name in sub.choices:
        lines = _help([name]).splitlines()
        for a in sub.choices[name]._actions:
            if not a.option_strings or a.dest == "help": continue
            i = next(k for k, l in enumerate(lines) if l.startswith(f"  {a.option_strings[0]}"))
            own = lines[i].split(None, 2 if a.nargs != 0 else 1)          # '--opt METAVAR help...' or '--flag help...'
            has = len(own) > (2 if a.nargs != 0 else 1) or (i + 1 < len(lines) and lines[i + 1].startswith(" " * 20))
            assert has, f"{name} {a.option_strings[0]} has no help line"
    flat = lambda t: re.sub(r"\s+", "", t).replace("-", "")
    train, detect = flat(_help(["train"])), flat(_help(["detect"]))
    for m in [*methods(), *ARCHS, *LOSSES]: assert flat(m) in train, m
    for d in DETECTORS: assert flat(d) in detect, d

def test_a_registered_method_shows_in_help_without_touching_the_cli():
    from false_labels.methods import registry as robust
    assert "myownmethod" not in _help(["train"])
    robust.register_method("myownmethod")(lambda *a, **kw: None)
    try: assert "myownmethod" in _help(["train"]).replace("\n", "").replace(" ", "")
    finally: robust.REGISTRY.pop("myownmethod")
