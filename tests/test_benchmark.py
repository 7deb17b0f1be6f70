"""Issue 27, `false-labels benchmark`: the smoke preset end to end on a tiny CIFAR-shaped dataset (python batches and a
CIFAR-N label file written here), killed mid-way and resumed (finished runs reused), its table complete; and the same
on a Dask cluster of a scheduler and two workers started from the command line, the runs spread over both workers.
Real processes where the process is the point (the kill, the cluster); everything else in process.
"""
import contextlib, json, os, signal, socket, subprocess, sys, time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from false_labels.study.benchmark import (asym_mapping, benchmark_table, fake_cifar, parse_setting, published, run_scores,
                                    setting_params, table_markdown)
from procs import cli_in_process
from false_labels.data.dataset import load_dataset
from false_labels.data.formats import import_images
from false_labels.results import is_done, read_status

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ["--preset", "smoke", "--methods", "ce,elr", "--settings", "sym50,worst", "--quiet"]


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


cli = cli_in_process


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    return fake_cifar(tmp_path_factory.mktemp("cifar"), per_class=12, test_per_class=6)


def _done(out:Path)->dict:
    "run id -> result.json mtime of the finished runs (status done: the run's notebook ran to its end)."
    return {p.parent.name: p.stat().st_mtime_ns for p in (out/"sweep"/"runs").glob("*/result.json") if is_done(p.parent)}


def _complete(out:Path, n:int):
    t = pd.read_csv(out/"table.csv")
    assert len(t) == n and (t.n_seeds >= 1).all() and t.last_mean.notna().all() and t.best_mean.notna().all()
    md = (out/"table.md").read_text()
    assert "not run" not in md and "Wei et al." in md
    assert (out/"report"/"report.html").is_file()
    return t


def test_settings_follow_the_papers(src):
    ds = import_images(src, progress=False, verbose=False)
    classes = ds.classes("label")
    s = setting_params("sym50", ds)
    assert (s["noise"], s["labels"]) == ("sym", "clean") and abs(s["ratio"] - 0.45) < 1e-9   # over all 10 classes
    a = setting_params("asym40", ds)
    assert a["noise"] == "pair" and abs(a["ratio"] - 0.2) < 1e-9                          # 40 % of 5 of 10 classes
    assert a["noise_kw"]["mapping"] == {"truck": "automobile", "bird": "airplane", "deer": "horse", "cat": "dog", "dog": "cat"}
    assert setting_params("worst", ds)["labels"] == "worst" and setting_params("clean", ds)["ratio"] == 0
    with pytest.raises(ValueError, match="label sets: aggre"): setting_params("noisy100", ds)
    with pytest.raises(ValueError, match="sym<percent>"): parse_setting("sym_50")
    assert asym_mapping([f"c{i}" for i in range(10)], superclass=[0] * 5 + [1] * 5)["c4"] == "c0"
    pub = published()
    assert pub[["paper", "table", "network"]].ne("").all().all() and pub.best.notna().all()
    assert set(pub.method) - {"elr+"} <= {"ce", "coteaching", "coteaching-plus", "elr", "dividemix", "forward"}


