"""The ids of the stateless random streams the methods draw their training noise from.

A method's randomness is drawn statelessly from a base seed [2] =
(run seed, stream id), folded with the step (and, under tf.distribute, the
replica): `AutoencoderModel.noise_seed(stream)` for the autoencoder family,
`Supervised.compute_example_losses` for the pairwise backbones. Each kind of
draw has its own stream so that adding a draw never shifts another one.

Autoencoder family (`AutoencoderModel.noise_seed`, one seed space per run):

| id | constant                   | drawn by                                           |
|----|----------------------------|----------------------------------------------------|
| 0  | `DROPOUT_STREAM`           | every autoencoder: the input dropout mask          |
| 1  | `LATENT_STREAM`            | every autoencoder: Mult-VAE's latent noise         |
| 2  | `CFSFL_RECOMMENDER_STREAM` | CF-SFL: the unrolled recommender passes (fold t)   |
| 3  | `CFSFL_REWARD_STREAM`      | CF-SFL: the unrolled passes of the reward stage    |
| 4  | `RECONSTRUCTION_STREAM`    | a stochastic reconstruction term (sampled lists)   |
| 7  | `RACT_STATISTICS_STREAM`   | RaCT: the refit pass of the critic's feature       |
|    |                            | statistics at the stage boundary (folded with the  |
|    |                            | batch index; its latent noise folds that with 1),  |
|    |                            | not folded with the step                           |

Pairwise backbones (`Supervised`, its own seed space, so its id may repeat one above):

| id | constant                   | drawn by                                           |
|----|----------------------------|----------------------------------------------------|
| 1  | `RANKING_LOSS_STREAM`      | a stochastic ranking loss (e.g. Gumbel ApproxNDCG) |

Never change a value: a stream id is part of every trained result (the same
seed with another id draws other masks, noise and lists, so every published
number and every resumed run would change). A new kind of draw takes a new,
unused id of its seed space; `tests/methods/test_noise_streams.py` pins the
values and their distinctness.
"""

# Autoencoder family: ids of `AutoencoderModel.noise_seed(stream)`.
DROPOUT_STREAM = 0
LATENT_STREAM = 1
CFSFL_RECOMMENDER_STREAM = 2
CFSFL_REWARD_STREAM = 3
RECONSTRUCTION_STREAM = 4
RACT_STATISTICS_STREAM = 7

# Pairwise backbones: the id of `Supervised`'s ranking-loss seed.
RANKING_LOSS_STREAM = 1
