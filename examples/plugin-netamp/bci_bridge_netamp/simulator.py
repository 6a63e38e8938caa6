"""The amplifier, simulated: packets of sines and noise sent over UDP at the sample rate."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np

from bci_bridge_netamp.packet import encode

__all__ = ["AmpSimulator"]


class AmpSimulator(threading.Thread):
    """Send ``chunk_size``-sample packets to ``address`` in real time, until :meth:`stop`.

    Channel ``k`` carries a (8 + k) Hz sine of 20 microvolts plus 2 microvolts of white noise.

    Parameters
    ----------
    address : tuple of (str, int)
        Where the driver listens (host, UDP port).
    n_channels : int
        Channels per sample.
    sfreq : float
        Sample rate in Hz.
    chunk_size : int
        Samples per packet.
    seed : int
        Seed of the noise.
    """

    def __init__(
        self, address: tuple[str, int], n_channels: int, sfreq: float, chunk_size: int, seed: int
    ) -> None:
        super().__init__(name="netamp-simulator", daemon=True)
        self._address = address
        self._n = n_channels
        self._sfreq = sfreq
        self._chunk = chunk_size
        self._rng = np.random.default_rng(seed)
        self._halt = threading.Event()
        self.packets_sent = 0

    def stop(self) -> None:
        """Stop sending and wait for the thread to end."""
        self._halt.set()
        if self.is_alive():
            self.join(5.0)

    def run(self) -> None:
        """Send packets on the sample clock (catching up, never skipping, after a late wake)."""
        freqs = 8.0 + np.arange(self._n)
        period = self._chunk / self._sfreq
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            start = time.perf_counter()
            index = 0
            while not self._halt.is_set():
                due = start + (self.packets_sent + 1) * period
                delay = due - time.perf_counter()
                if delay > 0 and self._halt.wait(delay):
                    break
                t = (index + np.arange(self._chunk))[:, None] / self._sfreq
                samples = 20.0 * np.sin(2 * np.pi * freqs[None, :] * t)
                samples += self._rng.normal(0.0, 2.0, samples.shape)
                sock.sendto(encode(self.packets_sent, samples.astype(np.float32)), self._address)
                self.packets_sent += 1
                index += self._chunk
