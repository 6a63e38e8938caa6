"""Arguments of ``bci-bridge train``, declared without importing the code that runs it."""

from __future__ import annotations

from typing import Any

from bci_bridge.cli.help_text import with_examples

__all__ = ["EXAMPLES", "add_parser"]

EXAMPLES: tuple[str, ...] = (
    "bci-bridge train examples/recipes/scp1_segment_means.toml --out scp1.onnx --report scp1.json",
    "bci-bridge train examples/recipes/scp1_slow_and_gamma.toml --out scp1.onnx --jobs 2",
    "bci-bridge train examples/recipes/scp1_segment_means.toml --out quick.onnx "
    "--set cv.repeats=1 --set decoder.segments=[7,28]",
    "bci-bridge train examples/recipes/scp1_continuous.toml --out hop.onnx --jobs 2",
)


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "train",
        **with_examples(EXAMPLES),
        help="train a decoder from a recipe and export it to ONNX",
        description="Read labelled trials, choose among the decoders a recipe describes by "
        "repeated cross-validation on the training trials only, refit the choice on all of "
        "them, score the test set once, export the whole decoder (window -> probabilities) to "
        "ONNX with a manifest, check the export against Python on held-out data, time it, and "
        "write a report.",
    )
    p.add_argument("recipe", help="recipe TOML file")
    p.add_argument("--out", required=True, metavar="MODEL.onnx", help="where to write the model")
    p.add_argument("--report", metavar="REPORT.json", help="write the report as JSON")
    p.add_argument(
        "--base",
        metavar="BASE.onnx",
        help="fine-tune this model (made by bci-bridge train) on the recipe's data",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="worker processes for the model search (default 1)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        dest="overrides",
        metavar="KEY=VALUE",
        help="edit the recipe before it is validated, KEY dotted, VALUE in TOML "
        "(e.g. --set cv.repeats=1 --set 'decoder.segments=[7, 28]'); repeatable",
    )
    p.add_argument(
        "--pipeline",
        metavar="PIPELINE.toml",
        help="also write a pipeline that runs the model on each marker's window (a recipe "
        "with [windows]: on the sliding window, every hop)",
    )
    p.set_defaults(handler="bci_bridge.cli.train_cmd:run")
