"""Issue 13, "nothing lost": faults at the worst moment, then recovery with nothing lost, duplicated or half-written.

Real processes where the process is the point (kill -9, SIGINT, two writers at once, an unreachable scheduler);
in-process patches where the fault is the point (a full disk: `open` raising ENOSPC under a folder; a tiny
`disk_usage`). Tiny data: 120 images of 16 px, 1 epoch of small_cnn on the CPU.
"""
import builtins, errno, io, json, os, signal, stat, subprocess, sys, time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from procs import cli_env, finish, python, start


ROOT = Path(__file__).resolve().parents[1]
FIT = ["--task", "4", "--arch", "small_cnn", "--epochs", "1", "--bs", "32", "--device", "cpu", "--allow-no-learning"]
LEFTOVER = (".partial-", ".old-", ".tmp")


_env = cli_env


def fl(*args, timeout=300):
    return finish(start(*args), timeout)


def wait_for(cond, timeout, what, p=None):
    t = time.monotonic()
    while time.monotonic() - t < timeout:
        if cond(): return
        if p is not None and p.poll() is not None:
            pytest.fail(f"process ended (exit {p.returncode}) before {what}: {p.stderr.read()[-2000:]}")
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def leftovers(folder:Path)->list:
    return [str(p) for p in Path(folder).rglob(".*") if any(s in p.name for s in LEFTOVER)]


def one_error_line(err:str, cmd:str)->str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"{len(lines)} lines on stderr: {err[-1500:]!r}"
    assert lines[0].startswith(f"false-labels {cmd}: error: "), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    from false_labels.data.generate import generate_dataset
    out = tmp_path_factory.mktemp("faults")/"ds"
    generate_dataset(out, n=120, size=16, seed=0, workers=1, progress=False, gallery=False)
    return out


# ---------------------------------------------------------------- sweeps: kill -9 / Ctrl-C, then resume
def _statuses(sw:Path)->dict:
    out = {}
    for f in (sw/"runs").glob("*/status.json"):
        try: out[f.parent.name] = json.loads(f.read_text())
        except (json.JSONDecodeError, OSError): out[f.parent.name] = dict(status="unreadable")
    return out


def _sweep_args(ds, sw, jobs=1, ratios="0,0.1,0.2"):
    return ["sweep", "--data", ds, "--out", sw, "--ratios", ratios, "--seeds", "1", *FIT, "--jobs", jobs]


def _check_complete(sw:Path, done_before:dict):
    plan = json.loads((sw/"plan.json").read_text())
    ids = {r["run_id"] for r in plan["runs"]}
    assert {p.name for p in (sw/"runs").iterdir() if p.is_dir()} == ids, "run folders != planned runs"
    st = _statuses(sw)
    assert {k: v["status"] for k, v in st.items()} == {i: "done" for i in ids}
    res = pd.read_parquet(sw/"results.parquet")
    fin = res[res.is_final]
    assert sorted(fin.run_id) == sorted(ids), "results table: not exactly one final row per run"
    for rid, (attempt, ended) in done_before.items():   # finished before the fault: not run again
        assert (st[rid].get("attempt"), st[rid].get("ended")) == (attempt, ended), f"{rid} was run again"
    assert not leftovers(sw), leftovers(sw)


