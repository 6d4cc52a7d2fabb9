"""The AutoEncoder's figures: held-out squared error beside PCA (Hinton and Salakhutdinov 2006)."""

import numpy as np


def reconstruction_figures(model, train, test, batch_size=500):
    """Test summed squared error of the model and of PCA with as many components, fitted on `train`.

    Example:
        >>> reconstruction_figures(model, train, test)["squared_error"]
    """
    from sklearn.decomposition import PCA

    reconstructions = model.predict(test, batch_size=batch_size, verbose=0)
    model_error = float(np.mean(np.sum(np.square(test - reconstructions), axis=(1, 2, 3))))
    pca = PCA(n_components=model.latent_dim, random_state=0).fit(train.reshape(len(train), -1))
    flat = test.reshape(len(test), -1)
    pca_reconstructions = pca.inverse_transform(pca.transform(flat))
    pca_unclipped_error = float(np.mean(np.sum(np.square(flat - pca_reconstructions), axis=1)))
    pca_error = float(np.mean(np.sum(np.square(flat - np.clip(pca_reconstructions, 0, 1)), axis=1)))
    return {
        "squared_error": round(model_error, 3),
        "pca_squared_error": round(pca_error, 3),
        "pca_squared_error_unclipped": round(pca_unclipped_error, 3),
        "pca_to_model_ratio": round(pca_error / model_error, 2),
        "test_images": len(test),
        "definition": "mean over test images of the squared error summed over pixels in [0, 1]; "
        f"PCA with {model.latent_dim} components fitted on the {len(train)} training images, "
        "its reconstructions clipped to [0, 1] (and unclipped)",
    }
