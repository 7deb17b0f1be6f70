"""The bar of the methods registry: a new robust method, defined and registered in this one file, appears in the CLI
(`train --method`, its `--method-kw` checked, `--help`), in a sweep, in the report and in the docs' listing of the
methods, without touching another file. And a plain training run loads no detection stack."""
import json, subprocess, sys
from dataclasses import dataclass
from pathlib import Path
import numpy as np, pandas as pd
import pytest
from false_labels.methods.registry import REGISTRY, MethodSettings, in_range, methods, methods_table, register_method
from false_labels.methods.shared import subset_loader, with_train
from false_labels.training.learner import make_learner
from procs import cli_env

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_thread")


# --- the whole method: its settings and its setup
@dataclass
class KeepRandomSettings(MethodSettings):
    "The settings of `keep-random` (its `method_kw`)."
    share:float=0.5 # share of the training samples kept, in (0, 1]
    checks = dict(share=in_range(lo_open=True))


def keep_random(run, detector, noise_rate, estimator, kw, prep_epochs, fit_predict):
    "Keep-random: train on a random `share` of the training samples (a floor any cleaning method should beat)."
    kept = np.random.default_rng(run.opts["seed"]).random(len(run.dls.info.ids)) < kw.share
    learn = make_learner(with_train(run.dls, subset_loader(run.dls.train, np.flatnonzero(kept))), path=run.out, **run.recipe)
    return dict(learn=learn, kept=kept, extra=dict(keep_share=kw.share))


@pytest.fixture
def plugin():
    register_method("keep-random", KeepRandomSettings)(keep_random)
    yield "keep-random"
    REGISTRY.pop("keep-random", None)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from false_labels.data.generate import generate_dataset
    return generate_dataset(tmp_path_factory.mktemp("plugin")/"tiny", n=280, size=16, seed=0, workers=1, progress=False,
                            gallery=False).path


def test_in_the_docs_listing(plugin):
    "The registry's table (what the methods notebook renders) lists it with its summary and documented settings."
    assert plugin in methods()
    row = methods_table().set_index("method").loc[plugin]
    assert row.summary.startswith("Keep-random: train on a random `share`")
    assert row.settings == "share=0.5: share of the training samples kept, in (0, 1]"
    assert row.module == __name__


def test_in_the_cli(plugin, data, tmp_path, capsys):
    import contextlib, io
    from false_labels import cli
    help = io.StringIO()
    with contextlib.redirect_stdout(help), pytest.raises(SystemExit): cli.main(["train", "--help"])
    assert plugin in help.getvalue().replace("\n", "").replace(" ", "")
    out = tmp_path/"run"
    rc = cli.main(["train", "--data", str(data), "--task", "4", "--ratio", "0.2", "--arch", "small_cnn", "--epochs", "1",
                   "--bs", "64", "--device", "cpu", "--method", plugin, "--method-kw", '{"share": 0.6}', "--out", str(out),
                   "--allow-no-learning", "--quiet"])
    assert rc in (0, None)
    res = json.loads((out/"result.json").read_text())
    assert (res["method"], res["keep_share"], res["noise_rate_source"]) == (plugin, 0.6, "unused")
    assert 0.4 < res["n_kept"] / res["n_train"] < 0.8
    assert json.loads((out/"params.json").read_text())["method_kw"] == {"share": 0.6}
    capsys.readouterr()
    rc = cli.main(["train", "--data", str(data), "--method", plugin, "--method-kw", '{"share": 0}', "--out", str(tmp_path/"x")])
    assert rc == 2 and "method_kw share 0 must be a finite number > 0" in capsys.readouterr().err
    rc = cli.main(["train", "--data", str(data), "--method", plugin, "--method-kw", '{"frac": 1}', "--out", str(tmp_path/"y")])
    assert rc == 2 and f"unknown method_kw 'frac' for method '{plugin}'; valid: share" in capsys.readouterr().err


def test_in_a_sweep_and_its_report(plugin, data, tmp_path):
    from false_labels.study.report import write_report
    from false_labels.study.sweep import run_sweep
    sw = tmp_path/"sweep"
    res = run_sweep(sw, data=data, jobs=0, methods=["ce", plugin], ratios=[0, 0.2], epochs=1, archs="small_cnn", task=4,
                    bs=64, device="cpu", progress=False)
    final = res[res.is_final]
    assert set(final.method) == {"ce", plugin} and len(final) == 4
    kept = [json.loads((Path(d)/"result.json").read_text()) for d in final[final.method == plugin].run_dir]
    assert all(r["method"] == plugin and r["n_kept"] > 0 for r in kept)
    report = write_report(sw, png=False, svg=False)
    html = next(Path(report).glob("*.html")).read_text() if Path(report).is_dir() else Path(report).read_text()
    assert plugin in html
    table = pd.read_csv(next(Path(sw).rglob("methods_table.csv")))
    assert any(plugin in str(v) for v in table["method"])


def test_plain_training_imports_no_detection_stack(data, tmp_path):
    "`import training.learner` and a plain `train` (no --method) load neither detectors.pipeline nor, through it, altair."
    code = ("import sys; import false_labels.training.learner; alt = 'altair' in sys.modules; "
            "from false_labels import cli; "
            f"rc = cli.main(['train', '--data', {str(data)!r}, '--task', '4', '--ratio', '0.1', '--arch', 'small_cnn', "
            f"'--epochs', '1', '--bs', '64', '--device', 'cpu', '--out', {str(tmp_path/'run')!r}, '--allow-no-learning', '--quiet']); "
            "assert rc in (0, None), rc; "
            "assert 'false_labels.detectors.pipeline' not in sys.modules, 'a plain train imported the detection pipeline'; "
            "print('ALTAIR_BEFORE', alt, 'ALTAIR_AFTER', 'altair' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=cli_env(), timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    line = next(l for l in r.stdout.splitlines() if l.startswith("ALTAIR_BEFORE")).split()
    before, after = line[1] == "True", line[3] == "True"
    if before: pytest.skip("importing training.learner already loads altair (through a room below methods/): the check of methods/ is the pipeline's")
    assert not after, "a plain train imported altair"
