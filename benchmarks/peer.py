"""A peer for kerasgen's CycleGAN: the same networks trained by the plain Keras train step users write.

The peer, `PlainCycleGAN`, is a `keras.Model` subclass whose `train_step`
runs every forward pass under one persistent `tf.GradientTape`: both
translations, both cycles, both identity mappings and both discriminators
on real images and on the new fakes. It computes the paper's losses (least
squares adversarial terms, L1 cycle and identity terms, the discriminators'
objective halved), takes four gradients (one loss per network, each
generator's loss holding the whole cycle term) and makes four
`apply_gradients` calls on four Adam optimizers. It is compiled with
`jit_compile="auto"`, which Keras resolves to no XLA on a CPU-only
machine. Unlike kerasgen's CycleGAN it has no image pool (the
discriminators see the newest fakes), no loss trackers (its logs are the
last step's losses), no loss scaling and no distribution-strategy
handling: what the straightforward version leaves out.

The networks come from kerasgen's own builders
(`kerasgen.networks.build_resnet_generator`,
`build_patchgan_discriminator`) with kerasgen's defaults, so only the
training loop differs.

Timing: in one process, each configuration builds kerasgen's CycleGAN with
XLA on, kerasgen's CycleGAN with XLA off and the peer; each runs its
warm-up steps through `fit` (tracing, compilation), then one more untimed
step each in turn, then the three take turns in short rounds (A, B, C, A,
B, C, ...), each a few steps of the compiled train step that `fit` runs
(`model.train_function`) on an iterator of the same real pipeline that
lives across rounds, so that load from other processes on shared cores
falls on all three alike. Each step is timed on the wall clock (and the
process's CPU clock) until a logged value has been read; the report gives
the median seconds per step of each runner and the ratios peer / kerasgen
paired by round (`paired_ratios`). TensorFlow reads
`TF_ENABLE_ONEDNN_OPTS` at import, so the two CPU kernel settings need two
processes; each row records the setting it ran under.
"""

import dataclasses
import os
import time

RUNNERS = ("kerasgen_xla", "kerasgen_no_xla", "peer")
RUNNER_TITLES = {"kerasgen_xla": "kerasgen XLA on", "kerasgen_no_xla": "kerasgen XLA off", "peer": "peer"}
FAMILY = "peer"
QUICK_FILTERS = 8


@dataclasses.dataclass
class PeerCase:
    """One configuration timed for kerasgen (XLA on, XLA off) and the peer.

    Attributes:
        name: `peer.digits` or `peer.128`.
        base: the `benchmarks.cases.Case` whose networks, batch size, learning
            rate and pipeline all three use.
        title: the configuration in words, for the report.
        warmup: untimed steps per runner before the rounds.
        rounds: rounds of the three runners taking turns.
        steps: timed steps per runner and round.
    """

    name: str
    base: object
    title: str
    warmup: int
    rounds: int
    steps: int

    @property
    def family(self):
        return FAMILY


def peer_cases():
    """The two configurations: the digits zoo entry's and the paper's networks at 128 px (9 residual blocks)."""
    from benchmarks import cases

    digits = cases.zoo_case("peer.digits", "cyclegan.digits")
    photo = cases.photo_cyclegan_case(128)
    photo = dataclasses.replace(photo, name="peer.128", config={**photo.config, "residual_blocks": 9})
    return [
        PeerCase(
            "peer.digits",
            digits,
            "32x32x1 digits, G 16 / D 32 filters, batch 8, real digits pipeline",
            warmup=3,
            rounds=8,
            steps=4,
        ),
        PeerCase(
            "peer.128",
            photo,
            "128x128x3, G 64 filters 9 blocks / 70x70 PatchGAN 64, batch 1, synthetic photo pipeline",
            warmup=1,
            rounds=4,
            steps=2,
        ),
    ]


def select(peers, only):
    """The peer cases that `only` names (`peer` for all, or a case name); all if `only` is empty.

    Example:
        >>> [case.name for case in select(peer_cases(), ["peer.128", "gan"])]
        ['peer.128']
    """
    if not only:
        return list(peers)
    return [case for case in peers if case.name in only or case.family in only]


def is_peer_name(name):
    """True for `peer` and `peer.*` (the names this module owns).

    Example:
        >>> is_peer_name("peer.digits"), is_peer_name("cyclegan.digits")
        (True, False)
    """
    return name == FAMILY or name.startswith(FAMILY + ".")


