"""What ``bci-bridge bench`` needs only when asked: peers, plots, the EEGNet-style model builder.

Nothing in :mod:`bci_bridge.bench` (scenarios, floors, runner, gate) imports this package at
module level: :mod:`.peers` is imported for ``--peers``, :mod:`.plot` (matplotlib) for
``--plot``, and :mod:`.eegnet` (``onnx``'s graph builder) when a decode scenario needs its
model. It ships inside ``bci_bridge`` so that an installed ``bci-bridge[bench]`` can still plot
and build the model; the peers' relay scripts and their venv set-up stay in the source
checkout's ``benchmarks/peers``. ``tests/bench/test_layout.py`` guards the boundary.
"""