@pytest.mark.parametrize("sig", ["SIGKILL", "SIGINT", "SIGTERM"])
def test_sweep_interrupted_then_resumed(ds, tmp_path, sig, capsys, one_thread):
    sw = tmp_path/"sweep"
    p = start(*_sweep_args(ds, sw))
    wait_for(lambda: any(s.get("status") == "done" for s in _statuses(sw).values()), 240, "a first finished run", p)
    if sig == "SIGTERM": os.kill(p.pid, signal.SIGTERM)     # `kill PID`: the driver only; it stops its workers itself
    else: os.killpg(p.pid, getattr(signal, sig))             # a terminal's Ctrl-C reaches the whole group
    rc, out, err = finish(p, 60)
    if sig != "SIGKILL":
        assert rc == 128 + getattr(signal, sig), f"exit {rc}: {err[-1500:]}"
        assert "Traceback" not in out + err, err[-3000:]
        assert err.strip().splitlines()[-1] == (f"interrupted ({sig}): the finished runs are kept in {str(sw)!r}, the unfinished ones "
                                                "are marked failed; run the same command again to resume them"), err[-1000:]
        assert not any(s.get("status") == "running" for s in _statuses(sw).values()), "a run left 'running'"
    done = {k: (v.get("attempt"), v.get("ended")) for k, v in _statuses(sw).items() if v.get("status") == "done"}
    rc = _main(_sweep_args(ds, sw, jobs=0))    # the same sweep, resumed in this process (the plan ignores --jobs)
    assert rc == 0, capsys.readouterr().err[-2000:]
    _check_complete(sw, done)


# ---------------------------------------------------------------- generate: kill -9, then the same command
GEN = ["--n", "12000", "--size", "32", "--seed", "5", "--workers", "1", "--quiet"]


def test_generate_killed_then_rerun(tmp_path):
    out = tmp_path/"ds"
    p = start("generate", "--out", out, *GEN)
    wait_for(lambda: any(".partial-" in q.name for q in tmp_path.iterdir()), 120, "the partial folder", p)
    time.sleep(0.3)                       # mid-build: 12,000 images take seconds even on a fast, quiet machine
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    assert not out.exists(), "a killed generate left the final folder"
    rc, o, err = fl("generate", "--out", out, *GEN)
    assert rc == 0, err[-2000:]
    assert not leftovers(tmp_path), f"leftovers after the next call: {leftovers(tmp_path)}"
    ref = tmp_path/"ref"
    rc, o, err = fl("generate", "--out", ref, *GEN)
    assert rc == 0, err[-2000:]
    for f in ("images.npy", "manifest.csv"):
        assert (out/f).read_bytes() == (ref/f).read_bytes(), f"{f} differs from an uninterrupted build"
    assert json.loads((out/"card.json").read_text())["hashes"] == json.loads((ref/"card.json").read_text())["hashes"]


def test_train_killed_then_rerun(ds, tmp_path, capsys, one_thread):
    run = tmp_path/"run"
    p = start("train", "--data", ds, "--out", run, *FIT, "--epochs", "50")    # killed long before it ends
    wait_for(lambda: any(".partial-" in q.name for q in tmp_path.iterdir()) or run.exists(), 120, "the run's folder", p)
    time.sleep(1.0)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    rc = _main(["train", "--data", ds, "--out", run, *FIT])   # same command (but 1 epoch), no --overwrite
    assert rc == 0, capsys.readouterr().err[-2000:]
    assert (run/"result.json").is_file() and not leftovers(tmp_path), leftovers(tmp_path)


# ---------------------------------------------------------------- two writers of one run folder
def test_concurrent_train_overwrite(ds, tmp_path):
    "A second `train --overwrite` into a run folder another process is writing is refused (the first holds its lock, paused), and the first's run stands."
    run = tmp_path/"run"
    first = start("train", "--data", ds, "--out", run, *FIT, "--seed", 1, "--overwrite")
    lock = run/".lock"
    wait_for(lambda: lock.exists() and f"pid {first.pid} " in lock.read_text(), 240, "the first run to hold its lock", first)
    os.kill(first.pid, signal.SIGSTOP)     # hold it there: the second writer meets the lock however slowly it starts
    try: rc, _, err = finish(start("train", "--data", ds, "--out", run, *FIT, "--seed", 2, "--overwrite"))
    finally: os.kill(first.pid, signal.SIGCONT)
    assert rc == 2, err[-800:]
    line = one_error_line(err, "train")
    assert "lock" in line.lower() and str(run) in line and f"pid {first.pid}" in line, line
    rc1, _, err1 = finish(first)
    assert rc1 == 0, err1[-800:]
    assert json.loads((run/"result.json").read_text())["seed"] == 1
    assert not lock.exists() and not leftovers(tmp_path), leftovers(tmp_path)


