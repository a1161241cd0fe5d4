"""Autoencoder actors over a user's multi-hot history (Mult-VAE, Mult-DAE, MF, WARP).

One Keras model, `Autoencoder`, covers every actor of RaCT's Table 2:

  input (width `input_width`) -> encoder hidden layers -> latent
  (mean and log-variance heads when variational) -> decoder hidden layers
  -> M logits.

The named architectures in `ACTORS` are the published ones; `build_actor`
makes one and lets a caller change any field (e.g. CF-SFL widens the input to
[history, feedback], `--dae_hidden` Mult-DAE's hidden layer). What an actor is
trained with (its reconstruction term, l2, input dropout and KL schedule) is
the objective of the method that trains it, `tfrankcf.methods.autoencoder`
(`ActorObjective`, with the published actors' objectives in `OBJECTIVES`).

The model does not normalise or corrupt its input: `encoder_input` does that
(L2-normalise the full row, then apply a dropout mask rescaled by 1/keep), so
that RaCT can reuse the same Bernoulli mask as its observed/held-out split.

Sparse input: a history of a few dozen items in a catalogue of tens of
thousands is mostly zeros, and a dense first layer multiplies them all. The
model, `encoder_input` and `input_products` also take a `tf.SparseTensor`
row batch: the normalisation and the mask then touch only its non-zeros
(dropping a zero leaves it zero, so it is the same dropout), and the first
layer is a gather of the kernel's rows of the present items weighted by their
values and summed per user (`sparse_product`), whose kernel gradient is an
`IndexedSlices` of those rows instead of a dense [M, H] product of zeros. The
output layer and its softmax stay dense over the whole catalogue.
"""

import dataclasses

import tensorflow as tf

from tfrankcf.errors import InputError


@dataclasses.dataclass(frozen=True)
class ActorConfig:
  """Architecture of an autoencoder actor (its objective: `methods.autoencoder.ActorObjective`).

  Attributes:
    encoder_dims: hidden layer sizes between the input and the latent layer.
    latent_dim: size of the latent code.
    decoder_dims: hidden layer sizes between the latent code and the logits.
    activation: activation of the hidden layers.
    latent_activation: activation of a deterministic latent layer (Mult-DAE's
      single tanh hidden layer is its latent layer).
    variational: Gaussian posterior (mean, log-variance heads, KL term) or a
      point estimate.
    bias_stddev: std of the truncated-normal bias initialiser (0: zeros).
  """

  encoder_dims: tuple = (600,)
  latent_dim: int = 200
  decoder_dims: tuple = (600,)
  activation: str = "tanh"
  latent_activation: str | None = None
  variational: bool = True
  bias_stddev: float = 0.001


# Sources: Mult-VAE = vae_cf notebook cells 41-43, 52 and RaCT base_models.py;
# the rest are RaCT's Table 2 actors (models.py / base_models.py). Their
# objectives (term, l2, ...) are `tfrankcf.methods.autoencoder.OBJECTIVES`.
ACTORS: dict[str, ActorConfig] = {
    # M -> 600 tanh -> (mu, logvar) 200 -> 600 tanh -> M.
    "vae": ActorConfig(),
    # vae_cf Mult-DAE: M -> 200 tanh -> M. RaCT F.4 uses 600 hidden units: --dae_hidden=600.
    "dae": ActorConfig(encoder_dims=(), latent_activation="tanh", decoder_dims=(),
                       variational=False, bias_stddev=0.0),
    # Table 2 "VAE (Gaussian)": the Mult-VAE shape.
    "vae_gaussian": ActorConfig(),
    # Table 2 "VAE (beta = 0)": same shape, delta posterior (main_dae.py).
    "vae_beta0": ActorConfig(variational=False, bias_stddev=0.0),
    # Table 2 "VAE (Linear)": linear encoder and decoder around a Gaussian latent.
    "vae_linear": ActorConfig(encoder_dims=(), decoder_dims=(), bias_stddev=0.0),
    # MF: linear M -> 200 -> M.
    "mf": ActorConfig(encoder_dims=(), decoder_dims=(), variational=False, bias_stddev=0.0),
    # WARP actor: linear M -> 200 -> M.
    "warp": ActorConfig(encoder_dims=(), decoder_dims=(), variational=False, bias_stddev=0.0),
}


def is_sparse(rows) -> bool:
  """Whether `rows` is a `tf.SparseTensor` batch of rows (else a dense [B, M] tensor)."""
  return isinstance(rows, tf.SparseTensor)


def dense_rows(rows) -> tf.Tensor:
  """`rows` as a dense [B, M] tensor (for the terms that read the whole row)."""
  return tf.sparse.to_dense(rows) if is_sparse(rows) else rows


def with_values(rows: tf.SparseTensor, values: tf.Tensor) -> tf.SparseTensor:
  """A sparse batch with `rows`' positions and new `values` [nnz]."""
  return tf.SparseTensor(rows.indices, values, rows.dense_shape)


