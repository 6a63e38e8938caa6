#!/usr/bin/env bash
# Install the peer frameworks that `bci-bridge bench --peers` compares against, each in its
# own virtual environment under .venv-peers/ (or $BCI_BRIDGE_PEERS_DIR), from PyPI.
#
#   bash benchmarks/peers/setup.sh            # both peers
#   bash benchmarks/peers/setup.sh ezmsg      # only one
#
# Idempotent: a venv whose marker file holds this recipe's version is left alone (delete the
# folder to reinstall). Peers are optional; `bench --peers` runs only those whose venv exists.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
root="${BCI_BRIDGE_PEERS_DIR:-$repo/.venv-peers}"
python="${PYTHON:-python3}"
peers=("$@")
[ ${#peers[@]} -eq 0 ] && peers=(timeflux ezmsg)

# Timeflux's LSL nodes need pylsl 1.16 (1.18 removed resolve_stream), but pylsl 1.16 wheels
# ship no liblsl: the relay loads the liblsl of the project's own pylsl 1.18 (PYLSL_LIB),
# which `bench --peers` passes to it; here we only check that the pair imports.
find_liblsl() {
    local py="$repo/.venv/bin/python"
    [ -x "$py" ] || py="$python"
    "$py" - <<'PY'
import pathlib, pylsl
lib = sorted(pathlib.Path(pylsl.__file__).parent.joinpath("lib").glob("liblsl.so*"))
print(lib[0] if lib else "")
PY
}

# The marker holds this recipe's version: a venv made by an older recipe (without onnxruntime,
# for the decode scenario) is made again. bci_bridge/bench_extras/peers/venv.py checks it too.
recipe=2

make_venv() {  # name, pip requirements...
    local name="$1"; shift
    local venv="$root/$name"
    if [ "$(cat "$venv/.bci-bridge-peer-ok" 2>/dev/null)" = "$recipe" ]; then
        echo "$name: already installed in $venv"
        return
    fi
    echo "$name: installing into $venv"
    rm -rf "$venv"
    mkdir -p "$root"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet "$@"
}

for peer in "${peers[@]}"; do
    case "$peer" in
        timeflux)
            # timeflux-dsp 0.3.4 hands DataFrames to scipy.signal.welch, which scipy >= 1.15
            # and pandas 3 no longer accept: pin the last pair it works with.
            make_venv timeflux "timeflux==0.17.2" "timeflux-dsp==0.3.4" "pylsl==1.16.2" \
                "pandas==2.3.3" "scipy==1.13.1" "onnxruntime==1.32.0"
            liblsl="$(find_liblsl)"
            if [ -z "$liblsl" ]; then
                echo "timeflux: no liblsl found in the project's pylsl; install the project first" >&2
                exit 1
            fi
            PYLSL_LIB="$liblsl" "$root/timeflux/bin/python" -c \
                "import pylsl, onnxruntime, timeflux, timeflux_dsp.nodes.filters, timeflux_dsp.nodes.spectral; print('timeflux', timeflux.__version__, 'with liblsl', pylsl.library_version())"
            echo "$recipe" > "$root/timeflux/.bci-bridge-peer-ok"
            ;;
        ezmsg)
            # ezmsg-sigproc 3.11 requires ezmsg>=3.10.0b5, a pre-release: pin it explicitly.
            make_venv ezmsg "ezmsg==3.10.0b5" "ezmsg-sigproc==3.11.1" "ezmsg-lsl==1.17.1" \
                "onnxruntime==1.32.0"
            "$root/ezmsg/bin/python" -c \
                "import onnxruntime, ezmsg.core, ezmsg.sigproc.butterworthfilter, ezmsg.sigproc.spectrum, ezmsg.lsl; print('ezmsg ok')"
            echo "$recipe" > "$root/ezmsg/.bci-bridge-peer-ok"
            ;;
        *)
            echo "unknown peer: $peer (known: timeflux ezmsg)" >&2
            exit 2
            ;;
    esac
done
