"""The exception and warning types the tracker raises for anything a user can fix."""


class TrackerError(Exception):
    """Bad input or an unusable database; the message says what to do."""


class RejectedData(TrackerError):
    """The database refused a value it was given (not the connection, the lock or the disk)."""


class TrackerWarning(UserWarning):
    """Something went wrong without losing data: values kept in memory or set aside."""
