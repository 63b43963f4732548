"""The one prefix of every Redis key the service writes; each domain names its keys in its `keys.py`."""

PREFIX = "notifier:"

#: A small sealed value (no personal data) that proves NOTIFIER_DATA_KEY opens the stored data
#: (`notifier/app/key_canary.py`); it belongs to no domain.
DATA_KEY_CANARY = f"{PREFIX}data-key-canary"
