"""Which builder constructs a recorded run's method: `RunConfig.method` -> `build(split, config)`.

The binaries pick a builder from their flags; a run recorded in results.json
or config.json is rebuilt (to export or inspect it) by the same builder,
found here from its `method` and `params`:

* ract, cfsfl, guidedrec, apr, bpr: their own builders;
* `train_baseline --backbone` runs (<backbone>_<loss>, params["backbone"]):
  `build_supervised`;
* autoencoders (<actor>[_<loss>[_all]], params["actor"]): `build_autoencoder`.

Closed-form baselines (itempop, ease) have no builder: `CLOSED_FORM`.
"""

import importlib

from tfrankcf.errors import InputError

CLOSED_FORM = ("itempop", "ease")
BACKBONES = ("graphrec", "neumf")
AUTOENCODERS = ("vae", "dae", "mf", "warp")
_BY_NAME = {
    "ract": "tfrankcf.methods.ract:build_ract",
    "cfsfl": "tfrankcf.methods.cfsfl:build_cfsfl",
    "guidedrec": "tfrankcf.methods.guidedrec:build_guidedrec",
    "apr": "tfrankcf.methods.apr:build_apr",
    "bpr": "tfrankcf.methods.bpr:build_bpr",
}
_SUPERVISED = "tfrankcf.methods.supervised:build_supervised"
_AUTOENCODER = "tfrankcf.methods.autoencoder:build_autoencoder"


def builder_for(method: str, params: dict):
  """The `build(split, config) -> Trainable` of a recorded trainable run."""
  if method in CLOSED_FORM:
    raise InputError(f"'{method}' is a closed-form baseline: it has no builder")
  if method in _BY_NAME:
    target = _BY_NAME[method]
  elif "backbone" in params or method.split("_")[0] in BACKBONES:
    target = _SUPERVISED
  elif "actor" in params or method.split("_")[0] in AUTOENCODERS:
    target = _AUTOENCODER
  else:
    raise InputError(f"no builder for method '{method}' (params {sorted(params)})")
  module, name = target.split(":")
  return getattr(importlib.import_module(module), name)
