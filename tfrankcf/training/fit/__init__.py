"""The parts of the fit loop (`tfrankcf.training.loop.train_and_evaluate`), one job each.

`part` is the protocol: a `Part` has hooks that the loop calls around each
epoch's `model.fit` (`on_train_begin`, `on_epoch_begin`, `on_epoch_end`,
`on_train_end`, and `on_restore` after any part reads saved state back into the
model), and every hook sees the run's shared `FitState`. The loop's parts:

* `checkpointing.Checkpointing`: the checkpoint of each epoch (written last) and
  `checkpoints/history.json` (written just before it); the resume;
* `learning_rates.LearningRateOverride`: the command line's learning rates win
  over a restored checkpoint's;
* `selection.Selection`: validation, the best epoch and its weights (`best/`);
* `continue_from_best.ContinueFromBest`: back to the best epoch before a stage
  (`restore_best_at`);
* `milestones.Milestones`: the best model so far at a stage boundary, evaluated
  and compared at the end;
* `divergence.DivergenceGuard`: a NaN or infinite loss or weights stop the run;
* `early_stopping.EarlyStopping`: patience, never before the last stage;
* `tensorboard.TensorBoardSummaries` and `epoch_log.EpochLog`: what a run shows;
* `epoch.EpochTrainer` trains one epoch (`progress.EpochProgress` prints a long
  one's progress) and `interrupt.interruptible` turns Ctrl-C into
  `tfrankcf.errors.Interrupted`.
"""
