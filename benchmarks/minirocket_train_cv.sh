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
#   sh benchmarks/minirocket_train_cv.sh slow         The slow potential beside the convolutions:
#                                                     2688 PPV features on both series at 64 Hz
#                                                     (near the earlier search's choice) + ridge,
#                                                     segment means over 0, 7, 14 or 28 segments,
#                                                     their block weight (slow_weight) 0.1 to 30;
#                                                     then 1344 and 2016 features with 0, 7 or
#                                                     14 segments at 64 Hz, 1344 at 128 Hz
#                                                     (about 15 minutes)
#   sh benchmarks/minirocket_train_cv.sh search       The shipped search itself, TRAIN only: its
#                                                     report (out/minirocket_train_cv/search.json)
#                                                     says how many candidates tie with the
#                                                     chosen one (cv.tied; about 5 minutes)
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
elif [ "$stage" = search ]; then
    bci-bridge train "$recipe" --out "$out/search.onnx" --report "$out/search.json" --jobs 2
elif [ "$stage" = multirocket ]; then
    for rate in 64 128; do
        bci-bridge train "$recipe" --out "$out/multi$rate.onnx" --report "$out/multi$rate.json" \
            --jobs 2 --set "data.sfreq=$rate" --set 'decoder.features=[672, 1344, 2016]' \
            --set 'decoder.max_window_us=inf' \
            --set 'decoder.pooling=[["ppv", "mpv", "mipv", "lspv"]]' \
            --set 'decoder.differences=true' --set 'decoder.classifier="ridge"'
    done
elif [ "$stage" = slow ]; then
    # PPV on both series + ridge, near the earlier search's choice; NAME, then the settings.
    slow_cv() {
        name=$1
        shift
        bci-bridge train "$recipe" --out "$out/$name.onnx" --report "$out/$name.json" --jobs 2 \
            --set 'decoder.pooling=[["ppv"]]' --set 'decoder.classifier="ridge"' \
            --set decoder.differences=true "$@"
    }
    # 2688 features at 64 Hz (the earlier choice): no segment means (slow_weight is then
    # unused), then every count with every block weight.
    slow_cv slow0 --set data.sfreq=64 --set decoder.features=2688 --set decoder.segments=0
    slow_cv slow --set data.sfreq=64 --set decoder.features=2688 \
        --set 'decoder.segments=[7, 14, 28]' \
        --set 'decoder.slow_weight=[0.1, 0.3, 1.0, 3.0, 10.0, 30.0]'
    # Fewer convolution features beside the means (a cheaper window), at 64 and 128 Hz.
    slow_cv slow_fewer --set data.sfreq=64 --set 'decoder.features=[1344, 2016]' \
        --set 'decoder.segments=[0, 7, 14]'
    slow_cv slow128 --set data.sfreq=128 --set decoder.features=1344 \
        --set 'decoder.segments=[0, 7, 14]'
else
    echo "usage: sh $0 [minirocket|multirocket|slow|search]" >&2
    exit 2
fi