def test_concurrent_sweeps_refused(ds, tmp_path):
    sw = tmp_path/"sweep"
    a, b = start(*_sweep_args(ds, sw, ratios="0,0.1")), start(*_sweep_args(ds, sw, ratios="0,0.1"))
    (ra, oa, ea), (rb, ob, eb) = finish(a), finish(b)
    assert sorted([ra, rb]) == [0, 2], (ra, rb, ea[-800:], eb[-800:])
    one_error_line(ea if ra == 2 else eb, "sweep")
    _check_complete(sw, {})


# ---------------------------------------------------------------- a full disk
class Full:
    "Make `open`/`io.open` raise ENOSPC for writes of files under `root` for which `when(path)` is true."
    def __init__(self, monkeypatch, root, when=lambda p: True):
        self.root, self.when, self.hits = str(Path(root).resolve()), when, []
        self.real = builtins.open
        monkeypatch.setattr(builtins, "open", self.open); monkeypatch.setattr(io, "open", self.open)

    def _path(self, file):
        if isinstance(file, int):
            try: return os.readlink(f"/proc/self/fd/{file}")
            except OSError: return ""
        return str(Path(os.fsdecode(file)).resolve()) if isinstance(file, (str, bytes, os.PathLike)) else ""

    def open(self, file, mode="r", *a, **kw):
        if any(c in mode for c in "wax+"):
            p = self._path(file)
            if p.startswith(self.root) and self.when(p):
                self.hits.append(p)
                if isinstance(file, int): os.close(file)
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), p)
        return self.real(file, mode, *a, **kw)


def _main(argv):
    from false_labels.cli import main
    try: return main([str(a) for a in argv])
    except SystemExit as e: return e.code


def _check_disk_full_answer(cmd, rc, cap, target:Path):
    assert rc == 2, f"exit {rc}: {cap.err[-1500:]}"
    assert "Traceback" not in cap.out + cap.err
    line = one_error_line(cap.err, cmd)
    assert "no space" in line.lower(), line
    assert not target.exists() or not any(target.iterdir()), f"half-written {target}: {list(target.iterdir())}"
    assert not leftovers(target.parent), leftovers(target.parent)


def test_full_disk_train(ds, tmp_path, monkeypatch, capsys, one_thread):
    run = tmp_path/"run"
    full = Full(monkeypatch, tmp_path)
    rc = _main(["train", "--data", ds, "--out", run, *FIT])
    assert full.hits, "the patched writer was never reached"
    _check_disk_full_answer("train", rc, capsys.readouterr(), run)


def test_full_disk_detect(ds, tmp_path, monkeypatch, capsys, one_thread):
    out = tmp_path/"det"
    full = Full(monkeypatch, tmp_path)
    rc = _main(["detect", "--data", ds, "--out", out, "--method", "cl", "--folds", "2", "--ratio", "0.1", *FIT])
    assert full.hits, "the patched writer was never reached"
    _check_disk_full_answer("detect", rc, capsys.readouterr(), out)


def test_full_disk_generate(tmp_path, monkeypatch, capsys):
    out = tmp_path/"ds"
    full = Full(monkeypatch, tmp_path)
    rc = _main(["generate", "--out", out, "--n", "120", "--size", "16", "--workers", "1", "--quiet"])
    assert full.hits, "the patched writer was never reached"
    _check_disk_full_answer("generate", rc, capsys.readouterr(), out)


def test_generate_checks_free_space_first(tmp_path, monkeypatch, capsys):
    import shutil, false_labels.data.generate as gen
    real = shutil.disk_usage
    monkeypatch.setattr(gen.shutil, "disk_usage", lambda p: real(p)._replace(free=50_000))
    out = tmp_path/"ds"
    rc = _main(["generate", "--out", out, "--n", "120", "--size", "16", "--workers", "1", "--quiet"])
    cap = capsys.readouterr()
    assert rc == 2 and "Traceback" not in cap.err, cap.err[-1500:]
    line = one_error_line(cap.err, "generate")
    assert str(tmp_path) in line and "0.0 GiB" not in line, f"sizes must be readable: {line}"
    assert not out.exists() and not leftovers(tmp_path)


