"""Module plugins: filters, features, the generic ONNX decoder, and decoder training."""
