"""The compiled loop that runs a second-order-sections filter, loaded without ``scipy.signal``.

scipy's :func:`scipy.signal.sosfilt` is argument checks and copies around a compiled loop,
``scipy.signal._sosfilt._sosfilt``, which filters in place. Called directly it costs ~5 us per
chunk instead of ~60-85 us (the checks and copies dominate small chunks). Importing it the
usual way runs ``scipy/signal/__init__.py`` first, which imports all of ``scipy.signal``
(~70 MB and most of a second in a fresh interpreter): more than the rest of the runtime. So
the extension module is found and executed on its own, after the light ``scipy`` package
init (~2 MB): :func:`load_private_kernel`. ``python -X importtime`` and ``sys.modules`` of
a runtime then show ``scipy``, a few of its ``scipy._lib`` helpers and
``scipy.signal._sosfilt``, and no ``scipy.signal`` (``tests/cli/test_run_without_scipy_signal.py``).

If a scipy release moves or renames the private loop, :data:`KERNEL` falls back to the public
:func:`scipy.signal.sosfilt` (:func:`sosfilt_public`, the same numbers, slower, and the whole
``scipy.signal`` import), with one warning in the log.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import os
import sys
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

__all__ = ["KERNEL", "Kernel", "load_private_kernel", "sosfilt_public"]

_F64 = npt.NDArray[np.float64]
#: ``kernel(sos, x, zi)`` filters ``x`` (n_signals, n_samples) in place, updating ``zi``
#: (n_signals, n_sections, 2) in place; all float64 and C-contiguous.
Kernel = Callable[[_F64, _F64, _F64], None]

#: The extension module that holds the compiled loop, and the loop's name in it.
PRIVATE_MODULE = "scipy.signal._sosfilt"
PRIVATE_NAME = "_sosfilt"

_log = logging.getLogger(__name__)


def sosfilt_public(sos: _F64, x: _F64, zi: _F64) -> None:
    """Filter in place, as the private kernel does, through public :func:`scipy.signal.sosfilt`.

    Imports ``scipy.signal`` on first use.

    Parameters
    ----------
    sos : ndarray, shape (n_sections, 6)
        The filter.
    x : ndarray, shape (n_signals, n_samples)
        Signals, overwritten with the filtered signals.
    zi : ndarray, shape (n_signals, n_sections, 2)
        Filter state, updated in place.
    """
    from scipy.signal import sosfilt

    y, zf = sosfilt(sos, x, axis=-1, zi=np.moveaxis(zi, 1, 0))
    x[...] = y
    zi[...] = np.moveaxis(zf, 0, 1)


def load_private_kernel() -> Kernel | None:
    """Return scipy's compiled SOS loop without importing ``scipy.signal``, or None.

    Returns
    -------
    callable or None
        ``_sosfilt(sos, x, zi)`` (see :data:`Kernel`); None if scipy has no such extension
        module or loop (then use :func:`sosfilt_public`).
    """
    module = sys.modules.get(PRIVATE_MODULE)
    if module is None:
        try:
            import scipy
        except ImportError:
            return None
        folders = [os.path.join(folder, "signal") for folder in scipy.__path__]
        spec = importlib.machinery.PathFinder.find_spec(PRIVATE_MODULE, folders)
        if spec is None or spec.loader is None:
            return None
        module = importlib.util.module_from_spec(spec)
        # Registered like a normal import, so that a later ``import scipy.signal`` (training,
        # tests) reuses this module instead of initialising the extension a second time.
        sys.modules[PRIVATE_MODULE] = module
        try:
            spec.loader.exec_module(module)
        except ImportError:
            del sys.modules[PRIVATE_MODULE]
            return None
    kernel: Kernel | None = getattr(module, PRIVATE_NAME, None)
    return kernel


def _choose_kernel() -> Kernel:
    kernel = load_private_kernel()
    if kernel is not None:
        return kernel
    _log.warning(
        "scipy's compiled SOS loop (%s.%s) was not found: filters run through the public "
        "scipy.signal.sosfilt instead (same output, slower per chunk, and it imports all "
        "of scipy.signal)",
        PRIVATE_MODULE,
        PRIVATE_NAME,
    )
    return sosfilt_public


#: The loop every SOS filter module runs: scipy's private compiled loop when it is there.
KERNEL: Kernel = _choose_kernel()
