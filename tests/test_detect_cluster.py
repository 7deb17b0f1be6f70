"Issue 27: a detection's k-fold trainings run as Dask tasks on a cluster (`detect --scheduler`), and compute what the local loop computes."
import json
import numpy as np, pandas as pd
import pytest
from false_labels.cli import main
from test_checks import make
from test_trust import DETECT

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    "A scheduler and two single-threaded worker processes on this machine."
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  env={"OMP_NUM_THREADS": "1"}) as c:
        yield c


def test_detect_folds_on_a_cluster(tmp_path, capsys, one_thread, cluster):
    data = make("good", tmp_path)
    local, remote = tmp_path/"local", tmp_path/"remote"
    assert main(["detect", "--data", str(data), "--out", str(local), *DETECT, "--ratio", "0.25"]) == 0
    assert main(["detect", "--data", str(data), "--out", str(remote), *DETECT, "--ratio", "0.25", "--scheduler", cluster.scheduler_address]) == 0
    capsys.readouterr()
    a, b = (pd.read_csv(d/"suspects.csv").set_index("id").sort_index() for d in (local, remote))
    assert a.index.equals(b.index)
    assert (a.suggested_name == b.suggested_name).mean() >= 0.95                 # the same trainings, rebuilt on the workers
    assert np.corrcoef(a.score_cl, b.score_cl)[0, 1] > 0.95
    p = json.loads((remote/"params.json").read_text())
    assert p["scheduler"] == cluster.scheduler_address and p["noise_rate"]["estimates"].keys() == json.loads((local/"params.json").read_text())["noise_rate"]["estimates"].keys()
    workers = set(cluster.scheduler_info["workers"])
    assert p["fold_workers"] and set(p["fold_workers"]) <= workers                # the folds ran there, not here
    assert "fold_workers" not in json.loads((local/"params.json").read_text())


def test_cluster_refusals(tmp_path, capsys, one_thread):
    data = make("good", tmp_path)
    rc = main(["detect", "--data", str(data), "--out", str(tmp_path/"x"), *DETECT, "--ratio", "0.25", "--scheduler", "nonsense"])
    err = capsys.readouterr().err
    assert rc != 0 and "nonsense" in err and "tcp://HOST:PORT" in err


def test_detection_sweep_folds_on_a_cluster(tmp_path, capsys, one_thread, cluster):
    data = make("good", tmp_path)
    out = tmp_path/"sweep"
    assert main(["detect", "--data", str(data), "--out", str(out), *DETECT, "--ratios", "0.1,0.3", "--scheduler", cluster.scheduler_address]) == 0
    capsys.readouterr()
    for r in ("0.1", "0.3"):
        p = json.loads((out/f"ratio_{r}"/"params.json").read_text())
        assert set(p["fold_workers"]) <= set(cluster.scheduler_info["workers"]) and p["fold_workers"]
