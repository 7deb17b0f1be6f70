"""Notebook charts draw with no network: in JupyterLab (its own bundled Vega), on the docs site and in GitHub's view
(the static PNG saved beside the spec). Checked in real headless Chromium with every host but loopback unresolvable."""
import base64, io, json, os, re, socket, subprocess, sys, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/"tools"))
import docs  # tools/docs.py owns the saved chart format

OFFLINE = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
           "--no-first-run", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


def _spec(n=3, title="t"):
    import altair as alt, pandas as pd
    df = pd.DataFrame({"noise": [i/10 for i in range(n)], "accuracy": [0.9 - i/20 for i in range(n)], "k": ["a", "b", "a"][:n]})
    return (alt.Chart(df, title=title).mark_line(point=True)
            .encode(x=alt.X("noise:Q", axis=alt.Axis(format="%")), y="accuracy:Q", color="k:N", tooltip=["noise", "accuracy"])
            .to_dict())

def _chart_nb(path, specs):
    out = lambda spec: {"output_type": "execute_result", "metadata": {}, "execution_count": None, "data": docs.docs_renderer(spec)}
    cells = [{"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# Charts"}]
    cells += [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None, "source": f"chart{i}",
               "outputs": [out(s)]} for i, s in enumerate(specs)]
    path.write_text(json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}))
    return path

