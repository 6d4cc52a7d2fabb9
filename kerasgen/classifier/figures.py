"""The classifier's figures: test accuracy, and per domain for a classifier of both digit domains."""

import numpy as np

from kerasgen import data


def classifier_figures(model, test, labels):
    """Test accuracy of a classifier.

    Example:
        >>> classifier_figures(kerasgen.zoo.load("classifier.mnist"), images, labels)["accuracy"]
    """
    predicted = np.argmax(model.predict(test, batch_size=500, verbose=0), axis=-1)
    return {
        "accuracy": round(float(np.mean(predicted == labels)), 4),
        "errors": int(np.sum(predicted != labels)),
        "test_images": len(test),
    }


def digits_classifier_figures(model, image_size):
    """Held-out accuracy of a classifier of both digit domains, overall and per domain.

    Example:
        >>> digits_classifier_figures(kerasgen.zoo.load("runs/classifier.digits"), 32)["by_domain"]
        {'uci': {...}, 'mnist': {...}}
    """
    parts = {domain: data.load_images(domain, "test", image_size) for domain in data.DIGIT_DOMAINS}
    images = np.concatenate([images for images, _ in parts.values()])
    labels = np.concatenate([labels for _, labels in parts.values()])
    figures = classifier_figures(model, data.to_unit_range(images), labels)
    figures["by_domain"] = {
        domain: classifier_figures(model, data.to_unit_range(images), labels)
        for domain, (images, labels) in parts.items()
    }
    return figures
