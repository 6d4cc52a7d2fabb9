"""Distribution strategies, and the helpers that keep custom `train_step`s right under them.

`--strategy` picks one of `STRATEGIES`: `default` (one device), `mirrored`
(`tf.distribute.MirroredStrategy` over all local devices) or `multiworker`
(`tf.distribute.MultiWorkerMirroredStrategy`, configured from `TF_CONFIG`).
Build and compile models inside `strategy.scope()`.

Under a strategy with several replicas, Keras splits each (global) batch of
the dataset into one contiguous slice per replica, runs `train_step` on every
replica and sums the gradients across replicas (the optimizers all-reduce with
SUM). The models of kerasgen therefore:

* differentiate `scale_loss_for_replicas(loss)`: a replica's batch-mean loss
  divided by the number of replicas, so that the summed gradient is the
  gradient of the mean over the global batch (what Keras's own `train_step`
  does with `scale_loss_for_distribution`); metric trackers get the unscaled
  loss, and Keras averages them over replicas;
* draw per-example noise with `draw_for_replica_batch`: every replica draws
  the noise of the whole global batch from the same seed state and keeps its
  own rows. Replicas thus get different, independent noise, the seed state
  stays identical on every replica, and a run gives the same draws with one
  replica or many.

With one replica all of these are the identity, so numbers are unchanged.

Example:
    >>> strategy = make_strategy("mirrored")
    >>> with strategy.scope():
    ...     model = kerasgen.vae.VAE()
    ...     model.compile(optimizer="adam")
    >>> model.fit(dataset)  # dataset batches are global batches
    >>> if is_chief(strategy):
    ...     model.save_weights("model.weights.h5")
"""

import json
import os

from kerasgen.errors import UserError

STRATEGIES = ("default", "mirrored", "multiworker")


def read_tf_config():
    """The parsed `TF_CONFIG` of a multi-worker run; `UserError` if it is missing or malformed.

    Example:
        >>> cluster = {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]}
        >>> os.environ["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}})
        >>> read_tf_config()["task"]
        {'type': 'worker', 'index': 0}
    """
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise UserError(
            "--strategy multiworker needs TF_CONFIG with the cluster and this worker's task; it is not set."
        )
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"TF_CONFIG is not valid JSON: {error.msg} at character {error.pos}.") from None
    cluster, task = (config.get("cluster"), config.get("task")) if isinstance(config, dict) else (None, None)
    if not isinstance(cluster, dict) or not cluster:
        raise UserError('TF_CONFIG needs a "cluster" object, e.g. {"worker": ["host1:2222", "host2:2222"]}.')
    if not isinstance(task, dict) or "type" not in task or not isinstance(task.get("index", 0), int):
        raise UserError('TF_CONFIG needs a "task" object, e.g. {"type": "worker", "index": 0}.')
    if task["type"] not in cluster or not 0 <= task.get("index", 0) < len(cluster[task["type"]]):
        raise UserError(f"TF_CONFIG's task {task} is not in its cluster {cluster}.")
    return config


def make_strategy(name):
    """The `tf.distribute.Strategy` called `name`, one of `STRATEGIES`.

    Args:
        name: `"default"` (the current strategy: one device unless a scope is
            open), `"mirrored"` (all local GPUs, else the CPU) or
            `"multiworker"` (every worker in `TF_CONFIG`, all their devices).

    Raises:
        UserError: for an unknown name, or a missing or malformed `TF_CONFIG`.

    Example:
        >>> with make_strategy("mirrored").scope():
        ...     model = kerasgen.gan.GAN()
        ...     model.compile()
    """
    if name not in STRATEGIES:
        raise UserError(f"Unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")
    if name == "multiworker":
        read_tf_config()
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(strategy=None):
    """Whether this process writes the run's files (checkpoints, grids, exports, card).

    Every process is the chief except under `MultiWorkerMirroredStrategy`,
    where the chief is the task of type `chief`, or worker 0 of a cluster
    without one.

    Args:
        strategy: the strategy of the run; None for the one whose scope is open.

    Example:
        >>> is_chief(make_strategy("default"))
        True
    """
    import tensorflow as tf

    strategy = strategy or tf.distribute.get_strategy()
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    resolver = strategy.cluster_resolver
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type is None:  # a one-worker MultiWorkerMirroredStrategy without TF_CONFIG
        return True
    if task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and not has_chief


def spans_workers(strategy):
    """Whether `strategy` is a `MultiWorkerMirroredStrategy` over more than one worker.

    Example:
        >>> spans_workers(make_strategy("default"))
        False
    """
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    return bool(getattr(strategy.extended, "_in_multi_worker_mode", lambda: False)())


