"""Learned parts of answering: the features of a candidate answer and the reader model
that scores them (trained by ``python -m train.reader``, shipped in ``models/``)."""
