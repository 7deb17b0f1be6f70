#!/usr/bin/env python3
"""Execute the notebooks in place, on the CPU, and save them with their outputs (what `make docs` runs).

    python tools/docs.py [NOTEBOOK ...] [--jobs 2]      # default: every docs notebook under nbs/

For each notebook, in its own process (`--jobs` at a time, longest first), with the notebook's folder as working
directory, exactly the cells `nbdev-test` runs are executed (`#| eval: false`, the `tst_flags` of pyproject.toml
such as `slow`/`cuda`, and `skip_exec` notebooks are skipped the same way); the outputs of the cells it skips are
cleared. The environment is fixed: CUDA hidden, `IN_TEST=1`, one BLAS/torch thread per notebook (`--threads`),
`PYTHONHASHSEED=0`, the global random, NumPy and torch generators seeded with 0, and temporary files made in a
fresh folder with seeded names, shown in the outputs as `/tmp/tmp...` (the same paths every run). Matplotlib saves plain PNGs (not retina); any PNG wider
than 800 px or over 120 kB is downsized. Altair charts are saved so that they draw with no network anywhere: one
output bundle with the vega-lite spec as `application/vnd.vegalite.v5+json` (JupyterLab 4 draws it with the Vega it
bundles, trusted or not, offline) and a static PNG from vl-convert, palette-quantised and at most 800 px wide (Quarto,
nbconvert and GitHub's notebook view show the PNG: they do not draw the vega-lite mimetype). No `text/html` copy: a
CDN vega-embed page would win over both in JupyterLab and draw nothing offline. `tools/readme.py` uses the PNG.
Then `nbdev-clean` (keeps outputs, strips execution counts and metadata) and `nbdev-export` run, and
`nbs/.outputs.json` records, per executed notebook, a hash of its code cells, the hashes of the `false_labels`
modules it imported and the cells that had outputs: `tools/check_outputs.py` (part of `make test`) compares them.
A run over every notebook that succeeds sets `all_required`, so that a notebook never executed fails the check too.
The papermill templates in nbs/runs/ are not executed (they ship inside the package; their outputs would too).
"""
import argparse, base64, hashlib, io, json, os, subprocess, sys, tempfile, time, traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/"nbs"
RECORD = NBS/".outputs.json"
PKG = "false_labels"
MAX_PNG_WIDTH, MAX_PNG_BYTES = 800, 120_000
SKIP_DIRS = {"runs"}  # papermill templates, shipped in the package
IGNORED_MODULES = {f"{PKG}._modidx"}  # nbdev's index of names: changes with every notebook, changes no output


def rel(path) -> str:
    "`path` relative to nbs/, as the record names notebooks."
    return Path(path).resolve().relative_to(NBS.resolve()).as_posix()


def read_json(path) -> dict: return json.loads(Path(path).read_text())


def skip_exec(nb:dict) -> bool:
    "Whether the notebook's frontmatter (a raw `---` cell or a `#| skip_exec` style key) skips it in tests."
    for c in nb["cells"][:3]:
        src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        if c["cell_type"] in ("raw", "markdown") and "skip_exec: true" in src: return True
    return False


def docs_notebooks(nbs=NBS) -> list:
    "The notebooks the docs build executes: every .ipynb under `nbs` but nbs/runs, `_`/`.` names and .notest folders."
    out = []
    for p in sorted(Path(nbs).rglob("*.ipynb")):
        parts = p.relative_to(nbs).parts
        if parts[0] in SKIP_DIRS or any(s.startswith(("_", ".")) for s in parts): continue
        if any((Path(nbs).joinpath(*parts[:i])/".notest").exists() for i in range(len(parts))): continue
        if skip_exec(read_json(p)): continue
        out.append(p)
    return out


def src(cell) -> str: return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def code_hash(nb:dict) -> str:
    "Hash of the notebook's code cells (markdown edits do not make outputs stale)."
    codes = [src(c) for c in nb["cells"] if c["cell_type"] == "code"]
    return hashlib.sha256(json.dumps(codes).encode()).hexdigest()[:16]


def module_file(name:str, root=ROOT) -> Path:
    "The source file of module `name` (`false_labels.x.y`) in the checkout at `root`."
    base = Path(root).joinpath(*name.split("."))
    return base/"__init__.py" if base.is_dir() else base.with_suffix(".py")


