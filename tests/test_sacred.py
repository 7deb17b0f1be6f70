"""Issue 28, "nothing lost" round 3: the user's files are sacred (`--overwrite` never removes an input or a folder
false_labels did not write), a full disk is one line before the work (or one line and nothing half-written), one writer
per output for every writing command, and a stopped command (Ctrl-C or `kill`) says exactly what it kept.

In-process (`cli.main`) where the answer is the point; real processes where the process is: a lock held by another
process, SIGINT / SIGTERM mid-run. Children get the signal dispositions they rely on (`procs.python`), so the file
passes wherever the suite is started, a terminal or a background job. Tiny data.
"""
import errno, hashlib, json, os, shutil, signal, subprocess, sys, time
from pathlib import Path

import cv2
import numpy as np
import pytest

from procs import cli_env, finish, python, start

ROOT = Path(__file__).resolve().parents[1]
FIT = ["--task", "4", "--arch", "small_cnn", "--epochs", "1", "--bs", "32", "--device", "cpu", "--allow-no-learning"]   # tiny runs: learning is not the point
LEFTOVER = (".partial-", ".old-", ".tmp")


_env = cli_env


def _main(argv):
    from false_labels.cli import main
    try: return main([str(a) for a in argv])
    except SystemExit as e: return e.code


def answer(capsys, *argv):
    rc = _main(argv)
    return rc, capsys.readouterr()


def one_error_line(err:str, cmd:str)->str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"{len(lines)} lines on stderr: {err[-1500:]!r}"
    assert lines[0].startswith(f"false-labels {cmd}: error: "), lines[0]
    return lines[0]


def refused(capsys, cmd, *argv)->str:
    "Run `false-labels CMD ARGV` in this process; assert one error line and exit 2; return the line."
    rc, cap = answer(capsys, cmd, *argv)
    assert rc == 2, f"exit {rc}: {cap.err[-1500:]}"
    assert "Traceback" not in cap.out + cap.err
    return one_error_line(cap.err, cmd)


def snapshot(folder:Path)->dict:
    "Every file under `folder` with the hash of its bytes."
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).rglob("*"))
            if p.is_file()}


def leftovers(folder:Path)->list:
    return [str(p) for p in Path(folder).rglob(".*") if any(s in p.name for s in LEFTOVER)]


def photos(root:Path, n:int=12, side:int=24)->Path:
    "A user's image folder: cat/ and dog/, `n` JPEGs each."
    rng = np.random.default_rng(0)
    for k, c in enumerate(("cat", "dog")):
        (root/c).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            im = rng.integers(0, 60, (side, side, 3), dtype=np.uint8); im[..., k] += 150
            assert cv2.imwrite(str(root/c/f"{c}_{i:02d}.jpg"), im)
    return root


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    from false_labels.data.generate import generate_dataset
    out = tmp_path_factory.mktemp("sacred")/"ds"
    generate_dataset(out, n=120, size=16, seed=0, workers=1, progress=False, gallery=False)
    return out


@pytest.fixture
def own_ds(ds, tmp_path):
    "A copy of the dataset this test may (wrongly) destroy."
    shutil.copytree(ds, tmp_path/"D")
    return tmp_path/"D"


def fake_sweep(root:Path)->Path:
    "A sweep folder's inputs (plan.json, runs/, a one-row results table): enough for the refusals, which come before any analysis."
    (root/"runs"/"r1").mkdir(parents=True)
    (root/"plan.json").write_text(json.dumps(dict(runs=[])))
    (root/"runs"/"r1"/"result.json").write_text("{}")
    (root/"results.csv").write_text("run_id,ratio,test_acc,epoch\nr1,0,0.9,0\n")
    return root


