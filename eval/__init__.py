"""Evaluation against gold files (see ../shared/gold/README.md for the format)."""
