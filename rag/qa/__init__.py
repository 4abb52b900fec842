"""Learned parts of answering: the span scorer that reads each passage against the
question (trained by ``python -m train.span``), the features of a candidate answer, and
the reader model that scores them (``python -m train.reader``); both ship in ``models/``."""
