"""The command-line interface (the top layer: it may import devices, decoders and runtime).

LSL: commands use the user's LSL configuration like every LSL app (``LSLAPICFG`` when set,
else liblsl's own search and defaults; see :mod:`bci_bridge.lsl_config`). Only ``demo`` and
``bench``, local by nature, point LSL at the shipped loopback-only ``lsl_api.cfg`` themselves.

Math libraries run one thread (unless the user says otherwise), set here, on import of the CLI
package, before numpy starts: the modules' matrices are tiny, and a BLAS thread pool waking up
on each call costs more than the work (a 64-channel band-power step measured 58 us on one
thread, 322 us with OpenBLAS's default pool).
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
