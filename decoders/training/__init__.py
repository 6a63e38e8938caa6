"""Train decoders from labelled EEG, export them whole to ONNX with a manifest, check parity.

``bci-bridge train RECIPE.toml`` runs :func:`decoders.training.trainer.train`: read the recipe
(:mod:`.recipe`), read the trials (:mod:`bci_bridge.recordings`), filter them as the runtime
will (:mod:`.filtering`), cross-validate and fit a decoder family (:mod:`.family` and one file
per family), export it (:mod:`.export`), check ONNX against Python on held-out data, time it,
and write the report (:mod:`.report`). ``--base`` fine-tunes an exported model instead
(:mod:`.finetune`). scikit-learn is imported here, never by the runtime.
"""
