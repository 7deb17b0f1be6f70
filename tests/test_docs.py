"The executed-notebook machinery: tools/docs.py runs notebooks as nbdev-test does; tools/check_outputs.py finds stale ones."
import json, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/"tools"))
import docs, check_outputs  # tools/docs.py, tools/check_outputs.py


def _code(source, outputs=(), cid=None):
    return {"cell_type": "code", "id": cid, "metadata": {}, "execution_count": None, "outputs": list(outputs), "source": source}

def _nb(cells):
    for i, c in enumerate(cells): c["id"] = c["id"] or f"c{i}"
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "python3", "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}

_OUT = {"output_type": "execute_result", "data": {"text/plain": "2"}, "metadata": {}, "execution_count": None}


@pytest.fixture
def checkout(tmp_path):
    "A tiny checkout: a module, a notebook with outputs, and the record `make docs` would write for it."
    (tmp_path/"false_labels").mkdir(); (tmp_path/"nbs").mkdir()
    (tmp_path/"false_labels"/"__init__.py").write_text("__version__ = '0'\n")
    (tmp_path/"false_labels"/"core.py").write_text("def two(): return 2\n")
    nb = tmp_path/"nbs"/"00_x.ipynb"
    nb.write_text(json.dumps(_nb([_code("from false_labels.core import two", cid="imp"), _code("two()", [_OUT], "ex")])))
    entry = docs.record_entry(nb, {"modules": ["false_labels", "false_labels.core"], "seconds": 1.0}, root=tmp_path)
    docs.write_record({"all_required": False, "notebooks": {"00_x.ipynb": entry}}, tmp_path/"nbs"/".outputs.json")
    return tmp_path


def test_fresh_checkout_passes(checkout):
    assert check_outputs.problems(checkout) == []
    r = subprocess.run([sys.executable, str(ROOT/"tools"/"check_outputs.py"), "--root", str(checkout)], capture_output=True, text=True)
    assert r.returncode == 0 and "fresh" in r.stdout, r.stdout + r.stderr

def test_markdown_edit_is_not_stale(checkout):
    p = checkout/"nbs"/"00_x.ipynb"; nb = json.loads(p.read_text())
    nb["cells"].insert(0, {"cell_type": "markdown", "id": "md", "metadata": {}, "source": "# New title"})
    p.write_text(json.dumps(nb))
    assert check_outputs.problems(checkout) == []

def test_changed_code_cell_is_stale(checkout):
    p = checkout/"nbs"/"00_x.ipynb"; nb = json.loads(p.read_text())
    nb["cells"][1]["source"] = "two() + 1"; p.write_text(json.dumps(nb))
    [line] = check_outputs.problems(checkout)
    assert "00_x.ipynb" in line and "code cells changed" in line and "tools/docs.py nbs/00_x.ipynb" in line
    r = subprocess.run([sys.executable, str(ROOT/"tools"/"check_outputs.py"), "--root", str(checkout)], capture_output=True, text=True)
    assert r.returncode == 1 and "stale" in r.stdout

def test_changed_module_is_stale(checkout):
    (checkout/"false_labels"/"core.py").write_text("def two(): return 3\n")
    [line] = check_outputs.problems(checkout)
    assert "false_labels.core" in line and "stale" in line

def test_module_comments_do_not_make_stale(checkout):
    (checkout/"false_labels"/"core.py").write_text("# %% ../nbs/00_x.ipynb #abc\n\ndef two(): return 2  # two\n")
    assert check_outputs.problems(checkout) == []

def test_removed_module_is_stale(checkout):
    (checkout/"false_labels"/"core.py").unlink()
    assert "false_labels.core" in check_outputs.problems(checkout)[0]

def test_cleared_outputs_fail(checkout):
    p = checkout/"nbs"/"00_x.ipynb"; nb = json.loads(p.read_text())
    nb["cells"][1]["outputs"] = []; p.write_text(json.dumps(nb))
    [line] = check_outputs.problems(checkout)
    assert "lost their outputs" in line and "ex" in line

def test_unlisted_notebook_fails_only_once_all_are_required(checkout):
    (checkout/"nbs"/"01_new.ipynb").write_text(json.dumps(_nb([_code("1 + 1", cid="a")])))
    (checkout/"nbs"/"runs").mkdir(); (checkout/"nbs"/"runs"/"template.ipynb").write_text(json.dumps(_nb([_code("1", cid="a")])))
    assert check_outputs.problems(checkout) == []        # the switch is off: listed notebooks only
    rec = json.loads((checkout/"nbs"/".outputs.json").read_text()); rec["all_required"] = True
    docs.write_record(rec, checkout/"nbs"/".outputs.json")
    [line] = check_outputs.problems(checkout)            # templates under nbs/runs are never required
    assert "01_new.ipynb" in line and "never executed" in line

