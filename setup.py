"""tfrankcf: collaborative-filtering recommenders trained against ranking metrics."""

import os

import setuptools

HERE = os.path.dirname(os.path.abspath(__file__))
BINARIES = sorted(
    name[:-3] for name in os.listdir(os.path.join(HERE, "binaries"))
    if name.endswith(".py") and not name.startswith("_"))
# Console-script names that differ from the module's: `train` alone would be too generic.
COMMANDS = {"train": "tfrankcf_train"}

setuptools.setup(
    name="tfrankcf",
    version="0.1.0",
    description=("Collaborative-filtering recommenders trained against ranking "
                 "metrics: RaCT, CF-SFL, GuidedRec, APR and strong baselines, in "
                 "TensorFlow 2 / Keras."),
    long_description=open(os.path.join(HERE, "README.md")).read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10,<3.12",
    packages=setuptools.find_packages(include=["tfrankcf", "tfrankcf.*"]) + ["tfrankcf.binaries"],
    package_dir={"tfrankcf.binaries": "binaries"},
    package_data={"tfrankcf": ["datasets/data/*/*"]},
    install_requires=[
        # TF-Ranking 0.5.5 requires `tensorflow` (< 2.16: it fails to import on newer
        # TF). Depending on that one distribution, not also on tensorflow-cpu, keeps a
        # single TensorFlow in the environment (two builds registered their CUDA
        # plugins twice and doubled the install).
        "tensorflow==2.15.*",
        "tensorflow-ranking==0.5.5",
        "numpy>=1.23,<2",
        "scipy>=1.10",
        "pandas>=1.5",
        "absl-py>=1.0",
        "matplotlib>=3.5",
    ],
    extras_require={
        "gpu": ["tensorflow[and-cuda]==2.15.*"],
        "test": ["pytest>=7"],
        # Peers the benchmarks measure against (bench/ only, never imported by tfrankcf).
        "bench": ["implicit>=0.7.2"],
    },
    entry_points={"console_scripts": [
        f"{COMMANDS.get(name, name)}=tfrankcf.binaries.{name}:entry_point"
        for name in BINARIES]},
)