def row_sums(rows) -> tf.Tensor:
  """sum_m rows[b, m] [B], dense or sparse."""
  if is_sparse(rows):
    return tf.math.unsorted_segment_sum(rows.values, rows.indices[:, 0], rows.dense_shape[0])
  return tf.reduce_sum(rows, axis=1)


def kept(history, mask):
  """history * mask (the observed part of a dropped-out row); sparse: same positions."""
  if is_sparse(history):
    return with_values(history, history.values * mask.values)
  return history * mask


def dropped(history, mask):
  """history * (1 - mask) (the held-out part of a dropped-out row)."""
  if is_sparse(history):
    return with_values(history, history.values * (1.0 - mask.values))
  return history * (1.0 - mask)


def encoder_input(history, mask=None, keep_prob: float = 1.0):
  """L2-normalised rows, then (in training) the dropout `mask` rescaled by 1/keep.

  `history` dense [B, M], or a `tf.SparseTensor` with `mask` a SparseTensor of
  the same positions (0/1 values): then the result is sparse too, without the
  dropped entries, and equals the dense one (`tf.math.l2_normalize`'s epsilon).
  """
  if not is_sparse(history):
    normalised = tf.math.l2_normalize(history, axis=1)
    if mask is None:
      return normalised
    return normalised * mask / keep_prob
  users = history.indices[:, 0]
  squares = tf.math.unsorted_segment_sum(tf.square(history.values), users,
                                         history.dense_shape[0])
  scale = tf.math.rsqrt(tf.maximum(squares, 1e-12))
  normalised = with_values(history, history.values * tf.gather(scale, users))
  if mask is None:
    return normalised
  kept_entries = tf.sparse.retain(normalised, mask.values > 0)
  return with_values(kept_entries, kept_entries.values / keep_prob)


def sparse_product(inputs: tf.SparseTensor, kernel: tf.Variable) -> tf.Tensor:
  """inputs [B, K] @ kernel[:K] [B, H] as an embedding bag over the non-zeros.

  A gather of the kernel rows of the present columns, weighted by the values
  and summed per row: O(nnz * H), and the kernel's gradient is the
  `IndexedSlices` of those rows (the optimiser's sparse update).
  """
  rows = tf.gather(kernel, inputs.indices[:, 1]) * inputs.values[:, None]
  return tf.math.unsorted_segment_sum(rows, inputs.indices[:, 0], inputs.dense_shape[0])


@tf.autograph.experimental.do_not_convert
def sparse_multinomial_nll(labels: tf.SparseTensor, logits: tf.Tensor) -> tf.Tensor:
  """`multinomial_nll` [B] of sparse `labels`: logsumexp(logits) * sum(x) - sum_j x_j logits_j.

  The softmax over the whole catalogue is exact; its exponentials are kept
  from the forward pass for the gradient softmax * sum(x) - x (with respect to
  the logits; the labels are data), one pass over [B, M] fewer each way than
  differentiating `tf.nn.log_softmax`.
  """
  users = labels.indices[:, 0]
  batch = tf.shape(logits, out_type=tf.int64)[0]
  totals = tf.math.unsorted_segment_sum(labels.values, users, batch)

  @tf.custom_gradient
  def nll(logits):
    top = tf.reduce_max(logits, axis=-1, keepdims=True)
    exponentials = tf.exp(logits - top)
    sums = tf.reduce_sum(exponentials, axis=-1)
    picked = tf.math.unsorted_segment_sum(
        labels.values * tf.gather_nd(logits, labels.indices), users, batch)

    def gradient(upstream):
      softmax_part = exponentials * (upstream * totals / sums)[:, None]
      return tf.tensor_scatter_nd_sub(softmax_part, labels.indices,
                                      labels.values * tf.gather(upstream, users))
    return (tf.math.log(sums) + top[:, 0]) * totals - picked, gradient

  return nll(logits)


