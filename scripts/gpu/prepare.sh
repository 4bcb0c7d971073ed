#!/usr/bin/env bash
# Here, before a GPU session: cut the dev zip into two parts that each fit one device call beside the
# tracked tree (64 MiB per call), into .gpu/ (git-ignored), with the whole file's sha256.
#   bash scripts/gpu/prepare.sh [../shared/datasets/fer2013-dev.zip]
set -euo pipefail
cd "$(dirname "$0")/../.."
zip="${1:-../shared/datasets/fer2013-dev.zip}"
tree_bytes=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
limit=$((64 * 1024 * 1024))
first=$((limit - tree_bytes - 2 * 1024 * 1024))   # 2 MiB margin for the scripts and the checksum
[ "$first" -gt 0 ] || { echo "tracked tree ($tree_bytes bytes) leaves no room for data" >&2; exit 1; }
rm -rf .gpu && mkdir -p .gpu
head -c "$first" "$zip" > .gpu/fer2013-dev.zip.part-aa
tail -c +"$((first + 1))" "$zip" > .gpu/fer2013-dev.zip.part-ab
sha256sum "$zip" | cut -d' ' -f1 > .gpu/fer2013-dev.zip.sha256
rest=$(stat -c %s .gpu/fer2013-dev.zip.part-ab)
[ $((tree_bytes + rest)) -lt "$limit" ] || { echo "second part does not fit either; shrink the tracked tree" >&2; exit 1; }
ls -l .gpu
echo "call 1: carry [.gpu/fer2013-dev.zip.part-aa, .gpu/fer2013-dev.zip.sha256], command: bash scripts/gpu/run.sh"
echo "call 2: carry [.gpu/fer2013-dev.zip.part-ab], same command (the machine must still be warm)"
