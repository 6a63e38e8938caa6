#!/bin/sh
# TRAIN-only cross-validation of the random-convolution family beyond the shipped search, 5 x 5
# shuffled folds. The recipe is copied without its `test` line, so no TEST score is computed:
# these runs inform the next search, they choose nothing.
#
#   sh benchmarks/minirocket_train_cv.sh              MiniRocket: PPV + ridge, 2016 to 8064
#                                                     features (past the one-window budget) at
#                                                     32, 64 and 128 Hz (about 10 minutes)
#   sh benchmarks/minirocket_train_cv.sh multirocket  MultiRocket: PPV, MPV, MIPV and LSPV on the
#                                                     series and its first difference + ridge,
#                                                     672 to 2016 features at 64 and 128 Hz
#                                                     (about 10 minutes)
set -e
here=$(dirname "$0")
stage=${1:-minirocket}
out=${OUT:-out/minirocket_train_cv}
mkdir -p "$out"
recipe="$out/scp1_minirocket_train_only.toml"
grep -v '^test = ' "$here/../examples/recipes/scp1_minirocket.toml" > "$recipe"
# aeon: paths do not depend on the recipe's folder, so the copy reads the same TRAIN file.
# Each rate gets its own run (data.sfreq set to one value) so every rate's rows are reported;
# max_window_us=inf lifts the one-window budget, so counts past it are cross-validated too.
if [ "$stage" = minirocket ]; then
    for rate in 64 32 128; do
        bci-bridge train "$recipe" --out "$out/sfreq$rate.onnx" --report "$out/sfreq$rate.json" \
            --jobs 2 --set "data.sfreq=$rate" --set 'decoder.features=[2016, 4032, 8064]' \
            --set 'decoder.max_window_us=inf' \
            --set 'decoder.pooling=[["ppv"]]' --set 'decoder.differences=false' \
            --set 'decoder.classifier="ridge"'
    done
elif [ "$stage" = multirocket ]; then
    for rate in 64 128; do
        bci-bridge train "$recipe" --out "$out/multi$rate.onnx" --report "$out/multi$rate.json" \
            --jobs 2 --set "data.sfreq=$rate" --set 'decoder.features=[672, 1344, 2016]' \
            --set 'decoder.max_window_us=inf' \
            --set 'decoder.pooling=[["ppv", "mpv", "mipv", "lspv"]]' \
            --set 'decoder.differences=true' --set 'decoder.classifier="ridge"'
    done
else
    echo "usage: sh $0 [minirocket|multirocket]" >&2
    exit 2
fi
