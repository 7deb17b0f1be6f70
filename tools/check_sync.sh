#!/usr/bin/env bash
# Fail when nbdev-clean or nbdev-export would change a tracked or untracked file.
set -euo pipefail
BIN=${1:-.venv/bin}
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then echo "check-sync: not a git checkout, skipped"; exit 0; fi
snap() { git status --porcelain --untracked-files=all; git diff --no-ext-diff; git ls-files --others --exclude-standard -z | xargs -0 -r sha1sum; }
before=$(snap)
"$BIN/nbdev-clean" >/dev/null
"$BIN/nbdev-export" >/dev/null
bash "$(dirname "$0")/sync_templates.sh"
after=$(snap)
if [ "$before" != "$after" ]; then
  echo "check-sync: nbdev-clean/nbdev-export changed files; run them and commit the result:" >&2
  diff <(echo "$before" | grep -E '^( M|M |\?\?|A )' || true) <(echo "$after" | grep -E '^( M|M |\?\?|A )' || true) >&2 || true
  git status --short >&2
  exit 1
fi
echo "check-sync: notebooks clean and exported"
