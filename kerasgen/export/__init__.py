"""Export models as TensorFlow SavedModels that TF Serving loads: `<base>/<name>/<version>/`.

Only what serves is exported: the networks a family needs at inference
(encoder and decoder, the generator or its moving average, both CycleGAN
generators, the classifier's layers), held by a `tf.Module` with one
`tf.function` per signature, which the model gives with its
`serving_functions()` method (`kerasgen.base.FamilyModel`).
Never the training wrapper, its discriminators, optimizers or image pools.
Every signature has named inputs and outputs, fixed dtypes and a dynamic
batch dimension (-1):

| family | signatures |
| --- | --- |
| AutoEncoder | `serving_default` = `reconstruct`, `encode`, `decode` |
| VAE | `serving_default` = `decode`, `encode`, `reconstruct`, `sample` |
| GAN | `serving_default` = `generate`, `generate_seeded` |
| CycleGAN | `serving_default` = `translate_a2b`, `translate_b2a`, `*_uint8`, `*_png` |
| Classifier | `serving_default` = `classify`, `features` |

The encoded-image signatures (a CycleGAN's `*_png`) measure each request before
decoding it (`image_guard`, `image_formats`): what every decoder would allocate
(all GIF frames, PNG's IHDR, every JPEG SOF, WebP's canvas, BMP's header), each
image counted at least at the model's size, must fit a budget of
`max_request_pixels` per request, 4,194,304 (one 2048x2048 image) unless set at
export (`export(..., max_request_pixels=N)`, `kerasgen export --max-request-pixels
N`); images it cannot measure are refused. An export reports its budget as
`tf.saved_model.load(path).max_request_pixels()`.

A version is written to a temporary folder inside `<base>/<name>/` whose name
is not an integer (TF Serving ignores it), then renamed into place, so a server
watching `<base>/<name>/` never sees half a version.

One job per module:

| module | job |
| --- | --- |
| `savedmodel` | `export`, `export_model`: names, versions, the temporary folder and its rename into place |
| `module` | `serving_module`: the `tf.Module` of a model's serving functions and their variables |
| `signatures` | what the families write their serving functions with: `spec`, `seeded_normal`, `translators`, ... |
| `image_guard` | the request budget (`request_budget`) and its check before decoding (`checked_image_bytes`) |
| `image_formats` | what each decoder would allocate for an encoded image, read in TensorFlow ops (`measure`) |
| `tf_serving` | TF Serving's `--model_config_file` for a folder of models, and a `docker run` line |

Importing the package or any of its modules imports neither TensorFlow nor a
model family; they are imported inside the functions that need them.

Example:
    >>> from kerasgen.export import export
    >>> export("vae.mnist", base="saved_models")
    PosixPath('saved_models/vae.mnist/1')
"""

from kerasgen.export.module import serving_module
from kerasgen.export.savedmodel import (
    check_name,
    default_name,
    export,
    export_model,
    versions,
)
from kerasgen.export.tf_serving import docker_command, model_folders, serving_config, write_serving_config

__all__ = [
    "check_name",
    "default_name",
    "docker_command",
    "export",
    "export_model",
    "model_folders",
    "serving_config",
    "serving_module",
    "versions",
    "write_serving_config",
]
