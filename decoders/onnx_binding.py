"""Run an onnxruntime session on preallocated buffers: the model reads and writes in place.

``session.run(fetch, {feed: x})`` builds a dict, a list and a new output array on every call,
and keeps a little Python memory per call; :class:`BoundRun` binds one input and one output
buffer once (onnxruntime's ``IOBinding``), so a run allocates nothing on the Python side and
costs about half as much for small models. onnxruntime's own C++ allocations inside the run
are its business (not Python memory).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

__all__ = ["OUTPUT_DTYPES", "BoundRun"]

#: numpy dtype of each accepted output element type.
OUTPUT_DTYPES: dict[str, np.dtype[Any]] = {
    "tensor(float)": np.dtype(np.float32),
    "tensor(double)": np.dtype(np.float64),
    "tensor(float16)": np.dtype(np.float16),
}


class BoundRun:
    """One input and one output of a session bound to numpy buffers.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
        The session.
    feed, fetch : str
        Names of the input fed and the output read.
    """

    __slots__ = ("_binding", "_feed", "_fetch", "_run", "x", "y")

    def __init__(self, session: ort.InferenceSession, feed: str, fetch: str) -> None:
        self._binding = session.io_binding()
        self._run = session.run_with_iobinding
        self._feed = feed
        self._fetch = fetch
        self.x: npt.NDArray[np.float32] = np.empty(0, dtype=np.float32)
        self.y: npt.NDArray[Any] = np.empty(0, dtype=np.float32)

    def bind(self, x: npt.NDArray[np.float32], y: npt.NDArray[Any]) -> None:
        """Make :meth:`run` read ``x`` and write ``y`` (both C-contiguous; kept alive here).

        Parameters
        ----------
        x : ndarray of float32
            The input buffer, of the shape the model takes.
        y : ndarray
            The output buffer, of the shape and dtype the model gives for ``x``.
        """
        if not (x.flags.c_contiguous and y.flags.c_contiguous):
            raise ValueError("bound buffers must be C-contiguous")
        self.x, self.y = x, y
        self._binding.bind_input(self._feed, "cpu", 0, np.float32, list(x.shape), x.ctypes.data)
        self._binding.bind_output(self._fetch, "cpu", 0, y.dtype.type, list(y.shape), y.ctypes.data)

    def run(self) -> None:
        """Run the model on :attr:`x`, into :attr:`y`."""
        self._run(self._binding)
