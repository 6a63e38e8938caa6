"""The on-device runtime: receive frames, run the module graph within budgets, publish results."""
