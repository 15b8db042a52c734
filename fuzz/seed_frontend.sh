#!/bin/sh
# Seeds fuzz/corpus/frontend/ with every Vox source file of the HAR corpus (one file per
# `--- name.vx` section) and the std library. Run from anywhere.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/corpus/frontend"
mkdir -p "$out"
for har in "$here"/../tests/corpus/*/*.har; do
    base=$(basename "$har" .har)
    area=$(basename "$(dirname "$har")")
    awk -v out="$out" -v stem="${area}_${base}" '
        /^--- / { name = substr($0, 5); file = ""
                  if (name !~ /^</) { gsub(/[\/.]/, "_", name); file = out "/" stem "_" name }
                  next }
        file != "" { print > file }
    ' "$har"
done
cp "$here"/../std/lib/std/*.vx "$out"/
echo "seeded $(ls "$out" | wc -l) files into $out"
