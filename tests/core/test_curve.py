"""CURVE keys and the loopback rule: key files, the [security] table, refusals and their text.

Nothing here binds an address off loopback: a refusal happens before any socket is bound, and
``--insecure`` is accepted by the validation functions (and by ``run --check`` on an input,
which connects nothing).
"""

from __future__ import annotations

import shlex
import socket
import stat
import textwrap
from pathlib import Path
from typing import Any

import pytest
import zmq

from bci_bridge.bridge import BridgeConfig
from bci_bridge.cli import keys_args
from bci_bridge.cli.keys_cmd import write_key_pair
from bci_bridge.cli.main import main
from bci_bridge.config import load_pipeline
from bci_bridge.curve import (
    ServerKeys,
    is_loopback,
    load_allowed,
    load_public,
    load_secret,
    require_keys,
)
from bci_bridge.curve_config import transport_problems
from bci_bridge.errors import ConfigError


@pytest.mark.parametrize(
    ("endpoint", "loopback"),
    [
        ("ipc:///tmp/eeg", True),
        ("inproc://eeg", True),
        ("tcp://127.0.0.1:5555", True),
        ("tcp://127.4.5.6:5555", True),
        ("tcp://localhost:5555", True),
        ("tcp://[::1]:5555", True),
        ("tcp://*:5555", False),
        ("tcp://0.0.0.0:5555", False),
        ("tcp://[::]:5555", False),
        ("tcp://10.231.0.1:5555", False),
        ("tcp://eeg-host.example:5555", False),
        ("tcp://eth0:5555", False),
    ],
)
def test_what_is_loopback(endpoint: str, loopback: bool) -> None:
    assert is_loopback(endpoint) is loopback


@pytest.mark.parametrize("endpoint", ["tcp://0.0.0.0:5555", "tcp://*:5555", "tcp://10.1.2.3:5"])
def test_off_loopback_without_keys_is_refused_with_the_fix(endpoint: str) -> None:
    with pytest.raises(ConfigError) as err:
        require_keys(endpoint, keyed=False, insecure=False, flags="--server-key F", key="endpoint")
    text = str(err.value)
    assert text.startswith(f"endpoint: {endpoint} is not loopback")
    assert "bci-bridge keys NAME" in text
    assert "--server-key F" in text
    assert "--insecure" in text
    assert len(text.splitlines()) == 1
    require_keys(endpoint, keyed=True, insecure=False, flags="")
    require_keys(endpoint, keyed=False, insecure=True, flags="")


def test_the_bridge_refuses_before_binding_and_accepts_insecure() -> None:
    with pytest.raises(ConfigError, match=r"tcp://0\.0\.0\.0:5599 is not loopback"):
        BridgeConfig(name="x", endpoint="tcp://0.0.0.0:5599")
    config = BridgeConfig(name="x", endpoint="tcp://0.0.0.0:5599", insecure=True)
    assert config.insecure
    BridgeConfig(name="x", endpoint="tcp://127.0.0.1:5599")  # loopback: no keys needed


def test_keys_writes_a_pair_that_loads_and_never_overwrites(tmp_path: Path) -> None:
    public, secret = write_key_pair("bridge", tmp_path / "k")
    assert (public.name, secret.name) == ("bridge.key", "bridge.key_secret")
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    pub, (pub2, sec) = load_public(public), load_secret(secret)
    assert pub == pub2
    assert len(pub) == len(sec) == 40
    assert zmq.utils.z85.decode(pub) != zmq.utils.z85.decode(sec)
    names = sorted(p.name for p in (tmp_path / "k").iterdir())
    assert names == ["bridge.key", "bridge.key_secret"]  # no staging folder left
    with pytest.raises(ConfigError, match="exists; keep it, pick another NAME, or overwrite"):
        write_key_pair("bridge", tmp_path / "k")
    assert load_secret(secret) == (pub, sec)  # untouched
    write_key_pair("bridge", tmp_path / "k", force=True)
    assert load_public(public) != pub


