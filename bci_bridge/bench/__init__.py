"""``bci-bridge bench``: end-to-end latency scenarios, the hand-written floor, the regression gate.

Each scenario runs in separate processes over real LSL and ZeroMQ: a producer (:mod:`.producer`)
stamps and pushes one chunk per period, the chain under test (``bci-bridge bridge`` and
``bci-bridge run``, or the hand-written floor of :mod:`.floor`, or a peer) processes it, and a
client (:mod:`.client`) records the age of every output. The runner (:mod:`.runner`)
alternates bci-bridge and the floor block by block, so both see the same machine noise;
:mod:`.report` writes the JSON and :mod:`.compare` gates on it.

What is needed only when asked lives in :mod:`bci_bridge.bench_extras` and is imported
lazily: the peers (``--peers``), the plot (``--plot``, matplotlib) and the EEGNet-style model
builder (``onnx``, for the decode scenarios).
"""
