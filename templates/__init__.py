"""Templates as a data package (`notifier.templates`): see notifier/resources.py."""
