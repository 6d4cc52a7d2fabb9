"""`kerasgen train FAMILY`: train a model and write its folder."""

import os
import pathlib

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


def data_options(epochs, max_shift, learning_rate=1e-3, batch_size=128):
    """Options of every family: data, schedule, output; the arguments are this family's defaults."""
    return [
        click.option(
            "--data",
            "data_source",
            default="mnist",
            show_default=True,
            help="mnist (embedded 9,000 training digits), uci, digits (uci and mnist together), tfds:NAME "
            "or an image folder.",
        ),
        click.option("--epochs", type=click.IntRange(min=1), default=epochs, show_default=True),
        click.option("--batch-size", type=click.IntRange(min=1), default=batch_size, show_default=True),
        click.option(
            "--learning-rate", type=click.FloatRange(min=0, min_open=True), default=learning_rate, show_default=True
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
        click.option(
            "--overwrite", is_flag=True, help="Replace a model already in --out (or restart its unfinished run)."
        ),
        *run_options(),
    ]


def run_options():
    """Options of every family: checkpoints, determinism, distribution."""
    return [
        click.option(
            "--checkpoint-every",
            type=click.IntRange(min=1),
            default=200,
            show_default=True,
            help="Steps between checkpoints (one is also written after every epoch). "
            "Rerunning a command resumes its unfinished run.",
        ),
        click.option(
            "--deterministic",
            is_flag=True,
            help="Deterministic TensorFlow ops: a resumed run ends with the weights of an uninterrupted one.",
        ),
        click.option(
            "--mixed-precision",
            is_flag=True,
            help="Compute in bfloat16 (CPU) or float16 with loss scaling (GPU); variables stay float32.",
        ),
        click.option(
            "--jit-compile/--no-jit-compile",
            default=None,
            help="Compile the train step with XLA [default: measured per family].",
        ),
        click.option(
            "--strategy",
            type=click.Choice(["default", "mirrored", "multiworker"]),
            default="default",
            show_default=True,
            help="tf.distribute: mirrored over all local GPUs/devices, or multiworker from TF_CONFIG.",
        ),
    ]


def with_options(options):
    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def common_options(epochs, latent_dim, max_shift, architecture="conv", hidden_units="512", filters="32,64"):
    """Options of the autoencoder families; the arguments are this family's defaults."""

    def decorate(command):
        options = data_options(epochs, max_shift) + [
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
        ]
        return with_options(options)(command)

    return decorate


def run(family, out, **options):
    from kerasgen.cli import resolved_command
    from kerasgen.training import train

    out = out or f"runs/{family}"
    context = click.get_current_context()
    context.params["out"] = out
    folder = train(family, out, command=resolved_command(context), **options)
    if folder is None:
        click.echo("Worker done (the chief writes the model folder).")
        return
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


@train.command()
@with_options(data_options(epochs=30, max_shift=0, learning_rate=2e-4, batch_size=64))
@click.option("--latent-dim", type=click.IntRange(min=1), default=64, show_default=True)
@click.option(
    "--loss",
    type=click.Choice(["non_saturating", "minimax", "least_squares", "hinge", "wasserstein"]),
    default="non_saturating",
    show_default=True,
    help="Adversarial loss (wasserstein: WGAN-GP).",
)
@click.option(
    "--d-steps",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Discriminator updates per generator update.",
)
@click.option("--conditional", is_flag=True, help="Class-conditional GAN (needs labelled data).")
@click.option(
    "--generator-filters",
    callback=parse_widths,
    default="128,64",
    show_default=True,
    help="Widest first; one upsampling each.",
)
@click.option("--discriminator-filters", callback=parse_widths, default="64,128", show_default=True)
@click.option("--label-smoothing", type=click.FloatRange(min=0, max=1, max_open=True), default=0.0, show_default=True)
@click.option(
    "--ema-decay",
    type=click.FloatRange(min=0, max=1, max_open=True),
    default=0.999,
    show_default=True,
    help="Moving average of the generator's weights used for sampling (0: off).",
)
def gan(out, loss, d_steps, conditional, **options):
    """Train a DCGAN (add --conditional for a class-conditional one) on the embedded MNIST digits."""
    run("gan", out, loss=loss, d_steps=d_steps, num_classes=10 if conditional else 0, **options)


@train.command()
@with_options(data_options(epochs=15, max_shift=2))
@click.option("--filters", callback=parse_widths, default="32,64", show_default=True, help="Filters per conv block.")
@click.option("--feature-units", type=click.IntRange(min=1), default=128, show_default=True)
def classifier(out, **options):
    """Train the digit classifier the zoo measures generated digits with."""
    run("classifier", out, **options)


@train.command()
@click.option(
    "--data",
    "data_source",
    default="digits",
    show_default=True,
    help="digits (embedded: UCI digits -> MNIST digits), a folder with trainA/ trainB/ testA/ testB/, "
    "or tfds:cycle_gan/NAME (e.g. tfds:cycle_gan/horse2zebra).",
)
@click.option("--epochs", type=click.IntRange(min=1), default=2, show_default=True)
@click.option(
    "--steps-per-epoch", type=click.IntRange(min=1), default=None, help="[default: larger domain / batch size]"
)
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=2e-4, show_default=True)
@click.option(
    "--decay-epochs",
    type=click.IntRange(min=0),
    default=None,
    help="Epochs of linear decay to 0 at the end [default: half of --epochs].",
)
@click.option("--image-size", type=click.IntRange(min=8), default=32, show_default=True)
@click.option("--channels", type=click.Choice(["1", "3"]), default=None, help="[default: 1 for digits, 3 otherwise]")
@click.option("--augment/--no-augment", default=None, help="Resize-crop-flip jitter [default: on for photos].")
@click.option("--generator", type=click.Choice(["resnet", "unet"]), default="resnet", show_default=True)
@click.option("--generator-filters", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--residual-blocks", type=click.IntRange(min=0), default=None, help="[default: 6 up to 128 px, 9 above]")
@click.option("--discriminator-filters", type=click.IntRange(min=1), default=32, show_default=True)
@click.option(
    "--loss",
    type=click.Choice(["least_squares", "non_saturating", "minimax", "hinge"]),
    default="least_squares",
    show_default=True,
)
@click.option("--lambda-cycle", type=click.FloatRange(min=0), default=10.0, show_default=True)
@click.option(
    "--lambda-identity",
    type=click.FloatRange(min=0),
    default=0.5,
    show_default=True,
    help="Identity loss weight as a multiple of --lambda-cycle (0: off).",
)
@click.option("--pool-size", type=click.IntRange(min=0), default=50, show_default=True)
@click.option(
    "--semantic-classifier",
    callback=lambda ctx, param, value: str(pathlib.Path(value).resolve()) if value and os.path.isdir(value) else value,
    default=None,
    help="Zoo entry or model folder of a Classifier for CyCADA's semantic-consistency loss "
    "(e.g. classifier.digits) [default: none].",
)
@click.option("--lambda-semantic", type=click.FloatRange(min=0), default=1.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(), default=None, help="Output folder [default: runs/cyclegan].")
@click.option("--overwrite", is_flag=True, help="Replace a model already in --out (or restart its unfinished run).")
@with_options(run_options())
@click.option(
    "--export-base",
    type=click.Path(file_okay=False),
    default="saved_models",
    show_default=True,
    help="At the end, export a SavedModel for TF Serving to EXPORT_BASE/NAME/VERSION/ (NAME: the --out folder's).",
)
@click.option("--no-export", is_flag=True, help="Do not export a SavedModel.")
def cyclegan(out, generator, channels, export_base, no_export, **options):
    """Train a CycleGAN (default: UCI digits <-> MNIST digits, 32x32, about 10 minutes on 2 CPU cores)."""
    from kerasgen.cli import resolved_command
    from kerasgen.training import train_cyclegan

    out = out or "runs/cyclegan"
    context = click.get_current_context()
    context.params["out"] = out
    folder = train_cyclegan(
        out,
        generator=generator,
        channels=int(channels) if channels else None,
        command=resolved_command(context),
        **options,
    )
    if folder is None:
        click.echo("Worker done (the chief writes the model folder and the export).")
        return
    click.echo(f"Model folder: {folder}  (samples: {folder / 'samples.png'})")
    if options["data_source"] == "digits":
        from kerasgen import evaluation
        from kerasgen.errors import UserError

        try:
            click.echo(f"Held-out digits: {evaluation.cyclegan_summary(folder)}")
        except UserError as error:
            click.echo(f"Held-out digits not measured: {error}")
    if not no_export:
        from kerasgen import export
        from kerasgen.errors import UserError
        from kerasgen.files import cannot_write

        try:
            version = export.export(folder, base=export_base)
        except OSError as error:  # e.g. a full disk while writing the SavedModel; the export cleaned up after itself
            raise UserError(cannot_write(export_base, error)) from None
        click.echo(f"SavedModel: {version}/  (signatures translate_a2b, translate_b2a, *_uint8, *_png)")
        click.echo(f"Serve it with: {export.docker_command(version)}")
    click.echo(f"Next: kerasgen translate {folder} IMAGE_OR_FOLDER --direction a2b -o translated/")
