"""false_labels.study.charts and .report: charts, the offline HTML report and its files, and a real headless-Chromium check.

The sweeps are written by `write_sweep` (tests/test_analysis.py) from a seeded model of accuracy vs ratio.
The browser test needs Debian's `chromium` (CI: `sudo apt-get install -y --no-install-recommends chromium`); it is
marked `browser` and skipped, saying why, when no Chromium binary is found ($CHROMIUM overrides the search).
"""
import json, os, re, select, shutil, subprocess, tempfile, time
from pathlib import Path
import altair as alt
import numpy as np
import pandas as pd
import pytest

from false_labels.study.analysis import NoFinishedRunsError, confusion_table, load_results, noise_regimes, robustness, theory_check
from false_labels.core import OutputExistsError
from false_labels.study.charts import (class_f1_chart, confusion_chart, delta_chart, delta_table, inverse_chart, metric_chart,
    ranking_chart, regime_chart, theory_chart)
from false_labels.study.report import ReportData, Section, render_html, write_report
from test_analysis import RATIOS, simulate, write_sweep

FAST = dict(models=("dummy", "linear", "elastic_net"))  # the full regressor set is tested in test_analysis

@pytest.fixture(scope="module")
def report(tmp_path_factory):
    "One full report (PNG + SVG) of a two-architecture sweep with a failed and a NaN run, plus an extra section."
    sweep, failed, nan = write_sweep(tmp_path_factory.mktemp("r")/"sweep", failed=1, nan=1, seeds=3,
                                     groups={"resnet": (0.95, -0.5), "cnn": (0.85, -0.7)})
    extra = [Section("Detection", "placeholder", tables={"detection": pd.DataFrame(dict(method=["loss"], f1=[0.5]))}),
             lambda d: None,  # a hook may decline
             lambda d: Section("Runs per arch", f"{d.final.arch.nunique()} archs", tables={"runs_per_arch": d.final.groupby("arch").size().reset_index()})]
    path = write_report(sweep, sections=extra, **FAST)
    return dict(path=path, sweep=sweep, failed=failed, nan=nan, html=path.read_text())

def chart_names(html): return re.findall(r'<div class="vl-chart" id="chart-\d+" data-name="([^"]+)"', html)

# ---------------------------------------------------------------------------------------------------------------
# charts
def test_charts_are_returned_valid_and_never_displayed(tmp_path, monkeypatch):
    sweep, *_ = write_sweep(tmp_path/"s", seeds=2, epochs=3, groups={"a": (0.9, -0.5), "b": (0.9, -0.8)})
    df, allep = load_results(sweep), load_results(sweep, final=False)
    shown = []
    monkeypatch.setattr(alt.TopLevelMixin, "show", lambda self, *a, **k: shown.append(self))
    monkeypatch.setattr(alt.TopLevelMixin, "_repr_mimebundle_", lambda self, *a, **k: shown.append(self) or {})
    charts = [metric_chart(df), metric_chart(df, "f1_a", degree=2), delta_chart(df), class_f1_chart(df),
              confusion_chart(confusion_table(df)), theory_chart(theory_check(df)), regime_chart(noise_regimes(allep)),
              ranking_chart(robustness(df, n_boot=50))]
    assert not shown
    for ch in charts:
        assert isinstance(ch, alt.TopLevelMixin)
        spec = ch.to_dict()  # validates against the Vega-Lite schema
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/"), spec.get("$schema")
        assert spec.get("datasets") and all(len(rows) for rows in spec["datasets"].values()), "a chart without data rows"
        text = json.dumps(spec)
        assert '"encoding"' in text and '"field"' in text, "a chart that encodes no field"
    layers = [l["mark"]["type"] if isinstance(l["mark"], dict) else l["mark"] for l in metric_chart(df).to_dict()["layer"]]
    assert layers == ["area", "line", "circle"]

