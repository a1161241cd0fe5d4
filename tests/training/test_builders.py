"""builder_for: a recorded run's method and params name the builder its binary used."""

import pytest

from tfrankcf.errors import InputError
from tfrankcf.methods.autoencoder import build_autoencoder
from tfrankcf.methods.bpr import build_bpr
from tfrankcf.methods.ract import build_ract
from tfrankcf.methods.supervised import build_supervised
from tfrankcf.training.builders import builder_for


@pytest.mark.parametrize("method,params,expected", [
    ("ract", {"actor": "vae"}, build_ract),
    ("bpr", {"embedding_dim": 64}, build_bpr),
    ("graphrec_listmle", {"backbone": "graphrec", "loss": "listmle"}, build_supervised),
    ("neumf_logloss", {}, build_supervised),
    ("vae_approx_ndcg_all", {"actor": "vae", "reconstruction": "approx_ndcg"},
     build_autoencoder),
    ("dae", {}, build_autoencoder),
])
def test_builder_of_each_binarys_method_names(method, params, expected):
  assert builder_for(method, params) is expected


@pytest.mark.parametrize("method", ["ease", "itempop", "no_such_method"])
def test_closed_form_and_unknown_methods_have_no_builder(method):
  with pytest.raises(InputError, match=method):
    builder_for(method, {})
