"""Child processes started as from a terminal, wherever the suite itself was started.

A command started in the background by a non-interactive shell (CI runners, `nohup ... &`, job schedulers) inherits
SIGINT *ignored*, and so would every child it starts; Python then never raises `KeyboardInterrupt`. A test that sends
a signal sets the disposition it relies on in the child it starts: `python(...)` runs Python with SIGINT and SIGTERM
at their defaults (as from a terminal), or with SIGINT ignored (`sigint="ignore"`, as a background job of a script).
"""
import os, signal, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

_START = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.{}); signal.signal(signal.SIGTERM, signal.SIG_DFL); "
          "os.execv(sys.executable, [sys.executable] + sys.argv[1:])")


def python(*args, sigint:str="default")->list:
    "argv running `python ARGS` with SIGINT at its default ('default') or ignored ('ignore'), whatever this process inherited."
    return [sys.executable, "-c", _START.format("SIG_IGN" if sigint == "ignore" else "SIG_DFL"), *map(str, args)]


def cli_env()->dict:
    "The environment of a `false-labels` child: this checkout first, one thread (tiny runs on a busy machine)."
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def start(*args, sigint:str="default"):
    "`false-labels ARGS` in its own process group (so a kill reaches its workers too), SIGINT at its default (or ignored)."
    return subprocess.Popen(python("-m", "false_labels", *args, sigint=sigint), cwd=ROOT, env=cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def finish(p, timeout=300):
    "(exit status, stdout, stderr) of `p`; past `timeout` its whole group is killed and the test fails."
    try: out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL); out, err = p.communicate()
        pytest.fail(f"no exit within {timeout}s\n{out[-2000:]}\n{err[-2000:]}")
    return p.returncode, out, err


def cli_in_process(*args):
    "`false-labels ARGS` in this process: (exit code, stdout, stderr)."
    import contextlib, io
    from false_labels.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: rc = main([str(a) for a in args])
        except SystemExit as e: rc = e.code
    return rc or 0, out.getvalue(), err.getvalue()