def any_worker(strategy, flag):
    """Whether `flag` is true on any worker of `strategy`: a vote all workers take together.

    Across several workers this is a collective (an all-reduce of one number
    per replica): every worker must call it at the same point of the run, or
    those that do wait for the others. Otherwise it is `bool(flag)`.

    Example:
        >>> if any_worker(strategy, first_non_finite(model) is not None):
        ...     model.stop_training = True  # on every worker at the same step
    """
    if strategy is None or not spans_workers(strategy):
        return bool(flag)
    import tensorflow as tf

    votes = strategy.run(lambda: tf.constant(1.0 if flag else 0.0))
    return float(strategy.reduce(tf.distribute.ReduceOp.SUM, votes, axis=None)) > 0


def num_replicas():
    """Replicas kept in sync by the current strategy (1 outside any scope).

    Example:
        >>> with make_strategy("mirrored").scope():
        ...     num_replicas()  # on a machine with 2 GPUs
        2
    """
    import tensorflow as tf

    return tf.distribute.get_strategy().num_replicas_in_sync


def scale_loss_for_replicas(loss):
    """A replica's batch-mean loss divided by the number of replicas, for differentiation.

    The optimizers sum gradients over replicas, so these scaled losses give the
    gradient of the mean over the global batch (for equal replica batches).
    Scale inside the `GradientTape` block; report the unscaled loss.

    Example:
        >>> with tf.GradientTape() as tape:
        ...     loss = ops.mean(per_example_loss)
        ...     scaled = scale_loss_for_replicas(loss)
        >>> gradients = tape.gradient(scaled, weights)
    """
    replicas = num_replicas()
    return loss if replicas == 1 else loss * (1.0 / replicas)


def _in_multi_replica_step():
    import tensorflow as tf

    return tf.distribute.in_cross_replica_context() is False and num_replicas() > 1


def replica_rows(local_batch):
    """`(offset, global_batch)`: where this replica's examples sit in the global batch.

    Keras hands each replica a contiguous slice of the global batch, in
    replica order; slices may differ in size (a last, smaller batch). Call it
    inside a replica's step; outside one it gives `(0, local_batch)`.

    Example:
        >>> offset, global_batch = replica_rows(ops.shape(images)[0])
    """
    import tensorflow as tf

    if not _in_multi_replica_step():
        return 0, local_batch
    context = tf.distribute.get_replica_context()
    sizes = context.all_gather(tf.reshape(tf.cast(local_batch, tf.int32), [1]), axis=0)
    offset = tf.reduce_sum(sizes[: context.replica_id_in_sync_group])
    return offset, tf.reduce_sum(sizes)


def gather_replica_batches(tensor):
    """The global batch of `tensor`, concatenated over replicas in replica order, and this replica's offset.

    Returns `(global_tensor, offset)`; with one replica, `(tensor, 0)`.

    Example:
        >>> everything, offset = gather_replica_batches(fake_images)
        >>> mine = everything[offset : offset + ops.shape(fake_images)[0]]
    """
    import tensorflow as tf

    if not _in_multi_replica_step():
        return tensor, 0
    context = tf.distribute.get_replica_context()
    gathered = context.all_gather(tensor, axis=0)
    offset, _ = replica_rows(tf.shape(tensor)[0])
    return gathered, offset


def draw_for_replica_batch(draw, shape):
    """Noise for this replica's examples, cut from one draw for the whole global batch.

    `draw(shape)` must be a seeded random op whose seed state is the same on
    every replica (a `keras.random.SeedGenerator` built in the strategy's
    scope, as all of kerasgen's are). Each replica calls `draw` with the
    global batch's shape and keeps its own rows, so replicas get different
    noise, the seed state advances identically everywhere, and the noise of
    a step does not depend on the number of replicas. With one replica this
    is `draw(shape)`.

    Args:
        draw: function of a shape (first dimension: batch) returning a tensor.
        shape: this replica's shape, batch first.

    Example:
        >>> latents = draw_for_replica_batch(
        ...     lambda shape: keras.random.normal(shape, seed=self.seed_generator), (batch, latent_dim)
        ... )
    """
    if not _in_multi_replica_step():
        return draw(shape)
    local_batch = shape[0]
    offset, global_batch = replica_rows(local_batch)
    everything = draw((global_batch, *shape[1:]))
    return everything[offset : offset + local_batch]


def reducible_logs(logs):
    """The logs of a `train_step`/`test_step` in a form Keras can reduce under every strategy.

    Keras 3.15 reduces a step's logs under a multi-worker
    `MultiWorkerMirroredStrategy` with `strategy.reduce("MEAN", value,
    axis=0)`, which fails on scalars ("Invalid reduction dimension 0 for input
    with 0 dimensions", tensorflow/tensorflow#72388). There each scalar
    becomes a one-element vector, which that call reduces to the scalar mean
    over replicas; under other strategies the logs are returned as they are.

    Example:
        >>> def train_step(self, data):
        ...     ...
        ...     return reducible_logs({metric.name: metric.result() for metric in self.metrics})
    """
    import tensorflow as tf

    if not spans_workers(tf.distribute.get_strategy()):
        return logs
    return {key: tf.reshape(value, [1]) if value.shape.rank == 0 else value for key, value in logs.items()}
