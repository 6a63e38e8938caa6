"""Micro-benchmark: the segment means' MatMul in one window, one onnxruntime thread.

Run: ``.venv/bin/python benchmarks/segment_means_window.py``. Prints, for 6 channels at 224 and
448 samples (3.5 s at 64 and 128 Hz) and 1, 28 and 56 segments, the multiply-adds (thousands)
and p50 of one window through a whole segment-means decoder (three runs each, microseconds);
the growth with the multiply-adds is the ``_MEANS_US`` term of
:func:`decoders.training.minirocket.estimated_window_us`. Random windows: the cost does not
depend on the values.
"""

from __future__ import annotations

import numpy as np

from decoders.training.export import open_session, time_inference
from decoders.training.family import WindowShape
from decoders.training.segment_means import SegmentMeans, SegmentMeansConfig


def main() -> None:
    """Print one line per (samples, segments)."""
    rng = np.random.default_rng(0)
    print("samples, segments, multiply-adds (k), p50 us of three runs")
    for n_samples in (224, 448):
        X = rng.normal(0.0, 20.0, (40, 6, n_samples))
        y = np.arange(40) % 2
        for segments in (1, 28, 56):
            family = SegmentMeans(
                SegmentMeansConfig(segments=segments), WindowShape(6, n_samples, 64.0), 2
            )
            family.fit(X, y)
            session = open_session(family.to_onnx())
            p50 = [time_inference(session, X[0])["p50"] for _ in range(3)]
            macs = 6 * n_samples * segments / 1000
            print(
                f"{n_samples:4d}  {segments:3d}  {macs:6.1f}  " + " ".join(f"{t:.1f}" for t in p50)
            )


if __name__ == "__main__":
    main()