class Autoencoder(tf.keras.Model):
  """An actor: `call(inputs, training, seed) -> (logits [B, M], kl [B])`.

  `inputs` is the already normalised (and, in training, masked) encoder input
  of width `input_width`. In training a variational actor samples
  z = mu + eps * sigma with eps drawn statelessly from `seed` (shape [2]); at
  evaluation z = mu. `kl` is zero for point-estimate actors.
  """

  def __init__(self, num_items: int, config: ActorConfig = ActorConfig(),
               input_width: int | None = None, **kwargs):
    super().__init__(**kwargs)
    self.num_items = int(num_items)
    self.config = config
    self.input_width = int(input_width or num_items)

    def dense(units, activation=None, name=None):
      bias = (tf.keras.initializers.TruncatedNormal(stddev=config.bias_stddev)
              if config.bias_stddev > 0 else "zeros")
      return tf.keras.layers.Dense(units, activation=activation, name=name,
                                   kernel_initializer="glorot_uniform",
                                   bias_initializer=bias)

    self.encoder_layers = [dense(units, config.activation, f"encoder_{i}")
                           for i, units in enumerate(config.encoder_dims)]
    if config.variational:
      self.mean_layer = dense(config.latent_dim, name="latent_mean")
      self.log_variance_layer = dense(config.latent_dim, name="latent_log_variance")
    else:
      self.latent_layer = dense(config.latent_dim, config.latent_activation, "latent")
    self.decoder_layers = [dense(units, config.activation, f"decoder_{i}")
                           for i, units in enumerate(config.decoder_dims)]
    self.output_layer = dense(self.num_items, name="logits")
    self(tf.zeros([1, self.input_width]))  # create the weights now

  @property
  def input_layers(self) -> list:
    """The layers that read the input: the first encoder layer, or the latent ones."""
    if self.encoder_layers:
      return self.encoder_layers[:1]
    if self.config.variational:
      return [self.mean_layer, self.log_variance_layer]
    return [self.latent_layer]

  def input_products(self, leading) -> list:
    """leading @ W[:k] for each input layer (k = leading's width; sparse or dense).

    The part of the first layer that a loop whose trailing input columns
    change (CF-SFL's [x, v_t]) computes once instead of once per step: the
    M-wide product is most of an encoder's cost.
    """
    if is_sparse(leading):
      return [sparse_product(leading, layer.kernel) for layer in self.input_layers]
    width = leading.shape[-1]
    if width is None:  # e.g. densified from a SparseTensor in a graph
      width = tf.shape(leading)[-1]
    return [tf.matmul(leading, layer.kernel[:width]) for layer in self.input_layers]

  def _read_input(self, index: int, layer, inputs, leading_products):
    if leading_products is None:
      if is_sparse(inputs):
        return layer.activation(tf.nn.bias_add(sparse_product(inputs, layer.kernel),
                                               layer.bias))
      return layer(inputs)
    trailing = layer.kernel[self.input_width - inputs.shape[-1]:]
    return layer.activation(tf.nn.bias_add(
        leading_products[index] + tf.matmul(inputs, trailing), layer.bias))

  def call(self, inputs, training=False, seed=None, leading_products=None):
    """`inputs` [B, input_width] (dense or a `tf.SparseTensor`); or, with
    `leading_products` (`input_products` of the leading columns), only the
    trailing columns (dense)."""
    def read(index, layer):
      return self._read_input(index, layer, inputs, leading_products)

    h = inputs
    for index, layer in enumerate(self.encoder_layers):
      h = read(index, layer) if index == 0 else layer(h)
    reads_input = not self.encoder_layers
    if self.config.variational:
      mean = read(0, self.mean_layer) if reads_input else self.mean_layer(h)
      log_variance = (read(1, self.log_variance_layer) if reads_input
                      else self.log_variance_layer(h))
      kl = 0.5 * tf.reduce_sum(
          -log_variance + tf.exp(log_variance) + tf.square(mean) - 1.0, axis=1)
      z = mean
      if training:
        epsilon = tf.random.stateless_normal(tf.shape(mean), seed=seed)
        z = mean + epsilon * tf.exp(0.5 * log_variance)
    else:
      z = read(0, self.latent_layer) if reads_input else self.latent_layer(h)
      kl = tf.zeros(tf.shape(z)[:1])
    for layer in self.decoder_layers:
      z = layer(z)
    return self.output_layer(z), kl

  def l2_penalty(self, l2: float) -> tf.Tensor:
    """`l2 * sum(kernel^2)` over every layer (biases excluded, as vae_cf).

    `l2` is the objective's coefficient (`ActorObjective.l2`); 0 gives a constant 0.
    """
    if not l2:
      return tf.constant(0.0)
    kernels = [v for v in self.trainable_variables if "kernel" in v.name]
    return l2 * tf.add_n([tf.reduce_sum(tf.square(k)) for k in kernels])


def build_actor(name: str, num_items: int, input_width: int | None = None,
                **overrides) -> Autoencoder:
  """The actor `name` of `ACTORS`, with any `ActorConfig` field overridden.

  Args:
    name: a key of `ACTORS`.
    num_items: output width M.
    input_width: encoder input width (default M).
    **overrides: `ActorConfig` fields.
  """
  if name not in ACTORS:
    raise InputError(f"unknown actor '{name}' (choose from {', '.join(ACTORS)})")
  fields = {f.name for f in dataclasses.fields(ActorConfig)}
  unknown = sorted(set(overrides) - fields)
  if unknown:
    raise InputError(f"unknown actor option(s) {', '.join(unknown)}")
  config = dataclasses.replace(ACTORS[name], **overrides)
  return Autoencoder(num_items, config, input_width=input_width, name=f"{name}_actor")
