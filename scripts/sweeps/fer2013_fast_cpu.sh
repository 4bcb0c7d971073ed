#!/usr/bin/env bash
# The FER2013 sweep reported in docs/results.md (issue 17): fast_cpu, lr x weight decay x label smoothing x
# augmentation (random erasing, rotation); 12 TPE trials (sampler seed 0) of 3 epochs on a stratified
# 8,000-image subsample of Training (training seed 0), each judged on the full PublicTest (split val) by its
# best epoch's val_accuracy; median pruner after 3 complete trials, never in a trial's first epoch.
# Usage: scripts/sweeps/fer2013_fast_cpu.sh PATH/TO/fer2013  (then `fer worker`, or add --start-worker)
set -euo pipefail
data="${1:?usage: $0 PATH/TO/fer2013(.zip|.csv|folder) [extra fer sweep create flags]}"
shift
here="$(cd "$(dirname "$0")" && pwd)"
fer sweep create fast-cpu-8k --space "$here/fast_cpu_space.yaml" --trials 12 --parallel 1 \
  --metric val_accuracy --sampler tpe --pruner median --pruner-startup-trials 3 --pruner-warmup-epochs 1 \
  --preset fast_cpu --epochs 3 --limit 8000 --seed 0 --sampler-seed 0 --data "$data" "$@"
