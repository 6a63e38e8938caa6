"""Which cores a block's processes may run on: the same placement for every chain of a scenario.

On a machine with few cores, where the scheduler puts a chain against the producer (the same
core or the other one) changes its wake-up latency and CPU from one block to the next: on this
2-vCPU VM, relay-64x250's per-block ratios to the floor split into two groups, about 0.85 and
about 1.45, by that lottery. A one-process chain (relay, wearable) is therefore pinned to all
cores but the last, the same for bci-bridge, the floor and the peers, and the harness (producer,
client) left free: in two full runs each, relay-64x250's per-block p50 ratios spread over
0.67-1.27 so, against 0.81-1.54 with nothing pinned and 0.49-2.73 with the harness pinned to
the last core as well. Multi-process chains (bridge, worker) need every core and stay free.
"""

from __future__ import annotations

from dataclasses import dataclass

from bci_bridge.bench.scenarios import Scenario

__all__ = ["Placement", "placement"]


@dataclass(frozen=True, slots=True)
class Placement:
    """Core sets for ``os.sched_setaffinity``; None leaves a process free.

    Attributes
    ----------
    chain : frozenset of int or None
        The chain's processes (their children inherit it).
    harness : frozenset of int or None
        The producer and the client.
    """

    chain: frozenset[int] | None = None
    harness: frozenset[int] | None = None

    def describe(self) -> str:
        """One line for the JSON and the log: which cores each side runs on."""

        def cores(s: frozenset[int] | None) -> str:
            return "any core" if s is None else "core(s) " + ",".join(map(str, sorted(s)))

        return f"chain on {cores(self.chain)}, producer and client on {cores(self.harness)}"


def placement(scenario: Scenario, *, cpus: int | None, pin: bool, n_cpus: int) -> Placement:
    """Return where a block of ``scenario`` runs.

    Parameters
    ----------
    scenario : Scenario
        The scenario.
    cpus : int or None
        ``--cpus``: pin the chain to the first ``cpus`` cores, the harness free (as given).
    pin : bool
        Pin a one-process chain to all cores but the last (the harness stays free).
    n_cpus : int
        Cores of this machine.
    """
    if cpus is not None:
        return Placement(chain=frozenset(range(cpus)))
    if pin and scenario.one_process and n_cpus >= 2:
        return Placement(chain=frozenset(range(n_cpus - 1)))
    return Placement()
