"""GuidedRec's surrogate: a network estimating a list's NDCG from its (score, label) pairs.

Paper eq. 4-8 and Figure 3, with the code's details (`GraphRec.py:329-361`):
x = [(s_1, y_1), ..., (s_K, y_K)] (scores are sigmoid probabilities);

* v (MLP branch): dense layers on [s_1..s_K, y_1..y_K];
* g: dense layers on every pair -> Z [K, d_g];
* e (NFM branch): dense layers on (1/K) Z Z^T 1 [K] ("nfm2", second-degree,
  bi-linear interactions) or on (1/K) Z^T 1 [d_g] ("nfm1", first degree);
* h (head): dense layers then one output unit.

Architectures: "mlp" = h(v), "nfm1" = h(e1), "nfm2" = h(e2), "ensemble" =
h(e2 (.) v) (eq. 8, the paper's best). Every layer, the output included, is
tanh; kernels N(0, 0.01^2), biases zero. Layer sizes default to Table 5 (v
[20, 20], g [20], e [20], h [8]). The ensemble needs v and e to end in the
same size.
"""

from typing import Sequence

import tensorflow as tf

ARCHITECTURES = ("mlp", "nfm1", "nfm2", "ensemble")


class SurrogateNDCG(tf.keras.layers.Layer):
  """(scores [B, K], labels [B, K]) -> estimated NDCG [B], in (-1, 1)."""

  def __init__(self, architecture: str = "ensemble", mlp_layers: Sequence[int] = (20, 20),
               pair_layers: Sequence[int] = (20,), nfm_layers: Sequence[int] = (20,),
               head_layers: Sequence[int] = (8,), init_stddev: float = 0.01,
               seed: int | None = None, **kwargs):
    super().__init__(**kwargs)
    if architecture not in ARCHITECTURES:
      raise ValueError(f"unknown surrogate architecture '{architecture}', expected one of "
                       f"{ARCHITECTURES}")
    if architecture == "ensemble" and mlp_layers[-1] != nfm_layers[-1]:
      raise ValueError("the ensemble multiplies the MLP and NFM outputs: their last layers "
                       f"must match, got {list(mlp_layers)} and {list(nfm_layers)}")
    self.architecture = architecture

    def stack(sizes, name, block):
      return [tf.keras.layers.Dense(
          units, activation="tanh", name=f"{name}_{j}",
          kernel_initializer=tf.keras.initializers.RandomNormal(
              stddev=init_stddev, seed=None if seed is None else int(seed) + 100 * block + j))
              for j, units in enumerate(sizes)]

    self.mlp = stack(mlp_layers, "v", 0) if architecture in ("mlp", "ensemble") else []
    uses_nfm = architecture != "mlp"
    self.pair = stack(pair_layers, "g", 1) if uses_nfm else []
    self.nfm = stack(nfm_layers, "e", 2) if uses_nfm else []
    self.head = stack(list(head_layers) + [1], "h", 3)

  @staticmethod
  def _apply(layers, x):
    for layer in layers:
      x = layer(x)
    return x

  def call(self, scores: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    scores = tf.cast(scores, tf.float32)
    labels = tf.cast(labels, tf.float32)
    if self.architecture != "mlp":
      z = self._apply(self.pair, tf.stack([scores, labels], axis=-1))         # [B, K, d_g]
      if self.architecture == "nfm1":
        pooled = tf.reduce_mean(z, axis=1)                                    # (1/K) Z^T 1
      else:
        pooled = tf.einsum("bkd,bd->bk", z, tf.reduce_mean(z, axis=1))       # (1/K) Z Z^T 1
      nfm = self._apply(self.nfm, pooled)
    if self.architecture in ("mlp", "ensemble"):
      mlp = self._apply(self.mlp, tf.concat([scores, labels], axis=1))
    if self.architecture == "mlp":
      features = mlp
    elif self.architecture == "ensemble":
      features = nfm * mlp
    else:
      features = nfm
    return tf.squeeze(self._apply(self.head, features), axis=-1)