def test_metric_chart_has_no_band_with_a_single_seed():
    df = load_results(simulate(seeds=1), warn=False)
    marks = [l["mark"]["type"] if isinstance(l["mark"], dict) else l["mark"] for l in metric_chart(df).to_dict()["layer"]]
    assert "area" not in marks and "line" in marks

def test_delta_table_is_relative_to_the_clean_baseline():
    df = load_results(simulate(groups={"m": (0.9, -0.5)}, sd=0.0, seeds=2), warn=False)
    d = delta_table(df)
    np.testing.assert_allclose(d.delta, -0.5 * d.ratio, atol=1e-9)

# ---------------------------------------------------------------------------------------------------------------
# the report folder
def test_report_writes_one_html_plus_png_svg_csv(report):
    out = report["path"].parent
    assert report["path"] == report["sweep"]/"report"/"report.html"
    names = chart_names(report["html"])
    assert len(names) >= 8 and len(set(names)) == len(names)
    for n in names:
        assert (out/f"{n}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (out/f"{n}.svg").read_text().lstrip().startswith("<svg")
    for t in ("fits", "plateau", "robustness", "theory", "regimes", "regr_results", "excluded_runs", "detection", "runs_per_arch"):
        assert len(pd.read_csv(out/f"{t}.csv")) > 0, t
    man = json.loads((out/"manifest.json").read_text())
    assert man["format"].startswith("false_labels.report") and "report.html" in man["files"] and man["versions"]["numpy"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".report")]  # no temporary folder left

def test_report_html_is_self_contained(report):
    html = report["html"]
    markup = re.sub(r"(<script\b[^>]*>).*?</script>", r"\1</script>", html, flags=re.S | re.I)  # tags, not JS strings
    assert markup.count("<script") == html.count("<script") and len(markup) < 200_000
    assert not re.search(r'<(script|link|img|iframe|object|embed|source)\b[^>]*\b(src|href|data)\s*=', markup, re.I), "external reference"
    assert html.count('<script type="application/json" id="spec-chart-') == len(chart_names(html))
    assert "vegaEmbed" in html and len(html) > 500_000  # the Vega bundle is inline

def test_report_summary_is_honest(report):
    html, sweep = report["html"], report["sweep"]
    summary = html[html.index('<section id="summary">'):html.index("</section>", html.index('<section id="summary">'))]
    df = load_results(sweep, warn=False)
    assert f"{df.run_id.nunique()} finished run(s), 2 excluded" in summary
    for r in report["failed"] + report["nan"]: assert r in summary
    assert "out of memory" in summary and "NaN" in summary
    assert "arch = cnn, resnet" in summary and "Most robust: arch=resnet" in summary
    assert "Low-ratio plateau" in summary or "No evidence of a low-ratio plateau" in summary
    for g, (acc0, slope) in {"resnet": (0.95, -0.5), "cnn": (0.85, -0.7)}.items():
        m = re.search(rf"arch={g}: test_acc ([\d.]+) %.*?linear slope ([-+][\d.]+) points per 10 %", summary)
        assert m and abs(float(m.group(1)) / 100 - acc0) < 0.03 and abs(float(m.group(2)) / 10 - slope) < 0.05, (g, m)
    assert "Detection" in html and "Runs per arch" in html  # the hook's sections

def test_report_of_a_single_seed_and_a_single_ratio_says_so(tmp_path):
    one, *_ = write_sweep(tmp_path/"one", seeds=1)
    html = write_report(one, png=False, svg=False, **FAST).read_text()
    assert "Only one run per ratio and group" in html and "no interval: one seed" in html
    single, *_ = write_sweep(tmp_path/"single", ratios=(0.1,), seeds=2)
    html = write_report(single, png=False, svg=False, **FAST).read_text()
    assert "only one ratio (0.1)" in html and "No regression on the ratio" in html
    assert 'data-name="theory"' in html  # what can be shown still is