# ---------------------------------------------------------------- --overwrite never destroys an input
def _cases(tmp:Path, D:Path)->dict:
    "case -> (command argv, the folder that must stay untouched, what the refusal says)."
    P = photos(tmp/"photos")
    csv_root = tmp/"base"; photos(csv_root/"img")
    (csv_root/"labels.csv").write_text("path,label\n" + "".join(f"img/cat/cat_{i:02d}.jpg,cat\nimg/dog/dog_{i:02d}.jpg,dog\n" for i in range(12)))
    S = fake_sweep(tmp/"sweep")
    q = ["--quiet"]
    return {
        "import onto its source": (["import", P, "--out", P, "--overwrite", "--size", 16, *q], P, "is the input"),
        "import into a class folder of its source": (["import", P, "--out", P/"cat", "--overwrite", "--size", 16, *q], P, "lies inside the input"),
        "import around its CSV": (["import", csv_root/"labels.csv", "--out", csv_root, "--overwrite", "--size", 16, *q], csv_root, "holds the input"),
        "detect onto its dataset": (["detect", "--data", D, "--out", D, "--overwrite", "--method", "cl", "--folds", 2, *FIT, *q], D, "is the input"),
        "detect onto its image folder": (["detect", "--data", P, "--out", P, "--overwrite", "--method", "cl", "--folds", 2, *FIT[2:], *q], P, "is the input"),
        "train onto its dataset": (["train", "--data", D, "--out", D, "--overwrite", *FIT, *q], D, "is the input"),
        "sweep onto its dataset": (["sweep", "--data", D, "--out", D, "--ratios", 0, *FIT, "--jobs", 0], D, "is the input"),
        "generate onto its source": (["generate", "--out", P, "--source", P, "--overwrite", "--n", 120, "--size", 16, "--workers", 1, *q], P, "is the input"),
        "report onto its sweep": (["report", S, "--out", S], S, "holds the input"),
        "report onto the sweep's runs": (["report", S, "--out", S/"runs"], S, "is the input"),
    }


CASES = ["import onto its source", "import into a class folder of its source", "import around its CSV", "detect onto its dataset",
         "detect onto its image folder", "train onto its dataset", "sweep onto its dataset", "generate onto its source",
         "report onto its sweep", "report onto the sweep's runs"]


@pytest.mark.parametrize("case", CASES)
def test_overwrite_never_destroys_an_input(case, own_ds, tmp_path, capsys):
    argv, keep, says = _cases(tmp_path, own_ds)[case]
    before = snapshot(keep)
    line = refused(capsys, argv[0], *argv[1:])
    assert says in line and str(keep) in line, line
    assert snapshot(keep) == before, f"{keep} changed"
    assert not leftovers(tmp_path), leftovers(tmp_path)


@pytest.mark.parametrize("cmd", ["import", "generate", "detect", "train"])
def test_overwrite_refuses_a_folder_false_labels_did_not_write(cmd, ds, tmp_path, capsys):
    mine = tmp_path/"mine"; mine.mkdir()
    (mine/"notes.txt").write_text("my notes"); (mine/"photo.jpg").write_bytes(b"\xff\xd8 not really")
    P = photos(tmp_path/"photos")
    argv = dict(import_=["import", P, "--out", mine, "--size", 16],
                generate=["generate", "--out", mine, "--n", 120, "--size", 16, "--workers", 1],
                detect=["detect", "--data", ds, "--out", mine, "--method", "cl", "--folds", 2, *FIT],
                train=["train", "--data", ds, "--out", mine, *FIT])["import_" if cmd == "import" else cmd]
    before = snapshot(mine)
    line = refused(capsys, *argv, "--overwrite", "--quiet")
    assert str(mine) in line and ("did not write" in line or "not a run's" in line), line
    assert snapshot(mine) == before


def test_overwrite_still_replaces_what_false_labels_wrote(tmp_path, capsys):
    P, out = photos(tmp_path/"photos"), tmp_path/"ds"
    assert _main(["import", P, "--out", out, "--size", 16, "--quiet"]) == 0
    mark = json.loads((out/".false_labels").read_text())
    assert mark["kind"] == "dataset" and mark["written_by"] == "false_labels"
    assert _main(["import", P, "--out", out, "--size", 20, "--quiet", "--overwrite"]) == 0
    assert json.loads((out/"card.json").read_text())["size"] == 20
    (out/".false_labels").unlink()        # a dataset written before the mark existed: known by its files
    assert _main(["import", P, "--out", out, "--size", 18, "--quiet", "--overwrite"]) == 0
    assert json.loads((out/"card.json").read_text())["size"] == 18
    capsys.readouterr()


# ---------------------------------------------------------------- a full disk: refused first, or one line and nothing half-written
def _check_no_space(line:str, target:Path):
    assert "no space left" in line.lower(), line
    assert not target.exists(), f"half-written {target}: {list(target.iterdir())}"
    assert not leftovers(target.parent), leftovers(target.parent)


def test_import_checks_free_space_first(tmp_path, monkeypatch, capsys):
    P, out = photos(tmp_path/"photos"), tmp_path/"ds"
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=5_000))
    line = refused(capsys, "import", P, "--out", out, "--size", 16, "--quiet")
    _check_no_space(line, out)
    assert str(tmp_path) in line and "KiB" in line, f"the sizes and the place must be named: {line}"


