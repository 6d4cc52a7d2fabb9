"""Quality figures for zoo entries and trained model folders.

* AutoEncoder: summed squared error per held-out image (pixels in [0, 1]),
  the figure of Hinton and Salakhutdinov (2006), beside PCA with as many
  components fitted on the same training split.
* VAE: held-out negative ELBO and the importance-weighted estimate of the
  negative log-likelihood (Burda et al. 2016), in nats, on held-out digits
  binarized once with a fixed seed.

Example:
    >>> from kerasgen import evaluation, zoo
    >>> evaluation.evaluate("vae.mnist")
    {'negative_elbo': ..., 'iwae_nll': ..., ...}
"""

import math

import numpy as np

from kerasgen import data, zoo
from kerasgen.errors import UserError

BINARIZATION_SEED = 0
CARD_MIN_SAMPLES = 500


def load_split(card_data, split):
    """A split of the dataset a card was trained on, as float images in [0, 1]."""
    source = card_data["data"]["dataset"]
    if not data.has_heldout_split(source):
        raise UserError(
            "evaluate needs a dataset with a held-out split (mnist, uci, tfds:NAME); "
            f"this model was trained on {source!r}."
        )
    images, _ = data.load_images(source, split, card_data["data"]["image_size"])
    return data.to_unit_range(images)


def autoencoder_figures(model, train, heldout, batch_size=500):
    """Held-out summed squared error of the model and of PCA.

    Example:
        >>> autoencoder_figures(model, train, heldout)["squared_error"]
    """
    from sklearn.decomposition import PCA

    reconstructions = model.predict(heldout, batch_size=batch_size, verbose=0)
    model_error = float(np.mean(np.sum(np.square(heldout - reconstructions), axis=(1, 2, 3))))
    pca = PCA(n_components=model.latent_dim, random_state=0).fit(train.reshape(len(train), -1))
    flat = heldout.reshape(len(heldout), -1)
    pca_reconstructions = pca.inverse_transform(pca.transform(flat))
    pca_unclipped_error = float(np.mean(np.sum(np.square(flat - pca_reconstructions), axis=1)))
    pca_error = float(np.mean(np.sum(np.square(flat - np.clip(pca_reconstructions, 0, 1)), axis=1)))
    return {
        "squared_error": round(model_error, 3),
        "pca_squared_error": round(pca_error, 3),
        "pca_squared_error_unclipped": round(pca_unclipped_error, 3),
        "pca_to_model_ratio": round(pca_error / model_error, 2),
        "heldout_images": len(heldout),
        "definition": "mean over held-out images of the squared error summed over pixels in [0, 1]; "
        f"PCA with {model.latent_dim} components fitted on the {len(train)} training images, "
        "its reconstructions clipped to [0, 1] (and unclipped)",
    }


def binarize(images, seed=BINARIZATION_SEED):
    """Fixed stochastic binarization: pixel ~ Bernoulli(intensity), numpy seed `seed`."""
    return (np.random.default_rng(seed).random(images.shape) < images).astype(np.float32)


def vae_figures(model, heldout, samples=500, batch_size=20, seed=0):
    """Negative ELBO and importance-weighted NLL (k = `samples`) in nats per image.

    Example:
        >>> vae_figures(model, heldout, samples=500)["iwae_nll"]
    """
    import tensorflow as tf

    targets = binarize(heldout)
    log_weights = []
    generator = tf.random.Generator.from_seed(seed)
    half_log_two_pi = 0.5 * math.log(2 * math.pi)

    @tf.function(jit_compile=True)
    def batch_log_weights(images, noise):
        mean, log_var = model.encoder(images, training=False)
        latents = mean + tf.exp(0.5 * log_var) * noise
        flat = tf.reshape(latents, (-1, model.latent_dim))
        logits = tf.reshape(model.decoder(flat, training=False), (samples, -1, *model.image_shape))
        log_likelihood = -tf.reduce_sum(
            tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.broadcast_to(images, tf.shape(logits)), logits=logits),
            axis=(2, 3, 4),
        )
        log_prior = tf.reduce_sum(-0.5 * tf.square(latents) - half_log_two_pi, axis=-1)
        log_posterior = tf.reduce_sum(-0.5 * tf.square(noise) - half_log_two_pi - 0.5 * log_var, axis=-1)
        return log_likelihood + log_prior - log_posterior

    for start in range(0, len(targets), batch_size):
        images = tf.constant(targets[start : start + batch_size])
        noise = generator.normal((samples, len(images), model.latent_dim))
        log_weights.append(batch_log_weights(images, noise).numpy())
    log_weights = np.concatenate(log_weights, axis=1).astype(np.float64)
    peak = log_weights.max(axis=0)
    log_mean_weight = peak + np.log(np.mean(np.exp(log_weights - peak), axis=0))
    return {
        "negative_elbo": round(float(-np.mean(log_weights)), 2),
        "iwae_nll": round(float(-np.mean(log_mean_weight)), 2),
        "importance_samples": samples,
        "heldout_images": len(heldout),
        "binarization": f"stochastic, pixel ~ Bernoulli(intensity), numpy default_rng({BINARIZATION_SEED}), drawn once",
    }


def evaluate(name_or_dir, samples=500):
    """The figures for an entry or model folder, by model family.

    Example:
        >>> evaluate("autoencoder.mnist")["squared_error"]
    """
    card_data = zoo.card(name_or_dir)
    model = zoo.load(name_or_dir)
    heldout = load_split(card_data, "heldout")
    if card_data["class"] == "AutoEncoder":
        return autoencoder_figures(model, load_split(card_data, "train"), heldout)
    if card_data["class"] == "VAE":
        return vae_figures(model, heldout, samples=samples)
    raise UserError(f"No evaluation defined for {card_data['class']}.")
