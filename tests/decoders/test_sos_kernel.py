"""scipy's compiled SOS loop, loaded without ``scipy.signal``; the public fallback if it moved."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import types

import numpy as np
import pytest
from scipy.signal import butter, sosfilt, sosfilt_zi

from decoders import sos_kernel


def test_filter_modules_load_the_kernel_without_scipy_signal() -> None:
    code = (
        "import json, sys\n"
        "import decoders.bandpass, decoders.highpass, decoders.notch, decoders.spikes\n"
        "import decoders.bandpower, decoders.resample\n"
        "from decoders.sos_kernel import KERNEL\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('scipy.'))\n"
        "print(json.dumps([KERNEL.__module__, loaded]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    kernel_module, loaded = json.loads(out.stdout)
    assert kernel_module == sos_kernel.PRIVATE_MODULE
    assert sos_kernel.PRIVATE_MODULE in loaded
    assert "scipy.signal" not in loaded
    assert not [m for m in loaded if m.startswith(("scipy.fft", "scipy.special", "scipy.linalg"))]


def test_the_kernel_is_scipys_own_loop_and_filters_in_place() -> None:
    from scipy.signal._sosfilt import _sosfilt  # a second import finds the same module

    assert sos_kernel.KERNEL is _sosfilt
    sos = butter(4, [8.0, 30.0], btype="bandpass", fs=250.0, output="sos")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 500))
    zi0 = sosfilt_zi(sos)[None] * x[:, :1, None]  # (n_signals, n_sections, 2)
    expected, zf = sosfilt(sos, x, axis=-1, zi=np.moveaxis(zi0, 1, 0))
    work, state = x.copy(), np.ascontiguousarray(zi0)
    sos_kernel.KERNEL(np.ascontiguousarray(sos), work, state)
    np.testing.assert_allclose(work, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(state, np.moveaxis(zf, 0, 1), rtol=1e-12, atol=1e-12)


def test_a_scipy_without_the_private_loop_falls_back_to_sosfilt_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A scipy release whose extension module no longer holds the loop under that name.
    moved = types.ModuleType(sos_kernel.PRIVATE_MODULE)
    monkeypatch.setitem(sys.modules, sos_kernel.PRIVATE_MODULE, moved)
    assert sos_kernel.load_private_kernel() is None
    with caplog.at_level(logging.WARNING, logger=sos_kernel.__name__):
        kernel = sos_kernel._choose_kernel()
    assert kernel is sos_kernel.sosfilt_public
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "scipy.signal.sosfilt" in caplog.records[0].getMessage()