def _dump_dom(chromium, url, budget_ms=15000, timeout=90) -> str:
    r = subprocess.run([chromium, *OFFLINE, f"--virtual-time-budget={budget_ms}", "--dump-dom", url],
                       capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    assert r.stdout.strip(), r.stderr[-2000:]
    return r.stdout


def test_saved_chart_is_a_spec_and_a_small_png():
    from PIL import Image
    d = docs.docs_renderer(_spec())
    assert set(d) == {docs.VEGALITE_MIME, "image/png", "text/plain"}          # no CDN text/html that would win in Lab
    assert docs.chart_spec(d)["mark"]["type"] == "line"
    im = Image.open(io.BytesIO(base64.b64decode(d["image/png"])))
    assert 50 < im.width <= docs.MAX_PNG_WIDTH and im.mode == "P" and len(d["image/png"]) < 40_000
    assert docs.docs_renderer(_spec())["image/png"] == d["image/png"]     # deterministic: saved outputs stay steady


def test_every_saved_notebook_chart_has_its_offline_forms():
    "Every altair chart saved in nbs/ carries the spec JupyterLab draws and a static PNG; none is a CDN page."
    bad, n = [], 0
    for p in sorted((ROOT/"nbs").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in str(p): continue
        for c in json.loads(p.read_text())["cells"]:
            for o in c.get("outputs", []):
                d = o.get("data", {})
                html = "".join(d.get("text/html", ""))
                if "cdn.jsdelivr.net/npm/vega" in html: bad.append(f"{p.relative_to(ROOT)} {c.get('id')}: a CDN vega-embed page")
                if any(k.startswith("application/vnd.vegalite") for k in d):
                    n += 1
                    if docs.VEGALITE_MIME not in d or "image/png" not in d: bad.append(f"{p.relative_to(ROOT)} {c.get('id')}: {sorted(d)}")
    assert not bad, "re-run `python tools/docs.py` on: " + "; ".join(bad[:10])
    assert n >= 10   # the docs do have charts (the analysis, report and charts notebooks)


def test_docs_page_draws_its_charts_offline(chromium, tmp_path):
    "The docs' processing (nbdev's FilterDefaults, as check_docs_exec) then HTML: each chart is a loaded picture."
    import check_docs_exec
    from fastcore.nbio import read_nb
    from nbconvert import HTMLExporter
    from nbdev.processors import FilterDefaults
    nb_path = _chart_nb(tmp_path/"charts.ipynb", [_spec(3, "one"), _spec(2, "two")])
    assert check_docs_exec.check(nb_path) is None
    nb = read_nb(nb_path); FilterDefaults()(nb)
    import nbformat
    html, _ = HTMLExporter(template_name="classic").from_notebook_node(_as_nbformat(nb))
    probe = ("<script>window.addEventListener('load', () => { const ims = [...document.querySelectorAll('img')];"
             "document.body.insertAdjacentHTML('beforeend', '<pre id=probe>' + JSON.stringify(ims.map(i => i.naturalWidth))"
             " + '</pre>'); });</script>")
    page = tmp_path/"page.html"; page.write_text(html.replace("</body>", probe + "</body>"))
    dom = _dump_dom(chromium, page.as_uri(), 5000)
    widths = json.loads(re.search(r'<pre id="probe">(.*?)</pre>', dom).group(1))
    assert len(widths) == 2 and all(w > 50 for w in widths), widths


def test_real_docs_pages_draw_their_charts_offline(chromium, tmp_path):
    "The notebooks with the most charts, processed for the docs and rendered: every chart output is a picture that loads."
    from fastcore.nbio import read_nb
    from nbconvert import HTMLExporter
    from nbdev.processors import FilterDefaults
    import nbformat
    for name in ("detectors/46_charts.ipynb", "study/64_report.ipynb"):
        nb = read_nb(ROOT/"nbs"/name)
        n = sum(docs.VEGALITE_MIME in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
        if not n: pytest.skip(f"nbs/{name} holds no saved chart (run `python tools/docs.py`)")
        cwd, saved = os.getcwd(), dict(sys.modules); os.chdir(ROOT/"nbs"); os.environ["IN_TEST"] = "1"
        try: FilterDefaults()(nb)
        finally:   # the docs build imports from the notebooks' folder: keep its modules (nbs/methods/ ...) out of later tests
            os.chdir(cwd); os.environ.pop("IN_TEST", None)
            _forget_notebook_folders(saved)
        html, _ = HTMLExporter(template_name="classic").from_notebook_node(_as_nbformat(nb))
        probe = ("<script>window.addEventListener('load', () => { const ims = [...document.querySelectorAll('img')];"
                 "document.body.insertAdjacentHTML('beforeend', '<pre id=probe>' + JSON.stringify(ims.map(i => i.naturalWidth))"
                 " + '</pre>'); });</script>")
        page = tmp_path/f"{name.replace('/', '_')}.html"; page.write_text(html.replace("</body>", probe + "</body>"))
        widths = json.loads(re.search(r'<pre id="probe">(.*?)</pre>', _dump_dom(chromium, page.as_uri(), 5000)).group(1))
        assert len(widths) >= n and all(w > 0 for w in widths), (name, n, widths)


def _forget_notebook_folders(saved:dict):
    "Drop the modules imported from nbs/ folders (nbs/methods/ is a namespace package there) and put back the package's own."
    nbs = str(ROOT/"nbs")
    for k in set(sys.modules) - set(saved):
        m = sys.modules[k]
        locs = [str(x) for x in (getattr(m, "__path__", None) or [])] + [str(getattr(m, "__file__", None) or "")]
        if any(l.startswith(nbs) for l in locs): del sys.modules[k]
    for k, m in saved.items():
        if k.startswith("false_labels") and sys.modules.get(k) is not m:
            sys.modules[k] = m
            parent, _, leaf = k.rpartition(".")
            if parent in sys.modules: setattr(sys.modules[parent], leaf, m)


def _as_nbformat(nb):
    "A processed notebook as nbformat validates it: nbdev's processors leave bookkeeping on the cells (directives_, timings)."
    import nbformat
    d = dict(nb); d["cells"] = [{**{k: v for k, v in c.items() if not k.endswith("_") and k != "has_sd"}, "metadata": {}} for c in nb.cells]
    return nbformat.from_dict(d)


def _free_port() -> int:
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def test_jupyterlab_draws_saved_charts_offline_untrusted(chromium, tmp_path):
    "A notebook opened in JupyterLab, never trusted, no network: each chart is drawn by Lab's own Vega (a canvas)."
    lab = Path(sys.executable).parent/"jupyter-lab"
    if not lab.exists(): pytest.skip("JupyterLab is not installed (the dev extra)")
    specs = [_spec(3, "one"), _spec(2, "two"), _spec(3, "three")]
    _chart_nb(tmp_path/"charts.ipynb", specs)
    port = _free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path/"cfg"), JUPYTER_DATA_DIR=str(tmp_path/"data"),
               JUPYTER_RUNTIME_DIR=str(tmp_path/"rt"))
    proc = subprocess.Popen([str(lab), "--no-browser", f"--port={port}", "--ip=127.0.0.1", "--ServerApp.token=",
                             "--ServerApp.password=", "--allow-root", f"--ServerApp.root_dir={tmp_path}",
                             "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)
    try:
        t = time.time()
        while time.time() - t < 60:
            try: socket.create_connection(("127.0.0.1", port), 1).close(); break
            except OSError: time.sleep(0.5)
        else: pytest.fail("JupyterLab did not start in 60 s")
        dom = _dump_dom(chromium, f"http://127.0.0.1:{port}/lab/tree/charts.ipynb", 20000)
    finally:
        proc.terminate()
        try: proc.wait(10)
        except subprocess.TimeoutExpired: proc.kill()
    outs = re.findall(r'class="lm-Widget jp-RenderedVegaCommon5 jp-RenderedVegaLite[^"]*">(.*?)</details>', dom, re.S)
    assert len(outs) == len(specs), f"{len(outs)} vega-lite outputs in Lab's page, expected {len(specs)}"
    for o in outs:
        m = re.search(r'<canvas width="(\d+)" height="(\d+)"', o)
        assert m and int(m.group(1)) > 50 and int(m.group(2)) > 50, o[:300]
