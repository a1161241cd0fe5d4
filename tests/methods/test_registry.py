"""The method registry: names resolve to specs and variants, and recorded runs rebuild."""

import dataclasses
import importlib
import json
import subprocess
import sys

import pytest

from tfrankcf.errors import InputError
from tfrankcf.methods import registry
from tfrankcf.methods.autoencoder import build_autoencoder
from tfrankcf.methods.bpr import build_bpr
from tfrankcf.methods.ract import build_ract
from tfrankcf.methods.supervised import build_supervised
from tfrankcf.training.config import RunConfig


@pytest.mark.parametrize("name,spec,build", [
    ("ract", "ract", build_ract),
    ("bpr", "bpr", build_bpr),
    ("listmle", "listwise", build_supervised),
    ("graphrec_listmle", "listwise", build_supervised),  # the name runs recorded before
    ("neumf_logloss", "listwise", build_supervised),
    ("vae_approx_ndcg_all", "autoencoder", build_autoencoder),
    ("mf_listmle", "autoencoder", build_autoencoder),  # not offered by compare, still a run
    ("dae", "autoencoder", build_autoencoder),
])
def test_every_recorded_method_name_resolves_to_its_builder(name, spec, build):
  entry = registry.get(name)
  assert entry.spec.name == spec and entry.spec.build is build


@pytest.mark.parametrize("name", ["ease", "itempop"])
def test_closed_form_methods_fit_instead_of_building(name):
  spec = registry.get(name).spec
  assert spec.closed_form and spec.build is None and callable(spec.fit)


def test_an_unknown_name_lists_the_choices():
  with pytest.raises(InputError, match="unknown method 'no_such_method'; choose from itempop, "
                                       "ease, bpr"):
    registry.get("no_such_method")


def test_names_are_unique_and_each_variant_fixes_real_fields():
  names = [entry.name for entry in registry.entries(listed_only=False)]
  assert len(names) == len(set(names))
  for entry in registry.entries(listed_only=False):
    fields = {field.name for field in dataclasses.fields(entry.spec.config)}
    assert set(entry.variant.values) <= fields, entry.name
    config = RunConfig(method=entry.name).method_config  # the variant's config resolves
    assert entry.spec.variant_of(config) == entry.variant  # and names the variant back


def test_a_variant_is_looked_up_never_parsed():
  config = RunConfig(method="listmle").method_config
  assert (config.backbone, config.loss) == ("graphrec", "listmle")
  assert registry.get("graphrec_listmle").name == "listmle"  # an alias, canonical name
  config = RunConfig(method="vae", method_config={"loss": "approx_ndcg", "candidates": "all"})
  assert config.spec.variant_of(config.method_config).name == "vae_approx_ndcg_all"


def test_unknown_settings_are_errors_never_dropped():
  with pytest.raises(InputError, match="unknown setting no_such_field"):
    RunConfig(method="vae", method_config={"no_such_field": 1})
  with pytest.raises(InputError, match="unknown run setting"):
    RunConfig.from_dict({"method": "vae", "no_such": 1})


def test_a_run_config_round_trips_through_json():
  config = RunConfig(method="ract", protocol="strong",
                     method_config={"actor": "dae", "critic_features": ["nll", "heldout"]})
  recorded = json.loads(json.dumps(config.to_dict()))
  again = RunConfig.from_dict(recorded)
  assert again == config and again.method_config.critic_features == ("nll", "heldout")


def test_an_older_runs_params_still_rebuild():
  old = {"method": "graphrec_listmle", "protocol": "loo_sampled",
         "params": {"backbone": "graphrec", "loss": "listmle", "mlp_layers": [16, 16, 8, 8],
                    "embedding_dim": 20}}
  config = RunConfig.from_dict(old)
  assert config.spec.name == "listwise" and config.method_config.loss == "listmle"
  old = {"method": "vae_listmle", "params": {"actor": "vae", "reconstruction": "listmle",
                                             "list_size": 20}}
  assert RunConfig.from_dict(old).method_config.loss == "listmle"


PLUGIN = """
import dataclasses
from tfrankcf.methods.spec import MethodSpec
from tfrankcf.methods.closed_form import fit_itempop

@dataclasses.dataclass
class Empty:
  '''No settings.'''

SPEC = MethodSpec(name="my_pop", label="My popularity", config=Empty, fit=fit_itempop)
"""


def test_plugins_from_the_environment_are_registered(tmp_path):
  plugin = tmp_path / "my_plugin.py"
  plugin.write_text(PLUGIN)
  script = ("from tfrankcf.methods import registry; e = registry.get('my_pop'); "
            "print(e.spec.label, [x.name for x in registry.entries()][-1])")
  result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, env={**__import__("os").environ,
                                            "TFRANKCF_PLUGINS": f"nonexistent_sep,{plugin}"
                                            .replace("nonexistent_sep,", "")})
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.strip() == "My popularity my_pop"
  assert registry.plugin_sources("a.py,b" + __import__("os").pathsep + "c") == ["a.py", "b", "c"]


def test_every_method_module_s_spec_is_registered_without_a_list_to_edit():
  declared = []
  for name in registry.builtin_modules():
    module = importlib.import_module(name)
    declared += list(getattr(module, "SPECS", ())) + (
        [module.SPEC] if getattr(module, "SPEC", None) else [])
  assert declared and {spec.name for spec in declared} == {s.name for s in registry.specs()}