def test_deleted_notebook_fails(checkout):
    (checkout/"nbs"/"00_x.ipynb").unlink()
    assert "gone" in check_outputs.problems(checkout)[0]

def test_no_record_no_problems(tmp_path):
    (tmp_path/"nbs").mkdir()
    assert check_outputs.problems(tmp_path) == []


def test_outputless_examples():
    nb = _nb([_code("#| export\ndef f(): return 1"), _code("f()"), _code("test_eq(f(), 1)"), _code("x = f()"),
              _code("f();"), _code("f()", [_OUT]), _code("assert f() == 1"), _code("#| hide\nf()")])
    assert docs.outputless_examples(nb) == ["c1"]
    assert docs.outputless_examples(nb, ran={"c0"}) == []

def test_shrink_png_downsizes_wide_images():
    import base64, io
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    buf = io.BytesIO(); Image.fromarray(rng.integers(0, 255, (300, 2000, 3), dtype=np.uint8)).save(buf, "PNG")
    small = Image.open(io.BytesIO(base64.b64decode(docs.shrink_png(base64.b64encode(buf.getvalue()).decode()))))
    assert small.width == docs.MAX_PNG_WIDTH and small.height == 120
    tiny = io.BytesIO(); Image.new("RGB", (10, 10)).save(tiny, "PNG"); b64 = base64.b64encode(tiny.getvalue()).decode()
    assert docs.shrink_png(b64) == b64

def test_docs_notebooks_skips_templates_private_and_skip_exec(tmp_path):
    for name in ["00_a.ipynb", "runs/t.ipynb", "_scratch.ipynb", "sub/b.ipynb", "quiet/c.ipynb", "s.ipynb"]:
        p = tmp_path/name; p.parent.mkdir(exist_ok=True, parents=True); p.write_text(json.dumps(_nb([_code("1")])))
    (tmp_path/"quiet"/".notest").touch()
    skip = _nb([{"cell_type": "raw", "id": "r", "metadata": {}, "source": "---\nskip_exec: true\n---"}, _code("1")])
    (tmp_path/"s.ipynb").write_text(json.dumps(skip))
    assert [p.relative_to(tmp_path).as_posix() for p in docs.docs_notebooks(tmp_path)] == ["00_a.ipynb", "sub/b.ipynb"]

def test_the_real_record_lists_existing_notebooks():
    "What is committed: every notebook named in nbs/.outputs.json is one the docs build executes."
    rec = ROOT/"nbs"/".outputs.json"
    if not rec.exists(): pytest.skip("no notebook executed yet")
    names = {p.relative_to(ROOT/"nbs").as_posix() for p in docs.docs_notebooks()}
    assert set(docs.read_json(rec)["notebooks"]) <= names


@pytest.mark.slow
def test_execute_runs_what_nbdev_test_runs(tmp_path):
    "A notebook executed like the docs build: skipped cells (eval: false, slow) lose their outputs; deterministic."
    (tmp_path/"pyproject.toml").write_text((ROOT/"pyproject.toml").read_text())
    (tmp_path/"nbs").mkdir()
    p = tmp_path/"nbs"/"t.ipynb"
    cells = [_code("import numpy as np, pandas as pd, altair as alt", cid="imp"),
             _code("print('hello'); np.random.rand()", cid="rand"),
             _code("#| eval: false\n1/0", [_OUT], "noeval"),
             _code("#| slow\n1/0", [_OUT], "slow"),
             _code("import false_labels.core", cid="mod"),
             _code("alt.Chart(pd.DataFrame({'x': [1, 2]})).mark_point().encode(x='x')", cid="chart"),
             _code("import tempfile\ntempfile.mkdtemp()", cid="tmp")]
    p.write_text(json.dumps(_nb(cells)))
    def run():
        rec, _, err = docs.run_one(p, 1)
        assert rec is not None, err
        return rec, {c["id"]: c["outputs"] for c in json.loads(p.read_text())["cells"]}
    rec, outs = run()
    assert "false_labels.core" in rec["modules"] and "noeval" not in rec["ran"] and "slow" not in rec["ran"]
    assert outs["noeval"] == [] and outs["slow"] == []                   # stale outputs of skipped cells cleared
    assert outs["rand"][0]["text"] == ["hello\n"] if isinstance(outs["rand"][0]["text"], list) else outs["rand"][0]["text"] == "hello\n"
    chart = outs["chart"][0]["data"]
    assert docs.chart_spec(chart)["mark"]["type"] == "point" and "image/png" in chart and "text/html" not in chart
    tmp = outs["tmp"][0]["data"]["text/plain"]
    assert "".join(tmp).startswith("'/tmp/tmp") and "fl-docs" not in "".join(tmp)
    _, again = run()
    assert again["rand"] == outs["rand"] and again["chart"] == outs["chart"]   # seeded, stable div ids
    assert again["tmp"] == outs["tmp"]                                         # temporary paths too


