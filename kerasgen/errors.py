"""Errors that mean the user asked for something that cannot be done.

The CLI prints them as one line and exits with status 2; library callers can
catch them as `ValueError`.
"""


class UserError(ValueError):
    """A mistake in what the user asked for: a bad name, path or value."""


def first_line(error):
    """The first non-empty line of `error`'s message, or its type's name: the reason a one-line error quotes.

    Example:
        >>> first_line(ValueError("decay_epochs is out of range\\nmore detail"))
        'decay_epochs is out of range'
    """
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