def test_report_summary_leaves_out_parameters_a_sweep_never_set(tmp_path):
    sweep, *_ = write_sweep(tmp_path/"s", seeds=1, parquet=False)
    df = pd.read_csv(sweep/"results.csv"); df["method"] = None; df["loss"] = "ce"; df.to_csv(sweep/"results.csv", index=False)
    html = write_report(sweep, png=False, svg=False, **FAST).read_text()
    summary = html[html.index('<section id="summary">'):html.index("</section>", html.index('<section id="summary">'))]
    assert "loss = ce" in summary and "method =" not in summary and "None" not in summary

def test_report_with_no_finished_runs_fails_clearly_and_writes_nothing(tmp_path):
    sweep, *_ = write_sweep(tmp_path/"s", failed=len(RATIOS), seeds=1)
    with pytest.raises(NoFinishedRunsError, match="no finished runs"): write_report(sweep, **FAST)
    assert not (sweep/"report").exists()

def test_report_replaces_its_own_folder_but_never_a_foreign_one(tmp_path):
    sweep, *_ = write_sweep(tmp_path/"s", seeds=2)
    first = write_report(sweep, png=False, svg=False, **FAST)
    (first.parent/"stale.csv").write_text("x")
    second = write_report(sweep, png=False, svg=False, **FAST)
    assert second == first and not (first.parent/"stale.csv").exists()
    foreign = tmp_path/"mine"; foreign.mkdir(); (foreign/"notes.txt").write_text("keep")
    with pytest.raises(OutputExistsError, match="holds no false_labels report"): write_report(sweep, out=foreign, **FAST)
    assert (foreign/"notes.txt").read_text() == "keep"

def test_extra_sections_with_clashing_names_are_refused(tmp_path):
    sweep, *_ = write_sweep(tmp_path/"s", seeds=2)
    clash = Section("again", tables={"fits": pd.DataFrame({"x": [1]})})
    with pytest.raises(ValueError, match="table fits"): write_report(sweep, sections=[clash], png=False, svg=False, **FAST)

def test_render_html_escapes_text():
    page = render_html([Section("<b>t</b>", "a <script>alert(1)</script>\n\n- item & more")], summary="x < y")
    assert "<script>alert(1)" not in page and "&lt;b&gt;t&lt;/b&gt;" in page and "item &amp; more" in page

# ---------------------------------------------------------------------------------------------------------------
# a real headless Chromium, driven through the DevTools protocol over a pipe (no port, no extra package), no network
class _DevTools:
    "Minimal DevTools-protocol client over --remote-debugging-pipe (fd 3: commands in, fd 4: replies out, NUL-separated)."
    def __init__(self, binary, timeout=60.0):
        self.timeout, self.events, self.n, self.buf = timeout, [], 0, b""
        self.ud = tempfile.mkdtemp(prefix="chromium-")
        cmd_r, self.cmd_w = os.pipe(); self.out_r, out_w = os.pipe()
        def fds(): os.dup2(cmd_r, 3); os.dup2(out_w, 4)
        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
             "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",  # any network request fails at once
             f"--user-data-dir={self.ud}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, pass_fds=(3, 4), preexec_fn=fds)
        os.close(cmd_r); os.close(out_w)

    def call(self, method, session=None, **params):
        self.n += 1; me = self.n
        msg = dict(id=me, method=method, params=params, **({"sessionId": session} if session else {}))
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + self.timeout
        while True:
            while b"\0" not in self.buf:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"no DevTools reply to {method}: {self.proc.stderr.read1(4000).decode(errors='replace') if self.proc.poll() is not None else 'timeout'}")
                ready, _, _ = select.select([self.out_r], [], [], 0.5)
                if ready: self.buf += os.read(self.out_r, 1 << 20)
            raw, self.buf = self.buf.split(b"\0", 1)
            m = json.loads(raw)
            if m.get("id") == me:
                if "error" in m: raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def close(self):
        try: self.call("Browser.close")
        except Exception: pass
        try: self.proc.wait(10)
        except subprocess.TimeoutExpired: self.proc.kill()
        for fd in (self.cmd_w, self.out_r): os.close(fd)
        shutil.rmtree(self.ud, ignore_errors=True)

