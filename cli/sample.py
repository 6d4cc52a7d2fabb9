"""`kerasgen sample NAME_OR_DIR -n 64 -o grid.png`: a grid of what a model makes."""

import click


@click.command()
@click.argument("name_or_dir")
@click.option("-n", "--count", type=click.IntRange(min=1, max=4096), default=64, show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="grid.png", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def sample(name_or_dir, count, output, seed):
    """Write a PNG grid: samples of a generative model, reconstructions of an autoencoder."""
    from kerasgen import imaging, zoo
    from kerasgen.training import preview_images_for

    model = zoo.load(name_or_dir)
    images = None if hasattr(model, "sample") else preview_images_for(zoo.card(name_or_dir), count)
    batch, columns = imaging.preview(model, count, seed, images)
    click.echo(f"Wrote {imaging.save_grid(batch, output, columns)}")
