"""`kerasgen train FAMILY`: train a model and write its folder.

One subcommand per registered family (`kerasgen.families`), made when it is
first asked for. Its options are the family's recipe (data, schedule), its
exposed hyperparameters, with the model class's own constructor defaults, and
the options every run has (output, checkpoints, precision, distribution).
"""

import concurrent.futures

import click
from click import UsageError

from kerasgen.cli import OutputPath
from kerasgen.families import Option

RUN_OPTIONS = [
    click.Option(["--seed"], type=int, default=0, show_default=True, help="Seeds weights, shuffling and sampling."),
    click.Option(["--out"], type=OutputPath(), default=None, help="Output folder [default: runs/FAMILY]."),
    click.Option(
        ["--overwrite"], is_flag=True, help="Replace a model already in --out (or restart its unfinished run)."
    ),
    click.Option(
        ["--checkpoint-every"],
        type=click.IntRange(min=1),
        default=200,
        show_default=True,
        help="Steps between checkpoints (one is also written after every epoch). "
        "Rerunning a command resumes its unfinished run.",
    ),
    click.Option(
        ["--deterministic"],
        is_flag=True,
        help="Deterministic TensorFlow ops, and no XLA timing race: the same command trains the same weights, "
        "and a resumed run ends with the weights of an uninterrupted one.",
    ),
    click.Option(
        ["--mixed-precision"],
        is_flag=True,
        help="Compute in bfloat16 (CPU) or float16 with loss scaling (GPU); variables stay float32.",
    ),
    click.Option(
        ["--jit-compile/--no-jit-compile"],
        default=None,
        help="Compile the train step with XLA [default: off for --deterministic and runs under 500 steps; "
        "longer runs time it both ways and keep the faster]. The card's command records the choice.",
    ),
    click.Option(
        ["--select-every"],
        type=click.IntRange(min=0),
        default=0,
        show_default=True,
        help="Measure the family's headline figure on a fixed validation subset every N epochs and after the last, "
        "and publish the best epoch (the last stays as last.weights.h5); 0 publishes the last epoch.",
    ),
    click.Option(
        ["--strategy"],
        type=click.Choice(["default", "mirrored", "multiworker"]),
        default="default",
        show_default=True,
        help="tf.distribute: mirrored over all local GPUs/devices, or multiworker from TF_CONFIG.",
    ),
]
EXPORT_OPTIONS = [
    click.Option(
        ["--export-base"],
        type=OutputPath(file_okay=False),
        default="saved_models",
        show_default=True,
        help="At the end, export a SavedModel for TF Serving to EXPORT_BASE/NAME/VERSION/ (NAME: the --out folder's).",
    ),
    click.Option(["--no-export"], is_flag=True, help="Do not export a SavedModel."),
]


def parse_widths(ctx, param, value):
    """'1000,500,250' -> (1000, 500, 250)."""
    if value is None or isinstance(value, tuple):
        return value
    try:
        widths = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from None
    if not widths or min(widths) < 1:
        raise click.BadParameter(f"widths must be positive integers, got {value!r}")
    return widths


DATA_HELP = {
    "unpaired": "digits (embedded: UCI digits -> MNIST digits), mnist-mnistm (MNIST -> MNIST-M built from "
    "scikit-image's photographs; needs kerasgen[mnistm]), a folder with trainA/ trainB/ testA/ testB/, "
    "or tfds:cycle_gan/NAME.",
    "images": "mnist (embedded MNIST: 55,000 training digits), uci, tfds:NAME or an image folder.",
}


def common_recipe_options(family):
    """The recipe keys every family may have, described once (`Option`s; a family's `recipe_options` win)."""
    return (
        Option("data", DATA_HELP[family.data], kind="str"),
        Option("epochs", "Passes over the training data.", minimum=1),
        Option("batch_size", "Images (pairs) per step.", minimum=1),
        Option("learning_rate", "Adam's (initial) learning rate.", "float", above=0),
        Option("image_size", "Side of the square training images.", minimum=4),
        Option("max_shift", "Augment by shifting training images up to this many pixels.", minimum=0),
    )


def recipe_options(family):
    """Options for the keys of `family.recipe`, with its values as defaults."""
    described = {option.name: option for option in (*common_recipe_options(family), *family.recipe_options)}
    unknown = [key for key in family.recipe if key not in described]
    if unknown:
        raise UsageError(f"Family {family.name!r} has recipe keys without an Option in recipe_options: {unknown}.")
    return [
        click_option(described[key], default, secondary=("data",) if key == "data" else ())
        for key, default in family.recipe.items()
    ]


