"""Tests of the method registry: coverage, roles and the checks made before anything runs."""

import os

import pytest

from tfrankcf.comparison.registry import METHODS, get_methods
from tfrankcf.errors import InputError

BINARIES = os.path.join(os.path.dirname(__file__), "..", "..", "binaries")


def test_every_issue_method_is_registered_with_an_existing_binary():
  for name in ("itempop", "ease", "vae", "dae", "mf", "warp", "bpr", "apr", "ract", "cfsfl",
               "guidedrec", "guidedrec_neumf", "logloss", "listmle", "approx_ndcg",
               "gumbel_approx_ndcg", "neural_sort", "softmax", "pairwise_logistic",
               "vae_listmle", "dae_softmax", "vae_approx_ndcg_all", "neumf_listmle"):
    assert name in METHODS, name
  for spec in METHODS.values():
    assert os.path.exists(os.path.join(BINARIES, spec.binary + ".py")), spec


def test_roles():
  proposed = {name for name, spec in METHODS.items() if not spec.baseline}
  assert proposed == {"guidedrec", "guidedrec_neumf", "ract", "cfsfl", "apr"}
  assert {name for name, spec in METHODS.items() if spec.closed_form} == {"itempop", "ease"}
  assert METHODS["listmle"].flags == ("--backbone=graphrec", "--loss=listmle")
  assert "--weight_decay=0.00001" in METHODS["logloss"].flags
  assert METHODS["vae_listmle"].flags == ("--method=vae", "--loss=listmle")


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