def quick(case):
    """A smoke-run version: one round of one step, and 8-filter networks at 128 px."""
    base = case.base
    if base.data.get("source") == "synthetic":
        config = {**base.config, "generator_filters": QUICK_FILTERS, "discriminator_filters": QUICK_FILTERS}
        base = dataclasses.replace(base, config=config)
    return dataclasses.replace(case, base=base, warmup=1, rounds=2, steps=1)


def onednn_env(environ=None):
    """What `TF_ENABLE_ONEDNN_OPTS` says in `environ` (this process's environment if None): `1`, `0` or `unset`.

    Example:
        >>> onednn_env({"TF_ENABLE_ONEDNN_OPTS": "1"}), onednn_env({})
        ('1', 'unset')
    """
    environ = os.environ if environ is None else environ
    return environ.get("TF_ENABLE_ONEDNN_OPTS", "unset")


# ---------------------------------------------------------------------------------------------------------------
# The peer model.


def peer_networks(config):
    """Two generators and two discriminators as kerasgen's `CycleGAN(**config)` builds them.

    Uses kerasgen's builders and its defaults for `residual_blocks` and
    `discriminator_layers`; only the ResNet generator (the zoo's and the
    paper's) is supported.

    Returns:
        `(generator_g, generator_f, discriminator_x, discriminator_y)`:
        G: X -> Y, F: Y -> X, and the discriminators of X and Y.
    """
    from kerasgen import networks

    if config.get("generator", "resnet") != "resnet":
        raise ValueError(f"The peer builds ResNet generators only. Received: generator={config['generator']!r}")
    image_shape = tuple(config["image_shape"])
    blocks = config.get("residual_blocks")
    blocks = networks.default_residual_blocks(image_shape) if blocks is None else blocks
    layers = config.get("discriminator_layers")
    layers = networks.default_discriminator_layers(image_shape) if layers is None else layers
    g_filters, d_filters = config.get("generator_filters", 32), config.get("discriminator_filters", 64)
    return (
        networks.build_resnet_generator(image_shape, g_filters, blocks, name="generator_g"),
        networks.build_resnet_generator(image_shape, g_filters, blocks, name="generator_f"),
        networks.build_patchgan_discriminator(image_shape, d_filters, layers, name="discriminator_x"),
        networks.build_patchgan_discriminator(image_shape, d_filters, layers, name="discriminator_y"),
    )


