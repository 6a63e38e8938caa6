"""The ``netamp`` device: read an amplifier's UDP packets, hand out timestamped chunks."""

from __future__ import annotations

import math
import socket
from dataclasses import dataclass

import numpy as np

from bci_bridge.errors import ConfigError
from bci_bridge.lsl import local_clock
from bci_bridge.stream import Chunk, StreamInfo
from bci_bridge_netamp.packet import HEADER, PacketError, decode
from bci_bridge_netamp.simulator import AmpSimulator

__all__ = ["NetAmp", "NetAmpConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NetAmpConfig:
    """Settings of :class:`NetAmp`.

    Parameters
    ----------
    host : str
        Address to listen on for the amplifier's UDP packets.
    port : int
        UDP port to listen on (0: any free port; only useful with ``simulate``).
    n_channels : int
        Channels the amplifier sends (>= 1).
    sfreq : float
        The amplifier's sample rate in Hz (> 0).
    chunk_size : int
        Samples per packet (>= 1); the simulator sends packets of this size.
    name : str
        LSL stream name.
    simulate : bool
        Also start the simulated amplifier, sending to the port listened on.
    seed : int
        Seed of the simulator's noise.
    """

    host: str = "127.0.0.1"
    port: int = 0
    n_channels: int = 8
    sfreq: float = 250.0
    chunk_size: int = 10
    name: str = "NetAmp"
    simulate: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"must be a UDP port (0-65535), got {self.port}", key="port")
        if self.n_channels < 1:
            raise ConfigError(f"must be >= 1, got {self.n_channels}", key="n_channels")
        if not (math.isfinite(self.sfreq) and self.sfreq > 0):
            raise ConfigError(f"must be a rate > 0 Hz, got {self.sfreq}", key="sfreq")
        if not 1 <= self.chunk_size <= 4096:
            raise ConfigError(f"must be 1 to 4096, got {self.chunk_size}", key="chunk_size")
        if not self.name:
            raise ConfigError("must not be empty", key="name")


class NetAmp:
    """A network amplifier that sends UDP packets of float32 samples (simulated on request)."""

    Config = NetAmpConfig

    def __init__(self, config: NetAmpConfig) -> None:
        self.config = config
        self._info = StreamInfo(
            name=config.name,
            type="EEG",
            channel_names=tuple(f"ch{i + 1}" for i in range(config.n_channels)),
            sfreq=config.sfreq,
            dtype="float32",
            source_id=f"netamp-{config.name}",
            channel_units=("microvolts",) * config.n_channels,
        )
        self._sock: socket.socket | None = None
        self._sim: AmpSimulator | None = None
        self._buf = bytearray(HEADER.size + 4 * 4096 * config.n_channels)
        self._next_seq = 0
        self._last_ts = -math.inf
        self._seq = 0
        self.packets_lost = 0
        self.packets_malformed = 0

    def info(self) -> StreamInfo:
        """Describe the stream (available before :meth:`open`)."""
        return self._info

    def open(self) -> None:
        """Listen on the UDP port; start the simulator if asked."""
        cfg = self.config
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind((cfg.host, cfg.port))
        self._sock = sock
        if cfg.simulate:
            address = sock.getsockname()
            self._sim = AmpSimulator(address, cfg.n_channels, cfg.sfreq, cfg.chunk_size, cfg.seed)
            self._sim.start()

    def read(self, timeout: float) -> Chunk | None:
        """Return the next packet's samples, or None if none came within ``timeout`` s.

        Each sample is stamped on the LSL clock: the newest at the packet's arrival, the
        others ``1 / sfreq`` apart before it, and never before the previous packet's last
        sample (so timestamps always increase). Lost packets (gaps in their numbers) and
        malformed ones are counted in :attr:`packets_lost` and :attr:`packets_malformed`.
        """
        if self._sock is None:
            raise RuntimeError("NetAmp.read() before open()")
        self._sock.settimeout(max(timeout, 0.0))
        try:
            size = self._sock.recv_into(self._buf)
        except TimeoutError:
            return None
        arrived = local_clock()
        try:
            seq, data = decode(memoryview(self._buf)[:size], self.config.n_channels)
        except PacketError:
            self.packets_malformed += 1
            return None
        if seq > self._next_seq:
            self.packets_lost += seq - self._next_seq
        self._next_seq = seq + 1
        n = data.shape[0]
        step = 1.0 / self.config.sfreq
        first = max(arrived - (n - 1) * step, self._last_ts + step)
        stamps = first + np.arange(n) * step
        self._last_ts = float(stamps[-1])
        self._seq += 1
        return Chunk(np.ascontiguousarray(data), stamps, self._seq - 1)

    def close(self) -> None:
        """Stop the simulator and the socket (safe to call twice)."""
        if self._sim is not None:
            self._sim.stop()
            self._sim = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
