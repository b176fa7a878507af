"""The one exception type users see for bad input (DESIGN rule 6: say what was expected)."""


class InpaintkitError(ValueError):
    """Bad input or an impossible request; the message says what was expected and the choices."""
