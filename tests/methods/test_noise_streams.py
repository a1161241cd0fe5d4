"""The noise-stream ids: fixed values (every trained result depends on them), distinct per space."""

from tfrankcf.methods import noise_streams

# Changing one of these changes every result trained with that draw: never edit this table.
_AUTOENCODER_STREAMS = {"DROPOUT_STREAM": 0, "LATENT_STREAM": 1, "CFSFL_RECOMMENDER_STREAM": 2,
                        "CFSFL_REWARD_STREAM": 3, "RECONSTRUCTION_STREAM": 4,
                        "RACT_STATISTICS_STREAM": 7}
_PAIRWISE_STREAMS = {"RANKING_LOSS_STREAM": 1}


def test_stream_ids_keep_their_values():
  declared = {name: value for name, value in vars(noise_streams).items()
              if name.endswith("_STREAM")}
  assert declared == {**_AUTOENCODER_STREAMS, **_PAIRWISE_STREAMS}


def test_streams_of_one_seed_space_are_distinct():
  for space in (_AUTOENCODER_STREAMS, _PAIRWISE_STREAMS):
    values = [getattr(noise_streams, name) for name in space]
    assert len(set(values)) == len(values)
