"Project-level checks: config, README sync, entry points, notebooks vs modules."
import json, subprocess, sys, tomllib
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/"tools"))
import readme  # tools/readme.py

def test_pyproject_is_the_only_config():
    cfg = tomllib.loads((ROOT/"pyproject.toml").read_text())
    nb = cfg["tool"]["nbdev"]
    assert "tags" in nb["allowed_cell_metadata_keys"], "papermill's parameters tag must survive nbdev-clean"
    assert not (ROOT/"settings.ini").exists() and not (ROOT/"setup.py").exists()
    assert cfg["project"]["scripts"]["false-labels"] == "false_labels.cli:main"

def test_readme_in_sync_with_index_notebook():
    assert (ROOT/"README.md").read_text() == readme.render(), "README.md is out of date: run `make readme`"

def test_ci_runs_the_readme_test_command():
    text = (ROOT/"README.md").read_text()
    assert "make test" in text and "make study" in text
    assert "make test" in (ROOT/".ci"/"run").read_text()

def _default_exp(nb_path):
    for c in json.loads(nb_path.read_text())["cells"]:
        src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for line in src.splitlines():
            if line.startswith("#| default_exp"): return line.split()[-1]

def test_one_module_per_notebook():
    mods = {}
    for nb in sorted((ROOT/"nbs").rglob("*.ipynb")):
        if any(part.startswith((".", "_")) for part in nb.relative_to(ROOT/"nbs").parts): continue
        m = _default_exp(nb)
        if m is None: continue
        assert m not in mods, f"{nb.name} and {mods[m]} both export {m}"
        mods[m] = nb.name
        assert (ROOT/"false_labels"/(m.replace(".", "/") + ".py")).exists(), f"{nb.name}: run nbdev-export"

@pytest.mark.parametrize("args", [["--version"], ["--help"], ["generate", "--help"]])
def test_python_dash_m_entry_point(args):
    r = subprocess.run([sys.executable, "-m", "false_labels", *args], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "false" in r.stdout.lower()

def test_cli_reports_bad_input_without_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "false_labels", "generate", "--out", str(tmp_path/"d"), "--n", "-5"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "-5" in r.stderr