def _load_page(binary, page:Path, timeout=60.0)->dict:
    "Open `page`, wait until every chart settled; return requests, failures, exceptions, console errors and chart states."
    dt = _DevTools(binary, timeout)
    try:
        tid = dt.call("Target.createTarget", url="about:blank")["targetId"]
        sid = dt.call("Target.attachToTarget", targetId=tid, flatten=True)["sessionId"]
        for m in ("Network.enable", "Page.enable", "Runtime.enable", "Log.enable"): dt.call(m, sid)
        js = lambda expr: dt.call("Runtime.evaluate", sid, expression=expr, returnByValue=True).get("result", {}).get("value")
        dt.call("Page.navigate", sid, url=page.resolve().as_uri())
        deadline = time.time() + timeout
        while time.time() < deadline and not js("document.readyState === 'complete' && (document.querySelectorAll('div.vl-chart')"
                                                ".length === 0 || document.body.getAttribute('data-charts-done') === 'true')"):
            time.sleep(0.2)
        charts = js("JSON.stringify(Array.from(document.querySelectorAll('div.vl-chart')).map(d => ({name: d.dataset.name, "
                    "rendered: d.getAttribute('data-rendered'), svg: d.querySelectorAll('svg').length, "
                    "marks: d.querySelectorAll('svg .mark-symbol path, svg .mark-rect path, svg .mark-line path, "
                    "svg .mark-area path, svg .mark-rule line, svg .mark-text text').length})))")
        time.sleep(0.3); js("1")  # let late events arrive
        heights = js("(() => { const h = document.documentElement.scrollHeight;"
                     " document.querySelectorAll('details.appendix').forEach(d => d.open = true);"
                     " return [h, document.documentElement.scrollHeight]; })()")
    finally: dt.close()
    ev = lambda m: [e["params"] for e in dt.events if e.get("method") == m]
    return dict(requests=[e["request"]["url"] for e in ev("Network.requestWillBeSent")],
                failed=[e.get("errorText") for e in ev("Network.loadingFailed")],
                exceptions=[e["exceptionDetails"].get("text") for e in ev("Runtime.exceptionThrown")],
                console_errors=[e for e in ev("Runtime.consoleAPICalled") if e.get("type") == "error"]
                               + [e for e in ev("Log.entryAdded") if e["entry"].get("level") == "error"],
                charts=json.loads(charts or "[]"), heights=heights)

@pytest.mark.browser
def test_report_renders_offline_in_headless_chromium(chromium, report, tmp_path):
    # the harness must be able to fail: a page that wants the network reports failed requests
    bad = tmp_path/"bad.html"
    bad.write_text('<html><body><script src="https://cdn.jsdelivr.net/npm/vega@5"></script></body></html>')
    probe = _load_page(chromium, bad)
    assert probe["failed"] and any(u.startswith("https://") for u in probe["requests"])
    got = _load_page(chromium, report["path"])
    assert got["requests"] == [report["path"].resolve().as_uri()], got["requests"]  # the page itself, nothing else
    assert got["failed"] == [] and got["exceptions"] == [] and got["console_errors"] == [], got
    names = chart_names(report["html"])
    assert [c["name"] for c in got["charts"]] == names
    for c in got["charts"]:
        assert c["rendered"] == "true" and c["svg"] >= 1 and c["marks"] > 0, c