def file_hash(path) -> str|None:
    "Hash of a module's code (its syntax tree: comments, blank lines and nbdev's cell markers do not count), or None."
    import ast
    p = Path(path)
    if not p.exists(): return None
    try: data = ast.dump(ast.parse(p.read_bytes())).encode()
    except SyntaxError: data = p.read_bytes()
    return hashlib.sha256(data).hexdigest()[:16]


def cells_with_outputs(nb:dict) -> list:
    return [c.get("id") for c in nb["cells"] if c["cell_type"] == "code" and c.get("outputs")]


def outputless_examples(nb:dict, ran:set|None=None) -> list:
    "Ids of executed code cells that end with an expression (not an assert or `test_*` call) yet saved no output."
    import ast
    out = []
    for c in nb["cells"]:
        if c["cell_type"] != "code" or c.get("outputs") or (ran is not None and c.get("id") not in ran): continue
        s = src(c)
        if s.lstrip().startswith(("#| export", "#| hide")) or s.rstrip().endswith(";"): continue
        try: body = ast.parse("\n".join(l for l in s.splitlines() if not l.lstrip().startswith(("%", "!")))).body
        except SyntaxError: continue
        if not body or not isinstance(body[-1], ast.Expr): continue
        v = body[-1].value
        if isinstance(v, ast.Call):
            f = v.func.id if isinstance(v.func, ast.Name) else v.func.attr if isinstance(v.func, ast.Attribute) else ""
            if f.startswith(("test", "expect_fail", "show_doc")) or f in ("print", "display"): continue
        out.append(c.get("id"))
    return out


# --- executing one notebook (in its own process) ---------------------------------------------------------------

VEGALITE_MIME = "application/vnd.vegalite.v5+json"   # the vega-lite mimetype JupyterLab 4 renders itself, offline


def docs_renderer(spec:dict, **kwargs) -> dict:
    "Altair renderer for saved notebooks: the vega-lite spec (drawn offline by JupyterLab) and a static PNG (site, GitHub)."
    return {VEGALITE_MIME: spec, "image/png": chart_png(spec), "text/plain": "<altair chart>"}


def chart_png(spec:dict, colours:int=64) -> str:
    "A chart's static picture: vl-convert's PNG, at most `MAX_PNG_WIDTH` wide, in a `colours` palette (base64)."
    import vl_convert as vlc
    from PIL import Image
    im = Image.open(io.BytesIO(vlc.vegalite_to_png(spec, scale=1))).convert("RGB")
    if im.width > MAX_PNG_WIDTH: im = im.resize((MAX_PNG_WIDTH, round(im.height*MAX_PNG_WIDTH/im.width)), Image.LANCZOS)
    buf = io.BytesIO(); im.quantize(colours).save(buf, "PNG", optimize=True)
    return base64.b64encode(buf.getvalue()).decode() + "\n"


def chart_spec(data:dict) -> dict|None:
    "The vega-lite spec of a saved output's data bundle made by `docs_renderer`, or None."
    return data.get(VEGALITE_MIME)


def shrink_png(b64:str) -> str:
    "The PNG `b64`, downsized to `MAX_PNG_WIDTH` and palette-quantised when it is too wide or too heavy."
    raw = base64.b64decode(b64)
    from PIL import Image
    im = Image.open(io.BytesIO(raw))
    if im.width <= MAX_PNG_WIDTH and len(raw) <= MAX_PNG_BYTES: return b64
    if im.width > MAX_PNG_WIDTH: im = im.resize((MAX_PNG_WIDTH, round(im.height*MAX_PNG_WIDTH/im.width)), Image.LANCZOS)
    buf = io.BytesIO(); im.save(buf, "PNG", optimize=True)
    if buf.tell() > MAX_PNG_BYTES:
        buf = io.BytesIO(); im.convert("RGB").quantize(256).save(buf, "PNG", optimize=True)
    return base64.b64encode(buf.getvalue()).decode() + "\n"


def stable_tempfiles(root:str|None):
    "Temporary names drawn from a seeded sequence (in the fresh, empty `root` they are the same every run)."
    import random, tempfile
    seq = tempfile._RandomNameSequence()              # stdlib's own generator, seeded instead of from os.urandom
    seq._rng, seq._rng_pid = random.Random(0), os.getpid()
    tempfile._name_sequence = seq
    if root: tempfile.tempdir = root


def unroot(v, root:str, alias:str="/tmp"):
    "`v` (an output's text: a string or a list of lines) with the run's temporary root shown as `alias`."
    if isinstance(v, list): return [unroot(x, root, alias) for x in v]
    return v.replace(root, alias) if isinstance(v, str) else v


