"""Tests of the method registry: coverage, roles and the checks made before anything runs."""

import dataclasses
import glob
import os

import pytest

from tfrankcf.comparison.registry import METHODS, get_methods
from tfrankcf.methods import registry
from tfrankcf.errors import InputError

BINARIES = os.path.join(os.path.dirname(__file__), "..", "..", "binaries")


CONFIGS = os.path.join(os.path.dirname(__file__), "..", "..", "configs")


def test_every_registered_entry_is_offered_with_an_existing_binary_and_family():
  listed = registry.entries()
  assert list(METHODS) == [entry.name for entry in listed]  # compare offers every entry
  for entry in listed:
    row = METHODS[entry.name]
    assert os.path.exists(os.path.join(BINARIES, row.binary + ".py")), row
    assert row.binary == entry.spec.binary and row.label == entry.label
    assert row.baseline == (entry.spec.role == "baseline")
    assert row.closed_form == entry.spec.closed_form
    assert row.id_based == (entry.spec.scores_by == "id")
    if row.family:  # a declared flagfile family has flagfiles
      assert glob.glob(os.path.join(CONFIGS, f"{row.family}_*.cfg")), row.family
    if not row.closed_form and not entry.spec.family_of(entry.variant):
      assert "--epochs=200" in row.defaults  # trained without a flagfile: vae_cf's 200
  # the methods of the papers and their baselines, as before the registry
  for name in ("itempop", "ease", "vae", "dae", "mf", "warp", "bpr", "apr", "ract", "cfsfl",
               "guidedrec", "guidedrec_neumf", "logloss", "listmle", "approx_ndcg",
               "gumbel_approx_ndcg", "neural_sort", "softmax", "pairwise_logistic",
               "vae_listmle", "dae_softmax", "vae_approx_ndcg_all", "neumf_listmle"):
    assert name in METHODS, name


def test_each_rows_flags_select_its_variant_on_its_binary():
  for name, row in METHODS.items():
    entry = registry.get(name)
    spec, values = entry.spec, entry.variant.values
    for key, value in values.items():
      flag = next(field.metadata.get("flag", field.name)
                  for field in dataclasses.fields(spec.config) if field.name == key)
      fixed_by_selector = any(
          f"--method={selector}" in row.flags and fixed.get(key) == value
          for selector, fixed in spec.selected_by.items())
      assert fixed_by_selector or f"--{flag}={value}" in row.flags, (name, key)


def test_roles():
  proposed = {name for name, spec in METHODS.items() if not spec.baseline}
  assert proposed == {"guidedrec", "guidedrec_neumf", "ract", "cfsfl", "apr"}
  assert {name for name, spec in METHODS.items() if spec.closed_form} == {"itempop", "ease"}
  assert METHODS["listmle"].flags == ("--method=listwise", "--backbone=graphrec",
                                      "--loss=listmle")
  assert "--weight_decay=0.00001" in METHODS["logloss"].flags
  assert METHODS["vae_listmle"].flags == ("--method=vae", "--loss=listmle")
  assert METHODS["guidedrec_neumf"].flags == ("--backbone=neumf",)


def test_an_alias_names_its_entrys_row():
  assert [row.name for row in get_methods(["graphrec_listmle"], "loo_sampled")] == ["listmle"]


def test_get_methods_keeps_the_order():
  specs = get_methods(["ease", " guidedrec", "itempop"], "loo_sampled")
  assert [spec.name for spec in specs] == ["ease", "guidedrec", "itempop"]


@pytest.mark.parametrize("names,protocol,expected", [
    (["ease", "nosuch"], "loo_sampled", "unknown method 'nosuch'; choose from itempop, ease"),
    (["ease", "ease"], "loo_sampled", "--methods lists ease more than once"),
    ([], "loo_sampled", "--methods is empty"),
    (["vae", "guidedrec", "listmle"], "strong",
     "guidedrec, listmle score users by their training id and cannot rank the unseen test "
     "users of --protocol=strong"),
])
def test_bad_method_lists_are_one_line_errors(names, protocol, expected):
  with pytest.raises(InputError) as error:
    get_methods(names, protocol)
  assert expected in str(error.value) and "\n" not in str(error.value)


def test_history_based_methods_run_under_every_protocol():
  for protocol in ("loo_sampled", "loo_full", "strong"):
    assert len(get_methods(["itempop", "ease", "vae", "dae_listmle", "ract", "cfsfl"],
                           protocol)) == 6
