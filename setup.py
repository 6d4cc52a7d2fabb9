"""kerasgen: a Keras 3 / TensorFlow zoo of generative networks.

Installs one top-level package, `kerasgen`. The registry (`zoo/`) and the
command line (`cli/`) live at the top of the repository and are mapped into
it as `kerasgen.zoo` and `kerasgen.cli`.
"""

import pathlib

from setuptools import setup

setup(
    name="kerasgen",
    version="0.1.0",
    description="AutoEncoder, VAE, GAN and CycleGAN for Keras 3, with a zoo of measured pretrained models",
    long_description=pathlib.Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=[
        "kerasgen",
        *(f"kerasgen.{family}" for family in ("autoencoder", "vae", "gan", "classifier", "cyclegan")),
        *(f"kerasgen.{machinery}" for machinery in ("data", "export", "training")),
        "kerasgen.zoo",
        "kerasgen.cli",
    ],
    package_dir={"kerasgen": "kerasgen", "kerasgen.zoo": "zoo", "kerasgen.cli": "cli"},
    package_data={"kerasgen": ["assets/*"], "kerasgen.zoo": ["entries/*/*"]},
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "keras>=3.15.1,<4",
        "tensorflow-datasets>=4.9.9,<5",
        "importlib_resources>=6,<8",  # tensorflow-datasets 4.9.10 imports it to prepare a dataset, undeclared
        "tensorboard>=2.20,<3",
        "click>=8.1,<9",
        "numpy>=1.26,<3",
        "pillow>=10,<14",
        "scikit-learn>=1.4,<2",
    ],
    extras_require={
        "mnistm": ["scikit-image>=0.26,<1"],  # the photographs of the `mnistm` data source (kerasgen.data.mnistm)
        "test": [
            "pytest>=8,<10",
            "pytest-xdist>=3.5,<4",  # two test processes: the suite keeps both cores busy
            "ruff>=0.17,<0.18",
            "setuptools>=70",
            "hypothesis>=6.100,<7",
            "scikit-image>=0.26,<1",
        ],
        "docs": [  # the documentation site: `mkdocs build --strict` (mkdocs.yml, docs/)
            "mkdocs>=1.6.1,<2",
            "mkdocs-material>=9.6,<10",
            "mkdocstrings[python]>=1.0,<2",
            "mkdocstrings-python>=2.0,<3",
            "mkdocs-click>=0.9,<0.10",
        ],
    },
    entry_points={"console_scripts": ["kerasgen=kerasgen.cli:main"]},
)
