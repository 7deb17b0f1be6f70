#!/usr/bin/env bash
# The benchmark's GPU preset on one lent GPU, as ONE command that fits a 10-minute limit, with no network.
#
# What it runs: `false-labels benchmark --preset gpu` (a CIFAR ResNet-18, SGD lr 0.02, wd 5e-4, batch 128, bf16, all
# the images it is given) for ce, coteaching, elr, dividemix at clean, sym50, asym40, worst, 4 runs at once on the
# GPU, on 1,000 training images a class (PER_CLASS; the full 10,000-image test set), its epochs cut from the papers'
# 300 to $EPOCHS (default 12) so that most of the table fits; whatever has not finished when $BUDGET seconds (default
# 420) are spent is left out of the table (its cells say "not run"), and the table is written anyway. Expected: about
# 40 s to install the wheels, 60 s to unpack and import the data, then the runs until the budget: 8-9 minutes in all.
#
# Data: the real CIFAR-10 with CIFAR-10N when the archive packed by bench/pack_cifar_subset.py is in the working
# tree (.gpu_data/cifar10_subset.tar.gz, 19 MiB for all 60,000 images), else a generated CIFAR-shaped dataset
# (benchmark.fake_cifar: 1,000 images a class, colour and stripe classes, CIFAR-10N-like label sets).
#
# On this machine, once (the coordinator; .whl/ and .gpu_data/ are ignored by git and carried explicitly):
#   python ../shared/gpu/wheelhouse.py                      # .whl/: fastai, papermill, altair ... for Python 3.12
#   PYTHONPATH=$PWD python bench/pack_cifar_subset.py --per-class 5000 --out .gpu_data/cifar10_subset.tar.gz
#   printf '/.whl/\n/.gpu_data/\n' >> .git/info/exclude
# Then the device tool:  run(command="bash bench/gpu_benchmark.sh", carry=[".whl", ".gpu_data"], timeout_s=600)
# It writes to $OUT: table.md, table.csv, scores.csv (one row per finished run: accuracy, epochs, train_time_s),
# log.txt (the benchmark's output), machine.txt (GPU, torch, timings). Tunable: EPOCHS, BUDGET, JOBS, METHODS,
# SETTINGS, PER_CLASS / TEST_PER_CLASS (images per class; PER_CLASS= (empty) for all 5,000), FAKE_PER_CLASS (generated data).
set -u
OUT=${OUT:-/tmp/gpu_benchmark_out}; mkdir -p "$OUT"
EPOCHS=${EPOCHS:-12}; BUDGET=${BUDGET:-420}; JOBS=${JOBS:-4}; PER_CLASS=${PER_CLASS-1000}
METHODS=${METHODS:-ce,coteaching,elr,dividemix}; SETTINGS=${SETTINGS:-clean,sym50,asym40,worst}
WORK=${WORK:-/tmp/gpu_benchmark}; mkdir -p "$WORK"
T0=$(date +%s)
{
  echo "start $(date -u +%FT%TZ)  epochs $EPOCHS  budget ${BUDGET}s  jobs $JOBS"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -2
  nproc; python3 --version
} > "$OUT/machine.txt"

if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >> "$OUT/machine.txt" 2>&1
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
python3 -c "import torch, fastai, false_labels; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'fastai', fastai.__version__)" >> "$OUT/machine.txt" 2>&1
echo "installed after $(( $(date +%s) - T0 ))s" >> "$OUT/machine.txt"

if [ -f .gpu_data/cifar10_subset.tar.gz ]; then
  tar xzf .gpu_data/cifar10_subset.tar.gz -C "$WORK"
  DATA="$WORK/cifar10_subset/labels.csv"; echo "data: real CIFAR-10 + CIFAR-10N ($DATA)" >> "$OUT/machine.txt"
else
  python3 -c "from false_labels.study.benchmark import fake_cifar; fake_cifar('$WORK/fake', per_class=${FAKE_PER_CLASS:-1000}, test_per_class=${FAKE_TEST_PER_CLASS:-200})"
  DATA="$WORK/fake/cifar-10-batches-py"; echo "data: generated CIFAR-shaped ($DATA)" >> "$OUT/machine.txt"
fi
echo "data ready after $(( $(date +%s) - T0 ))s" >> "$OUT/machine.txt"

ARGS=(--data "$DATA" --out "$WORK/bench" --preset gpu --epochs "$EPOCHS" --methods "$METHODS" --settings "$SETTINGS" --jobs "$JOBS")
[ -n "${PER_CLASS:-}" ] && ARGS+=(--per-class "$PER_CLASS")
[ -n "${TEST_PER_CLASS:-}" ] && ARGS+=(--test-per-class "$TEST_PER_CLASS")
LEFT=$(( BUDGET - ($(date +%s) - T0) ))
timeout --signal=INT --kill-after=20 "$LEFT" python3 -m false_labels benchmark "${ARGS[@]}" > "$OUT/log.txt" 2>&1
echo "benchmark exit $? after $(( $(date +%s) - T0 ))s" >> "$OUT/machine.txt"
python3 -m false_labels benchmark --out "$WORK/bench" --table-only >> "$OUT/log.txt" 2>&1
python3 - "$WORK/bench" "$OUT" <<'EOF' >> "$OUT/machine.txt" 2>&1
import sys, shutil
from pathlib import Path
from false_labels.study.benchmark import run_scores
bench, out = Path(sys.argv[1]), Path(sys.argv[2])
sc = run_scores(bench); sc.to_csv(out/"scores.csv", index=False)
for f in ("table.md", "table.csv"):
    if (bench/f).exists(): shutil.copy(bench/f, out/f)
print(f"{len(sc)} runs finished; train_time_s per run: median {sc.train_time_s.median():.0f}, max {sc.train_time_s.max():.0f}" if len(sc) else "no run finished")
EOF
echo "end after $(( $(date +%s) - T0 ))s" >> "$OUT/machine.txt"
cat "$OUT/table.md" 2>/dev/null; tail -4 "$OUT/machine.txt"
