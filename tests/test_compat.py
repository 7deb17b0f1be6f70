"A sweep folder written before the refactor of issue 12 (tests/fixtures/sweep_v1) still reports and resumes."
import json, shutil
from pathlib import Path
import pandas as pd
import pytest
from false_labels.study.sweep import run_sweep, sweep_status
from false_labels.study.report import write_report

FIXTURE = Path(__file__).parent/"fixtures"/"sweep_v1"
OLD_ROOT = "/tmp/false_labels_fixture"  # where the fixture was made; paths in its json files point there

@pytest.fixture
def old_sweep(tmp_path):
    "The fixture copied to `tmp_path`, its absolute paths moved along (the gce run was never started)."
    root = tmp_path/"fx"
    shutil.copytree(FIXTURE, root)
    for f in [root/"sweep"/"plan.json", *root.glob("sweep/runs/*/*.json")]:
        f.write_text(f.read_text().replace(OLD_ROOT, str(root)))
    return root

def test_old_sweep_reports(old_sweep, tmp_path):
    path = write_report(old_sweep/"sweep", out=tmp_path/"report")
    assert Path(path).exists() and "coteaching" in Path(path).read_text()

def test_old_sweep_resumes(old_sweep, one_thread):
    out = old_sweep/"sweep"
    st = sweep_status(out).set_index("run_id").status
    assert sorted(st.value_counts().items()) == [("done", 2), ("pending", 1)], st
    done = {r: (out/"runs"/r/"result.json").stat().st_mtime_ns for r in st[st == "done"].index}
    plan = json.loads((out/"plan.json").read_text())
    df = run_sweep(out, data=plan["data"], ratios=[0.2], seeds=1, archs="small_cnn", task=4, bs=64, epochs=1,
                   methods=["ce", "gce", "coteaching"], jobs=0, progress=False)
    assert (sweep_status(out).status == "done").all() and df.run_id.nunique() == 3
    assert {r: (out/"runs"/r/"result.json").stat().st_mtime_ns for r in done} == done  # finished runs untouched
    gce = df[df.method == "gce"].sort_values("epoch")
    want = pd.read_csv(FIXTURE/"expected_gce_metrics.csv")
    assert len(gce) == len(want)
    for c in ("train_loss", "valid_loss", "test_acc"):
        if c in want: assert abs(gce[c].to_numpy() - want[c].to_numpy()).max() < 1e-4, c  # fp32 on any thread count
