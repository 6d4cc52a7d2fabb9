"""Errors that mean the user asked for something that cannot be done.

The CLI prints them as one line and exits with status 2; library callers can
catch them as `ValueError`.
"""


class UserError(ValueError):
    """A mistake in what the user asked for: a bad name, path or value."""
