"""kerasgen: a Keras 3 / TensorFlow zoo of generative networks.

Installs one top-level package, `kerasgen`. The registry (`zoo/`) and the
command line (`cli/`) live at the top of the repository and are mapped into
it as `kerasgen.zoo` and `kerasgen.cli`.
"""

from setuptools import setup

setup(
    name="kerasgen",
    version="0.1.0",
    description="AutoEncoder, VAE, GAN and CycleGAN for Keras 3, with a zoo of measured pretrained models",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=["kerasgen", "kerasgen.zoo", "kerasgen.cli"],
    package_dir={"kerasgen": "kerasgen", "kerasgen.zoo": "zoo", "kerasgen.cli": "cli"},
    package_data={"kerasgen": ["assets/*"], "kerasgen.zoo": ["entries/*/*"]},
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "keras>=3.15.1,<4",
        "tensorflow-datasets>=4.9.9",
        "tensorboard>=2.20",
        "click>=8.1,<9",
        "numpy>=1.26",
        "pillow>=10",
        "scikit-learn>=1.4",
    ],
    extras_require={"test": ["pytest>=8", "ruff>=0.6"]},
    entry_points={"console_scripts": ["kerasgen=kerasgen.cli:main"]},
)
