"""The exceptions bci-bridge raises, in one tree.

::

    BciBridgeError                 anything bci-bridge raises on purpose
    ├── ConfigError                bad pipeline or plugin configuration (names file and key)
    │   └── ModelError             an ONNX model refused at load (names what is wrong)
    ├── PluginError                an entry-point name that is not installed, or a bad plugin
    ├── WireError                  a malformed ZeroMQ frame (the receiver counts and drops it)
    ├── StreamNotFoundError        no LSL stream matched within the timeout
    └── ModuleStepError            a module raised in ``step()``; carries the node name
        └── ModuleOutputError      a module's ``step()`` returned a bad chunk (0 rows, dtype...)

Every error says what was wrong and where: a file and key path for configuration, a node name
for a module, a field for a frame.
"""

from __future__ import annotations

__all__ = [
    "BciBridgeError",
    "ConfigError",
    "ModelError",
    "ModuleOutputError",
    "ModuleStepError",
    "PluginError",
    "StreamNotFoundError",
    "WireError",
]


class BciBridgeError(Exception):
    """Base class of every error bci-bridge raises on purpose."""


class ConfigError(BciBridgeError, ValueError):
    """A configuration value is wrong.

    Parameters
    ----------
    message : str
        What is wrong, in words a user can act on.
    key : str, optional
        The key path of the offending value, e.g. ``nodes[1].params.low``.
    file : str, optional
        The file the value came from.
    """

    def __init__(self, message: str, *, key: str | None = None, file: str | None = None) -> None:
        self.message = message
        self.key = key
        self.file = file
        super().__init__(self._render())

    def _render(self) -> str:
        where = ": ".join(p for p in (self.file, self.key) if p)
        return f"{where}: {self.message}" if where else self.message

    def within(self, *, key: str | None = None, file: str | None = None) -> ConfigError:
        """Return a copy located under an outer key path and/or file.

        Parameters
        ----------
        key : str, optional
            Prefix for the key path, e.g. ``nodes[1].params``.
        file : str, optional
            The file, if not already set.
        """
        joined: str | None
        if key and self.key:
            joined = f"{key}.{self.key}" if not self.key.startswith("[") else key + self.key
        else:
            joined = key or self.key
        err = type(self)(self.message, key=joined, file=self.file or file)
        err.__cause__ = self.__cause__
        return err


class ModelError(ConfigError):
    """An ONNX model was refused at load: unreadable, invalid, or not fit for the stream."""


class PluginError(BciBridgeError, LookupError):
    """A device or module name that is not installed, or a plugin that breaks the contract."""


class WireError(BciBridgeError, ValueError):
    """A ZeroMQ frame that does not match the wire format or its stream's info."""


class StreamNotFoundError(BciBridgeError, TimeoutError):
    """No LSL stream matched the query within the timeout."""


class ModuleStepError(BciBridgeError, RuntimeError):
    """A module raised inside ``step()``.

    Parameters
    ----------
    node : str
        The pipeline node whose module raised.
    """

    def __init__(self, node: str, cause: BaseException) -> None:
        self.node = node
        super().__init__(f"node {node!r} raised {type(cause).__name__}: {cause}")
        self.__cause__ = cause


class ModuleOutputError(ModuleStepError):
    """A module's ``step()`` returned an output that breaks the contract.

    Parameters
    ----------
    node : str
        The pipeline node whose module returned it.
    reason : str
        What is wrong with it (0 rows, wrong dtype or channel count, non-finite timestamps).
    """

    def __init__(self, node: str, reason: str) -> None:
        self.node = node
        self.reason = reason
        RuntimeError.__init__(self, f"node {node!r} returned a bad output: {reason}")
