"""`kerasgen sample NAME_OR_DIR -n 64 -o grid.png`: a grid of what a model makes."""

import click

from kerasgen.cli import OutputPath

MANIFOLD_SIDE_MAX = 64  # a grid of 4,096 images, -n's own limit


def parse_labels(ctx, param, value):
    """'3' or '0,1,2' -> (3,) or (0, 1, 2); None stays None."""
    if value is None:
        return None
    try:
        labels = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated class numbers, got {value!r}") from None
    if min(labels) < 0:
        raise click.BadParameter(f"class numbers are not negative, got {value!r}")
    return labels


@click.command()
@click.argument("name_or_dir")
@click.option("-n", "--count", type=click.IntRange(min=1, max=4096), default=64, show_default=True)
@click.option("-o", "--output", type=OutputPath(dir_okay=False), default="grid.png", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--manifold", is_flag=True, help="For a 2-d latent space: decode a grid of it (-n is the grid's side).")
@click.option(
    "--labels",
    callback=parse_labels,
    help="Conditional GAN: classes to generate, comma-separated, repeated to fill -n (e.g. 7 or 0,1,2).",
)
@click.option(
    "--interpolate",
    type=click.IntRange(min=2),
    default=None,
    help="GAN: rows of this many images along straight lines in latent space (-n rows).",
)
def sample(name_or_dir, count, output, seed, manifold, labels, interpolate):
    """Write a PNG grid: samples of a generative model, reconstructions of an autoencoder."""
    import numpy as np

    from kerasgen import imaging, zoo

    model = zoo.load(name_or_dir)
    if manifold and not hasattr(model, "manifold"):
        raise click.UsageError(f"--manifold is for VAEs; {name_or_dir} is a {type(model).__name__}.")
    if manifold and count > MANIFOLD_SIDE_MAX:
        raise click.BadParameter(
            f"with --manifold, -n is the grid's side: at most {MANIFOLD_SIDE_MAX}", param_hint="'-n'"
        )
    if (labels or interpolate) and not hasattr(model, "generate"):
        raise click.UsageError("--labels and --interpolate are for GANs.")
    if labels and not model.num_classes:
        raise click.BadParameter("this GAN is not conditional", param_hint="'--labels'")
    if labels and max(labels) >= model.num_classes:
        raise click.BadParameter(f"classes go from 0 to {model.num_classes - 1}", param_hint="'--labels'")
    if manifold:
        click.echo(f"Wrote {imaging.save_grid(model.manifold(count), output, count, scale=1)}")
    elif interpolate:
        rows = [
            model.interpolate(interpolate, seed=seed + row, label=row % max(1, model.num_classes))
            for row in range(count)
        ]
        click.echo(f"Wrote {imaging.save_grid(np.concatenate([np.asarray(row) for row in rows]), output, interpolate)}")
    elif labels:
        requested = [labels[index % len(labels)] for index in range(count)]
        columns = len(labels) if count % len(labels) == 0 and len(labels) > 1 else None
        click.echo(f"Wrote {imaging.save_grid(model.generate(count, labels=requested, seed=seed), output, columns)}")
    else:
        click.echo(f"Wrote {imaging.save_preview(model, zoo.card(name_or_dir), output, count, seed)}")
