"""The command-line interface (the top layer: it may import devices, decoders and runtime).

Two process-wide settings must be made before liblsl and numpy start, hence here, on import of
the CLI package:

- Unless the user has pointed ``LSLAPICFG`` at an LSL config of their own, every command keeps
  LSL on this machine with the shipped loopback-only ``lsl_api.cfg``.
- Math libraries run one thread (unless the user says otherwise): the modules' matrices are
  tiny, and a BLAS thread pool waking up on each call costs more than the work (a 64-channel
  band-power step measured 58 us on one thread, 322 us with OpenBLAS's default pool).
"""

import os
from pathlib import Path

if not os.environ.get("LSLAPICFG"):
    os.environ["LSLAPICFG"] = str(Path(__file__).resolve().parent.parent / "lsl_api.cfg")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
