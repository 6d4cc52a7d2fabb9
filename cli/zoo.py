"""`kerasgen zoo list|info`: the registry of pretrained models."""

import json

import click


@click.group()
def zoo():
    """Browse the pretrained models."""


@zoo.command("list")
def list_entries():
    """A table of entries with their headline figure."""
    from kerasgen import families
    from kerasgen import zoo as registry

    rows = [("name", "class", "data", "headline figure")]
    for name in registry.list():
        card = registry.card(name)
        key, label = families.headline_of(card)
        value = card.get("metrics", {}).get(key)
        figure = f"{label}: {value}" if value is not None else "not measured"
        rows.append((name, card["class"], f"{card['data']['dataset']} {card['data']['split']}", figure))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@zoo.command()
@click.argument("name")
def info(name):
    """The whole card of an entry (or model folder) as JSON."""
    from kerasgen import zoo as registry

    click.echo(json.dumps(registry.card(name), indent=2))
