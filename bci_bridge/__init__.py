"""bci-bridge core: stream types, wire format, config, plugin registry, LSL layer, bridge, CLI."""