def _executed_nb(tmp_path):
    (tmp_path/"pyproject.toml").write_text((ROOT/"pyproject.toml").read_text())
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==\n"
    cells = [_code("x = 1", cid="a"),
             _code("x + 1", [{"output_type": "execute_result", "execution_count": None, "metadata": {},
                              "data": {"text/html": "<b>2</b>", "text/plain": "2"}}], "b"),
             _code("x", [{"output_type": "display_data", "metadata": {}, "data": {"image/png": png, "text/plain": "<Figure>"}}], "c")]
    p = tmp_path/"t.ipynb"; p.write_text(json.dumps(_nb(cells)))
    return p

def test_docs_processing_keeps_saved_outputs(tmp_path):
    import check_docs_exec
    assert check_docs_exec.check(_executed_nb(tmp_path)) is None

def test_docs_processing_check_can_fail(tmp_path, monkeypatch):
    import check_docs_exec
    class Clearing:
        def __call__(self, nb):
            for c in nb.cells: c["outputs"] = []
    monkeypatch.setattr(check_docs_exec, "FilterDefaults", Clearing)
    err = check_docs_exec.check(_executed_nb(tmp_path))
    assert "dropped saved outputs" in err and "b (text/html, text/plain)" in err and "c (image/png" in err

def test_steady_record_keeps_seconds_of_an_unchanged_rerun():
    prev = {"code": "a", "modules": {}, "outputs": ["x"], "seconds": 10.0}
    assert docs.steady(prev, dict(prev, seconds=13.0))["seconds"] == 10.0
    assert docs.steady(prev, dict(prev, seconds=30.0))["seconds"] == 30.0
    assert docs.steady(prev, dict(prev, code="b", seconds=13.0))["seconds"] == 13.0
    assert docs.steady(None, prev) == prev

@pytest.mark.parametrize("args, msg", [(["nbs/runs/train_run.ipynb"], "not a docs notebook"),
                                       (["README.md"], "not a notebook under"),
                                       (["--jobs", "0"], "--jobs 0: must be 1 or more"),
                                       (["--threads", "0"], "--threads 0: must be 1 or more")])
def test_docs_cli_rejects_bad_input_before_any_work(args, msg):
    r = subprocess.run([sys.executable, str(ROOT/"tools"/"docs.py"), *args], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and msg in r.stderr and "Traceback" not in r.stderr


def test_sidebar_is_in_the_readers_order_and_lists_only_pages(tmp_path):
    "nbs/sidebar.yml is what tools/sidebar.py gives: guides before the API, every docs notebook once, nothing else."
    import sidebar, yaml
    assert (ROOT/"nbs"/"sidebar.yml").read_text() == sidebar.render(), "run `python tools/sidebar.py`"
    tree = yaml.safe_load(sidebar.render())["website"]["sidebar"]["contents"]
    flat = lambda xs: [y for x in xs for y in (flat(x["contents"]) if isinstance(x, dict) else [x])]
    pages = flat(tree)
    assert sorted(pages) == sorted(p.relative_to(ROOT/"nbs").as_posix() for p in docs.docs_notebooks())
    assert len(pages) == len(set(pages)) and all(p.endswith(".ipynb") for p in pages)
    assert tree[0] == "index.ipynb" and tree[1]["section"] == "Tutorials" and tree[-1]["section"] == "API reference"
    # a new notebook lands in its section by its folder or number alone
    for rel in ("index.ipynb", "tutorials/a.ipynb", "howto/b.ipynb", "05_x.ipynb", "detectors/49_y.ipynb", "runs/t.ipynb"):
        (tmp_path/rel).parent.mkdir(exist_ok=True, parents=True)
        (tmp_path/rel).write_text(json.dumps(_nb([{"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# T"}])))
    secs = dict(sidebar.sections(tmp_path))
    assert secs["How-to"] == ["howto/b.ipynb"] and secs["Tutorials"] == ["tutorials/a.ipynb"]
    assert dict(secs["API reference"]) == {"Foundations: files, arrays, run folders": ["05_x.ipynb"],
                                           "Detectors: finding the corrupted labels": ["detectors/49_y.ipynb"]}