def execute(path:Path, threads:int=1, tmp_root:str|None=None) -> dict:
    "Run the cells of `path` that nbdev-test runs and save it with their outputs; the record of the run."
    import random
    import numpy as np
    import torch, altair as alt
    from fastcore.nbio import read_nb, write_nb
    from fastcore.xtras import working_directory
    from execnb.shell import CaptureShell
    from nbdev.config import get_config
    from nbdev.test import nb_test_cells
    torch.set_num_threads(threads)
    alt.renderers.register("false_labels_docs", docs_renderer)
    alt.renderers.enable("false_labels_docs")
    random.seed(0); np.random.seed(0); torch.manual_seed(0); stable_tempfiles(tmp_root)
    cfg = get_config(path.parent)
    flags = cfg.tst_flags.split() if isinstance(cfg.tst_flags, str) else list(cfg.tst_flags or [])
    run_ids = {c.id for c in nb_test_cells(path, flags)}
    nb = read_nb(path)
    t0 = time.time()
    shell = CaptureShell(path, mpl_format="png")
    with working_directory(path.parent):
        try: shell.run_all(nb, exc_stop=True, preproc=lambda c: c.cell_type != "code" or c.id not in run_ids,
                           cell_timeout=cfg.cell_timeout or None)
        except Exception:
            sys.stderr.write((shell.prettytb(fname=path) or traceback.format_exc()) + "\n"); raise SystemExit(1)
    seconds = time.time() - t0
    for c in nb.cells:
        if c.cell_type != "code": continue
        if c.id not in run_ids: c.outputs, c.execution_count = [], None
        for o in c.get("outputs", []):
            d = o.get("data", {})
            if "image/png" in d: d["image/png"] = shrink_png(d["image/png"])
            if tmp_root:
                if "text" in o: o["text"] = unroot(o["text"], tmp_root)
                for k in d:
                    if k.startswith("text/"): d[k] = unroot(d[k], tmp_root)
    tmp = path.with_name(f".{path.name}.tmp")
    write_nb(nb, tmp); os.replace(tmp, path)
    mods = sorted(m for m in sys.modules if (m == PKG or m.startswith(PKG + ".")) and m not in IGNORED_MODULES)
    for m in mods:
        f = getattr(sys.modules[m], "__file__", None)
        if f and not Path(f).resolve().is_relative_to(ROOT):
            raise SystemExit(f"{m} was imported from {f}, not from this checkout {ROOT}: set PYTHONPATH={ROOT}")
    return {"modules": mods, "seconds": round(seconds, 1), "ran": sorted(run_ids)}


# --- the whole run -----------------------------------------------------------------------------------------------

def env_for(threads:int) -> dict:
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", IN_TEST="1", PYTHONHASHSEED="0", MPLBACKEND="agg",
               PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]),
               TOKENIZERS_PARALLELISM="false", PYTHONWARNINGS="ignore")
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"): env[k] = str(threads)
    return env


def run_one(path:Path, threads:int) -> tuple:
    "Execute `path` in a fresh process; (record or None, wall seconds, stderr tail)."
    with tempfile.TemporaryDirectory() as d, tempfile.TemporaryDirectory(prefix="fl-docs-", ignore_cleanup_errors=True) as tmp_root:
        out = Path(d)/"rec.json"
        t0 = time.time()
        r = subprocess.run([sys.executable, __file__, "--one", str(path), "--threads", str(threads), "--record", str(out),
                            "--tmp-root", tmp_root], cwd=ROOT, env=dict(env_for(threads), TMPDIR=tmp_root),
                           capture_output=True, text=True)
        wall = time.time() - t0
        if r.returncode or not out.exists(): return None, wall, (r.stderr or r.stdout)[-4000:]
        return read_json(out), wall, ""


def tool(name:str) -> str: return str(Path(sys.executable).parent/name)


def record_entry(path:Path, run:dict, root=ROOT) -> dict:
    "The record of notebook `path` after `run` (from `execute`), with the module hashes of the checkout at `root`."
    nb = read_json(path)
    return {"code": code_hash(nb), "modules": {m: file_hash(module_file(m, root)) for m in run["modules"]},
            "outputs": cells_with_outputs(nb), "seconds": run["seconds"]}


