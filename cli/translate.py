"""`kerasgen translate NAME_OR_DIR INPUT... -o OUTDIR`: image-to-image translation with a CycleGAN."""

import os

import click

from kerasgen.cli import OutputPath


@click.command()
@click.argument("name_or_dir")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--direction", type=click.Choice(["a2b", "b2a"]), default="a2b", show_default=True)
@click.option("-o", "--output", type=OutputPath(file_okay=False), default="translated", show_default=True)
def translate(name_or_dir, inputs, direction, output):
    """Translate image files or folders (any size and mode); PNGs of the same size go to --output."""
    from kerasgen import imaging, zoo

    model = zoo.load(name_or_dir)
    if not hasattr(model, "translate"):
        raise click.UsageError(f"{name_or_dir} is a {type(model).__name__}; translate needs a CycleGAN.")
    written = imaging.translate_files(model, inputs, direction, output)
    click.echo(f"Wrote {len(written)} image(s) to {os.path.join(output, '')}")
