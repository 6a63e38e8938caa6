"""How the LSL config in effect is found: pure file look-ups, no outlet, no inlet."""

from __future__ import annotations

from pathlib import Path

import pytest

from bci_bridge.lsl_config import DEFAULT_SESSION_ID, effective_lsl_config

SHIPPED = Path(__file__).resolve().parents[2] / "bci_bridge" / "lsl_api.cfg"


def test_without_lslapicfg_or_any_file_liblsl_defaults_apply(tmp_path: Path) -> None:
    cfg = effective_lsl_config({}, cwd=tmp_path, home=tmp_path)
    assert cfg.path is None
    assert cfg.session_id == DEFAULT_SESSION_ID == "default"
    assert not cfg.from_env
    text = cfg.describe()
    assert "liblsl defaults" in text
    assert "'default'" in text
    assert "LSLAPICFG" in text  # how to change it


def test_the_cli_no_longer_forces_the_loopback_config(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "LSLAPICFG"}
    # Without the loopback config this child must never touch liblsl: it only imports the CLI
    # and reads files; the last line checks that liblsl was not even loaded.
    code = (
        "import os, sys, bci_bridge.cli.main\n"
        "from bci_bridge.lsl_config import effective_lsl_config\n"
        "print(os.environ.get('LSLAPICFG', '<unset>'))\n"
        "print(effective_lsl_config().path)\n"
        "print('pylsl' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert lines[0] == "<unset>"
    assert lines[1] != str(SHIPPED)
    assert lines[2] == "False"  # liblsl never loaded without the loopback config


def test_lslapicfg_names_the_file_and_its_session_id() -> None:
    cfg = effective_lsl_config({"LSLAPICFG": str(SHIPPED)})
    assert cfg.path == SHIPPED
    assert cfg.from_env
    assert cfg.session_id == "bci-bridge-loopback-7f3a"
    assert str(SHIPPED) in cfg.describe()
    assert "bci-bridge-loopback-7f3a" in cfg.describe()


def test_liblsl_search_order_working_folder_then_home(tmp_path: Path) -> None:
    work, home = tmp_path / "work", tmp_path / "home"
    (home / "lsl_api").mkdir(parents=True)
    work.mkdir()
    (home / "lsl_api" / "lsl_api.cfg").write_text("[lab]\nSessionID = lab-b ; my lab\n")
    cfg = effective_lsl_config({}, cwd=work, home=home)
    assert cfg.path == home / "lsl_api" / "lsl_api.cfg"
    assert cfg.session_id == "lab-b"
    (work / "lsl_api.cfg").write_text("[ports]\nIPv6 = disable\n")
    cfg = effective_lsl_config({}, cwd=work, home=home)
    assert cfg.path == work / "lsl_api.cfg"
    assert cfg.session_id == "default"  # the file sets none


def test_an_unreadable_lslapicfg_is_ignored_like_liblsl_does_and_said(tmp_path: Path) -> None:
    missing = tmp_path / "nope.cfg"
    cfg = effective_lsl_config({"LSLAPICFG": str(missing)}, cwd=tmp_path, home=tmp_path)
    assert cfg.path is None
    assert str(missing) in cfg.describe()
    assert "not a readable file" in cfg.describe()


def test_demo_and_bench_pick_the_loopback_file_only_where_they_should(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bci_bridge.lsl import LOCAL_CONFIG, use_local_config

    mine = tmp_path / "lab.cfg"
    monkeypatch.setenv("LSLAPICFG", str(mine))
    assert use_local_config() == str(mine)  # demo: the user's choice stands
    assert use_local_config(override=True) == str(LOCAL_CONFIG)  # bench: always loopback
    # "No choice" as an empty value, never an unset variable: this is a pure environment check
    # (no outlet, no inlet), use_local_config puts the loopback file back at once, and
    # monkeypatch restores the suite's config afterwards.
    monkeypatch.setenv("LSLAPICFG", "")
    assert use_local_config() == str(LOCAL_CONFIG)  # demo without a choice: loopback
    assert LOCAL_CONFIG.resolve() == SHIPPED
