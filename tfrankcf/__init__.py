"""tfrankcf: collaborative-filtering recommenders trained against ranking metrics.

TensorFlow 2.15 with Keras 2 (`tf.keras`) and TF-Ranking 0.5.5. Subpackages:
datasets, protocols, metrics, baselines, backbones, losses, inputs, methods,
training, serving. TensorFlow is imported lazily by the modules that need it,
so the data and evaluation parts work without paying for it.
"""

__version__ = "0.1.0"
