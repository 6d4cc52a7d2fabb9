"""The image pool: a history of generated images for the discriminators (Shrivastava et al. 2017)."""

import keras
from keras import ops

from kerasgen.distribute import gather_replica_batches


@keras.saving.register_keras_serializable(package="kerasgen")
class ImagePool(keras.layers.Layer):
    """A history of generated images for the discriminator (Shrivastava et al. 2017).

    Images are taken one at a time, as in the CycleGAN reference code: while
    fewer than `pool_size` are stored, each one is stored and returned; once the
    pool is full, each one is, with probability 1/2, swapped for a random
    stored image (which is returned in its place), else returned as it is. The
    pool lives in non-trainable variables, so it works inside a compiled
    (graph or XLA) `train_step` and is saved with the weights.

    Under a distribution strategy there is one pool, the same on every
    replica: each replica gathers the fakes of all replicas (the global
    batch, in replica order), runs the queries above on them with the shared
    seed state, and keeps the rows of its own images. The pool thus goes
    through exactly the states it would on one device, its copies never
    diverge (the variables also take the first replica's value on update),
    and the swaps of different replicas' images are independent draws.

    The pool computes and stores in float32 under every dtype policy (its
    `dtype` defaults to `"float32"`, and images are cast to the stored
    dtype): the generators' outputs are float32, so under a mixed policy
    the discriminators see exactly the fakes that were made, at the memory
    cost of float32 (50 images of 256x256x3: 39 MB).

    Args:
        pool_size: images kept; 0 returns every batch unchanged.
        seed: seed of the random draws.

    Example:
        >>> pool = ImagePool(50, seed=0)
        >>> for_discriminator = pool(fake_images)
    """

    def __init__(self, pool_size=50, seed=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if not isinstance(pool_size, int) or pool_size < 0:
            raise ValueError(f"pool_size must be a non-negative integer. Received: pool_size={pool_size!r}")
        self.pool_size = pool_size
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.stored = self.add_weight(
            shape=(self.pool_size, *input_shape[1:]),
            initializer="zeros",
            trainable=False,
            aggregation="only_first_replica",
            name="stored",
        )
        self.filled = self.add_weight(
            shape=(),
            initializer="zeros",
            dtype="int32",
            trainable=False,
            aggregation="only_first_replica",
            name="filled",
        )

    def call(self, images):
        if not self.pool_size:
            return images
        every_replicas_images, offset = gather_replica_batches(images)
        outputs = self._query(every_replicas_images)
        if every_replicas_images is images:
            return outputs
        return outputs[offset : offset + ops.shape(images)[0]]

    def _query(self, images):
        images = ops.cast(images, self.stored.dtype)
        batch = ops.shape(images)[0]
        swaps = keras.random.uniform((batch,), seed=self.seed_generator) < 0.5
        slots = keras.random.randint((batch,), 0, self.pool_size, seed=self.seed_generator)

        def query(index, state):
            filled, stored, outputs = state
            image = ops.take(images, index, axis=0)
            filling = filled < self.pool_size
            slot = ops.where(filling, filled, ops.take(slots, index))
            old = ops.take(stored, slot, axis=0)
            swap = ops.logical_and(ops.logical_not(filling), ops.take(swaps, index))
            kept = ops.where(ops.logical_or(filling, swap), image, old)
            stored = ops.scatter_update(stored, ops.reshape(slot, (1, 1)), kept[None])
            outputs = ops.scatter_update(outputs, ops.reshape(index, (1, 1)), ops.where(swap, old, image)[None])
            return filled + ops.cast(filling, "int32"), stored, outputs

        state = (ops.convert_to_tensor(self.filled), ops.convert_to_tensor(self.stored), ops.zeros_like(images))
        filled, stored, outputs = ops.fori_loop(0, batch, query, state)
        self.filled.assign(filled)
        self.stored.assign(stored)
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(pool_size=self.pool_size, seed=self.seed)
        return config
