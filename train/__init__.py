"""Training of the models rag ships (``python -m train.reader``)."""
