"""The command-line interface (the top layer: it may import devices, decoders and runtime).

Unless the user has pointed ``LSLAPICFG`` at an LSL config of their own, every command keeps
LSL on this machine with the shipped loopback-only ``lsl_api.cfg``. This must happen before
liblsl first reads its config, hence here, on import of the CLI package.
"""

import os
from pathlib import Path

if not os.environ.get("LSLAPICFG"):
    os.environ["LSLAPICFG"] = str(Path(__file__).resolve().parent.parent / "lsl_api.cfg")
