"""The one exception type the tracker raises for anything a user can fix."""


class TrackerError(Exception):
    """Bad input or an unusable database; the message says what to do."""
