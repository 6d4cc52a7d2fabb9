"""`kerasgen sample NAME_OR_DIR -n 64 -o grid.png`: a grid of what a model makes."""

import click


@click.command()
@click.argument("name_or_dir")
@click.option("-n", "--count", type=click.IntRange(min=1, max=4096), default=64, show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="grid.png", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--manifold", is_flag=True, help="For a 2-d latent space: decode a grid of it (-n is the grid's side).")
def sample(name_or_dir, count, output, seed, manifold):
    """Write a PNG grid: samples of a generative model, reconstructions of an autoencoder."""
    from kerasgen import imaging, zoo

    model = zoo.load(name_or_dir)
    if manifold:
        click.echo(f"Wrote {imaging.save_grid(imaging.latent_manifold(model, count), output, count, scale=1)}")
        return
    click.echo(f"Wrote {imaging.save_preview(model, zoo.card(name_or_dir), output, count, seed)}")