def test_keys_command_prints_where_and_how(tmp_path: Path, capsys: Any) -> None:
    assert main(["keys", "runtime", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'runtime.key'}" in out
    assert "--server-key" in out
    assert "--client-keys" in out
    assert "--server-public-key" in out
    assert main(["keys", "runtime", "--dir", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["keys", "runtime", "--dir", str(tmp_path), "--force"]) == 0


def test_bad_key_files_are_named(tmp_path: Path) -> None:
    public, _ = write_key_pair("a", tmp_path)
    with pytest.raises(ConfigError, match=r"nope\.key_secret: key file not found"):
        load_secret(tmp_path / "nope.key_secret")
    with pytest.raises(ConfigError, match=r"a\.key: holds no secret key \(this is a public key"):
        load_secret(public)
    junk = tmp_path / "junk.key"
    junk.write_text("hello\n")
    with pytest.raises(ConfigError, match=r"junk\.key: not a CURVE certificate"):
        load_public(junk)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match=r"empty: no allowed client keys"):
        load_allowed(empty)
    with pytest.raises(ConfigError, match="not a folder of allowed client keys"):
        load_allowed(public)
    (empty / "a.key").write_bytes(public.read_bytes())
    assert load_allowed(empty) == {load_public(public)}


def _keys(tmp_path: Path) -> None:
    for name in ("runtime", "bridge", "app"):
        write_key_pair(name, tmp_path / "keys")
    (tmp_path / "keys" / "clients").mkdir()
    (tmp_path / "keys" / "clients" / "app.key").write_bytes(
        (tmp_path / "keys" / "app.key").read_bytes()
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _pipeline(tmp_path: Path, extra: str = "", *, out: str = "") -> Path:
    out = out or f"tcp://127.0.0.1:{_free_port()}"
    path = tmp_path / "p.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            [pipeline]
            name = "c"
            [[inputs]]
            stream = "eeg"
            endpoint = "tcp://10.231.0.1:5555"
            [[nodes]]
            module = "pick"
            params = {{ channels = ["C3"] }}
            [[outputs]]
            zmq = "{out}"
            """
        )
        + textwrap.dedent(extra)
    )
    return path


SECURITY = """
[security]
server_key = "keys/runtime.key_secret"
client_keys = "keys/clients"
client_key = "keys/runtime.key_secret"
server_public_key = "keys/bridge.key"
"""


def test_security_table_resolves_paths_against_the_file(tmp_path: Path) -> None:
    _keys(tmp_path)
    pipeline = load_pipeline(_pipeline(tmp_path, SECURITY))
    assert pipeline.security.server == ServerKeys(
        secret_key=tmp_path / "keys/runtime.key_secret", client_keys=tmp_path / "keys/clients"
    )
    (inp,) = pipeline.inputs
    assert inp.curve is not None
    assert inp.curve.server_public_key == tmp_path / "keys/bridge.key"
    assert transport_problems(pipeline) == []


def test_an_input_can_pin_its_own_bridge(tmp_path: Path) -> None:
    _keys(tmp_path)
    write_key_pair("bridge2", tmp_path / "keys")
    path = _pipeline(tmp_path, SECURITY)
    text = path.read_text().replace(
        'endpoint = "tcp://10.231.0.1:5555"',
        'endpoint = "tcp://10.231.0.1:5555"\nserver_public_key = "keys/bridge2.key"',
    )
    path.write_text(text)
    (inp,) = load_pipeline(path).inputs
    assert inp.curve is not None
    assert inp.curve.server_public_key == tmp_path / "keys/bridge2.key"
    assert inp.curve.client_key == tmp_path / "keys/runtime.key_secret"  # from [security]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[security]\nserver_key = "keys/runtime.key_secret"\n', "security.client_keys: "),
        (
            '[security]\nserver_key = "keys/nope.key_secret"\nclient_keys = "keys/clients"\n',
            "nope.key_secret: key file not found",
        ),
        ('[security]\nclient_key = "keys/runtime.key_secret"\n', "security.server_public_key: "),
        (
            '[security]\nclient_key = "keys/runtime.key"\nserver_public_key = "keys/bridge.key"\n',
            "runtime.key: holds no secret key",
        ),
        ("[security]\nserver = 1\n", "security.server: unknown key"),
    ],
)
def test_bad_security_tables_name_file_and_key(tmp_path: Path, table: str, message: str) -> None:
    _keys(tmp_path)
    path = _pipeline(tmp_path, table)
    with pytest.raises(ConfigError) as err:
        load_pipeline(path)
    assert str(err.value).startswith(str(path))
    assert message in str(err.value)


def test_run_check_refuses_plain_tcp_off_loopback(tmp_path: Path, capsys: Any) -> None:
    # Output on every interface, input on another host, no keys: both refused, nothing bound.
    path = _pipeline(tmp_path, out="tcp://0.0.0.0:5999")
    assert main(["run", str(path), "--check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert err[0].startswith(f"bci-bridge run: error: {path}: inputs[0].endpoint: ")
    assert "tcp://10.231.0.1:5555 is not loopback and has no CURVE keys" in err[0]
    assert "client_key and server_public_key" in err[0]
    assert f"{path}: outputs[0].zmq: tcp://0.0.0.0:5999 is not loopback" in err[1]
    assert "[security] server_key and client_keys" in err[1]
    for line in err:
        assert "bci-bridge keys NAME" in line
        assert "run --insecure (or insecure = true in [pipeline])" in line


def test_insecure_accepts_plain_tcp_off_loopback(tmp_path: Path, capsys: Any) -> None:
    path = _pipeline(tmp_path, out="tcp://0.0.0.0:5999")
    pipeline = load_pipeline(path)
    assert len(transport_problems(pipeline)) == 2
    assert transport_problems(pipeline, insecure=True) == []
    flagged = load_pipeline(path, ["pipeline.insecure=true"])
    assert flagged.insecure
    assert transport_problems(flagged) == []
    # run --check --insecure on a loopback output (an input connects nothing): ok.
    loop = _pipeline(tmp_path)
    assert main(["run", str(loop), "--check"]) == 2
    assert main(["run", str(loop), "--check", "--insecure"]) == 0
    assert f"{loop}: ok" in capsys.readouterr().out


def test_run_check_accepts_keys(tmp_path: Path, capsys: Any) -> None:
    _keys(tmp_path)
    path = _pipeline(tmp_path, SECURITY)
    assert main(["run", str(path), "--check"]) == 0
    assert f"{path}: ok" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "flags"),
    [
        (["bridge", "--name", "x", "--endpoint", "tcp://0.0.0.0:5599"], "--server-key"),
        (["top", "tcp://10.231.0.1:5560", "--once", "--timeout", "1"], "--server-public-key"),
    ],
    ids=["bridge", "top"],
)
def test_commands_refuse_plain_tcp_off_loopback_in_one_line(
    argv: list[str], flags: str, capsys: Any
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"bci-bridge {argv[0]}: error: ")
    assert "is not loopback and has no CURVE keys" in err
    assert flags in err
    assert "--insecure" in err


def test_key_flags_go_in_pairs_and_name_bad_files(tmp_path: Path, capsys: Any) -> None:
    write_key_pair("b", tmp_path)
    assert main(["bridge", "--name", "x", "--server-key", str(tmp_path / "b.key_secret")]) == 2
    assert "--server-key and --client-keys go together" in capsys.readouterr().err
    argv = ["bridge", "--name", "x", "--server-key", str(tmp_path / "b.key")]
    assert main([*argv, "--client-keys", str(tmp_path)]) == 2
    assert "b.key: holds no secret key" in capsys.readouterr().err


def test_the_keys_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for example in keys_args.EXAMPLES:
        argv = shlex.split(example)[1:]
        assert main(argv) == 0, example
        load_secret(tmp_path / "keys" / f"{argv[1]}.key_secret")
