"""Logger selection with python-socketio's ``logger=`` / ``engineio_logger=`` semantics."""

from __future__ import annotations

import logging
from typing import Any


def make_logger(name: str, setting: Any) -> logging.Logger:
    """``True``: INFO and above; ``False``: WARNING and above; a Logger: used as given.

    python-socketio's default level is ERROR; ours is WARNING so that the single line
    logged for each misbehaving client reaches operators.
    """
    if isinstance(setting, logging.Logger):
        return setting
    logger = logging.getLogger(name)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO if setting else logging.WARNING)
    if not logging.root.handlers and not logger.handlers:
        logger.addHandler(logging.StreamHandler())
    return logger
