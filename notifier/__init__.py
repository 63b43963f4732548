"""notifier: messages and notifications for Finnish public-private employment pilots."""
