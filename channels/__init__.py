"""Delivery channels: one module per channel, each behind the small interface in `base.py`."""

from channels.base import Channel, PermanentFailure, TemporaryFailure

__all__ = ["Channel", "PermanentFailure", "TemporaryFailure"]