def _make_peer_class():
    import keras
    import tensorflow as tf
    from keras import ops

    def mean_squared(scores, target):
        return ops.mean(ops.square(scores - target))

    def mean_absolute(a, b):
        return ops.mean(ops.abs(a - b))

    class PlainCycleGAN(keras.Model):
        """CycleGAN with the train step of a plain Keras tutorial: one persistent tape, four optimizers.

        Args:
            generator_g: X -> Y, images in [-1, 1].
            generator_f: Y -> X.
            discriminator_x: scores images of X.
            discriminator_y: scores images of Y.
            lambda_cycle: weight of the cycle loss.
            lambda_identity: weight of the identity loss as a multiple of `lambda_cycle`.

        Example:
            >>> model = PlainCycleGAN(*peer_networks({"image_shape": [32, 32, 1]}))
            >>> model.compile(*(keras.optimizers.Adam(2e-4, beta_1=0.5) for _ in range(4)))
            >>> model.fit(dataset_of_x_y_pairs_in_unit_range)
        """

        def __init__(
            self,
            generator_g,
            generator_f,
            discriminator_x,
            discriminator_y,
            lambda_cycle=10.0,
            lambda_identity=0.5,
            **kwargs,
        ):
            super().__init__(**kwargs)
            self.generator_g = generator_g
            self.generator_f = generator_f
            self.discriminator_x = discriminator_x
            self.discriminator_y = discriminator_y
            self.lambda_cycle = lambda_cycle
            self.lambda_identity = lambda_identity

        def compile(self, g_optimizer, f_optimizer, dx_optimizer, dy_optimizer, **kwargs):
            super().compile(**kwargs)
            self.g_optimizer = g_optimizer
            self.f_optimizer = f_optimizer
            self.dx_optimizer = dx_optimizer
            self.dy_optimizer = dy_optimizer

        def call(self, images, training=False):
            return self.generator_g(images, training=training)

        def train_step(self, data):
            real_x, real_y = data
            real_x = ops.cast(real_x, "float32") * 2.0 - 1.0
            real_y = ops.cast(real_y, "float32") * 2.0 - 1.0
            with tf.GradientTape(persistent=True) as tape:
                fake_y = self.generator_g(real_x, training=True)
                cycled_x = self.generator_f(fake_y, training=True)
                fake_x = self.generator_f(real_y, training=True)
                cycled_y = self.generator_g(fake_x, training=True)
                same_x = self.generator_f(real_x, training=True)
                same_y = self.generator_g(real_y, training=True)

                real_x_scores = self.discriminator_x(real_x, training=True)
                fake_x_scores = self.discriminator_x(fake_x, training=True)
                real_y_scores = self.discriminator_y(real_y, training=True)
                fake_y_scores = self.discriminator_y(fake_y, training=True)

                cycle_loss = mean_absolute(cycled_x, real_x) + mean_absolute(cycled_y, real_y)
                identity_weight = self.lambda_cycle * self.lambda_identity
                g_loss = (
                    mean_squared(fake_y_scores, 1.0)
                    + self.lambda_cycle * cycle_loss
                    + identity_weight * mean_absolute(same_y, real_y)
                )
                f_loss = (
                    mean_squared(fake_x_scores, 1.0)
                    + self.lambda_cycle * cycle_loss
                    + identity_weight * mean_absolute(same_x, real_x)
                )
                dx_loss = 0.5 * (mean_squared(real_x_scores, 1.0) + mean_squared(fake_x_scores, 0.0))
                dy_loss = 0.5 * (mean_squared(real_y_scores, 1.0) + mean_squared(fake_y_scores, 0.0))

            pairs = (
                (g_loss, self.generator_g, self.g_optimizer),
                (f_loss, self.generator_f, self.f_optimizer),
                (dx_loss, self.discriminator_x, self.dx_optimizer),
                (dy_loss, self.discriminator_y, self.dy_optimizer),
            )
            gradients = [tape.gradient(loss, network.trainable_variables) for loss, network, _ in pairs]
            for (_, network, optimizer), network_gradients in zip(pairs, gradients, strict=True):
                optimizer.apply_gradients(zip(network_gradients, network.trainable_variables, strict=True))
            return {
                "g_loss": g_loss,
                "f_loss": f_loss,
                "cycle_loss": cycle_loss,
                "dx_loss": dx_loss,
                "dy_loss": dy_loss,
            }

    return PlainCycleGAN


_PEER_CLASS = None


def peer_class():
    """The `PlainCycleGAN` class (made on first use, so importing this module does not import TensorFlow)."""
    global _PEER_CLASS
    if _PEER_CLASS is None:
        _PEER_CLASS = _make_peer_class()
    return _PEER_CLASS


def build_peer(config, learning_rate=2e-4, jit_compile="auto"):
    """A compiled peer with the networks of `CycleGAN(**config)` and four `Adam(learning_rate, beta_1=0.5)`.

    Example:
        >>> model = build_peer({"image_shape": [16, 16, 1], "generator_filters": 4, "discriminator_filters": 4})
    """
    import keras

    model = peer_class()(
        *peer_networks(config),
        lambda_cycle=config.get("lambda_cycle", 10.0),
        lambda_identity=config.get("lambda_identity", 0.5),
    )
    model.compile(*(keras.optimizers.Adam(learning_rate, beta_1=0.5) for _ in range(4)), jit_compile=jit_compile)
    return model


# ---------------------------------------------------------------------------------------------------------------
# Timing.


def step_clock(model, iterator):
    """A function that runs one training step of `model` on the next batch of `iterator` and times it.

    It calls `model.train_function`, the compiled step that `fit` calls for
    every batch (built by a `fit` before), on a `tf.data` iterator that lives
    across calls, so no `fit` set-up and no pipeline restart comes between
    two timed steps. One logged value is read as a float before the clocks
    stop, so the step has finished.

    Returns:
        A function of no arguments returning `(wall seconds, CPU seconds of this process)`.
    """

    def step():
        wall, cpu = time.perf_counter(), time.process_time()
        logs = model.train_function(iterator)
        for value in logs.values():
            float(value)
            break
        return time.perf_counter() - wall, time.process_time() - cpu

    return step


