"""Latency stage by stage: where an output's age comes from, for the metrics and the report.

An output's age (its send time on the LSL clock minus the timestamp of the newest input sample
behind it) is the sum of stages, each measured where it happens: ``arrival`` (age of the input
chunk when the runtime received it: acquisition, the bridge and the network), ``queue`` (wait
in the runtime's input queue), ``step`` of each node on the output's path, and ``send``
(encoding and handing the frame to ZeroMQ or LSL). Each stage is a histogram over all chunks
through it, so the stages' percentiles do not add up exactly; their order and size show where
the time goes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from runtime.histogram import Histogram
from runtime.input_queue import InputQueue
from runtime.node import Node

__all__ = ["merged", "output_stages", "path_to"]


def path_to(node: str, nodes: Mapping[str, Node]) -> tuple[str, list[Node]]:
    """Return the input a node reads, at the root, and the nodes from there to it, in order."""
    path: list[Node] = []
    name = node
    while name in nodes:
        path.append(nodes[name])
        name = nodes[name].config.input
    path.reverse()
    return name, path


def output_stages(
    queue: InputQueue, input_name: str, path: list[Node], send: Histogram
) -> dict[str, dict[str, float | int]]:
    """Return the stages of one output, in path order, each as ``Histogram.summary_ms``.

    Parameters
    ----------
    queue : InputQueue
        The queue of the input at the root of the output's path.
    input_name : str
        That input's name.
    path : list of Node
        The nodes from the input to the output's node.
    send : Histogram
        The output's send times, ns.
    """
    stages = {
        f"arrival.{input_name}": queue.arrival_age_ns.summary_ms(),
        f"queue.{input_name}": queue.wait_ns.summary_ms(),
    }
    for node in path:
        stages[f"step.{node.name}"] = node.call_ns.summary_ms()
    stages["send"] = send.summary_ms()
    return stages


def merged(hists: Iterable[Histogram]) -> Histogram:
    """Return one histogram holding the counts of all of ``hists``."""
    out = Histogram()
    for h in hists:
        out.merge(h)
    return out