@pytest.fixture
def fallocate_full(monkeypatch):
    "The disk fills while the images file is reserved (after the free-space check passed)."
    calls = []
    def full(fd, offset, length):
        calls.append(length); raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, "posix_fallocate", full)
    return calls


def test_import_meets_a_full_disk(tmp_path, fallocate_full, capsys):
    P, out = photos(tmp_path/"photos"), tmp_path/"ds"
    line = refused(capsys, "import", P, "--out", out, "--size", 16, "--quiet")
    assert fallocate_full, "the injected fault was never reached"
    _check_no_space(line, out)
    assert str(out) in line, line


def test_train_on_a_folder_meets_a_full_disk(tmp_path, fallocate_full, capsys, one_thread):
    "`train --data <image folder>` imports on the fly into the cache: a full disk there is one line, nothing half-written."
    P, run = photos(tmp_path/"photos"), tmp_path/"run"
    line = refused(capsys, "train", "--data", P, "--out", run, *FIT[2:], "--size", 16, "--quiet")
    assert fallocate_full
    _check_no_space(line, run)
    cache = Path(os.environ["FALSE_LABELS_CACHE"])
    assert not leftovers(cache) and not [p for p in cache.rglob("*") if p.is_dir() and (p/"images.npy").exists()]


def _mount_tmpfs(where:Path, size:str):
    if os.geteuid() != 0 or not shutil.which("mount"): pytest.skip("mounting a tmpfs needs root")
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True, text=True)
    if r.returncode != 0: pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")


def test_import_onto_a_small_real_disk(tmp_path, monkeypatch, capsys):
    "A 2 MiB tmpfs, an import of ~3.3 MiB: refused before any work; and with the free-space check fooled, the real ENOSPC is one line and leaves nothing."
    P, disk = photos(tmp_path/"photos", n=60, side=100), tmp_path/"disk"
    _mount_tmpfs(disk, "2m")
    try:
        line = refused(capsys, "import", P, "--out", disk/"ds", "--size", 96, "--quiet")
        _check_no_space(line, disk/"ds")
        real = shutil.disk_usage
        monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=1 << 40))
        line = refused(capsys, "import", P, "--out", disk/"ds", "--size", 96, "--quiet")
        _check_no_space(line, disk/"ds")
        assert list(disk.iterdir()) == [], list(disk.iterdir())
    finally:
        subprocess.run(["umount", str(disk)], check=False)


# ---------------------------------------------------------------- one writer per output, for every writing command
HOLD = ("import sys, time\nfrom false_labels.core import output_lock\n"
        "with output_lock(sys.argv[1], inside=sys.argv[2] == 'inside'):\n    print('held', flush=True); time.sleep(300)\n")