def per_round(durations, steps_per_round):
    """Total time of each round from the durations of the steps, in the order they ran.

    Example:
        >>> per_round([1.0, 2.0, 3.0, 4.0], 2)
        [3.0, 7.0]
    """
    return [sum(durations[start : start + steps_per_round]) for start in range(0, len(durations), steps_per_round)]


def turns(runners, rounds):
    """The order in which the runners take turns: every runner once per round, in the same order.

    Example:
        >>> turns(["a", "b"], 2)
        [(0, 'a'), (0, 'b'), (1, 'a'), (1, 'b')]
    """
    return [(index, runner) for index in range(rounds) for runner in runners]


def ratios(medians):
    """Peer over kerasgen: for the faster kerasgen mode and for each mode (above 1: kerasgen is faster).

    Args:
        medians: `{runner: median seconds per step}` for some of `RUNNERS`.

    Returns:
        A dict with `faster_mode` (`kerasgen_xla` or `kerasgen_no_xla`, None
        if neither ran), `peer_over_faster`, `peer_over_xla` and
        `peer_over_no_xla` (None where a figure is missing).

    Example:
        >>> ratios({"kerasgen_xla": 0.5, "kerasgen_no_xla": 0.4, "peer": 0.6})["peer_over_faster"]
        1.5
    """
    kerasgen = {mode: medians.get(mode) for mode in ("kerasgen_xla", "kerasgen_no_xla") if medians.get(mode)}
    peer = medians.get("peer")
    faster = min(kerasgen, key=kerasgen.get) if kerasgen else None

    def over(mode):
        return peer / kerasgen[mode] if peer and mode in kerasgen else None

    return {
        "faster_mode": faster,
        "peer_over_faster": over(faster) if faster else None,
        "peer_over_xla": over("kerasgen_xla"),
        "peer_over_no_xla": over("kerasgen_no_xla"),
    }


def paired_ratios(durations, steps_per_round):
    """Peer over kerasgen, paired by round: in every round, the peer's time over each mode's time in the same
    round; the median over rounds. Load from other processes that changes from round to round falls on both
    sides of each quotient and cancels out, which the quotient of two medians does not ensure.

    Args:
        durations: `{runner: [seconds of each timed step, in order]}` for some of `RUNNERS`.
        steps_per_round: timed steps per runner and round.

    Returns:
        The keys of `ratios`; the faster mode is the one with the larger ratio.

    Example:
        >>> durations = {"kerasgen_xla": [1.0, 4.0], "kerasgen_no_xla": [2.0, 2.0], "peer": [2.0, 4.0]}
        >>> paired_ratios(durations, 1)["faster_mode"], paired_ratios(durations, 1)["peer_over_faster"]
        ('kerasgen_xla', 1.5)
    """
    import statistics

    peer = per_round(durations.get("peer") or [], steps_per_round)
    result = {}
    for mode, key in (("kerasgen_xla", "peer_over_xla"), ("kerasgen_no_xla", "peer_over_no_xla")):
        mine = per_round(durations.get(mode) or [], steps_per_round)
        pairs = [ours / theirs for ours, theirs in zip(peer, mine, strict=False) if theirs > 0]
        result[key] = statistics.median(pairs) if pairs else None
    modes = {
        mode: result[key]
        for mode, key in (("kerasgen_xla", "peer_over_xla"), ("kerasgen_no_xla", "peer_over_no_xla"))
        if result[key]
    }
    faster = max(modes, key=modes.get) if modes else None
    return {"faster_mode": faster, "peer_over_faster": modes.get(faster), **result}


def row_ratios(row):
    """The ratios of a result row: paired by round where its durations are kept, else from its medians."""
    runners = row.get("runners", {})
    durations = {runner: summary.get("durations") for runner, summary in runners.items()}
    if "peer" in durations and all(durations.values()):
        return paired_ratios(durations, row.get("steps_per_round", 1))
    return ratios({runner: summary["median_s"] for runner, summary in runners.items()})


def goal_met(row_ratios, name, at_least=1.0, digits_at_least=1.2):
    """Whether kerasgen's faster mode meets the team's goal for a row: never slower than the peer, and at least
    1.2x faster at the 32 px configuration (`peer.digits`). None if the figures are missing.

    Example:
        >>> goal_met({"peer_over_faster": 1.1}, "peer.digits"), goal_met({"peer_over_faster": 1.1}, "peer.128")
        (False, True)
    """
    ratio = row_ratios.get("peer_over_faster")
    if ratio is None:
        return None
    return ratio >= (digits_at_least if name == "peer.digits" else at_least)


