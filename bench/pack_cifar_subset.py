"""Pack a CIFAR-10 subset with its CIFAR-10N label sets into one .tar.gz small enough to carry to a machine without CIFAR
(the GPU machine: the working tree that travels is capped at 64 MiB).

The archive holds `cifar10_subset/{train,test}/<class>/NNNN.jpg` (the original JPEGs, byte for byte) and
`cifar10_subset/labels.csv` with the columns path, split, clean_label, aggre, random1, random2, random3, worst: the
CIFAR-10N label sets joined to the JPEG folders by per-class order (`imports.attach_human_labels`; test images keep
their folder label in every set). `false-labels import` / `--data` read the CSV as is (label sets = its columns, the
given set = aggre, the truth = clean_label).

    python bench/pack_cifar_subset.py [--root /work/cifar] [--human /work/cifar10n/data/CIFAR-10_human.pt]
        [--per-class 2000] [--test-per-class 1000] [--out .gpu_data/cifar10_subset.tar.gz]

Default: the first 2,000 training JPEGs of each class (numeric order; 20,000 images) and the whole test folder
(10,000): about 29 MB.
"""
import argparse, csv, io, tarfile
from pathlib import Path

import numpy as np

from false_labels.data.formats import attach_human_labels, scan_image_folder


def rank(path):
    "Numeric file names by value (the order attach_human_labels joins by), then other names."
    stem = Path(path).stem
    return (0, int(stem), "") if stem.isdigit() else (1, 0, Path(path).name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default="/work/cifar"); ap.add_argument("--human", default="/work/cifar10n/data/CIFAR-10_human.pt")
    ap.add_argument("--per-class", type=int, default=2000); ap.add_argument("--test-per-class", type=int, default=1000)
    ap.add_argument("--out", default=".gpu_data/cifar10_subset.tar.gz")
    a = ap.parse_args()
    root = Path(a.root)
    plan = attach_human_labels(scan_image_folder(root), a.human)
    files, split, sets = plan["files"], plan["split"], plan["sets"]
    names = ["clean", "aggre", "random1", "random2", "random3", "worst"]
    keep = []
    for s, k in (("train", a.per_class), ("test", a.test_per_class)):
        for c in sorted(set(sets["clean"][split == s])):
            rows = [i for i in np.flatnonzero((split == s) & (sets["clean"] == c))]
            rows.sort(key=lambda i: rank(files[i]))
            keep += rows[:k]
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO(); w = csv.writer(buf, lineterminator="\n")
    w.writerow(["path", "split", "clean_label", *names[1:]])
    tmp = out.with_suffix(".tmp")
    with tarfile.open(tmp, "w:gz", compresslevel=6) as tar:   # gzip: the 512-byte tar headers and padding shrink
        for i in keep:
            rel = Path(files[i]).relative_to(root).as_posix()
            tar.add(files[i], arcname=f"cifar10_subset/{rel}")
            w.writerow([rel, split[i], *(sets[n][i] for n in names)])
        data = buf.getvalue().encode()
        info = tarfile.TarInfo("cifar10_subset/labels.csv"); info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    tmp.replace(out)
    n_tr = sum(split[i] == "train" for i in keep)
    print(f"{out}: {n_tr} training + {len(keep) - n_tr} test JPEGs with CIFAR-10N label sets, {out.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