@pytest.fixture
def holder():
    "Start another process holding an output's lock; yield a function (path, inside) -> its pid."
    procs = []
    def hold(path, inside=False):
        p = subprocess.Popen(python("-c", HOLD, path, "inside" if inside else "beside"), cwd=ROOT, env=_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(p)
        assert p.stdout.readline().strip() == "held", p.stderr.read()
        return p
    yield hold
    for p in procs:
        p.kill(); p.wait()


def _writers(tmp:Path, ds:Path)->dict:
    "command -> (argv, output folder, lock inside the folder?)."
    P, X = photos(tmp/"photos"), tmp/"out"
    S = fake_sweep(tmp/"sweep")
    return {
        "import": (["import", P, "--out", X, "--size", 16, "--quiet"], X, False),
        "generate": (["generate", "--out", X, "--n", 120, "--size", 16, "--workers", 1, "--quiet"], X, False),
        "detect": (["detect", "--data", ds, "--out", X, "--method", "cl", "--folds", 2, *FIT, "--quiet"], X, False),
        "detect --ratios": (["detect", "--data", ds, "--out", X, "--ratios", 0.1, "--method", "cl", "--folds", 2, *FIT, "--quiet"], X, False),
        "report": (["report", S], S/"report", False),
        "study": (["study", "--out", X, "--n", 200, "--ratios", "0", "--seeds", 1, "--epochs", 1, "--quiet"], X, False),
        "train": (["train", "--data", ds, "--out", X, *FIT, "--quiet"], X, True),
        "sweep": (["sweep", "--data", ds, "--out", X, "--ratios", 0, *FIT, "--jobs", 0], X, True),
    }


@pytest.mark.parametrize("cmd", ["import", "generate", "detect", "detect --ratios", "report", "study", "train", "sweep"])
def test_a_second_writer_is_refused_naming_the_holder(cmd, ds, tmp_path, holder, capsys, one_thread):
    argv, out, inside = _writers(tmp_path, ds)[cmd]
    p = holder(out, inside)
    t = time.monotonic()
    line = refused(capsys, *argv)
    assert str(out) in line and f"pid {p.pid}" in line, line
    assert time.monotonic() - t < 30, "the lock must be answered before the work"
    assert not out.exists() or [f.name for f in out.iterdir()] == [".lock"], list(out.iterdir())
    assert p.poll() is None


def test_a_killed_holder_does_not_block(tmp_path, holder, capsys):
    P, out = photos(tmp_path/"photos"), tmp_path/"ds"
    p = holder(out)
    p.kill(); p.wait()                         # killed while holding: the kernel releases its flock, its file stays
    assert (tmp_path/".ds.lock").exists()
    assert _main(["import", P, "--out", out, "--size", 16, "--quiet"]) == 0, capsys.readouterr().err
    assert (out/"card.json").is_file() and not (tmp_path/".ds.lock").exists()


# ---------------------------------------------------------------- Ctrl-C and kill: exactly what is kept, then resume
_start, _finish = start, lambda p, timeout=120: finish(p, timeout)


def _wait_for(cond, timeout, what, p):
    t = time.monotonic()
    while time.monotonic() - t < timeout:
        if cond(): return
        if p.poll() is not None: pytest.fail(f"process ended (exit {p.returncode}) before {what}: {p.stderr.read()[-2000:]}")
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_train_stopped_says_what_it_kept_then_reruns(sig, ds, tmp_path, capsys, one_thread):
    run = tmp_path/"run"
    p = _start("train", "--data", ds, "--out", run, *FIT, "--epochs", 200)
    _wait_for(lambda: (run/".lock").exists(), 120, "the run's folder", p)
    time.sleep(1.0)
    os.kill(p.pid, getattr(signal, sig))        # the process, as `kill` or a terminal's Ctrl-C would reach it
    rc, out, err = _finish(p, 60)
    assert rc == 128 + getattr(signal, sig), f"exit {rc}: {err[-1500:]}"
    assert "Traceback" not in out + err, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert last == f"interrupted ({sig}): the unfinished run was removed from {str(run)!r}: nothing of it is kept; " \
                   "run the same command again to start it over", last
    assert not run.exists(), f"the message says removed, yet {list(run.iterdir())}"   # the message is true
    assert not leftovers(tmp_path), leftovers(tmp_path)
    assert _main(["train", "--data", ds, "--out", run, *FIT, "--quiet"]) == 0, capsys.readouterr().err[-2000:]
    assert (run/"result.json").is_file()


def test_a_background_job_ignores_ctrl_c_and_stops_on_kill(ds, tmp_path):
    "Started with SIGINT ignored (`cmd &` in a script, `nohup`), the command keeps that choice; SIGTERM still stops it cleanly."
    run = tmp_path/"run"
    p = _start("train", "--data", ds, "--out", run, *FIT, "--epochs", 200, sigint="ignore")
    _wait_for(lambda: (run/".lock").exists(), 120, "the run's folder", p)
    os.kill(p.pid, signal.SIGINT); time.sleep(2.0)
    assert p.poll() is None, "an inherited ignored SIGINT was not honoured"
    os.kill(p.pid, signal.SIGTERM)
    rc, out, err = _finish(p, 60)
    assert rc == 143 and err.strip().splitlines()[-1].startswith("interrupted (SIGTERM): "), (rc, err[-1500:])
    assert not run.exists()


def test_import_interrupted_keeps_nothing_and_stops_at_once(tmp_path, monkeypatch, capsys):
    "Ctrl-C while decoding (raised in the decoder, as a signal would be): exit 130, the line says nothing was written, and it is true."
    import false_labels.data.store as store
    P, out = photos(tmp_path/"photos", n=200), tmp_path/"ds"
    real, calls = store.read_image, []
    def read(f, size):
        calls.append(f)
        if len(calls) == 60: raise KeyboardInterrupt
        return real(f, size)
    monkeypatch.setattr(store, "read_image", read)
    rc, cap = answer(capsys, "import", P, "--out", out, "--size", 16, "--workers", 1, "--quiet")
    assert rc == 130 and "Traceback" not in cap.err, cap.err[-1500:]
    assert cap.err.strip().splitlines()[-1] == (f"interrupted (SIGINT): nothing was written to {str(out)!r} (the unfinished copy "
                                                "was removed; what was there before is unchanged); run the same command again to start over")
    assert not out.exists() and not leftovers(tmp_path) and not (tmp_path/".ds.lock").exists()
    assert len(calls) < 200, f"{len(calls)} of 400 files decoded after the interrupt: the queued work was not cancelled"
