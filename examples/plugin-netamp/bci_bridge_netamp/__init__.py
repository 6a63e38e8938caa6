"""bci-bridge-netamp: a network amplifier that sends its samples as UDP packets, as a device.

Installed, it registers the device ``netamp`` (entry point ``bci_bridge.devices``), so that
``bci-bridge stream netamp`` publishes the amplifier as an LSL outlet. Its simulator plays the
amplifier on this machine, so it runs anywhere.
"""

from bci_bridge_netamp.device import NetAmp, NetAmpConfig

__all__ = ["NetAmp", "NetAmpConfig"]
