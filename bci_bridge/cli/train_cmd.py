"""``bci-bridge train RECIPE.toml``: train, export to ONNX with a manifest, check, report."""

from __future__ import annotations

import argparse
import sys

from bci_bridge.cli.common import write_json
from bci_bridge.errors import ConfigError

__all__ = ["run"]


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
