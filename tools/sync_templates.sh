#!/usr/bin/env bash
# The package ships the papermill templates of nbs/runs/ (for non-editable installs): copy them in.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p false_labels/runs
for nb in nbs/runs/*.ipynb; do cmp -s "$nb" "false_labels/runs/$(basename "$nb")" || cp "$nb" false_labels/runs/; done
