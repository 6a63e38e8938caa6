"""``bci-bridge train RECIPE.toml``: train, export to ONNX with a manifest, check, report."""

from __future__ import annotations

import argparse
import sys

from bci_bridge.cli.common import write_json

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    """Train, print progress and the scores, write the model, report and pipeline."""
    from decoders.training.pipeline_file import write_pipeline
    from decoders.training.trainer import train

    def progress(line: str) -> None:
        print(f"train: {line}", file=sys.stderr, flush=True)

    report, manifest = train(args.recipe, args.out, base=args.base, progress=progress)
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
    print(
        f"{args.out}: {report['family']}, {scores}, parity {report['parity_max_abs_diff']:.2g}, "
        f"inference p50 {report['inference_us']['p50']} us"
    )
    return 0
