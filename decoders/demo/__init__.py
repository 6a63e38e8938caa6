"""The demo decoder: its pipeline, its committed model, and the code that makes the model."""
