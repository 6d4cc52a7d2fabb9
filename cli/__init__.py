"""The `kerasgen` command line.

Subcommands live in their own modules and are imported only when used; none
of them imports TensorFlow at module level, so `kerasgen --help` stays fast.
User mistakes print one line (`Error: ...`) and exit with status 2.
"""

import atexit
import contextlib
import importlib
import os
import shlex
import sys

import click

from kerasgen.errors import UserError

COMMANDS = {
    "train": ("kerasgen.cli.train", "train"),
    "evaluate": ("kerasgen.cli.evaluate", "evaluate"),
    "sample": ("kerasgen.cli.sample", "sample"),
    "translate": ("kerasgen.cli.translate", "translate"),
    "zoo": ("kerasgen.cli.zoo", "zoo"),
    "export": ("kerasgen.cli.export", "export"),
}


class OutputPath(click.Path):
    """A `click.Path` for what a command writes: an empty string is refused instead of meaning the current folder."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            self.fail("must not be empty.", param, ctx)
        return super().convert(value, param, ctx)


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (click docs, "Lazily Loading Subcommands")."""

    def __init__(self, *args, lazy_commands=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands or {}

    def list_commands(self, ctx):
        return sorted([*super().list_commands(ctx), *self.lazy_commands])

    def get_command(self, ctx, name):
        if name in self.lazy_commands:
            module, attribute = self.lazy_commands[name]
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Run the command; print user mistakes as one line and exit 2."""
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:
            click.echo(error.ctx.get_help())
            sys.exit(0)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except click.ClickException as error:
            click.echo(f"Error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except UserError as error:
            click.echo(f"Error: {error}", err=True)
            sys.exit(2)
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)


def resolved_command(ctx, skip=("overwrite", "update_card")):
    """The command line that repeats this invocation, with every option spelled out.

    Example:
        >>> resolved_command(click.get_current_context())
        'kerasgen train vae --data mnist --epochs 20 ...'
    """
    words = ["kerasgen", *ctx.command_path.split()[1:]]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if param.name in skip or value is None:
            continue
        if isinstance(param, click.Argument):
            words.append(str(value))
            continue
        if getattr(param, "is_flag", False) and not param.is_bool_flag:  # e.g. --conditional sets num_classes=10
            if value == param.flag_value:
                words.append(max(param.opts, key=len))
            continue
        if value is False:
            if getattr(param, "secondary_opts", None):
                words.append(param.secondary_opts[0])
            continue
        words.append(max(param.opts, key=len))
        if value is not True:
            words.append(",".join(map(str, value)) if isinstance(value, tuple) else str(value))
    return shlex.join(words)


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kerasgen")
@click.option(
    "--tf-logs",
    is_flag=True,
    envvar="KERASGEN_TF_LOGS",
    help="Show TensorFlow's own start-up and C++ log lines (hidden by default).",
)
def cli(tf_logs):
    """kerasgen: AutoEncoder, VAE, GAN and CycleGAN for Keras 3, with a zoo of measured models."""
    if not tf_logs:
        from kerasgen.quiet import silence_tensorflow_import

        silence_tensorflow_import()


def main():
    """The `kerasgen` command: TensorFlow's oneDNN kernels on unless `TF_ENABLE_ONEDNN_OPTS` says otherwise
    (`kerasgen.onednn`), then the command line, then `leave`."""
    from kerasgen.onednn import prefer_onednn

    prefer_onednn()
    try:
        cli(prog_name="kerasgen")
    except SystemExit as ending:
        leave(ending.code)


def leave(code):
    """End the process with `code` (as `sys.exit` takes it) once the exit handlers have run and the output is
    flushed, without the interpreter's teardown: with TensorFlow loaded that takes about 2 s (its native
    destructors) and writes nothing. Without TensorFlow, a plain `sys.exit`."""
    if "tensorflow" not in sys.modules:
        sys.exit(code)
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()  # what a normal exit runs first: logging's shutdown, temporary folders' cleanup
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):  # a reader that went away (`| head`)
            stream.flush()
    os._exit(code or 0)
