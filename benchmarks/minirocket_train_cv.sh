#!/bin/sh
# TRAIN-only cross-validation of MiniRocket beyond the shipped search: more features (past the
# one-window budget) and other rates, PPV + ridge, 5 x 5 shuffled folds. The recipe is copied
# without its `test` line, so no TEST score is computed: these runs inform the next search,
# they choose nothing. Usage: sh benchmarks/minirocket_train_cv.sh   (about 10 minutes)
set -e
here=$(dirname "$0")
out=${OUT:-out/minirocket_train_cv}
mkdir -p "$out"
recipe="$out/scp1_minirocket_train_only.toml"
grep -v '^test = ' "$here/../examples/recipes/scp1_minirocket.toml" > "$recipe"
# aeon: paths do not depend on the recipe's folder, so the copy reads the same TRAIN file.
for rate in 64 32 128; do
    bci-bridge train "$recipe" --out "$out/sfreq$rate.onnx" --report "$out/sfreq$rate.json" \
        --jobs 2 --set "data.sfreq=$rate" --set 'decoder.features=[2016, 4032, 8064]' \
        --set 'decoder.pooling=[["ppv"]]' --set 'decoder.differences=false' \
        --set 'decoder.classifier="ridge"'
done