def test_smoke_benchmark_resumes_after_a_kill(src, tmp_path):
    out = tmp_path/"bench"
    args = ["benchmark", "--data", src, "--out", out, *SMOKE, "--jobs", "1"]
    p = subprocess.Popen([sys.executable, "-m", "false_labels", *map(str, args)], cwd=ROOT, env=_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not _done(out) and p.poll() is None and time.monotonic() < deadline: time.sleep(0.5)
    finally:
        if p.poll() is None: os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
    before = _done(out)
    assert 1 <= len(before) < 4, f"the kill should come after the first run and before the last ({len(before)} done)"
    rc, stdout, err = cli(*args[:-2], "--jobs", "0")
    assert rc == 0, err
    after = _done(out)
    assert len(after) == 4 and all(after[r] == m for r, m in before.items())    # finished runs reused, not redone
    assert all(read_status(out/"sweep"/"runs"/r)["attempt"] == 1 for r in before)
    t = _complete(out, 4)
    assert set(t.setting) == {"sym50", "worst"} and t[t.method == "ce"].published_best.notna().all()   # CIFAR-10 figures beside ours
    assert "| ce |" in stdout and "preset smoke" in stdout
    rows = {l.split("|")[1].strip(): l for l in stdout.splitlines() if l.startswith("| ")}
    assert "†" in rows["elr"] and "†" not in rows["ce"] and "reference schedule" in stdout   # ELR's 120 epochs, not cross-entropy
    sc = run_scores(out)
    assert np.isclose(sc[sc.setting == "sym50"].realised, 0.45, atol=0.02).all()
    # the same command with one more method reuses the four finished runs
    rc, _, err = cli("benchmark", "--data", src, "--out", out, *SMOKE[:2], "--methods", "ce,elr,coteaching",
                     "--settings", "sym50,worst", "--quiet", "--jobs", "0")
    assert rc == 0, err
    assert all(_done(out)[r] == m for r, m in after.items()) and len(_done(out)) == 6
    _complete(out, 6)


def test_benchmark_refusals(src, tmp_path):
    rc, _, err = cli("benchmark", "--data", src, "--out", tmp_path/"b", "--preset", "tpu")
    assert rc != 0 and "tpu" in err and "smoke" in err
    rc, _, err = cli("benchmark", "--data", src, "--out", tmp_path/"b", "--preset", "smoke", "--settings", "sym50,bogus", "--quiet")
    assert rc != 0 and "'bogus'" in err and "aggre" in err
    assert not (tmp_path/"b"/"sweep").exists()                                     # refused before anything ran
    rc, _, err = cli("benchmark", "--out", tmp_path/"c", "--table-only")
    assert rc != 0 and "no benchmark" in err
    # a folder of another preset is refused with what differs; a preset whose description changed is the same preset
    from false_labels.study.benchmark import get_preset, preset_settings
    d = tmp_path/"d"; d.mkdir()
    rec = get_preset("smoke").record()
    (d/"benchmark.json").write_text(json.dumps(dict(format="false_labels.benchmark/1", preset={**rec, "epochs": rec["epochs"] + 7})))
    rc, _, err = cli("benchmark", "--data", src, "--out", d, *SMOKE)
    assert rc != 0 and f"epochs {rec['epochs'] + 7} -> {rec['epochs']}" in err and "choose another --out" in err
    assert preset_settings({**rec, "cost": "other words", "note": "more"}) == preset_settings(rec)


def _free_port()->int:
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def _wait_port(port:int, timeout:float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try: socket.create_connection(("127.0.0.1", port), timeout=1).close(); return
        except OSError: time.sleep(0.3)
    pytest.fail(f"dask scheduler did not listen on {port} within {timeout}s")


def test_smoke_benchmark_on_a_dask_cluster_from_the_command_line(src, tmp_path):
    dask = Path(sys.executable).parent/"dask"
    if not dask.exists(): pytest.skip("no dask command next to the interpreter")
    port, procs = _free_port(), []
    addr = f"tcp://127.0.0.1:{port}"
    spawn = lambda *a: procs.append(subprocess.Popen([str(dask), *a], cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL,
                                                     stderr=subprocess.DEVNULL, start_new_session=True))
    try:
        spawn("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")
        _wait_port(port, 60)
        for name in ("w1", "w2"):
            spawn("worker", addr, "--name", name, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                  "--host", "127.0.0.1", "--memory-limit", "0")
        from distributed import Client
        with Client(addr, timeout=30, set_as_default=False) as c: c.wait_for_workers(2, timeout=90)
        out = tmp_path/"bench"
        rc, _, err = cli("benchmark", "--data", src, "--out", out, *SMOKE, "--scheduler", addr)
        assert rc == 0, err
    finally:
        for p in reversed(procs):
            with contextlib.suppress(ProcessLookupError): os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(procs):
            try: p.wait(timeout=20)
            except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL); p.wait()
    _complete(out, 4)
    workers = {read_status(d)["worker"] for d in (out/"sweep"/"runs").iterdir()}
    assert len(workers) == 2 and all(w.startswith("dask tcp://127.0.0.1:") for w in workers), workers


def test_import_joins_cifar_n_to_jpeg_folders_by_per_class_order(tmp_path):
    import cv2, torch
    clean = np.array([1, 0, 1, 0, 0, 1])                       # python-batch order: 3 cats (0), 3 dogs (1)
    worse = np.array([1, 1, 1, 0, 1, 1])                       # the 2nd cat (position 3) keeps 'cat', the others say 'dog'
    for split, n in (("train", 3), ("test", 1)):
        for c in ("cat", "dog"):
            (tmp_path/"jpg"/split/c).mkdir(parents=True)
            for k in range(n): cv2.imwrite(str(tmp_path/"jpg"/split/c/f"{k:04d}.jpg"), np.full((8, 8, 3), 30 * k, np.uint8))
    torch.save(dict(clean_label=clean, worse_label=worse, aggre_label=clean), tmp_path/"h.pt")
    rc, out, err = cli("import", tmp_path/"jpg", "--human", tmp_path/"h.pt", "--out", tmp_path/"ds", "--quiet")
    assert rc == 0, err
    ds = load_dataset(tmp_path/"ds")
    assert set(ds.label_set_names) == {"aggre", "clean", "worst"} and ds.clean_label_set == "clean"
    m = ds.manifest
    cats = m[(m.split == "train") & (m.cls == "cat")].sort_values("file")
    assert list(np.asarray(ds.classes("label"))[ds.label_set("worst")[cats.id]]) == ["dog", "cat", "dog"]
    test = m[m.split == "test"]
    assert (ds.label_set("worst")[test.id] == ds.label_set("clean")[test.id]).all()   # test images keep their folder label
    (tmp_path/"jpg"/"train"/"dog"/"0002.jpg").unlink()                               # a class short of the label file: refused
    rc, _, err = cli("import", tmp_path/"jpg", "--human", tmp_path/"h.pt", "--out", tmp_path/"ds2", "--quiet")
    assert rc == 2 and "per-class order" in err and "'dog'" in err