def steady(prev:dict|None, new:dict) -> dict:
    "`new`, keeping `prev`'s seconds when nothing else changed and the time is within 2x (no diff for a re-run)."
    same = prev is not None and {k: v for k, v in prev.items() if k != "seconds"} == {k: v for k, v in new.items() if k != "seconds"}
    return dict(new, seconds=prev["seconds"]) if same and 0.5 <= new["seconds"]/max(prev["seconds"], 0.1) <= 2 else new


def write_record(rec:dict, path=RECORD):
    tmp = Path(path).with_name(Path(path).name + ".tmp")
    tmp.write_text(json.dumps(rec, indent=1, sort_keys=True) + "\n"); os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("notebooks", nargs="*", help="notebooks to execute (default: every docs notebook under nbs/)")
    ap.add_argument("--jobs", type=int, default=2, help="notebooks executed at a time (default 2)")
    ap.add_argument("--threads", type=int, default=1, help="torch/BLAS threads per notebook (default 1: the examples are "
                    "tiny, and more threads only spin on a busy machine)")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--record", help=argparse.SUPPRESS); ap.add_argument("--tmp-root", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one:
        res = execute(Path(a.one).resolve(), a.threads, a.tmp_root)
        Path(a.record).write_text(json.dumps(res)); return 0
    if a.jobs < 1: ap.error(f"--jobs {a.jobs}: must be 1 or more")
    if a.threads < 1: ap.error(f"--threads {a.threads}: must be 1 or more")
    all_nbs = docs_notebooks()
    paths = [Path(p).resolve() for p in a.notebooks] or all_nbs
    for p in paths:
        if not p.exists() or p.suffix != ".ipynb" or not p.is_relative_to(NBS.resolve()):
            ap.error(f"{p}: not a notebook under {NBS}")
        if p not in all_nbs:
            ap.error(f"{rel(p)}: not a docs notebook (papermill templates in nbs/runs, `_`/`.` names, .notest "
                     "folders and skip_exec notebooks are not executed)")
    rec = read_json(RECORD) if RECORD.exists() else {"all_required": False, "notebooks": {}}
    old = rec["notebooks"]
    paths.sort(key=lambda p: -old.get(rel(p), {}).get("seconds", 1e9))   # longest (or never run) first
    jobs, threads = min(a.jobs, len(paths)), a.threads
    subprocess.run([tool("nbdev-export")], cwd=ROOT, check=True)
    print(f"executing {len(paths)} notebook(s), {jobs} at a time, {threads} thread(s) each "
          f"(load: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)", flush=True)
    t0, runs, failed = time.time(), {}, []
    def _go(p):
        run, wall, err = run_one(p, threads)
        print(f"{'ok  ' if run else 'FAIL'} {rel(p):40s} {wall:6.1f} s" + (f"\n{err}" if err else ""), flush=True)
        if run: runs[p] = run
        else: failed.append(p)
    with ThreadPoolExecutor(jobs) as ex: list(ex.map(_go, paths))
    total = time.time() - t0
    subprocess.run([tool("nbdev-clean")], cwd=ROOT, check=True)
    subprocess.run([tool("nbdev-export")], cwd=ROOT, check=True)
    for p, run in runs.items(): old[rel(p)] = steady(old.get(rel(p)), record_entry(p, run))
    for k in [k for k in old if not (NBS/k).exists()]: del old[k]
    if not failed and set(paths) >= set(all_nbs): rec["all_required"] = True
    write_record(rec)
    if NBS.resolve()/"index.ipynb" in runs: subprocess.run([sys.executable, str(ROOT/"tools"/"readme.py")], cwd=ROOT, check=True)
    print(f"\n{'notebook':40s} {'secs':>6s} {'KB':>7s} {'outputs':>7s}  output-less example cells")
    for p in sorted(runs):
        nb = read_json(p)
        quiet = outputless_examples(nb, set(runs[p]["ran"]))
        print(f"{rel(p):40s} {runs[p]['seconds']:6.1f} {p.stat().st_size/1e3:7.1f} {len(cells_with_outputs(nb)):7d}  {' '.join(quiet)}")
    size = sum(f.stat().st_size for f in NBS.rglob("*") if f.is_file())
    print(f"total {total:.0f} s wall for {len(paths)} notebook(s); nbs/ holds {size/1e6:.1f} MB; "
          f"load now {os.getloadavg()[0]:.1f}")
    if failed: print("failed (left as they were): " + " ".join(rel(p) for p in failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__": sys.exit(main())
