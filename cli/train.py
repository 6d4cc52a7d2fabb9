"""`kerasgen train FAMILY`: train a model and write its folder."""

import click


def parse_widths(ctx, param, value):
    """'1000,500,250' -> (1000, 500, 250)."""
    try:
        widths = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from None
    if not widths or min(widths) < 1:
        raise click.BadParameter(f"widths must be positive integers, got {value!r}")
    return widths


def common_options(epochs, latent_dim, max_shift, architecture="conv", hidden_units="512", filters="32,64"):
    """Options every family shares; the arguments are this family's defaults."""

    def decorate(command):
        options = [
            click.option(
                "--data",
                "data_source",
                default="mnist",
                show_default=True,
                help="mnist (embedded 9,000 training digits), uci, tfds:NAME or an image folder.",
            ),
            click.option("--epochs", type=click.IntRange(min=1), default=epochs, show_default=True),
            click.option("--batch-size", type=click.IntRange(min=1), default=128, show_default=True),
            click.option(
                "--learning-rate", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True
            ),
            click.option("--latent-dim", type=click.IntRange(min=1), default=latent_dim, show_default=True),
            click.option(
                "--architecture", type=click.Choice(["dense", "conv"]), default=architecture, show_default=True
            ),
            click.option(
                "--hidden-units",
                callback=parse_widths,
                default=hidden_units,
                show_default=True,
                help="Dense widths, outermost first, comma-separated (conv uses the last).",
            ),
            click.option(
                "--filters",
                callback=parse_widths,
                default=filters,
                show_default=True,
                help="Filters of the stride-2 convolutions, comma-separated (conv only).",
            ),
            click.option("--image-size", type=click.IntRange(min=4), default=28, show_default=True),
            click.option(
                "--max-shift",
                type=click.IntRange(min=0),
                default=max_shift,
                show_default=True,
                help="Augment by shifting training images up to this many pixels.",
            ),
            click.option("--seed", type=int, default=0, show_default=True),
            click.option("--out", type=click.Path(), default=None, help="Output folder [default: runs/FAMILY]."),
            click.option("--overwrite", is_flag=True, help="Replace a model already in --out."),
        ]
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def run(family, out, **options):
    from kerasgen.cli import resolved_command
    from kerasgen.training import train

    out = out or f"runs/{family}"
    context = click.get_current_context()
    context.params["out"] = out
    folder = train(family, out, command=resolved_command(context), **options)
    click.echo(f"Model folder: {folder}  (samples: {folder / 'samples.png'})")
    click.echo(f"Next: kerasgen evaluate {folder}  |  kerasgen sample {folder} -o grid.png")


@click.group()
def train():
    """Train a model; writes a folder that `evaluate`, `sample` and `kerasgen.zoo.load` accept."""


@train.command()
@common_options(epochs=20, latent_dim=30, max_shift=2)
@click.option(
    "--loss",
    type=click.Choice(["binary_crossentropy", "squared_error"]),
    default="binary_crossentropy",
    show_default=True,
    help="Reconstruction loss.",
)
def autoencoder(out, loss, latent_dim, architecture, **options):
    """Train an AutoEncoder (default: 30-d code, on the embedded MNIST digits)."""
    run("autoencoder", out, latent_dim=latent_dim, architecture=architecture, reconstruction_loss=loss, **options)


@train.command()
@common_options(epochs=20, latent_dim=32, max_shift=0)
@click.option(
    "--beta",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Weight of the KL term (1 = VAE, other values = beta-VAE).",
)
def vae(out, beta, latent_dim, architecture, **options):
    """Train a variational autoencoder on binarized digits."""
    run("vae", out, latent_dim=latent_dim, architecture=architecture, beta=beta, **options)
