#!/bin/sh
# Run every shipped recipe's full search (as README's recipe table was made) and print the
# table: bci-bridge train per recipe, reports in ${OUT:-out/recipes}, then recipe_table.py.
# Usage: sh examples/recipes/train_all.sh    (380 to 410 s with 2 jobs on the 2-core development
# machine, nothing else running)
set -e
here=$(dirname "$0")
out=${OUT:-out/recipes}
jobs=${JOBS:-2}
mkdir -p "$out"
for recipe in "$here"/*.toml; do
    name=$(basename "$recipe" .toml)
    bci-bridge train "$recipe" --out "$out/$name.onnx" --report "$out/$name.json" --jobs "$jobs"
done
python "$here/recipe_table.py" "$out"/*.json
