#!/usr/bin/env bash
# Here, after scripts/gpu/run.sh: rebuild the GPU run folder under runs/ from the returned files, then
# evaluate it on PublicTest (no TTA and flip), embed, fit the heads, and print how to ship it.
#   bash scripts/gpu/collect.sh FILES_AT [../shared/datasets/fer2013-dev.zip]
set -euo pipefail
cd "$(dirname "$0")/../.."
files="$1"; data="${2:-../shared/datasets/fer2013-dev.zip}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
tar -C "$tmp" -xf "$files/results.tar"
run_id=$(cat "$tmp/run_id")
run="${FER_RUNS_DIR:-runs}/$run_id"
[ ! -e "$run" ] || { echo "$run exists already; not overwriting it" >&2; exit 1; }
mkdir -p "$run/checkpoint" "$run/reports"
cp "$tmp/config.json" "$tmp/metrics.jsonl" "$tmp/summary.json" "$run/"
cp "$tmp/model.json" "$run/checkpoint/"
cp "$tmp/train.log" "$run/run.log"
cp "$tmp/train_speed.txt" "$tmp/nvidia-smi.txt" "$run/reports/"
cat "$files"/model-fp16.safetensors.part-* > "$run/checkpoint/model.safetensors.tmp"
mv "$run/checkpoint/model.safetensors.tmp" "$run/checkpoint/model.safetensors"
python3 -c "from fer_engine.runs.store import RunStore; import sys; RunStore(sys.argv[1]).sync_from_config(sys.argv[2])" \
  "${FER_RUNS_DIR:-runs}" "$run_id"
fer evaluate --checkpoint "$run" --data "$data" --split val
fer evaluate --checkpoint "$run" --data "$data" --split val --tta flip
fer embed "$run" --data "$data" --tta
fer heads "$run" --heads mlp,xgboost,rf,svm
echo "ship it with: fer ship $run_id --data $data"
