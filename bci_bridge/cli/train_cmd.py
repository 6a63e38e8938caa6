"""``bci-bridge train RECIPE.toml``: train, export to ONNX with a manifest, check, report."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bci_bridge.cli.common import write_json
from bci_bridge.errors import ConfigError

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "train",
        help="train a decoder from a recipe and export it to ONNX",
        description="Read labelled trials, choose among the decoders a recipe describes by "
        "repeated cross-validation on the training trials only, refit the choice on all of "
        "them, score the test set once, export the whole decoder (window -> probabilities) to "
        "ONNX with a manifest, check the export against Python on held-out data, time it, and "
        "write a report. Example: bci-bridge train examples/recipes/scp1_segment_means.toml "
        "--out scp1.onnx --report scp1.json --jobs 2",
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
        help="also write a pipeline that runs the model on each marker's window",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train, print progress and the scores, write the model, report and pipeline."""
    from decoders.training.pipeline_file import write_pipeline
    from decoders.training.trainer import train

    def progress(line: str) -> None:
        print(f"train: {line}", file=sys.stderr, flush=True)

    if args.jobs < 1:
        raise ConfigError(f"must be >= 1, got {args.jobs}", key="--jobs")
    report, manifest = train(
        args.recipe,
        args.out,
        base=args.base,
        overrides=args.overrides,
        jobs=args.jobs,
        progress=progress,
    )
    if args.report:
        write_json(args.report, report)
        progress(f"wrote {args.report}")
    if args.pipeline:
        data = report["params"]["data"]
        write_pipeline(
            args.pipeline,
            manifest,
            args.out,
            tmin=data["tmin"] or 0.0,
            labels=tuple(data["labels"]),
        )
        progress(f"wrote {args.pipeline}")
    scores = ", ".join(
        f"{k} {report[k]}"
        for k in ("cv_accuracy", "test_accuracy", "accuracy_before", "accuracy_after")
        if report.get(k) is not None
    )
    chosen = next((r for r in report.get("selection", ()) if r["chosen"]), None)
    if chosen is not None:
        settings = " ".join(f"{k}={v}" for k, v in chosen["settings"].items())
        scores = f"chosen {settings or 'defaults'} of {len(report['selection'])}, {scores}"
    print(
        f"{args.out}: {report['family']}, {scores}, parity {report['parity_max_abs_diff']:.2g}, "
        f"inference p50 {report['inference_us']['p50']} us"
    )
    return 0
