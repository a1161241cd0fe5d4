"""tfrankcf: collaborative-filtering recommenders trained against ranking metrics.

TensorFlow 2.15 with Keras 2 (`tf.keras`) and TF-Ranking 0.5.5. Subpackages:
datasets, protocols, metrics, baselines, backbones, losses, inputs, methods,
training, serving. TensorFlow is imported lazily by the modules that need it,
so the data and evaluation parts work without paying for it.

The public API (`tfrankcf.api`: `load_split`, `method_names`, `method_config`,
`train`, `evaluate`, `export`, `RunConfig`) is importable from here; it is
loaded on first use (PEP 562), so `import tfrankcf.errors` stays light.
"""

import importlib

__version__ = "0.1.0"

_API = ("Evaluation", "RunConfig", "Trained", "evaluate", "export", "load_split",
        "method_config", "method_names", "train")


def __getattr__(name):
  if name in _API:
    return getattr(importlib.import_module("tfrankcf.api"), name)
  raise AttributeError(f"module 'tfrankcf' has no attribute '{name}'")


def __dir__():
  return sorted(set(name for name in globals() if not name.startswith("_")
                    and name != "importlib") | set(_API) | {"__version__"})