def test_full_disk_in_a_sweep_run(ds, tmp_path, monkeypatch, capsys, one_thread):
    "The run's own files cannot be written: the run ends 'failed', the table is written, the exit status says so."
    sw = tmp_path/"sweep"
    Full(monkeypatch, sw/"runs", when=lambda p: not p.endswith("status.json") and "/.status.json." not in p)
    rc = _main(["sweep", "--data", ds, "--out", sw, "--ratios", "0", "--seeds", "1", *FIT, "--jobs", "0"])
    cap = capsys.readouterr()
    st = _statuses(sw)
    assert st and all(s["status"] == "failed" for s in st.values()), {k: s["status"] for k, s in st.items()}
    assert "no space" in " ".join(str(s.get("error")) for s in st.values()).lower()
    assert (sw/"results.parquet").is_file(), "no results table"
    assert rc == 1, f"exit {rc} with every run failed"
    assert "Traceback" not in cap.err and "1 failed" in cap.err.lower().replace("run ", ""), cap.err[-1500:]


def test_full_disk_whole_sweep_then_resume(ds, tmp_path, monkeypatch, capsys, one_thread):
    "Nothing can be written once the plan is: one line, exit 2, no run left 'running'; the rerun completes."
    sw = tmp_path/"sweep"
    Full(monkeypatch, sw, when=lambda p: "plan.json" not in p and ".lock" not in p)
    rc = _main(["sweep", "--data", ds, "--out", sw, "--ratios", "0,0.1", "--seeds", "1", *FIT, "--jobs", "0"])
    cap = capsys.readouterr()
    assert rc == 2 and "Traceback" not in cap.out + cap.err, cap.err[-1500:]
    assert "no space" in one_error_line(cap.err, "sweep").lower()
    assert not any(s.get("status") == "running" for s in _statuses(sw).values())
    monkeypatch.undo()
    rc = _main(["sweep", "--data", ds, "--out", sw, "--ratios", "0,0.1", "--seeds", "1", *FIT, "--jobs", "0"])
    assert rc == 0, capsys.readouterr().err[-1500:]
    _check_complete(sw, {})


# ---------------------------------------------------------------- read-only targets
needs_non_root = pytest.mark.skipif(os.geteuid() == 0, reason="as root, chmod does not stop writes")


@needs_non_root
@pytest.mark.parametrize("cmd", ["generate", "train", "sweep", "detect"])
def test_read_only_folder_refused_before_the_work(ds, tmp_path, cmd):
    ro = tmp_path/"ro"; ro.mkdir(); ro.chmod(0o555)
    args = dict(generate=["--n", "3000", "--size", "32", "--workers", "1", "--quiet"],
                train=["--data", ds, *FIT], sweep=["--data", ds, "--ratios", "0", *FIT, "--jobs", "0"],
                detect=["--data", ds, "--method", "cl", "--folds", "2", *FIT])[cmd]
    t = time.monotonic()
    rc, out, err = fl(cmd, "--out", ro/"x", *args)
    took = time.monotonic() - t
    ro.chmod(0o755)
    assert rc == 2 and "Traceback" not in out + err, err[-1500:]
    assert str(ro) in one_error_line(err, cmd)
    assert took < 15, f"answered after {took:.0f}s: the check must come before the work"