def hyperparameter_options(family):
    """Options for `family.options`, with their defaults (the model class's; see `kerasgen.families.Option`)."""
    return [click_option(option, option.default, secondary=(option.name,)) for option in family.options]


def click_option(option, default, secondary=()):
    """A `click.Option` for a `kerasgen.families.Option` with `default`."""
    name = f"--{option.command_line_name}"
    if option.kind == "flag":
        return click.Option([name, option.name], flag_value=option.flag_value, default=default, help=option.help)
    if option.kind == "switch":
        return click.Option([f"{name}/--no-{option.command_line_name}"], default=default, help=option.help)
    kinds = {
        "int": click.IntRange(min=option.minimum),
        "float": click.FloatRange(
            min=option.above if option.above is not None else option.minimum,
            min_open=option.above is not None,
            max=option.below,
            max_open=option.below is not None,
        ),
        "choice": click.Choice(option.choices),
        "str": str,
        "widths": str,
    }
    shown = ",".join(map(str, default)) if isinstance(default, tuple | list) else default
    return click.Option(
        [name, *secondary],
        type=kinds[option.kind],
        default=shown,
        show_default=default is not None,
        callback=parse_widths if option.kind == "widths" else None,
        help=option.help,
    )


class FamilyCommand(click.Command):
    """`kerasgen train FAMILY`, with the options of its family (made on first use)."""

    def __init__(self, family):
        super().__init__(family.name, help=family.summary, callback=self.run)
        self.family = family
        self.resolved = False

    def get_params(self, ctx):
        if not self.resolved:
            extra = EXPORT_OPTIONS if self.family.export_after_training else []
            self.params = [*recipe_options(self.family), *hyperparameter_options(self.family), *RUN_OPTIONS, *extra]
            self.resolved = True
        return super().get_params(ctx)

    def run(self, out, export_base=None, no_export=False, **options):
        from kerasgen.cli import resolved_command
        from kerasgen.training import train

        family = self.family
        out = f"runs/{family.name}" if out is None else out
        context = click.get_current_context()
        context.params["out"] = out
        if options.get("channels"):
            options["channels"] = int(options["channels"])
        folder = train(family.name, out, command=resolved_command(context), **options)
        if folder is None:
            click.echo("Worker done (the chief writes the model folder).")
            return
        click.echo(f"Model folder: {folder}  (samples: {folder / 'samples.png'})")
        exporting = family.export_after_training and not no_export
        with concurrent.futures.ThreadPoolExecutor(1) as pool:  # the export's tracing beside the figures' compute
            version = pool.submit(export_folder, folder, export_base) if exporting else None
            line = closing_line(folder)
            if version is not None:
                from kerasgen import export

                version = version.result()
                click.echo(f"SavedModel: {version}/")
                click.echo(f"Serve it with: {export.docker_command(version)}")
        if line:
            click.echo(line)
        click.echo(f"Next: kerasgen evaluate {folder}  |  kerasgen sample {folder} -o grid.png")


def closing_line(folder):
    """The trained model's closing line (its figures on held-out data), or None; measured in float32."""
    from kerasgen import zoo

    in_float32()  # measured as `kerasgen evaluate` measures it
    return zoo.load(folder).closing_line(zoo.card(folder))


def export_folder(folder, export_base):
    """Export the model folder as a SavedModel version under `export_base`; returns the version's folder."""
    from kerasgen import export
    from kerasgen.errors import UserError
    from kerasgen.files import cannot_write

    in_float32()  # exported as `kerasgen export` exports it
    try:
        return export.export(folder, base=export_base)
    except OSError as error:  # e.g. a full disk while writing the SavedModel; the export cleaned up after itself
        raise UserError(cannot_write(export_base, error)) from None


def in_float32():
    """Build models in float32 from here on in this thread (Keras keeps the dtype policy per thread), as a new
    `kerasgen` process would after a mixed-precision run."""
    import keras

    keras.mixed_precision.set_global_policy("float32")


class FamilyGroup(click.Group):
    """A subcommand per registered family."""

    def list_commands(self, ctx):
        from kerasgen import families

        return families.names()

    def get_command(self, ctx, name):
        from kerasgen import families

        return FamilyCommand(families.get(name)) if name in families.names() else None


@click.group(cls=FamilyGroup)
def train():
    """Train a model; writes a folder that `evaluate`, `sample` and `kerasgen.zoo.load` accept."""
