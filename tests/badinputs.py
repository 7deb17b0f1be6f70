"""Bad inputs (issue 13): broken fixtures and the table of bad CLI and API calls.

Every case is data: an id, a command line (or a call) with `{placeholders}` for the fixture paths, and the
substring(s) the one-line error must contain (the bad value, option or file). `tests/test_bad_inputs.py` runs them.
"""
import json, shutil
from pathlib import Path

import numpy as np
import pandas as pd

# ---------------------------------------------------------------- fixtures
N, SIZE = 120, 16     # the smallest dataset whose three splits are all non-empty (n=60 has an empty valid split)


def _rehash(folder:Path):
    "Make card.json's hashes match the files again (so only the defect under test is left)."
    from false_labels.core import file_hash
    card = json.loads((folder/"card.json").read_text())
    card["hashes"] = {f: "sha256:" + file_hash(folder/f, 64) for f in ("images.npy", "manifest.csv")}
    (folder/"card.json").write_text(json.dumps(card, indent=2) + "\n")


def _copy(src:Path, dst:Path)->Path:
    shutil.copytree(src, dst); return dst


def _png(path:Path, seed:int):
    import cv2
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.random.default_rng(seed).integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)
    cv2.imwrite(str(path), img)


def build_env(root:Path)->dict:
    "Every fixture the bad-input cases name, built once under `root`; returns {placeholder: path}."
    from false_labels.data.generate import generate_dataset
    from false_labels.study.sweep import write_plan
    from false_labels.study.plan import plan_sweep
    root = Path(root)
    e = {}
    ds = e["ds"] = root/"ds"
    generate_dataset(ds, n=N, size=SIZE, seed=0, workers=1, progress=False, gallery=False)
    # no valid split (what n=10 used to give; generate now refuses such an n): hashes updated, the split is the defect
    small = e["ds_small"] = _copy(ds, root/"ds_small")
    m = pd.read_csv(small/"manifest.csv", dtype=str, keep_default_na=False)
    m.loc[m.split == "valid", "split"] = "train"
    m.to_csv(small/"manifest.csv", index=False); _rehash(small)

    # a manifest label out of range (hashes updated, so only the label is wrong)
    bad = _copy(ds, root/"ds_label99")
    m = pd.read_csv(bad/"manifest.csv", dtype=str, keep_default_na=False)
    m.loc[0, "label4"] = "99"; m.loc[0, "label14"] = "99"
    m.to_csv(bad/"manifest.csv", index=False); _rehash(bad)
    e["ds_label99"] = bad

    # images.npy cut in half
    tr = _copy(ds, root/"ds_trunc")
    b = (tr/"images.npy").read_bytes(); (tr/"images.npy").write_bytes(b[: len(b) // 2])
    e["ds_trunc"] = tr

    # card.json that is not JSON
    bc = _copy(ds, root/"ds_badcard")
    (bc/"card.json").write_text('{"format": "false_labels.dataset/1", "n": 12')
    e["ds_badcard"] = bc

    # hand-edited manifest: two rows' labels swapped (still consistent, but not what the card hashed)
    ed = _copy(ds, root/"ds_edited")
    m = pd.read_csv(ed/"manifest.csv", dtype=str, keep_default_na=False)
    cols = ["label14", "label4", "subclass", "cls"]
    j = int(np.flatnonzero(m.label4.to_numpy() != m.label4[0])[0])
    m.loc[[0, j], cols] = m.loc[[j, 0], cols].to_numpy()
    m.to_csv(ed/"manifest.csv", index=False)
    e["ds_edited"] = ed

    # images.npy edited in place (same size, other pixels)
    ei = _copy(ds, root/"ds_edited_images")
    with open(ei/"images.npy", "r+b") as f:
        f.seek(-SIZE * SIZE * 3, 2); f.write(bytes(SIZE * SIZE * 3))
    e["ds_edited_images"] = ei

    # manifest.csv missing
    nm = _copy(ds, root/"ds_nomanifest"); (nm/"manifest.csv").unlink(); e["ds_nomanifest"] = nm

    # an image folder with a single class, and one with no images
    oc = e["oneclass"] = root/"oneclass"
    for i in range(12): _png(oc/"train"/"solo"/f"{i}.png", i)
    ni = e["noimages"] = root/"noimages"; (ni/"train"/"a").mkdir(parents=True); (ni/"train"/"a"/"x.txt").write_text("x")

    (root/"empty").mkdir(); e["empty"] = root/"empty"
    f = e["afile"] = root/"afile.txt"; f.write_text("not a folder\n")
    ne = e["nonempty"] = root/"nonempty"; ne.mkdir(); (ne/"keep.txt").write_text("keep me\n")
    ns = e["notsweep"] = root/"notsweep"; ns.mkdir(); (ns/"notes.md").write_text("# not a sweep\n")
    lay = e["oddlayout"] = root/"oddlayout"; lay.mkdir(); (lay/"data.bin").write_bytes(b"\0\1\2")

    # a sweep folder with a plan and no finished run
    sw = e["sweep_noresults"] = root/"sweep_noresults"
    write_plan(sw, plan_sweep(data=ds, ratios=[0], seeds=1, archs=["small_cnn"], epochs=1, task=4))

    # sweep files
    y = root/"yaml"; y.mkdir()
    for name, text in dict(bad="ratios: [0, 0.1\nseeds: 1\n", unknownkey="ratioz: [0, 0.1]\n", badtype="ratios: abc\n",
                           alist="- 1\n- 2\n", epochs0="epochs: 0\n", badratio="ratios: [0, 1.7]\n",
                           empty="", badjson="{").items():
        (y/(f"{name}.json" if name == "badjson" else f"{name}.yaml")).write_text(text)
        e[f"yaml_{name}"] = y/(f"{name}.json" if name == "badjson" else f"{name}.yaml")

    # label CSVs for detect --labels (task 4 of `ds`)
    from false_labels.data.dataset import load_dataset
    d = load_dataset(ds); tr_ids = d.split_idx("train"); y4 = d.labels(4)[tr_ids]
    c = root/"csv"; c.mkdir()
    pd.DataFrame(dict(id=tr_ids, label=y4)).to_csv(c/"good.csv", index=False)
    pd.DataFrame(dict(foo=tr_ids, bar=y4, baz=y4)).to_csv(c/"missingcols.csv", index=False)
    pd.DataFrame(dict(id=tr_ids + 100_000, label=y4)).to_csv(c/"unknownids.csv", index=False)
    pd.DataFrame(dict(id=tr_ids, label=np.where(np.arange(len(tr_ids)) == 0, 99, y4))).to_csv(c/"range.csv", index=False)
    (c/"blank.csv").write_text("")
    pd.DataFrame(dict(id=np.r_[tr_ids, tr_ids[:1]], label=np.r_[y4, y4[:1]])).to_csv(c/"dupids.csv", index=False)
    for k in ("good", "missingcols", "unknownids", "range", "blank", "dupids"): e[f"csv_{k}"] = c/f"{k}.csv"
    e["missing"] = root/"nosuchthing"
    e.update(build_inputs_env(root/"inputs", ds))
    return {k: str(v) for k, v in e.items()}


# ---------------------------------------------------------------- the CLI table
# Cheap settings, so that a case the code does not refuse yet still ends in seconds.
GEN = "generate --out {out} --n 120 --size 16 --workers 1 --quiet"
TRAIN = "train --data {ds} --out {out} --task 4 --arch small_cnn --epochs 1 --bs 32 --device cpu"
SWEEP = "sweep --data {ds} --out {out} --task 4 --ratios 0 --seeds 1 --arch small_cnn --epochs 1 --bs 32 --device cpu --jobs 0"
DETECT = ("detect --data {ds} --out {out} --task 4 --ratio 0.1 --method cl --folds 2 --arch small_cnn --epochs 1 "
          "--bs 32 --device cpu")
STUDY = "study --out {out} --n 120 --size 16 --ratios 0 --seeds 1 --epochs 1 --jobs 0 --quiet"
IMPORT = "import {oneclass} --out {out}"


def _c(cid, argv, *want): return (cid, argv, want)


def _values(cmd, base, opts):
    "Cases `base --opt value` (argparse keeps the last value) for each (opt, value, wanted substrings...)."
    return [_c(f"{cmd}:{o}={v or 'empty'}", base.split() + [o, v], *(w or (v,))) for o, v, *w in opts]


def _data_cases(cmd, base, keys=("missing", "empty", "afile", "ds_label99", "ds_trunc", "ds_badcard", "ds_edited",
                                 "ds_edited_images", "ds_small", "oneclass", "noimages", "ds_nomanifest")):
    want = dict(missing="nosuchthing", empty="empty", afile="afile.txt", ds_label99="99", ds_trunc="images.npy",
                ds_badcard="card.json", ds_edited="manifest.csv", ds_edited_images="images.npy", ds_small="valid",
                oneclass="oneclass", noimages="noimages", ds_nomanifest="manifest.csv")
    return [_c(f"{cmd}:data={k}", base.replace("{ds}", "{%s}" % k).split(), want[k]) for k in keys]


def _out_cases(cmd, base, keys=("nonempty", "underfile", "afile")):
    path = dict(nonempty="{nonempty}", underfile="{afile}/sub", afile="{afile}")
    want = dict(nonempty="nonempty", underfile="afile.txt", afile="afile.txt")
    return [_c(f"{cmd}:out={k}", base.replace("{out}", path[k]).split(), want[k]) for k in keys]


RATIO = [("--ratio", "-0.1"), ("--ratio", "1"), ("--ratio", "1.5"), ("--ratio", "nan"), ("--ratio", "inf"),
         ("--ratio", "abc")]
FIT = [("--epochs", "0"), ("--epochs", "-1"), ("--epochs", "abc"), ("--epochs", "1.5"),
       ("--bs", "0"), ("--bs", "-8"), ("--bs", "abc"),
       ("--lr", "nan"), ("--lr", "inf"), ("--lr", "-1"), ("--lr", "0"), ("--lr", "abc"),
       ("--size", "0"), ("--size", "-4"), ("--size", "abc"),
       ("--task", "7"), ("--task", "abc"), ("--noise", "foo"), ("--device", "tpu"), ("--device", "cuda!", "cuda")]

CLI_CASES = [
    # top level
    _c("top:unknown-command", ["frobnicate"], "frobnicate"),
    _c("top:no-command", [], "command"),
    # generate
    *_values("generate", GEN, [("--n", "0"), ("--n", "-5"), ("--n", "abc"), ("--n", "10", "valid"), ("--n", "1.5"),
                               ("--n", "1e3"), ("--size", "0"), ("--size", "-4"), ("--size", "abc"),
                               ("--size", "100000"), ("--seed", "-1"), ("--seed", "abc"), ("--workers", "0"),
                               ("--workers", "-2"), ("--workers", "abc"), ("--source", "{missing}", "nosuchthing"),
                               ("--source", "{afile}", "afile.txt"), ("--source", "{empty}", "empty")]),
    *_out_cases("generate", GEN),
    # train
    *_values("train", TRAIN, RATIO + FIT + [
        ("--ratio", "0.9"), ("--seed", "-1"), ("--seed", "abc"), ("--task", "label"), ("--arch", "nope"),
        ("--loss", "nope"), ("--method", "nope"), ("--method", "clean-retrain:nope", "nope"), ("--precision", "fp8"),
        ("--noise-rate", "1.5"), ("--noise-rate", "-0.1"), ("--noise-rate", "abc"), ("--noise-rate", "nan")]),
    _c("train:noise-estimator=nope", TRAIN.split() + ["--method", "coteaching", "--noise-estimator", "nope"], "nope"),
    _c("train:noise-rate-without-method", TRAIN.split() + ["--noise-rate", "0.2"], "noise-rate", "method"),
    _c("train:noise-estimator-without-method", TRAIN.split() + ["--noise-estimator", "gap"], "noise-estimator", "method"),
    _c("train:noise=pair-ratio=0.6", TRAIN.split() + ["--noise", "pair", "--ratio", "0.6"], "0.6"),
    *_data_cases("train", TRAIN),
    *_out_cases("train", TRAIN),
    # sweep
    *_values("sweep", SWEEP, [r for r in FIT if r[0] != "--epochs" or r[1] in ("0", "-1", "abc")] + [
        ("--ratios", "0,abc", "abc"), ("--ratios", "1.2"), ("--ratios", ""), ("--ratios", "-0.1"),
        ("--ratios", "nan"), ("--ratios", "0,0.9", "0.9"), ("--seeds", "0"), ("--seeds", "-1"), ("--seeds", "a"),
        ("--seeds", "0,a", "a"), ("--seeds", ""), ("--arch", "nope"), ("--loss", "nope"), ("--method", "nope"),
        ("--method", "clean-retrain:nope", "nope"), ("--noise-rate", "1.5"), ("--noise-rate", "abc"),
        ("--noise-estimator", "nope"), ("--jobs", "-1"), ("--jobs", "abc"), ("--engine", "nope"),
        ("--scheduler", "garbage"), ("--scheduler", "tcp://127.0.0.1:1", "127.0.0.1:1"),
        ("--file", "{missing}", "nosuchthing"), ("--file", "{yaml_bad}", "bad.yaml"),
        ("--file", "{yaml_unknownkey}", "ratioz"), ("--file", "{yaml_badtype}", "abc"),
        ("--file", "{yaml_alist}", "alist.yaml"), ("--file", "{yaml_badjson}", "badjson.json"),
        ("--file", "{afile}", "afile.txt")]),
    _c("sweep:file-epochs0", [*SWEEP.replace(" --epochs 1", "").split(), "--file", "{yaml_epochs0}"], "epochs", "0"),
    _c("sweep:file-badratio", [*SWEEP.replace(" --ratios 0", "").split(), "--file", "{yaml_badratio}"], "1.7"),
    *_data_cases("sweep", SWEEP, ("missing", "empty", "afile", "ds_label99", "ds_trunc", "ds_badcard", "ds_edited",
                                  "ds_edited_images", "ds_small", "oneclass")),
    *_out_cases("sweep", SWEEP),
    _c("sweep:out=notsweep", SWEEP.replace("{out}", "{notsweep}").split(), "notsweep"),
    # report
    _c("report:missing", ["report", "{missing}"], "nosuchthing"),
    _c("report:notsweep", ["report", "{notsweep}"], "notsweep"),
    _c("report:empty", ["report", "{empty}"], "empty"),
    _c("report:afile", ["report", "{afile}"], "afile.txt"),
    _c("report:dataset", ["report", "{ds}"], "ds"),
    _c("report:noresults", ["report", "{sweep_noresults}"], "sweep_noresults"),
    _c("report:out-underfile", ["report", "{sweep_noresults}", "--out", "{afile}/sub"], "sweep_noresults"),
    # detect
    *_values("detect", DETECT, RATIO + [r for r in FIT if r[0] != "--task" or r[1] == "7"] + [
        ("--ratios", "0,abc", "abc"), ("--ratios", "1.2"), ("--ratios", ""), ("--folds", "1"),
        ("--folds", "100000"), ("--folds", "-1"), ("--folds", "abc"), ("--seed", "-1"), ("--seed", "abc"),
        ("--arch", "nope"), ("--method", "nope"), ("--method", "cl,nope", "nope"), ("--ratio", "0.9")]),
    _c("detect:clean-labels=dataset-without-labels", DETECT.split() + ["--clean-labels", "dataset"], "clean-labels", "labels"),
    _c("detect:clean-labels=csv-without-labels", DETECT.split() + ["--clean-labels", "{csv_good}"], "clean-labels", "labels"),
    _c("detect:labels=missing", DETECT.split() + ["--labels", "{missing}"], "nosuchthing"),
    _c("detect:labels=missingcols", DETECT.split() + ["--labels", "{csv_missingcols}"], "missingcols.csv"),
    _c("detect:labels=unknownids", DETECT.split() + ["--labels", "{csv_unknownids}"], "unknownids.csv"),
    _c("detect:labels=range", DETECT.split() + ["--labels", "{csv_range}"], "99"),
    _c("detect:labels=blank", DETECT.split() + ["--labels", "{csv_blank}"], "blank.csv"),
    _c("detect:labels=dupids", DETECT.split() + ["--labels", "{csv_dupids}"], "dupids.csv"),
    _c("detect:labels=afolder", DETECT.split() + ["--labels", "{empty}"], "empty"),
    _c("detect:clean-labels=missing", DETECT.split() + ["--labels", "{csv_good}", "--clean-labels", "{missing}"], "nosuchthing"),
    _c("detect:ratios-with-labels", DETECT.split() + ["--labels", "{csv_good}", "--ratios", "0.1"], "ratios", "labels"),
    *_data_cases("detect", DETECT, ("missing", "empty", "afile", "ds_label99", "ds_trunc", "ds_badcard", "ds_edited",
                                    "ds_small", "oneclass")),
    *_out_cases("detect", DETECT),
    # study
    *_values("study", STUDY, [("--n", "0"), ("--n", "-5"), ("--n", "abc"), ("--n", "10", "valid"), ("--size", "0"),
                              ("--size", "-4"), ("--size", "abc"), ("--seed", "-1"), ("--task", "7"),
                              ("--task", "abc"), ("--ratios", "0,abc", "abc"), ("--ratios", "1.2"),
                              ("--seeds", "0"), ("--seeds", "-1"), ("--seeds", "a"), ("--arch", "nope"),
                              ("--epochs", "0"), ("--epochs", "-1"), ("--jobs", "-1")]),
    *_out_cases("study", STUDY, ("underfile", "afile")),
    # import (being built: `false-labels import SRC --out DATASET [--size S]`)
    _c("import:src=missing", IMPORT.replace("{oneclass}", "{missing}").split(), "nosuchthing"),
    _c("import:src=oddlayout", IMPORT.replace("{oneclass}", "{oddlayout}").split(), "oddlayout"),
    _c("import:src=empty", IMPORT.replace("{oneclass}", "{empty}").split(), "empty"),
    _c("import:src=afile", IMPORT.replace("{oneclass}", "{afile}").split(), "afile.txt"),
    _c("import:src=noimages", IMPORT.replace("{oneclass}", "{noimages}").split(), "noimages"),
    _c("import:src=oneclass", IMPORT.split(), "oneclass"),
    _c("import:size=0", IMPORT.split() + ["--size", "0"], "0"),
    _c("import:size=-4", IMPORT.split() + ["--size", "-4"], "-4"),
    _c("import:size=abc", IMPORT.split() + ["--size", "abc"], "abc"),
    _c("import:out=nonempty", IMPORT.replace("{out}", "{nonempty}").split(), "nonempty"),
    _c("import:out=underfile", IMPORT.replace("{out}", "{afile}/sub").split(), "afile.txt"),
    # apply (a review's decisions file -> a new label set)
    _c("apply:decisions=missing", ["apply", "{missing}", "--data", "{ds}"], "nosuchthing"),
    _c("apply:decisions=afolder", ["apply", "{empty}", "--data", "{ds}"], "empty"),
    _c("apply:decisions=labels-csv", ["apply", "{csv_good}", "--data", "{ds}"], "decision"),
    _c("apply:mode=nope", ["apply", "{missing}", "--data", "{ds}", "--mode", "nope"], "nope"),
]

# cases that may write: a fresh {out} must not exist afterwards
WRITES = ("generate", "train", "sweep", "detect", "study", "import")


# ---------------------------------------------------------------- the API table
def _api():
    "(id, call(env, tmp) -> anything, exception types, wanted substrings)."
    import false_labels.noise.corrupt as noise, false_labels.detectors.registry as det
    import false_labels.noise.theory as theory, false_labels.noise.real as real
    import false_labels.detectors.dynamics as dyn, false_labels.detectors.confident as conf, false_labels.detectors.ensemble as ens
    import false_labels.data.generate as gen, false_labels.data.dataset as dset
    import false_labels.training.learner as learn, false_labels.study.sweep as sweep, false_labels.study.plan as plan
    import false_labels.study.analysis as analysis, false_labels.study.report as report
    import false_labels.detectors.pipeline as detection, false_labels.methods.registry as robust
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    s = np.linspace(0, 1, 10)
    P = np.full((10, 3), 1 / 3)
    L = np.random.default_rng(0).random((5, 10))
    VE, NF = (ValueError,), (ValueError, FileNotFoundError)
    fit = dict(task=4, arch="small_cnn", epochs=1, bs=32, device="cpu")
    cases = [
        ("corrupt:ratio=1.5", lambda e, t: noise.corrupt(y, 1.5), VE, ("1.5",)),
        ("corrupt:ratio=-0.1", lambda e, t: noise.corrupt(y, -0.1), VE, ("-0.1",)),
        ("corrupt:ratio=nan", lambda e, t: noise.corrupt(y, float("nan")), VE, ("nan",)),
        ("corrupt:ratio=inf", lambda e, t: noise.corrupt(y, float("inf")), VE, ("inf",)),
        ("corrupt:ratio=str", lambda e, t: noise.corrupt(y, "abc"), VE, ("abc",)),
        ("corrupt:ratio=bool", lambda e, t: noise.corrupt(y, True), VE, ("True",)),
        ("corrupt:kind=foo", lambda e, t: noise.corrupt(y, 0.1, "foo"), VE, ("foo",)),
        ("corrupt:n_classes=0", lambda e, t: noise.corrupt(y, 0.1, n_classes=0), VE, ("n_classes",)),
        ("corrupt:n_classes=-1", lambda e, t: noise.corrupt(y, 0.1, n_classes=-1), VE, ("n_classes",)),
        ("corrupt:n_classes=1", lambda e, t: noise.corrupt(np.zeros(10, int), 0.1, n_classes=1), VE, ("n_classes",)),
        ("corrupt:labels-out-of-range", lambda e, t: noise.corrupt([0, 1, 5], 0.1, n_classes=3), VE, ("5",)),
        ("corrupt:labels-negative", lambda e, t: noise.corrupt([-1, 0, 1], 0.1, n_classes=3), VE, ("-1",)),
        ("corrupt:labels-float", lambda e, t: noise.corrupt([0.5, 1.0, 2.0], 0.1, n_classes=3), VE, ("float",)),
        ("corrupt:labels-2d", lambda e, t: noise.corrupt(np.zeros((3, 3), int), 0.1, n_classes=3), VE, ("labels",)),
        ("corrupt:labels-str", lambda e, t: noise.corrupt(["a", "b"], 0.1, n_classes=3), VE, ("labels",)),
        ("corrupt:seed=str", lambda e, t: noise.corrupt(y, 0.1, seed="abc"), VE, ("abc",)),
        ("corrupt:seed=-1", lambda e, t: noise.corrupt(y, 0.1, seed=-1), VE, ("-1",)),
        ("corrupt:pair-ratio=0.6", lambda e, t: noise.corrupt(y, 0.6, "pair"), VE, ("0.6",)),
        ("check_ratio:2", lambda e, t: noise.check_ratio(2), VE, ("2",)),
        ("expected_noisy_accuracy:eps=1.5", lambda e, t: theory.expected_noisy_accuracy(1.5, 4), VE, ("1.5",)),
        ("expected_noisy_accuracy:eps=-0.1", lambda e, t: theory.expected_noisy_accuracy(-0.1, 4), VE, ("-0.1",)),
        ("expected_noisy_accuracy:eps=nan", lambda e, t: theory.expected_noisy_accuracy(float("nan"), 4), VE, ("nan",)),
        ("expected_noisy_accuracy:n_classes=1", lambda e, t: theory.expected_noisy_accuracy(0.1, 1), VE, ("n_classes",)),
        ("expected_noisy_accuracy:n_classes=0", lambda e, t: theory.expected_noisy_accuracy(0.1, 0), VE, ("n_classes",)),
        ("expected_noisy_accuracy:kind=foo", lambda e, t: theory.expected_noisy_accuracy(0.1, 4, "foo"), VE, ("foo",)),
        ("label_precision:eps=2", lambda e, t: theory.label_precision(2, 4), VE, ("2",)),
        ("label_recall:eps=-1", lambda e, t: theory.label_recall(-1), VE, ("-1",)),
        ("read_labels_csv:missing", lambda e, t: real.read_labels_csv(e["missing"]), NF, ("nosuchthing",)),
        ("read_labels_csv:blank", lambda e, t: real.read_labels_csv(e["csv_blank"]), VE, ("blank.csv",)),
        ("read_labels_csv:missingcols", lambda e, t: real.read_labels_csv(e["csv_missingcols"]), VE, ("missingcols.csv",)),
        ("read_labels_csv:range", lambda e, t: real.read_labels_csv(e["csv_range"], classes=list("abcd")), VE, ("99",)),
        ("read_labels_csv:folder", lambda e, t: real.read_labels_csv(e["empty"]), NF, ("empty",)),
        ("read_labels_csv:binary", lambda e, t: real.read_labels_csv(e["ds"] + "/images.npy"), VE, ("images.npy",)),
        ("flag_top_k:k=2.5", lambda e, t: det.flag_top_k(s, 2.5), VE, ("2.5",)),
        ("flag_top_k:k=-1", lambda e, t: det.flag_top_k(s, -1), VE, ("-1",)),
        ("flag_top_k:k=11", lambda e, t: det.flag_top_k(s, 11), VE, ("11",)),
        ("flag_top_k:k=str", lambda e, t: det.flag_top_k(s, "3"), VE, ("3",)),
        ("flag_top_k:score-nan", lambda e, t: det.flag_top_k(np.r_[s, np.nan], 2), VE, ("nan",)),
        ("flag_by_gmm:threshold=5", lambda e, t: det.flag_by_gmm(s, threshold=5), VE, ("5",)),
        ("flag_by_gmm:threshold=-0.1", lambda e, t: det.flag_by_gmm(s, threshold=-0.1), VE, ("-0.1",)),
        ("flag_by_gmm:threshold=nan", lambda e, t: det.flag_by_gmm(s, threshold=float("nan")), VE, ("nan",)),
        ("aum:1-D", lambda e, t: dyn.aum(s), VE, ("margins",)),
        ("aum:3-D", lambda e, t: dyn.aum(np.zeros((2, 3, 4))), VE, ("margins",)),
        ("ema_loss:1-D", lambda e, t: dyn.ema_loss(s), VE, ("losses",)),
        ("ema_loss:alpha=0", lambda e, t: dyn.ema_loss(L, alpha=0), VE, ("alpha",)),
        ("ema_loss:alpha=1.5", lambda e, t: dyn.ema_loss(L, alpha=1.5), VE, ("1.5",)),
        ("ema_loss:alpha=nan", lambda e, t: dyn.ema_loss(L, alpha=float("nan")), VE, ("nan",)),
        ("ema_loss:alpha=str", lambda e, t: dyn.ema_loss(L, alpha="abc"), VE, ("abc",)),
        ("find_label_issues:len-mismatch", lambda e, t: conf.find_label_issues(y[:5], P), VE, ("labels",)),
        ("find_label_issues:not-summing", lambda e, t: conf.find_label_issues(y, P * 2), VE, ("sum",)),
        ("find_label_issues:nan", lambda e, t: conf.find_label_issues(y, np.where(np.eye(10, 3) > 0, np.nan, P)), VE, ("nan",)),
        ("find_label_issues:probs-1d", lambda e, t: conf.find_label_issues(y, P[:, 0]), VE, ("probs",)),
        ("find_label_issues:label-5", lambda e, t: conf.find_label_issues(np.r_[y[:-1], 5], P), VE, ("5",)),
        ("find_label_issues:filter_by=nope", lambda e, t: conf.find_label_issues(y, P, filter_by="nope"), VE, ("nope",)),
        ("find_label_issues:frac_noise=2", lambda e, t: conf.find_label_issues(y, P, frac_noise=2), VE, ("frac_noise",)),
        ("ensemble:method=nope", lambda e, t: ens.ensemble(dict(a=s, b=s), method="nope"), VE, ("nope",)),
        ("ensemble:lengths", lambda e, t: ens.ensemble(dict(a=s, b=s[:5])), VE, ("b",)),
        ("parse_methods:nope", lambda e, t: detection.parse_methods("nope"), VE, ("nope",)),
        ("parse_method:nope", lambda e, t: robust.parse_method("nope"), VE, ("nope",)),
        ("generate:n=0", lambda e, t: gen.generate_dataset(t/"o", n=0, size=16, progress=False, workers=1), VE, ("n",)),
        ("generate:n=-5", lambda e, t: gen.generate_dataset(t/"o", n=-5, size=16, progress=False, workers=1), VE, ("-5",)),
        ("generate:n=10", lambda e, t: gen.generate_dataset(t/"o", n=10, size=16, progress=False, workers=1), VE, ("valid",)),
        ("generate:n=str", lambda e, t: gen.generate_dataset(t/"o", n="abc", size=16, progress=False, workers=1), VE, ("abc",)),
        ("generate:size=0", lambda e, t: gen.generate_dataset(t/"o", n=120, size=0, progress=False, workers=1), VE, ("size",)),
        ("generate:size=-4", lambda e, t: gen.generate_dataset(t/"o", n=120, size=-4, progress=False, workers=1), VE, ("-4",)),
        ("generate:seed=-1", lambda e, t: gen.generate_dataset(t/"o", n=120, size=16, seed=-1, progress=False, workers=1), VE, ("-1",)),
        ("generate:workers=0", lambda e, t: gen.generate_dataset(t/"o", n=120, size=16, progress=False, workers=0), VE, ("workers",)),
        ("generate:splits", lambda e, t: gen.generate_dataset(t/"o", n=120, size=16, splits=(0.5, 0.5, 0.5), progress=False, workers=1), VE, ("splits",)),
        ("generate:sampling=nope", lambda e, t: gen.generate_dataset(t/"o", n=120, size=16, sampling="nope", progress=False, workers=1), VE, ("nope",)),
        ("generate:source=missing", lambda e, t: gen.generate_dataset(t/"o", n=120, size=16, source=e["missing"], progress=False, workers=1), NF, ("nosuchthing",)),
        ("generate:out-underfile", lambda e, t: gen.generate_dataset(e["afile"] + "/sub", n=120, size=16, progress=False, workers=1), VE + (FileExistsError,), ("afile.txt",)),
        *[(f"load_dataset:{k}", (lambda k: lambda e, t: dset.load_dataset(e[k]))(k), NF, (w,)) for k, w in
          [("missing", "nosuchthing"), ("empty", "empty"), ("afile", "afile.txt"), ("ds_trunc", "images.npy"),
           ("ds_badcard", "card.json"), ("ds_edited", "manifest.csv"), ("ds_edited_images", "images.npy"),
           ("ds_label99", "99"), ("ds_nomanifest", "manifest.csv")]],
        ("train_run:epochs=0", lambda e, t: learn.train_run(e["ds"], t/"r", **{**fit, "epochs": 0}), VE, ("epochs",)),
        ("train_run:epochs=-1", lambda e, t: learn.train_run(e["ds"], t/"r", **{**fit, "epochs": -1}), VE, ("-1",)),
        ("train_run:lr=nan", lambda e, t: learn.train_run(e["ds"], t/"r", lr=float("nan"), **fit), VE, ("nan",)),
        ("train_run:lr=inf", lambda e, t: learn.train_run(e["ds"], t/"r", lr=float("inf"), **fit), VE, ("inf",)),
        ("train_run:lr=-1", lambda e, t: learn.train_run(e["ds"], t/"r", lr=-1, **fit), VE, ("-1",)),
        ("train_run:bs=0", lambda e, t: learn.train_run(e["ds"], t/"r", **{**fit, "bs": 0}), VE, ("bs",)),
        ("train_run:arch=nope", lambda e, t: learn.train_run(e["ds"], t/"r", **{**fit, "arch": "nope"}), VE, ("nope",)),
        ("train_run:loss=nope", lambda e, t: learn.train_run(e["ds"], t/"r", loss="nope", **fit), VE, ("nope",)),
        ("train_run:ratio=1.5", lambda e, t: learn.train_run(e["ds"], t/"r", ratio=1.5, **fit), VE, ("1.5",)),
        ("train_run:task=7", lambda e, t: learn.train_run(e["ds"], t/"r", **{**fit, "task": 7}), VE, ("7",)),
        ("train_run:size=0", lambda e, t: learn.train_run(e["ds"], t/"r", size=0, **fit), VE, ("size",)),
        ("train_run:precision=fp8", lambda e, t: learn.train_run(e["ds"], t/"r", precision="fp8", **fit), VE, ("fp8",)),
        ("train_run:device=tpu", lambda e, t: learn.train_run(e["ds"], t/"r", **{**fit, "device": "tpu"}), VE, ("tpu",)),
        ("train_run:data=missing", lambda e, t: learn.train_run(e["missing"], t/"r", **fit), NF, ("nosuchthing",)),
        ("train_run:data=oneclass", lambda e, t: learn.train_run(e["oneclass"], t/"r", **{**fit, "task": "label"}), VE, ("oneclass",)),
        ("train_run:data=small", lambda e, t: learn.train_run(e["ds_small"], t/"r", **fit), VE, ("valid",)),
        ("plan_sweep:bs=big", lambda e, t: plan.plan_sweep(e["ds"], ratios=[0], bs="big"), VE, ("big",)),
        ("plan_sweep:epochs=-3", lambda e, t: plan.plan_sweep(e["ds"], ratios=[0], epochs=-3), VE, ("-3",)),
        ("plan_sweep:lr=-1", lambda e, t: plan.plan_sweep(e["ds"], ratios=[0], lr=-1), VE, ("-1",)),
        ("plan_sweep:lr=nan", lambda e, t: plan.plan_sweep(e["ds"], ratios=[0], lr=float("nan")), VE, ("nan",)),
        ("plan_sweep:ratios=[2]", lambda e, t: plan.plan_sweep(e["ds"], ratios=[2]), VE, ("2",)),
        ("plan_sweep:ratios=str", lambda e, t: plan.plan_sweep(e["ds"], ratios="0,abc"), VE, ("abc",)),
        ("plan_sweep:seeds=0", lambda e, t: plan.plan_sweep(e["ds"], ratios=[0], seeds=0), VE, ("seeds",)),
        ("plan_sweep:seeds=-1", lambda e, t: plan.plan_sweep(e["ds"], ratios=[0], seeds=-1), VE, ("-1",)),
        ("plan_sweep:archs=nope", lambda e, t: plan.plan_sweep(e["ds"], ratios=[0], archs=["nope"]), VE, ("nope",)),
        ("plan_sweep:noise=foo", lambda e, t: plan.plan_sweep(e["ds"], ratios=[0], noise="foo"), VE, ("foo",)),
        ("plan_sweep:task=7", lambda e, t: plan.plan_sweep(e["ds"], ratios=[0], task=7), VE, ("7",)),
        ("plan_sweep:data=missing", lambda e, t: plan.plan_sweep(e["missing"], ratios=[0]), NF, ("nosuchthing",)),
        ("plan_sweep:data=label99", lambda e, t: plan.plan_sweep(e["ds_label99"], ratios=[0], task=4), VE, ("99",)),
        ("plan_sweep:data=edited", lambda e, t: plan.plan_sweep(e["ds_edited"], ratios=[0], task=4), VE, ("manifest.csv",)),
        ("plan_sweep:bs=0", lambda e, t: plan.plan_sweep(e["ds"], ratios=[0], bs=0), VE, ("bs",)),
        ("run_sweep:jobs=-1", lambda e, t: sweep.run_sweep(t/"s", e["ds"], ratios=[0], jobs=-1), VE, ("-1",)),
        ("run_sweep:engine=nope", lambda e, t: sweep.run_sweep(t/"s", e["ds"], ratios=[0], engine="nope"), VE, ("nope",)),
        ("load_results:missing", lambda e, t: analysis.load_results(e["missing"]), NF, ("nosuchthing",)),
        ("load_results:notsweep", lambda e, t: analysis.load_results(e["notsweep"]), NF, ("notsweep",)),
        ("load_results:noresults", lambda e, t: analysis.load_results(e["sweep_noresults"]), NF, ("sweep_noresults",)),
        ("write_report:missing", lambda e, t: report.write_report(e["missing"]), NF, ("nosuchthing",)),
        ("write_report:notsweep", lambda e, t: report.write_report(e["notsweep"]), NF, ("notsweep",)),
        ("write_report:noresults", lambda e, t: report.write_report(e["sweep_noresults"], out=t/"rep"), NF, ("sweep_noresults",)),
        ("read_sweep_file:bad", lambda e, t: plan.load_sweep_file(e["yaml_bad"]), VE, ("bad.yaml",)),
        ("read_sweep_file:unknownkey", lambda e, t: plan.load_sweep_file(e["yaml_unknownkey"]), VE, ("ratioz",)),
    ]
    return cases + _api_inputs()


API_IDS_NEED_TRAINING = ("train_run:",)


# ---------------------------------------------------------------- round 3 (issue 28): every input checked before any work
def _fake_cifar(root:Path)->Path:
    "A CIFAR-10 python-batches folder with 10 images per batch (50 training images), as `import` reads it."
    import pickle
    d = root/"cifar-10-batches-py"; d.mkdir(parents=True)
    with open(d/"batches.meta", "wb") as f: pickle.dump({b"label_names": [f"c{i}".encode() for i in range(10)]}, f)
    rng = np.random.default_rng(0)
    for b in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(d/b, "wb") as f:
            pickle.dump({b"data": rng.integers(0, 255, (10, 3072), dtype=np.uint8), b"labels": list(rng.integers(0, 10, 10))}, f)
    return d


def build_inputs_env(root:Path, ds:Path)->dict:
    "The round-3 fixtures: CSVs, .npz and CIFAR-N files, folders and sweep files that used to pass silently or end in a 'bug' line."
    import torch
    root.mkdir(parents=True)
    e = {}
    flat = e["in_flat"] = root/"flat"                 # 3 classes x 10 images, no truth: trains and detects as imported data
    for c in ("cat", "dog", "bird"):
        for i in range(10): _png(flat/c/f"{i}.png", hash(c) % 1000 + i)
    num = e["in_numflat"] = root/"numflat"            # classes named 1, 2, 3
    for c in ("1", "2", "3"):
        for i in range(10): _png(num/c/f"{i}.png", int(c) * 100 + i)
    files = [f"{c}/{i}.png" for c in ("1", "2", "3") for i in range(10)]
    pd.DataFrame(dict(file=files, label=[int(f[0]) - 1 for f in files])).to_csv(root/"zero_based.csv", index=False)
    e["in_zero_based"] = root/"zero_based.csv"
    spl = e["in_split_unlabeled"] = root/"split_unlabeled"
    for s in ("train", "test"):
        for c in ("cat", "dog"):
            for i in range(3): _png(spl/s/c/f"{i}.png", i)
    for i in range(3): _png(spl/"unlabeled"/"batch1"/f"{i}.png", i)
    # CSVs
    c = root/"csv"; (c/"img").mkdir(parents=True)
    for i in range(4): _png(c/"img"/f"{i}.png", i)
    pd.DataFrame(dict(path=["./img/0.png", str(c/"img"/"0.png"), "img/1.png", "img/2.png"], label=["a", "b", "a", "b"])).to_csv(c/"twice.csv", index=False)
    (c/"header_only.csv").write_text("path,label\n")
    (c/"zero.csv").write_text("")
    (c/"binary.csv").write_bytes(bytes(range(256)) * 8)
    (c/"latin1.csv").write_bytes("path,label\nimg/0.png,caf\xe9\nimg/1.png,th\xe9\n".encode("latin-1"))
    (c/"ragged.csv").write_text("path,label\nimg/0.png,a\nimg/1.png,b,x,y\n")
    (c/"quote.csv").write_text('path,label\nimg/0.png,a\n"img/1.png,b\n')
    pd.DataFrame(dict(path=[f"img/{i}.png" for i in range(4)], label=["a", "b"] * 2)).to_csv(c/"good.csv", index=False)
    for k in ("twice", "header_only", "zero", "binary", "latin1", "ragged", "quote", "good"): e[f"in_csv_{k}"] = c/f"{k}.csv"
    # .npz
    z = root/"npz"; z.mkdir()
    ims, y = np.random.default_rng(0).integers(0, 255, (12, 8, 8, 3), dtype=np.uint8), np.arange(12) % 3
    arrays = dict(float_labels=dict(images=ims, labels=y + 0.5), str_labels=dict(images=ims, labels=np.array(list("abc") * 4)),
                  onehot_labels=dict(images=ims, labels=np.eye(3)[y]), short_labels=dict(images=ims, labels=y[:10]),
                  short_clean=dict(images=ims, labels=y, clean=y[:5]), nan_images=dict(images=np.full((12, 8, 8, 3), np.nan, np.float32), labels=y),
                  dup_classes=dict(images=ims, labels=y, classes=np.array(["a", "a", "b"])), no_images=dict(images=ims[:0], labels=y[:0]),
                  channels_first=dict(images=ims.transpose(0, 3, 1, 2)[:, :, :, :6], labels=y))
    for k, v in arrays.items(): np.savez(z/f"{k}.npz", **v); e[f"in_npz_{k}"] = z/f"{k}.npz"
    (z/"zero.npz").write_bytes(b""); e["in_npz_zero"] = z/"zero.npz"
    np.save(z/"array.npy", ims); (z/"array.npy").rename(z/"renamed.npz"); e["in_npz_renamed"] = z/"renamed.npz"
    # CIFAR batches and CIFAR-N label files
    e["in_cifar"] = _fake_cifar(root/"cifar")
    h = root/"human"; h.mkdir()
    torch.save({"foo": np.zeros(50)}, h/"nokeys.pt")
    torch.save({"aggre_label": np.arange(50) % 10 + 0.7, "clean_label": np.arange(50) % 10}, h/"fractional.pt")
    torch.save({"aggre_label": np.arange(50) % 10, "worse_label": (np.arange(50) % 10).reshape(5, 10)}, h/"twod.pt")
    (h/"text.pt").write_text("aggre_label,clean_label\n1,1\n"); (h/"empty.pt").write_bytes(b"")
    for k in ("nokeys", "fractional", "twod", "text", "empty"): e[f"in_human_{k}"] = h/f"{k}.pt"
    # sweep files
    y = root/"yaml"; y.mkdir()
    for name, text in dict(augment_no='augment: "no"\n', epochs_true="epochs: true\n", opt_nope="opt: nope\n", wd_neg="wd: -1\n",
                           wd_text="wd: abc\n", bs_frac="bs: 3.5\n", lr_text="lr: fast\n", grid_bs0="grid:\n  bs: [0]\n",
                           grid_opt="grid:\n  opt: [sgd, nope]\n", elr_gce="methods: [elr]\nlosses: [gce]\n",
                           loss_method="methods: [gce]\nlosses: [sce]\n", method_kw="method: forward\nmethod_kw: {transition: nope}\n",
                           ckpt_true="checkpoint_every: true\n").items():
        (y/f"{name}.yaml").write_text(text); e[f"in_yaml_{name}"] = y/f"{name}.yaml"
    # a sweep folder whose plan.json is damaged; a study folder holding another study's data
    from false_labels.study.sweep import write_plan
    from false_labels.study.plan import plan_sweep
    sw = e["in_sweep_badplan"] = root/"sweep_badplan"
    write_plan(sw, plan_sweep(data=ds, ratios=[0], seeds=1, archs=["small_cnn"], epochs=1, task=4))
    (sw/"plan.json").write_text((sw/"plan.json").read_text()[:200]); (sw/"runs").mkdir()
    st = e["in_study_old"] = root/"study_old"; st.mkdir(); shutil.copytree(ds, st/"data")
    return {k: str(v) for k, v in e.items()}


TRAIN_IN = "train --data {in_flat} --out {out} --arch small_cnn --epochs 1 --bs 32 --device cpu --quiet"
SWEEP_F = SWEEP.replace(" --epochs 1", "").replace(" --bs 32", "")      # the sweep file's values are not overridden


def _import(cid, src, *rest_and_want):
    "An `import` case: `import SRC --out {out} [options]`, wanting the substrings after the options (split at '=>')."
    i = rest_and_want.index("=>")
    return _c(f"import:{cid}", ["import", src, "--out", "{out}", "--quiet", *rest_and_want[:i]], *rest_and_want[i + 1:])


INPUT_CASES = [
    # import: a CSV
    _import("csv=one-file-two-spellings", "{in_csv_twice}", "=>", "line 2", "line 3", "same file"),
    _import("csv=header-only", "{in_csv_header_only}", "=>", "header_only.csv", "no rows"),
    _import("csv=zero-bytes", "{in_csv_zero}", "=>", "zero.csv", "empty"),
    _import("csv=binary", "{in_csv_binary}", "=>", "binary.csv", "binary"),
    _import("csv=not-utf8", "{in_csv_latin1}", "=>", "latin1.csv", "UTF-8"),
    _import("csv=ragged-row", "{in_csv_ragged}", "=>", "ragged.csv", "line 3"),
    _import("csv=unclosed-quote", "{in_csv_quote}", "=>", "quote.csv"),
    # import: folders and options
    _import("src=split-and-unlabeled", "{in_split_unlabeled}", "=>", "unlabeled", "train|valid|val|test"),
    _import("classes=repeated", "{in_flat}", "--classes", "cat,dog,cat,bird", "=>", "--classes", "'cat'"),
    _import("classes=labels-nothing", "{in_flat}", "--classes", "bird,cat,dog,fish", "=>", "--classes", "fish"),
    _import("workers=0", "{in_flat}", "--workers", "0", "=>", "workers", "0"),
    _import("workers=-1", "{in_flat}", "--workers", "-1", "=>", "workers", "-1"),
    _import("human=for-an-image-folder", "{in_flat}", "--human", "{in_human_nokeys}", "=>", "nokeys.pt", "aggre_label"),  # read, then refused
    _import("human=for-a-csv", "{in_csv_good}", "--human", "{in_human_nokeys}", "=>", "--human", "csv"),
    # import: CIFAR-N label files
    _import("human=no-cifar-n-keys", "{in_cifar}", "--human", "{in_human_nokeys}", "=>", "nokeys.pt", "aggre_label"),
    _import("human=fractional-labels", "{in_cifar}", "--human", "{in_human_fractional}", "=>", "fractional.pt", "0.7"),
    _import("human=2-D-labels", "{in_cifar}", "--human", "{in_human_twod}", "=>", "twod.pt", "worse_label"),
    _import("human=text-file", "{in_cifar}", "--human", "{in_human_text}", "=>", "text.pt", "CIFAR-N"),
    _import("human=zero-bytes", "{in_cifar}", "--human", "{in_human_empty}", "=>", "empty.pt", "CIFAR-N"),
    _import("human=missing", "{in_cifar}", "--human", "{missing}", "=>", "nosuchthing"),
    _import("human=a-folder", "{in_cifar}", "--human", "{empty}", "=>", "empty", "folder"),
    # import: .npz
    _import("npz=float-labels", "{in_npz_float_labels}", "=>", "float_labels.npz", "0.5"),
    _import("npz=text-labels", "{in_npz_str_labels}", "=>", "str_labels.npz", "integer class indices"),
    _import("npz=2-D-labels", "{in_npz_onehot_labels}", "=>", "onehot_labels.npz", "1-D"),
    _import("npz=fewer-labels-than-images", "{in_npz_short_labels}", "=>", "short_labels.npz", "10 labels for 12 images"),
    _import("npz=fewer-clean-labels", "{in_npz_short_clean}", "=>", "short_clean.npz", "'clean'"),
    _import("npz=nan-images", "{in_npz_nan_images}", "=>", "nan_images.npz", "NaN"),
    _import("npz=repeated-classes", "{in_npz_dup_classes}", "=>", "dup_classes.npz", "'a'"),
    _import("npz=no-images", "{in_npz_no_images}", "=>", "no_images.npz", "no images"),
    _import("npz=channels-first", "{in_npz_channels_first}", "=>", "channels_first.npz", "channels first"),
    _import("npz=zero-bytes", "{in_npz_zero}", "=>", "zero.npz", "0 bytes"),
    _import("npz=renamed-npy", "{in_npz_renamed}", "=>", "renamed.npz", ".npy"),
    # train: method settings checked before any work, for every method; ambiguous labels; 'known' without a truth
    _c("train:method-kw=forward-transition", TRAIN.split() + ["--method", "forward", "--method-kw", '{{"transition": "nope"}}'], "transition", "nope"),
    _c("train:method-kw=coteaching-folds-0", TRAIN.split() + ["--method", "coteaching", "--method-kw", '{{"folds": 0}}'], "folds", "0"),
    _c("train:method-kw=coteaching-exponent-text", TRAIN.split() + ["--method", "coteaching", "--method-kw", '{{"exponent": "a"}}'], "exponent"),
    _c("train:method-kw=dividemix-p-threshold-2", TRAIN.split() + ["--method", "dividemix", "--method-kw", '{{"p_threshold": 2}}'], "p_threshold", "2"),
    _c("train:opt=nope", TRAIN.split() + ["--opt", "nope"], "opt", "nope", "sgd"),
    _c("train:method-kw=dividemix-labelled-floor-1.5", TRAIN.split() + ["--method", "dividemix", "--method-kw", '{{"labelled_floor": 1.5}}'], "labelled_floor", "1.5"),
    _c("train:noise-estimator=audit-without-sample", TRAIN.split() + ["--method", "coteaching", "--noise-estimator", "audit"], "audit", "verified"),
    _c("train:method-kw=relabel-fold-best-text", TRAIN.split() + ["--method", "relabel-retrain", "--method-kw", '{{"fold_best": "no"}}'], "fold_best"),
    _c("train:method-kw=relabel-detector", TRAIN.split() + ["--method", "relabel-retrain", "--method-kw", '{{"detector": "zz"}}'], "zz"),
    _c("train:method-kw=elr-beta-1", TRAIN.split() + ["--method", "elr", "--method-kw", '{{"beta": 1}}'], "beta"),
    _c("train:method-kw=coteaching-folds-2.5", TRAIN.split() + ["--method", "coteaching", "--method-kw", '{{"folds": 2.5}}'], "folds", "2.5"),
    _c("train:method=elr-loss=gce", TRAIN.split() + ["--method", "elr", "--loss", "gce"], "elr", "gce"),
    _c("train:method=gce-loss=sce", TRAIN.split() + ["--method", "gce", "--loss", "sce"], "sce"),
    _c("train:noise-rate=known-without-truth", TRAIN_IN.split() + ["--method", "coteaching", "--noise-rate", "known"], "known", "truth"),
    _c("train:labels=0-based-on-classes-1-2-3", TRAIN_IN.replace("{in_flat}", "{in_numflat}").split() + ["--labels", "{in_zero_based}"],
       "zero_based.csv", "'class'", "'index'"),
    # detect
    *_values("detect", DETECT, [("--min-prob", "2", "min_prob", "2"), ("--min-prob", "-0.1", "min_prob"), ("--min-prob", "nan", "min_prob")]),
    _c("detect:noise-estimator=audit-without-sample", DETECT.split() + ["--noise-estimator", "audit"], "audit", "verified"),
    _c("detect:labels=0-based-on-classes-1-2-3", DETECT.replace("{ds}", "{in_numflat}").replace("--task 4 ", "").split()
       + ["--labels", "{in_zero_based}", "--quiet"], "zero_based.csv", "could be"),
    # sweep: a sweep file's values checked when planning (no folder made)
    *[_c(f"sweep:file={k}", SWEEP_F.split() + ["--file", "{in_yaml_%s}" % k], *w) for k, *w in (
        ("augment_no", "augment", "'no'"), ("epochs_true", "epochs", "True"), ("opt_nope", "opt", "nope"), ("wd_neg", "wd", "-1"),
        ("wd_text", "wd", "abc"), ("bs_frac", "bs", "3.5"), ("lr_text", "lr", "fast"), ("grid_bs0", "bs", "0"),
        ("grid_opt", "opt", "nope"), ("elr_gce", "elr", "gce"), ("loss_method", "gce", "sce"), ("method_kw", "transition", "nope"),
        ("ckpt_true", "checkpoint_every", "True"))],
    _c("sweep:labels=missing-csv", SWEEP.split() + ["--labels", "{missing}.csv"], "nosuchthing.csv"),
    _c("sweep:labels=csv-label-99", SWEEP.split() + ["--labels", "{csv_range}"], "range.csv", "99"),
    _c("sweep:labels=csv-unknown-ids", SWEEP.split() + ["--labels", "{csv_unknownids}"], "unknownids.csv"),
    _c("sweep:out=damaged-plan", SWEEP.replace("{out}", "{in_sweep_badplan}").split(), "plan.json", "damaged"),
    _c("report:damaged-plan", ["report", "{in_sweep_badplan}"], "plan.json", "damaged"),
    # study: another study's data in the folder
    _c("study:out=other-n", STUDY.replace("{out}", "{in_study_old}").replace("--n 120", "--n 240").split(), "n=120", "n=240"),
    _c("study:out=other-size", STUDY.replace("{out}", "{in_study_old}").replace("--size 16", "--size 24").split(), "size=16", "size=24"),
]
CLI_CASES += INPUT_CASES


def _api_inputs():
    "Round 3's API cases: the public checkers the CLI relies on, called directly."
    import false_labels.data.formats as imp, false_labels.noise.corrupt as noise, false_labels.study.plan as plan, false_labels.methods.registry as robust
    import false_labels.noise.real as real
    import false_labels.detectors.pipeline as detection, false_labels.core as core
    VE = (ValueError,)
    def damaged(t):
        (t/"x.json").write_text('{"a": "unterminated'); return core.read_json(t/"x.json")
    return [
        ("import_images:classes-repeated", lambda e, t: imp.import_images(e["in_flat"], out=t/"o", classes=["cat", "dog", "cat"]), VE, ("'cat'",)),
        ("import_images:workers=0", lambda e, t: imp.import_images(e["in_flat"], out=t/"o", workers=0), VE, ("workers",)),
        ("import_images:human-not-cifar", lambda e, t: imp.import_images(e["in_flat"], out=t/"o", human=e["in_human_nokeys"]), VE, ("human",)),
        ("scan_csv:same-file-twice", lambda e, t: imp.scan_csv(e["in_csv_twice"]), VE, ("line 2", "line 3")),
        ("scan_csv:header-only", lambda e, t: imp.scan_csv(e["in_csv_header_only"]), VE, ("no rows",)),
        ("read_table:not-utf8", lambda e, t: imp.read_table(e["in_csv_latin1"]), VE, ("UTF-8",)),
        ("detect_layout:split-and-unlabeled", lambda e, t: imp.detect_layout(e["in_split_unlabeled"]), VE, ("unlabeled",)),
        ("read_human_labels:no-keys", lambda e, t: imp.read_human_labels(e["in_human_nokeys"]), VE, ("nokeys.pt",)),
        ("read_human_labels:text", lambda e, t: imp.read_human_labels(e["in_human_text"]), VE, ("text.pt",)),
        ("scan_npz:float-labels", lambda e, t: imp.scan_npz(e["in_npz_float_labels"]), VE, ("0.5",)),
        ("scan_npz:renamed-npy", lambda e, t: imp.scan_npz(e["in_npz_renamed"]), VE, (".npy",)),
        ("class_indices:2-D", lambda e, t: imp.class_indices("y", "f", np.zeros((3, 2), int)), VE, ("1-D",)),
        ("check_class_names:repeated", lambda e, t: imp.check_class_names(["a", "b", "a"]), VE, ("'a'",)),
        ("read_labels_csv:ambiguous-numbers", lambda e, t: real.read_labels_csv(e["in_zero_based"], classes=["1", "2", "3"]), VE,
         ("zero_based.csv", "'index'")),
        ("check_method:kw-value", lambda e, t: robust.check_method("forward", "ce", {"transition": "nope"}), VE, ("nope",)),
        ("check_method:loss-conflict", lambda e, t: robust.check_method("elr", "gce"), VE, ("gce",)),
        ("check_output_options:min_prob=2", lambda e, t: detection.check_output_options(min_prob=2), VE, ("min_prob",)),
        ("check_types:augment-text", lambda e, t: plan.check_types({"augment": ["no"]}), VE, ("augment",)),
        ("plan_sweep:epochs=True", lambda e, t: plan.plan_sweep(e["ds"], ratios=[0], epochs=True), VE, ("epochs",)),
        ("plan_sweep:wd=-1", lambda e, t: plan.plan_sweep(e["ds"], ratios=[0], wd=-1), VE, ("wd",)),
        ("plan_sweep:opt=nope", lambda e, t: plan.plan_sweep(e["ds"], ratios=[0], opt="nope"), VE, ("nope",)),
        ("load_plan:damaged", lambda e, t: plan.check_plan(e["in_sweep_badplan"], {"hash": ""}), VE, ("plan.json",)),
        ("read_json:damaged", lambda e, t: damaged(t), VE, ("x.json", "damaged")),
    ]
