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
    assert readme.problems() == []      # and every picture it links to is committed

def test_readme_renders_outputs_and_pictures(tmp_path):
    "Saved outputs become text blocks and PNG files; altair charts give their saved PNG; directive cells are left out."
    import base64, io, docs, altair as alt, pandas as pd
    from PIL import Image
    spec = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x").to_dict()
    buf = io.BytesIO(); Image.new("RGB", (4, 3), "red").save(buf, "PNG"); png = base64.b64encode(buf.getvalue()).decode()
    out = lambda data: {"output_type": "execute_result", "metadata": {}, "execution_count": None, "data": data}
    cells = [{"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# Title"},
             {"cell_type": "code", "id": "h", "metadata": {}, "execution_count": None, "source": "#| hide\nx = 1", "outputs": []},
             {"cell_type": "code", "id": "p", "metadata": {}, "execution_count": None, "source": "print(1)",
              "outputs": [{"output_type": "stream", "name": "stdout", "text": ["1\n"]},
                          {"output_type": "stream", "name": "stderr", "text": ["a warning\n"]}]},
             {"cell_type": "code", "id": "t", "metadata": {}, "execution_count": None, "source": "df",
              "outputs": [out({"text/html": "<table></table>", "text/plain": "   a\n0  1"})]},
             {"cell_type": "code", "id": "c", "metadata": {}, "execution_count": None, "source": "chart",
              "outputs": [out(docs.docs_renderer(spec))]}]
    cells.append({"cell_type": "code", "id": "i", "metadata": {}, "execution_count": None, "source": "img",
                  "outputs": [out({"image/png": png, "text/plain": "<Figure>"})]})
    nb = tmp_path/"index.ipynb"; nb.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    images = {}
    text = readme.render(nb, images)
    assert "x = 1" not in text and "a warning" not in text
    assert "```python\nprint(1)\n```\n\n```\n1\n```" in text and "   a\n0  1" in text and "<table>" not in text
    assert "![](docs/images/index_c_0.png)" in text and images["index_c_0.png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert images["index_i_0.png"] == base64.b64decode(png)
    assert readme.linked_images(text)[0] == "docs/images/index_c_0.png"
    assert text == readme.render(nb)    # the text does not depend on making the pictures

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
