"""Where a block's processes run: one placement for every chain of a scenario."""

from __future__ import annotations

from bci_bridge.bench.placement import placement
from bci_bridge.bench.scenarios import SCENARIOS


def test_a_one_process_chain_gets_all_cores_but_the_last_and_the_harness_stays_free() -> None:
    for name in ("relay-64x250", "relay-64x1000", "wearable-8x250"):
        where = placement(SCENARIOS[name], cpus=None, pin=True, n_cpus=4)
        assert where.chain == frozenset({0, 1, 2}), name
        assert where.harness is None, name
    two = placement(SCENARIOS["relay-64x250"], cpus=None, pin=True, n_cpus=2)
    assert (two.chain, two.harness) == (frozenset({0}), None)
    assert two.describe() == "chain on core(s) 0, producer and client on any core"


def test_multi_process_chains_one_core_and_no_pin_stay_free() -> None:
    for name in ("decode-64x250", "wide-1024x30000", "spikes-1024x30000"):
        where = placement(SCENARIOS[name], cpus=None, pin=True, n_cpus=2)
        assert (where.chain, where.harness) == (None, None), name
    assert placement(SCENARIOS["relay-64x250"], cpus=None, pin=True, n_cpus=1).chain is None
    free = placement(SCENARIOS["relay-64x250"], cpus=None, pin=False, n_cpus=2)
    assert (free.chain, free.harness) == (None, None)
    assert free.describe() == "chain on any core, producer and client on any core"


def test_cpus_pins_the_chain_only_as_before() -> None:
    where = placement(SCENARIOS["decode-64x250"], cpus=1, pin=True, n_cpus=2)
    assert (where.chain, where.harness) == (frozenset({0}), None)
