#!/usr/bin/env bash
# Install the peer frameworks that `bci-bridge bench --peers` compares against, each in its
# own virtual environment under .venv-peers/ (or $BCI_BRIDGE_PEERS_DIR), from PyPI.
#
#   bash benchmarks/peers/setup.sh            # both peers
#   bash benchmarks/peers/setup.sh ezmsg      # only one
#
# Idempotent: a venv that already has its marker file is left alone (delete the folder to
# reinstall). Peers are optional; `bench --peers` runs only those whose venv exists.
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

make_venv() {  # name, pip requirements...
    local name="$1"; shift
    local venv="$root/$name"
    if [ -f "$venv/.bci-bridge-peer-ok" ]; then
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
            make_venv timeflux "timeflux==0.17.2" "timeflux-dsp==0.3.4" "pylsl==1.16.2"
            liblsl="$(find_liblsl)"
            if [ -z "$liblsl" ]; then
                echo "timeflux: no liblsl found in the project's pylsl; install the project first" >&2
                exit 1
            fi
            PYLSL_LIB="$liblsl" "$root/timeflux/bin/python" -c \
                "import pylsl, timeflux, timeflux_dsp.nodes.filters; print('timeflux', timeflux.__version__, 'with liblsl', pylsl.library_version())"
            touch "$root/timeflux/.bci-bridge-peer-ok"
            ;;
        ezmsg)
            # ezmsg-sigproc 3.11 requires ezmsg>=3.10.0b5, a pre-release: pin it explicitly.
            make_venv ezmsg "ezmsg==3.10.0b5" "ezmsg-sigproc==3.11.1" "ezmsg-lsl==1.17.1"
            "$root/ezmsg/bin/python" -c \
                "import ezmsg.core, ezmsg.sigproc.butterworthfilter, ezmsg.lsl; print('ezmsg ok')"
            touch "$root/ezmsg/.bci-bridge-peer-ok"
            ;;
        *)
            echo "unknown peer: $peer (known: timeflux ezmsg)" >&2
            exit 2
            ;;
    esac
done
