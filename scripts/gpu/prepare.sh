#!/usr/bin/env bash
# Here, before a GPU session: cut the dev zip into parts that each fit one device call beside the tracked
# tree (64 MiB per call), into .gpu/ (git-ignored), with the whole file's sha256 and the number of parts.
#   bash scripts/gpu/prepare.sh [../shared/datasets/fer2013-dev.zip]
set -euo pipefail
cd "$(dirname "$0")/../.."
zip="${1:-../shared/datasets/fer2013-dev.zip}"
# What travels: tracked files still present plus untracked files git does not ignore (du skips deleted ones).
tree_bytes=$({ git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null || true; } \
  | tail -1 | cut -f1)
limit=$((64 * 1024 * 1024))
room=$((limit - tree_bytes - 1024 * 1024))   # 1 MiB margin for the checksum, the count and small edits
[ "$room" -gt $((1024 * 1024)) ] || { echo "tracked tree ($tree_bytes bytes) leaves no room for data" >&2; exit 1; }
zip_bytes=$(stat -c %s "$zip")
count=$(((zip_bytes + room - 1) / room))
part=$(((zip_bytes + count - 1) / count))   # equal parts, each within the room one call leaves
rm -rf .gpu && mkdir -p .gpu
split -b "$part" "$zip" .gpu/fer2013-dev.zip.part-
sha256sum "$zip" | cut -d' ' -f1 > .gpu/fer2013-dev.zip.sha256
parts=(.gpu/fer2013-dev.zip.part-*)
echo "${#parts[@]}" > .gpu/fer2013-dev.zip.parts
ls -l .gpu
echo "call 1: carry [${parts[0]}, .gpu/fer2013-dev.zip.sha256, .gpu/fer2013-dev.zip.parts], command: bash scripts/gpu/run.sh"
for ((i = 1; i < ${#parts[@]}; i++)); do
  echo "call $((i + 1)): carry [${parts[$i]}], same command (at once: the machine must still be warm)"
done
