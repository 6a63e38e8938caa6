"""Train decoders from labelled EEG, export them whole to ONNX with a manifest, check parity.

``bci-bridge train RECIPE.toml`` runs :func:`decoders.training.trainer.train`: read the recipe
(:mod:`.recipe`), read the trials (:mod:`bci_bridge.recordings`), filter them as the runtime
will (:mod:`.filtering`), expand the recipe's candidates (:mod:`.grid`), cross-validate each on
the training trials only (:mod:`.splits`, :mod:`.selection`) and refit the best (a decoder
family: :mod:`.family` and one file per family), score the test set once, export it
(:mod:`.export`), check ONNX against Python on held-out data, time it, and write the report
(:mod:`.report`). ``--base`` fine-tunes an exported model instead
(:mod:`.finetune`). scikit-learn is imported here, never by the runtime.
"""