def _build_runner(case, runner):
    import keras

    keras.utils.set_random_seed(0)
    base = case.base
    if runner == "peer":
        return build_peer(base.config, base.learning_rate)
    model = base.build()
    base.compile(model, runner == "kerasgen_xla")
    return model


def _fit_steps(model, dataset, steps):
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)


def measure(case, log=print):
    """Time kerasgen (XLA on, XLA off) and the peer on one configuration, taking turns in rounds.

    Each runner gets its warm-up steps through `fit` (tracing, compilation),
    then one untimed step each in turn; then `rounds` rounds in which each
    runner in turn takes `steps` timed steps (`step_clock`) from its own copy
    of the pipeline.

    Returns:
        A row: `case`, `title`, `config`, `batch_size`, `warmup`, `rounds`,
        `steps_per_round`, `onednn` (TensorFlow's state and the variable),
        `onednn_opts` (the variable alone), `load_average` (1-minute load
        average of the machine at the start and the end), `peer_jit_compile`
        (what `"auto"` resolved to), `runners` (`{runner: timing.summarize(...)}`
        of wall times plus `durations` and `cpu_durations`, per step in
        order), `ratios` (`row_ratios`) and `errors` (`{runner: text}`) for
        runners that failed.
    """
    import keras

    from benchmarks import machine, timing

    base = case.base
    row = {
        "case": case.name,
        "title": case.title,
        "config": dict(base.config),
        "batch_size": base.batch_size,
        "warmup": case.warmup,
        "rounds": case.rounds,
        "steps_per_round": case.steps,
        "onednn": machine.onednn_state(),
        "onednn_opts": onednn_env(),
        "load_average": [_load_average()],
        "runners": {},
        "errors": {},
    }
    models, clocks, walls, cpus = {}, {}, {}, {}
    for runner in RUNNERS:
        log(f"{case.name}: building {RUNNER_TITLES[runner]}, {case.warmup} warm-up steps")
        try:
            models[runner] = _build_runner(case, runner)
            started = time.perf_counter()
            _fit_steps(models[runner], base.pipeline(case.warmup), case.warmup)
            log(f"  warm-up {time.perf_counter() - started:.1f} s")
            iterator = iter(base.pipeline(1 + case.rounds * case.steps))
            clocks[runner], walls[runner], cpus[runner] = step_clock(models[runner], iterator), [], []
        except Exception as error:  # a failed runner is reported; the others still run
            log(f"FAILED {case.name} {runner}: {error!r}")
            row["errors"][runner] = _one_line(error)
            models.pop(runner, None)
    row["peer_jit_compile"] = bool(models["peer"].jit_compile) if "peer" in models else None
    # One untimed step each in turn: the first step of a model after another model's first steps can take
    # several times as long (seen: 3 to 8 s for a 0.3 s step), a one-off that no round should carry.
    for index, runner in turns(list(clocks), case.rounds + 1):
        if runner in row["errors"]:
            continue
        try:
            for _ in range(1 if index == 0 else case.steps):
                wall, cpu = clocks[runner]()
                if index:
                    walls[runner].append(wall)
                    cpus[runner].append(cpu)
        except Exception as error:
            log(f"FAILED {case.name} {runner} round {index}: {error!r}")
            row["errors"][runner] = _one_line(error)
    for runner, values in walls.items():
        if runner in row["errors"] or not values:
            continue
        summary = timing.summarize(values, base.batch_size)
        row["runners"][runner] = {**summary, "durations": values, "cpu_durations": cpus[runner]}
    row["load_average"].append(_load_average())
    row["ratios"] = row_ratios(row)
    log(
        f"{case.name} ({row['onednn']}): "
        + ", ".join(
            f"{RUNNER_TITLES[runner]} {summary['median_s'] * 1e3:.1f} ms/step"
            for runner, summary in row["runners"].items()
        )
        + f"; paired peer / kerasgen: {row['ratios']}"
    )
    del models, clocks
    keras.backend.clear_session()
    return row


def _load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def _one_line(error):
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]
