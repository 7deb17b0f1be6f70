"""Issue 13, "nothing silent": every bad value or file at the edges (CLI, public API) gets one line naming it.

The table lives in `tests/badinputs.py`. A CLI case passes when `false-labels ...` exits 2 with exactly one line
`false-labels <command>: error: <message>` on stderr that names the bad value/file, no traceback anywhere, and
nothing written at a fresh --out path. Set FL_BAD_INPUTS_LOG=file.jsonl to record what every case did.
"""
import json, os, re, shutil, signal
from pathlib import Path

import pytest

from badinputs import CLI_CASES, WRITES, build_env, _api



def _subcommands()->set:
    from false_labels.cli import build_parser
    import argparse
    return {name for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction) for name in a.choices}


SUBCOMMANDS = _subcommands()

CASE_TIMEOUT = int(os.environ.get("FL_CASE_TIMEOUT", "120"))   # a case the code does not refuse still ends
LINE = re.compile(r"^false-labels(?: [a-z]+)?: error: .+")


class CaseTimeout(BaseException):
    "Raised by the alarm: a bad input that was not refused quickly."


@pytest.fixture(scope="module")
def env(tmp_path_factory, one_thread):
    return build_env(tmp_path_factory.mktemp("bad"))


def _alarm(seconds):
    def on_alarm(*_): raise CaseTimeout(f"no answer within {seconds}s")
    old = signal.signal(signal.SIGALRM, on_alarm); signal.alarm(seconds)
    return old


def _log(**rec):
    f = os.environ.get("FL_BAD_INPUTS_LOG")
    if f:
        with open(f, "a") as fh: fh.write(json.dumps(rec, default=str) + "\n")


def _snapshot(p:Path):
    if not p.exists(): return None
    if p.is_file(): return ("file", p.read_bytes())
    return ("dir", sorted((str(q.relative_to(p)), q.is_file() and q.read_bytes()) for q in p.rglob("*")))


def _run_main(argv):
    "Exit status of `false_labels.cli.main(argv)`, plus the exception that escaped it (None if none)."
    from false_labels.cli import main
    old = _alarm(CASE_TIMEOUT)
    try:
        try: rc, exc = main(argv), None
        except SystemExit as e: rc, exc = (e.code if isinstance(e.code, int) else (0 if e.code is None else 1)), None
        except CaseTimeout as e: rc, exc = None, e
        except Exception as e: rc, exc = None, e
    finally:
        signal.alarm(0); signal.signal(signal.SIGALRM, old)
    return rc, exc


@pytest.mark.parametrize("cid,argv,want", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_bad_input(cid, argv, want, env, tmp_path, capsys):
    if argv and argv[0] not in SUBCOMMANDS and not argv[0].startswith("frob"):
        pytest.skip(f"no `{argv[0]}` subcommand in this build yet")
    out = tmp_path/"out"
    subs = {**env, "out": str(out)}
    argv = [a.format(**subs) for a in argv]
    watched = {k: Path(env[k]) for k in ("nonempty", "afile", "ds", "notsweep", "sweep_noresults", "empty")}
    before = {k: _snapshot(p) for k, p in watched.items()}
    rc, exc = _run_main(argv)
    cap = capsys.readouterr()
    err = cap.err.strip()
    lines = err.splitlines()
    _log(id=cid, argv=argv, rc=rc, exc=None if exc is None else f"{type(exc).__name__}: {exc}"[:300],
         stderr_lines=len(lines), stderr_tail=lines[-3:], stdout_tail=cap.out.strip().splitlines()[-2:],
         traceback="Traceback" in cap.out + cap.err, out_exists=out.exists())
    assert exc is None, f"{cid}: raised {type(exc).__name__}: {str(exc)[:300]}"
    assert rc == 2, f"{cid}: exit {rc}, stderr: {err[-500:]!r}"
    assert "Traceback" not in cap.out + cap.err, f"{cid}: traceback printed"
    assert len(lines) == 1, f"{cid}: {len(lines)} lines on stderr: {err[-800:]!r}"
    assert LINE.match(lines[0]), f"{cid}: not 'false-labels <command>: error: ...': {lines[0]!r}"
    for w in want:
        assert w.lower() in lines[0].lower(), f"{cid}: {w!r} not named in {lines[0]!r}"
    if argv and argv[0] in WRITES:
        assert not out.exists(), f"{cid}: {out} was created"
        left = [p.name for p in tmp_path.iterdir() if ".partial-" in p.name or p.name.endswith(".tmp")]
        assert not left, f"{cid}: leftovers {left}"
    for k, p in watched.items():
        assert _snapshot(p) == before[k], f"{cid}: {p} was changed"


API_CASES = _api()


@pytest.mark.parametrize("cid,call,exc_types,want", API_CASES, ids=[c[0] for c in API_CASES])
def test_api_bad_input(cid, call, exc_types, want, env, tmp_path):
    old = _alarm(CASE_TIMEOUT)
    try:
        try: res, exc = call(env, tmp_path), None
        except CaseTimeout as e: res, exc = None, e
        except Exception as e: res, exc = None, e
    finally:
        signal.alarm(0); signal.signal(signal.SIGALRM, old)
    msg = "" if exc is None else str(exc)
    _log(id=f"api:{cid}", exc=None if exc is None else type(exc).__name__, msg=msg[:300],
         returned=None if exc is not None else repr(res)[:120])
    assert exc is not None, f"{cid}: no error, returned {repr(res)[:200]}"
    assert isinstance(exc, exc_types), f"{cid}: {type(exc).__name__}: {msg[:300]} (wanted {[t.__name__ for t in exc_types]})"
    assert "\n" not in msg.strip(), f"{cid}: message has {len(msg.strip().splitlines())} lines: {msg[:300]!r}"
    for w in want:
        assert w.lower() in msg.lower(), f"{cid}: {w!r} not named in {msg[:300]!r}"
    assert not (tmp_path/"o").exists() and not (tmp_path/"r").exists() and not (tmp_path/"s").exists(), f"{cid}: output written"


def test_table_is_big_enough():
    assert len(CLI_CASES) >= 220 and len(API_CASES) >= 60
    cmds = {c[1][0] for c in CLI_CASES if c[1]}
    assert {"generate", "train", "sweep", "report", "detect", "study", "import"} <= cmds
    assert len({c[0] for c in CLI_CASES}) == len(CLI_CASES) and len({c[0] for c in API_CASES}) == len(API_CASES)