# ---------------------------------------------------------------------------------------------------------------
# the seed study's figures and INCV's methods x settings table
def test_report_has_the_seed_studys_figures_and_the_methods_table(report):
    out, names = report["path"].parent, chart_names(report["html"])
    for n in ("seed_line", "seed_scatter", "seed_strip", "seed_model_classes", "seed_delta_weighted_f1", "seed_pairs", "seed_box",
              "seed_pearson_rmse", "epoch_accuracy"):
        assert n in names, n
        assert (out/f"{n}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "The seed study&#x27;s figures" in report["html"] or "The seed study's figures" in report["html"]
    t = pd.read_csv(out/"methods_table.csv")
    assert list(t.columns[:2]) == ["method", "epoch"] and set(t.epoch) == {"best", "last"}
    df = load_results(report["sweep"], warn=False)
    full = df[df.arch == "resnet"].groupby("ratio").test_acc.count().loc[lambda n: n == 3].index[-1]  # a setting no run failed in
    want = df[(df.arch == "resnet") & (df.ratio == full)].test_acc
    cell = t.set_index(["method", "epoch"]).loc[("arch=resnet", "last"), f"sym {100 * full:g} %"]
    assert cell == f"{100 * want.mean():.1f} ± {100 * want.std():.1f}"

def test_seed_figures_refuse_bad_input():
    from false_labels.study.charts import ratio_chart, box_chart, class_grid_chart
    df = load_results(simulate(groups={"m": (0.9, -0.5)}, seeds=2), warn=False)
    with pytest.raises(ValueError, match="unknown kind 'violin'"): ratio_chart(df, kind="violin")
    with pytest.raises(ValueError, match=r"none of the metrics \['top5'\]"): box_chart(df, "top5")
    with pytest.raises(ValueError, match="no per-class precision"): class_grid_chart(df, "precision")
    assert ratio_chart(df, kind="strip").to_dict()["spec"]["encoding"]["xOffset"]["field"] == "jitter"

def test_per_class_precision_beside_the_training_precision_column(tmp_path):
    "A real results table has a `precision` column (the training precision, e.g. 'bf16'): the per-class precision chart still draws."
    from false_labels.study.charts import class_f1_table
    sweep, *_ = write_sweep(tmp_path/"s", seeds=2, epochs=2, groups={"a": (0.9, -0.5)})
    df = load_results(sweep)
    cols = [c for c in df.columns if c.startswith("f1_")]
    df = df.assign(precision="bf16", **{c.replace("f1_", "precision_"): df[c] * 0.5 for c in cols})
    t = class_f1_table(df, metric="precision")
    assert len(t) and set(t.cls) == {c.removeprefix("f1_") for c in cols} and t["precision"].between(0, 0.5).all()
    assert isinstance(class_f1_chart(df, metric="precision").to_dict(), dict)


# ---------------------------------------------------------------------------------------------------------------
# one chart per question, the rest in a collapsed appendix
def test_report_reads_as_questions_with_a_table_of_contents(report):
    html = report["html"]
    toc = re.search(r'<nav class="toc">(.*?)</nav>', html, re.S).group(1)
    targets = re.findall(r'href="#([^"]+)"', toc)
    assert targets[0] == "summary" and targets[-1] == "appendix" and len(targets) >= 6
    for t in targets: assert f'id="{t}"' in html, t
    main = html[:html.index('<details class="appendix"')]
    assert "How much do the corrupted labels cost?" in main and "Which classes suffer?" in main
    main_charts = chart_names(main)
    assert len(main_charts) == len(set(main_charts)) and "seed_pairs" not in main_charts and "class_precision" not in main_charts
    assert "ranking" in main_charts      # two architectures: a ranking to read

def test_report_finds_the_class_that_collapses(tmp_path):
    "A class whose F1 falls below 0.5 at the largest ratio is named as a key finding; a plateau the design cannot test is not."
    sweep, *_ = write_sweep(tmp_path/"s", ratios=(0.0, 0.2, 0.4), seeds=2, groups={"a": (0.9, -0.5)})
    df = pd.read_parquet(sweep/"results.parquet")
    f1 = [c for c in df.columns if c.startswith("f1_")]
    assert len(f1) >= 2
    df[f1[0]] = np.where(df.ratio >= 0.4, 0.12, 0.9)     # the first class collapses at 40 %
    df.to_parquet(sweep/"results.parquet")
    html = write_report(sweep, png=False, svg=False, **FAST).read_text()
    summary = html[html.index('<section id="summary">'):html.index("</section>", html.index('<section id="summary">'))]
    cls = f1[0].removeprefix("f1_")
    assert f"hardest hit {cls}, F1 0.90 at 0.0 % -&gt; 0.12 at 40.0 %" in summary and f"collapses below F1 0.5: {cls} (0.12)" in summary
    assert "plateau" not in summary.lower()                  # no ratios within 0-2 %: no test, so no finding
    assert "Low-ratio plateau test: not run" in html[html.index('<details class="appendix"'):]

def test_deltas_are_drawn_in_points_and_shares_in_percent():
    df = load_results(simulate(groups={"m": (0.9, -0.5)}, seeds=2), warn=False)
    spec = delta_chart(df).to_dict()
    vals = [r["delta"] for rows in spec["datasets"].values() for r in rows if "delta" in r]
    assert min(vals) < -10                                   # -0.5 per unit ratio at 40 %: -20 points, not -0.2
    assert "(points)" in json.dumps(spec) and '"format": "~%"' in json.dumps(metric_chart(df).to_dict())

@pytest.mark.browser
def test_report_main_part_is_at_most_half_the_whole(chromium, tmp_path):
    "The default study's shape (one setting, 5 ratios, 2 seeds): with the appendix collapsed the page is at most half as tall as with everything shown (the old layout showed it all), and every chart draws."
    sweep, *_ = write_sweep(tmp_path/"s", ratios=(0.0, 0.1, 0.2, 0.3, 0.4), seeds=2, epochs=4, groups={"a": (0.93, -0.4)})
    path = write_report(sweep, png=False, svg=False, **FAST)
    got = _load_page(chromium, path)
    closed, opened = got["heights"]
    assert closed <= 0.5 * opened, (closed, opened)
    assert got["charts"] and all(c["rendered"] == "true" and c["svg"] >= 1 and c["marks"] > 0 for c in got["charts"]), got["charts"]

def test_report_shows_any_method_and_detector(tmp_path):
    "The report reads method and detector names from the results, never from a list: a newly registered one shows."
    from false_labels.study.report import analyse, detection_section, detection_table
    sweep, _, _ = write_sweep(tmp_path/"sweep", seeds=2, groups={"resnet": (0.95, -0.5), "cnn": (0.85, -0.7)})
    df = pd.read_parquet(sweep/"results.parquet").assign(method=lambda d: d.arch.map({"resnet": "plugin_method_x", "cnn": "ce"}), arch="resnet18")
    df.to_parquet(sweep/"results.parquet", index=False); df.to_csv(sweep/"results.csv", index=False)
    d = analyse(sweep, models=("dummy", "linear"))
    assert "plugin_method_x" in set(d.tables["robustness"]["method"])
    assert "plugin_method_x" in set(d.tables["method_settings"]["method"])
    det = sweep/"detection"; det.mkdir()
    pd.DataFrame(dict(ratio=[0.1, 0.1, 0.2, 0.2], method=["cl", "plugin_detector_y"] * 2, f1=[0.5, 0.6, 0.4, 0.7],
                      auroc=[0.8, 0.9, 0.7, 0.95])).to_csv(det/"detection_results.csv", index=False)
    assert "plugin_detector_y" in set(detection_table(pd.read_csv(det/"detection_results.csv"))["method"])
    path = write_report(sweep, sections=[detection_section], models=("dummy", "linear"), png=False, svg=False)
    page = Path(path).read_text()
    assert "plugin_method_x" in page and "plugin_detector_y" in page
