"""Arguments of ``bci-bridge train``, declared without importing the code that runs it."""

from __future__ import annotations

from typing import Any

from bci_bridge.cli.help_text import with_examples

__all__ = ["EXAMPLES", "add_parser"]

EXAMPLES: tuple[str, ...] = (
    "bci-bridge train examples/recipes/scp1_segment_means.toml --out scp1.onnx --report scp1.json",
)


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "train",
        **with_examples(EXAMPLES),
        help="train a decoder from a recipe and export it to ONNX",
        description="Read labelled trials, cross-validate and fit the decoder a recipe names, "
        "export the whole decoder (window -> probabilities) to ONNX with a manifest, check the "
        "export against Python on held-out data, time it, and write a report.",
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
        "--pipeline",
        metavar="PIPELINE.toml",
        help="also write a pipeline that runs the model on each marker's window",
    )
    p.set_defaults(handler="bci_bridge.cli.train_cmd:run")
