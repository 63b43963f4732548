"""The one prefix of every Redis key the service writes; each domain names its keys in its `keys.py`."""

PREFIX = "notifier:"
