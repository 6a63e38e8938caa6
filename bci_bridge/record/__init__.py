"""Crash-safe recording of LSL streams to XDF: the writer and the recorder."""