# ---------------------------------------------------------------- exit status of a sweep with failed runs
def test_sweep_exit_status_counts_failed_runs(ds, tmp_path, monkeypatch, capsys, one_thread):
    import false_labels.methods.registry as robust     # what the run template calls
    real = robust.train_method
    def flaky(data, out, *args, **kw):
        ratio = getattr(kw.get("noise"), "ratio", kw.get("ratio", 0.0))   # the template passes a NoiseSpec
        if ratio == 0.2: raise RuntimeError("injected failure")
        return real(data, out, *args, **kw)
    monkeypatch.setattr(robust, "train_method", flaky)
    sw = tmp_path/"sweep"
    argv = ["sweep", "--data", ds, "--out", sw, "--ratios", "0,0.2", "--seeds", "1", *FIT, "--jobs", "0"]
    rc = _main(argv)
    cap = capsys.readouterr()
    assert rc == 1, f"exit {rc} with a failed run"
    assert "Traceback" not in cap.err
    last = cap.err.strip().splitlines()[-1].lower()
    assert "1 of 2" in last and "failed" in last, last
    assert (sw/"results.parquet").is_file()
    monkeypatch.setattr(robust, "train_method", real)
    assert _main(argv) == 0                      # the rerun retries the failed run only
    _check_complete(sw, {})


# ---------------------------------------------------------------- an unreachable or malformed scheduler
@pytest.mark.parametrize("address", ["tcp://127.0.0.1:1", "garbage", "tcp://10.255.255.1:8786"])
def test_scheduler_answers_in_one_line(ds, tmp_path, address):
    t = time.monotonic()
    rc, out, err = fl("sweep", "--data", ds, "--out", tmp_path/"sw", "--ratios", "0", *FIT, "--scheduler", address,
                      timeout=120)
    took = time.monotonic() - t
    assert rc == 2, f"exit {rc}: {err[-1500:]}"
    assert "Traceback" not in out + err and "EiB" not in err, err[-3000:]
    assert address in one_error_line(err, "sweep")
    assert took < 25, f"took {took:.0f}s (imports included)"
    assert not (tmp_path/"sw"/"runs").exists()


# ---------------------------------------------------------------- file modes follow the umask
def _modes(root:Path)->dict:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]}


@pytest.mark.parametrize("umask,fmode,dmode", [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750), (0o002, 0o664, 0o775)])
def test_modes_follow_the_umask(ds, tmp_path, umask, fmode, dmode, one_thread):
    from false_labels.data.generate import generate_dataset
    from false_labels.training.learner import train_run
    old = os.umask(umask)
    try:
        generate_dataset(tmp_path/"ds", n=120, size=16, workers=1, progress=False)
        train_run(ds, tmp_path/"run", task=4, arch="small_cnn", epochs=1, bs=32, device="cpu")
    finally: os.umask(old)
    bad = {f"{folder.name}/{k}": oct(m) for folder in (tmp_path/"ds", tmp_path/"run") for k, m in _modes(folder).items()
           if m != (dmode if (folder/k).is_dir() else fmode)}
    assert not bad, f"umask {oct(umask)}: modes {bad} (want files {oct(fmode)}, folders {oct(dmode)})"


# ---------------------------------------------------------------- corrupted datasets are refused, not trained on
@pytest.mark.parametrize("defect", ["truncate", "flip-pixels", "edit-manifest"])
def test_corrupted_dataset_is_refused(ds, tmp_path, defect, capsys):
    import shutil
    bad = tmp_path/"bad"; shutil.copytree(ds, bad)
    if defect == "truncate":
        b = (bad/"images.npy").read_bytes(); (bad/"images.npy").write_bytes(b[:-100])
    elif defect == "flip-pixels":
        with open(bad/"images.npy", "r+b") as f: f.seek(-10, 2); f.write(b"\xff" * 10)
    else:
        (bad/"manifest.csv").write_text((bad/"manifest.csv").read_text().replace(",train,", ",test,", 3))
    rc = _main(["train", "--data", bad, "--out", tmp_path/"run", *FIT])   # in-process: the answer, not the start-up, is tested
    cap = capsys.readouterr()
    assert rc == 2 and "Traceback" not in cap.out + cap.err, cap.err[-1500:]
    line = one_error_line(cap.err, "train")
    assert ("images.npy" if defect != "edit-manifest" else "manifest.csv") in line, line
    assert not (tmp_path/"run").exists()
