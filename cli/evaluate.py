"""`kerasgen evaluate NAME_OR_DIR`: measure a model's quality on held-out data."""

import json

import click


@click.command()
@click.argument("name_or_dir")
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=None,
    help="Importance samples per image for a VAE's likelihood [default: 500]; VAEs only.",
)
@click.option(
    "--test-images",
    type=click.IntRange(min=1),
    default=None,
    help="Measure a fixed subset of this many test images [default: all]; e.g. a VAE with --samples 5000.",
)
@click.option(
    "--update-card",
    is_flag=True,
    help="Store the figures and this command in the card; with --test-images, beside its figures (subset_metrics).",
)
def evaluate(name_or_dir, samples, test_images, update_card):
    """Print quality figures of a zoo entry or model folder as JSON."""
    from kerasgen import evaluation, zoo
    from kerasgen.cli import resolved_command
    from kerasgen.files import write_atomically

    if update_card and samples is not None and samples < evaluation.CARD_MIN_SAMPLES:
        raise click.BadParameter(
            f"a card's likelihood needs at least {evaluation.CARD_MIN_SAMPLES} samples", param_hint="'--samples'"
        )
    figures = evaluation.evaluate(name_or_dir, samples=samples, test_images=test_images)
    figures["command"] = resolved_command(click.get_current_context())
    click.echo(json.dumps(figures, indent=2))
    if update_card:
        path = zoo.card_path(name_or_dir)
        card = json.loads(path.read_text())
        if test_images is None:
            card["metrics"] = figures
            for goal in card.get("goals", []):
                if goal["figure"] in figures:
                    goal["met"] = zoo.goal_met(goal, figures)
        else:
            others = [kept for kept in card.get("subset_metrics", []) if kept["command"] != figures["command"]]
            card["subset_metrics"] = [*others, figures]
        write_atomically(path, json.dumps(card, indent=2) + "\n")
        click.echo(f"Updated {path}")
