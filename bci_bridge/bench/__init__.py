"""``bci-bridge bench``: end-to-end latency scenarios, the hand-written floor, the regression gate.

Each scenario runs in separate processes over real LSL and ZeroMQ: a producer (:mod:`.producer`)
stamps and pushes one chunk per period, the chain under test (``bci-bridge bridge`` and
``bci-bridge run``, or the hand-written floor of :mod:`.floor`, or a peer of :mod:`.peers`)
processes it, and a client (:mod:`.client`) records the age of every output. The runner
(:mod:`.runner`) alternates bci-bridge and the floor block by block, so both see the same
machine noise; :mod:`.report` writes the JSON, :mod:`.compare` gates on it, :mod:`.plot`
draws it.
"""
