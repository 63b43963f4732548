"""The one prefix of every Redis key the service writes; each domain names its keys in its `keys.py`,
and the keys that belong to no domain are named here."""

PREFIX = "notifier:"

#: A small sealed value (no personal data) that proves NOTIFIER_DATA_KEY opens the stored data
#: (`notifier/app/key_canary.py`); it belongs to no domain.
DATA_KEY_CANARY = f"{PREFIX}data-key-canary"

#: The SCAN cursor of an unfinished `notifier reseal` (`notifier/app/reseal.py`), so that a run that
#: was stopped continues where it stopped; it belongs to no domain either.
RESEAL_CURSOR = f"{PREFIX}reseal:cursor"
