"""`kerasgen export NAME_OR_DIR --base saved_models/`: a SavedModel version that TF Serving loads."""

import click

from kerasgen.cli import OutputPath


@click.command()
@click.argument("name_or_dir", required=False)
@click.option(
    "--base",
    type=OutputPath(file_okay=False),
    default="saved_models",
    show_default=True,
    help="Folder of served models; the export goes to BASE/NAME/VERSION/.",
)
@click.option("--name", help="The model's name for TF Serving [default: the entry's or the folder's name].")
@click.option("--version", type=click.IntRange(min=1), help="Version number [default: the next free one].")
@click.option("--overwrite", is_flag=True, help="Replace an existing --version (atomically).")
@click.option(
    "--max-request-pixels",
    type=click.IntRange(min=1, max=2**40),
    help="Pixel budget of one request to an image-bytes signature (a CycleGAN's *_png): its images together, "
    "frames included, each at least the model's size; larger requests are refused before decoding "
    "[default: 4194304, one 2048x2048 image].",
)
@click.option(
    "--serving-config",
    type=OutputPath(dir_okay=False),
    help="Write a TF Serving models.config naming every model under --base to this file.",
)
@click.option(
    "--config-root",
    help="The --base folder as the server sees it, for --serving-config (e.g. /models in Docker) "
    "[default: the absolute path of --base].",
)
def export(name_or_dir, base, name, version, overwrite, max_request_pixels, serving_config, config_root):
    """Export a zoo entry or model folder as a SavedModel for TF Serving, or write a models.config.

    \b
    kerasgen export vae.mnist --base saved_models/        -> saved_models/vae.mnist/1/
    kerasgen export --serving-config saved_models/models.config --base saved_models/ --config-root /models
    """
    if name_or_dir is None and serving_config is None:
        raise click.UsageError("Give a zoo entry or model folder to export, or --serving-config FILE.")
    if name_or_dir is None and (name or version or overwrite or max_request_pixels):
        raise click.UsageError(
            "--name, --version, --overwrite and --max-request-pixels need a zoo entry or model folder to export."
        )
    from kerasgen import export as exporting
    from kerasgen.errors import UserError
    from kerasgen.files import cannot_write

    if name_or_dir is not None:
        try:
            path = exporting.export(
                name_or_dir,
                base=base,
                name=name,
                version=version,
                overwrite=overwrite,
                max_request_pixels=max_request_pixels,
            )
        except OSError as error:  # e.g. a full disk while writing the SavedModel; the export cleaned up after itself
            raise UserError(cannot_write(base, error)) from None
        click.echo(f"Exported {name_or_dir} to {path}/")
        click.echo(f"Serve it with: {exporting.docker_command(path)}")
    if serving_config is not None:
        written = exporting.write_serving_config(serving_config, base, config_root)
        names = ", ".join(folder.name for folder in exporting.model_folders(base))
        click.echo(f"Wrote {written} ({names})")
