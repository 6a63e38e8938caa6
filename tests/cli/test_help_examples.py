"""Every example printed by a ``--help`` is real: it parses, its files exist, cheap ones run."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from bci_bridge import registry
from bci_bridge.cli import bench_args
from bci_bridge.cli.main import COMMANDS, build_parser, main

ROOT = Path(__file__).resolve().parents[2]
SPECS = COMMANDS
EXAMPLES = [
    example
    for spec in SPECS
    for attr in ("EXAMPLES", "DEVICES_EXAMPLES", "MODULES_EXAMPLES")
    for example in getattr(spec, attr, ())
]
#: Arguments that name a file the command reads (relative to the checkout).
INPUT_FILES = ("pipeline", "recipe", "compare", "base")


def _cli(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bci_bridge", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=os.environ.copy(),  # conftest set the loopback LSLAPICFG
    )


def test_every_command_shows_examples() -> None:
    assert len(EXAMPLES) >= 2 * len(SPECS)
    for spec in SPECS:
        assert spec.EXAMPLES, spec.__name__


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_parses_and_names_what_exists(example: str) -> None:
    argv = shlex.split(example)
    assert argv[0] == "bci-bridge"
    args = build_parser().parse_args(argv[1:])
    for attr in INPUT_FILES:
        value = getattr(args, attr, None)
        if value:
            assert (ROOT / value).is_file(), f"{example!r} cites {value}, which does not exist"
    if args.command == "stream":
        registry.load("device", args.device)
    if args.command in ("devices", "modules"):
        for name in args.names:
            registry.load("module" if args.command == "modules" else "device", name)
    if args.command == "bench":
        from bci_bridge.bench.scenarios import pick_scenarios

        pick_scenarios(args.scenarios)


@pytest.mark.parametrize("command", sorted({shlex.split(e)[1] for e in EXAMPLES}))
def test_help_prints_its_examples(command: str) -> None:
    parser = build_parser()
    sub = next(a for a in parser._subparsers._group_actions if a.dest == "command")  # type: ignore[union-attr]
    text = sub.choices[command].format_help()
    shown = [e for e in EXAMPLES if shlex.split(e)[1] == command]
    assert "examples:" in text
    for example in shown:
        assert example in text


LISTING = [e for e in EXAMPLES if shlex.split(e)[1] in ("list", "devices", "modules")]
CHECKS = [e for e in EXAMPLES if shlex.split(e)[1] == "run"]
STREAMS = [e for e in EXAMPLES if shlex.split(e)[1] == "stream"]


@pytest.mark.parametrize("example", LISTING)
def test_listing_examples_run(example: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(shlex.split(example)[1:]) == 0
    out = capsys.readouterr().out
    assert "devices" in out or "modules" in out


@pytest.mark.parametrize("example", CHECKS)
def test_run_examples_validate(
    example: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = shlex.split(example)[1:]
    if "--check" not in argv:
        argv.append("--check")  # without a source it would wait; --check validates it all
    monkeypatch.chdir(ROOT)  # the examples name files from the top of the checkout
    assert main(argv) == 0
    assert ": ok: " in capsys.readouterr().out


@pytest.mark.parametrize("example", STREAMS)
def test_stream_examples_run(example: str, tmp_path: Path, stream_name: str) -> None:
    argv = [*shlex.split(example)[1:], "--name", stream_name]  # a name no parallel test uses
    result = _cli(argv, tmp_path)  # a process of its own: it installs signal handlers
    assert result.returncode == 0, result.stderr
    assert "sent " in result.stderr
    if "--summary" in argv:
        assert (tmp_path / argv[argv.index("--summary") + 1]).is_file()


def test_bench_help_names_every_scenario_without_importing_the_harness() -> None:
    from bci_bridge.bench.scenarios import SCENARIOS

    assert tuple(SCENARIOS) == bench_args.SCENARIO_NAMES
