#!/usr/bin/env bash
# On the lent GPU (device tool), in the repository root. Each call carries one data part;
# the last one joins the parts, trains the `strong` preset on CUDA, benchmarks, and leaves in $OUT (at most 8 files):
#   results.tar (the run's config, metrics, summary, model card, log; train_speed.txt) and
#   model-fp16.safetensors.part-NN (15 MiB pieces).  Then here: bash scripts/gpu/collect.sh FILES_AT
# Settings travel as environment variables: FER_GPU_DEVICE (cuda), FER_GPU_TRAIN_ARGS (extra `fer train`
# options, e.g. "--epochs 30" or "--compile"), FER_GPU_SPEED_ARGS (benchmark options), FER_GPU_SKIP_TRAIN=1.
# Every call but the last stages one data part and exits (see scripts/gpu/prepare.sh).
# Rehearsed here on the CPU with a tiny setting (see scripts/gpu/README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf /tmp/fer-runs
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
OUT="${OUT:-/tmp/fer-gpu-out}"; mkdir -p "$OUT"
bundle=/tmp/fer-gpu-bundle; rm -rf "$bundle"; mkdir -p "$bundle"
[ -f .gpu/fer2013-dev.zip.parts ] || { echo "no data carried (call 1 carries part-aa, .sha256 and .parts)" >&2; exit 1; }
expected=$(cat .gpu/fer2013-dev.zip.parts)
staged=$(find .gpu -name 'fer2013-dev.zip.part-*' | wc -l)
if [ "$staged" -lt "$expected" ]; then
  echo "staged $staged of $expected data parts; call again carrying the next part"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  exit 0
fi
data=/tmp/fer2013-dev.zip
cat .gpu/fer2013-dev.zip.part-* > "$data"
echo "$(cat .gpu/fer2013-dev.zip.sha256)  $data" | sha256sum -c -
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
runs=/tmp/fer-runs
device="${FER_GPU_DEVICE:-cuda}"
if [ "${FER_GPU_SKIP_TRAIN:-0}" != 1 ]; then
  start=$(date +%s)
  # shellcheck disable=SC2086  # FER_GPU_TRAIN_ARGS is a list of options
  python3 -m fer_engine.cli.main train --data "$data" --preset strong --seed 0 --device "$device" --name strong-gpu \
    --runs-root "$runs" --no-progress ${FER_GPU_TRAIN_ARGS:-} 2>&1 | tee "$bundle/train.log"
  echo "wall seconds: $(( $(date +%s) - start ))" | tee -a "$bundle/train.log"
  run=$(ls -d "$runs"/*strong-gpu* | tail -1)
  basename "$run" > "$bundle/run_id"
  cp "$run/metrics.jsonl" "$run/config.json" "$run/summary.json" "$run/checkpoint/model.json" "$bundle/"
  python3 - "$run/checkpoint/model.safetensors" "$OUT/model-fp16.safetensors" <<'PY'
import sys, torch
from safetensors.torch import load_file, save_file
tensors = {k: (v.half() if v.is_floating_point() else v) for k, v in load_file(sys.argv[1]).items()}
save_file(tensors, sys.argv[2])
PY
  split -b 15M -d "$OUT/model-fp16.safetensors" "$OUT/model-fp16.safetensors.part-" && rm "$OUT/model-fp16.safetensors"
fi
# shellcheck disable=SC2086
python3 benchmarks/train_speed.py --data "$data" --device "$device" ${FER_GPU_SPEED_ARGS:---arch vgg19_bn vgg19 \
  --batch-size 512 --steps 30 --warmup 5 --modes fp32-cl,bf16-cl --eval-images 3589} 2>&1 | tee "$bundle/train_speed.txt"
nvidia-smi > "$bundle/nvidia-smi.txt" 2>&1 || true
tar -C "$bundle" -cf "$OUT/results.tar" .
ls -l "$OUT"
