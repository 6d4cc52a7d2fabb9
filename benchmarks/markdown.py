"""Small Markdown helpers: number formatting and tables."""


def fmt(value, digits=3):
    """A number with `digits` significant digits (thousands grouped), `-` for None, text unchanged.

    Example:
        >>> fmt(1234.5678), fmt(0.0012345), fmt(None)
        ('1,235', '0.00123', '-')
    """
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if value == 0:
        return "0"
    if abs(value) >= 10 ** (digits - 1):
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def percent(value, digits=1):
    """A fraction as a percentage, `-` for None.

    Example:
        >>> percent(0.1234)
        '12.3%'
    """
    return "-" if value is None else f"{100 * value:.{digits}f}%"


def table(headers, rows):
    """A Markdown table; cells are formatted with `fmt`, and `|` in a cell is escaped.

    Args:
        headers: column titles.
        rows: sequences as long as `headers`.

    Returns:
        The table's text, one line per row, ending with a newline.

    Example:
        >>> print(table(["a", "b"], [[1, None]]), end="")
        | a | b |
        | --- | --- |
        | 1 | - |
    """

    def line(cells):
        return "| " + " | ".join(fmt(cell).replace("|", "\\|").replace("\n", " ") for cell in cells) + " |"

    lines = [line(headers), "| " + " | ".join("---" for _ in headers) + " |"]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"A row has {len(row)} cells for {len(headers)} columns. Received: row={row}")
        lines.append(line(row))
    return "\n".join(lines) + "\n"
