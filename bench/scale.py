r"""Benchmark: every heavy step of the papers' runs at the size of ML-20M, Netflix or MSD.

  python bench/scale.py --shape=ml20m|netflix|msd|tiny [--users N | --scale S]
      [--heldout_users N] [--ease_sweep] [--epochs_per_stage 1] [--threads 0]
      [--steps generate,load,split,ease,vae,ract,cfsfl,bpr,apr,validation]
      [--work_dir /tmp/tfrankcf_scale/<shape>] [--output bench/results/scale_<shape>.json]

Data. A synthetic binary user x item set of the shape the papers report after
the Mult-VAE preprocessing (Liang et al. 2018 Table 1; RaCT and CF-SFL use the
same sets), drawn by `bench/ease_fit.py`'s `synthetic_matrix`, deterministic in
`--seed` (numpy `default_rng(seed)`):

  ml20m:   136,677 users x 20,108 items, 10.0M interactions, 10,000 held-out users;
  netflix: 463,435 users x 17,769 items, 56.9M interactions, 40,000 held-out users;
  msd:     571,355 users x 41,140 items, 33.6M interactions, 50,000 held-out users;
  tiny:      3,000 users x  1,000 items, 60K interactions, 300 held-out users, CF-SFL's
             T = 2, the other settings ML-20M's (a test of the bench, not a paper's shape).

Item popularity is Zipf-like, p_i proportional to rank_i^-0.8 with the ranks a
seeded permutation of the item ids; user activity is log-normal (sigma 1),
scaled so that the counts, clipped to [5, items / 4], add up to the
interactions; each user's items are drawn by popularity without repetition
(draws with replacement, duplicates dropped and the shortfall redrawn, up to
20 rounds). The held-out users are those of the RaCT / CF-SFL papers (the
`strong` counts of the ml20m / netflix / msd registry entries). `--users N`
keeps the items and the mean activity and draws N users (the held-out users
shrink in proportion, at least 1); `--scale S` multiplies users, items and
interactions by S. The set is written to `<work_dir>/<name>.csv`, lines
`user_id,item_id` after a header, users in order and each user's items by
id (a file without timestamps: `loo_full` holds out each user's last two lines),
so any binary reads it:

  train_baseline --method=ease --protocol=strong --dataset=<work_dir>/<name>.csv \
      --heldout_users=10000

Steps. Each runs in a fresh process (its peak RSS is that process's
`ru_maxrss`, read by `os.wait4`), in this order:

* `generate`: the data set and its file;
* `load`: `tfrankcf.datasets.load_dataset(file)` (read and index);
* `split`: `tfrankcf.api.load_split` of `strong` (`--heldout_users`) and of
  `loo_full` (for MF-BPR / APR, whose users must be seen in training), the
  cache empty; peak of each from `/proc/self/status` VmHWM, reset in between
  (`/proc/self/clear_refs`);
* the binaries, `--dataset=<file> --data_dir=<work_dir>/data` (the splits come
  from the cache): `train_baseline --method=ease` with one L2 value (and, with
  `--ease_sweep`, the default grid); `train_baseline --method=vae`;
  `train_ract` with `--epochs_per_stage` epochs per stage; `train_cfsfl` the
  same (T of the paper: 8 for ML-20M and Netflix, 6 for MSD);
  `train_baseline --method=bpr` and `train_apr --pretrain_epochs=0` on
  `loo_full`. Every training step's seconds are the epochs' `train_seconds`
  of the run's results.json `history` (the timing the binaries record:
  input, steps, tracing; not the validation after the epoch), EASE's the
  `selection` fit seconds and `timing.train_seconds` (Gram + fit + one
  validation scoring);
* `validation`: one full validation, `tfrankcf.api.evaluate` of the registry's
  freshly built model on the validation users (Mult-VAE and CF-SFL on
  `strong`, CF-SFL in its joint stage with T rounds; MF-BPR on `loo_full`),
  after a warm-up on the first batch (tracing, timed apart); VmHWM per model.

With one epoch per stage the epoch's seconds include tracing the step (a few
seconds at these sizes); with `--epochs_per_stage 2` or more the last epoch is
the steady one and the first is kept apart. A step that fails (out of memory,
killed, an error) records its return code and the end of its log instead of
stopping the bench; the steps after it still run when their inputs exist.

Projections. From these figures, the wall time of each paper schedule: the
stage epochs times the seconds of each stage's epoch (the first epoch as
measured, the rest at the steady rate), plus one validation per evaluation of
the schedule and the final validation and test evaluations; the split and the
process start are not counted. EASE's sweep of the default 8-value grid is
bounded above by 8 x (Gram + fit + one scoring) of the one-value run (the Gram
is computed once), or measured with `--ease_sweep`. Each schedule names its
source (`SCHEDULES`).

JSON (default `bench/results/scale_<shape>[_users<N>|_scale<S>].json`, written
after every step): the command, the machine, the data, every process (command,
wall and CPU seconds, peak RSS, return code, log) and every step (`seconds`,
`peak_rss_bytes` and the step's own figures), and `projections`.
"""

import argparse
import dataclasses
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import time
from importlib import metadata

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
GB = 1e9


@dataclasses.dataclass(frozen=True)
class Shape:
  """A paper data set's size after preprocessing, and its settings in the papers.

  Attributes:
    users, items, interactions: the sizes (Mult-VAE Table 1).
    heldout_users: `strong` validation (and again test) users (RaCT / CF-SFL / Mult-VAE).
    ract_stages: RaCT's actor / critic / actor-critic epochs (RaCT Table 5).
    unroll_steps: CF-SFL's T (CF-SFL sec. 6, Figure 4).
    ease_l2: the L2 weight of the one-value EASE fit (Steck 2019 reports 500 / 1,000 / 200
      for ML-20M / Netflix / MSD; the cost of a fit does not depend on it).
  """

  users: int
  items: int
  interactions: int
  heldout_users: int
  ract_stages: tuple
  unroll_steps: int
  ease_l2: float


SHAPES = {
    "ml20m": Shape(136_677, 20_108, 10_000_000, 10_000, (150, 50, 50), 8, 500.0),
    "netflix": Shape(463_435, 17_769, 56_900_000, 40_000, (75, 50, 25), 8, 1000.0),
    "msd": Shape(571_355, 41_140, 33_600_000, 50_000, (75, 50, 25), 6, 200.0),
    # tiny: a test of the bench itself (seconds per step); T = 2 keeps CF-SFL's tracing short.
    "tiny": Shape(3_000, 1_000, 60_000, 300, (150, 50, 50), 2, 500.0),
}

# The paper schedules the projections use, each with its source in this repository.
SCHEDULES = {
    "vae": {"epochs": 200, "eval_every": 1,
            "source": "Mult-VAE's vae_cf code trains 200 epochs, validating every epoch "
                      "(configs/vae-losses_ml1m-strong.cfg)"},
    "ract": {"eval_every": 1,
             "source": "RaCT Table 5: 150/50/50 epochs on ML-20M, 75/50/25 on Netflix and MSD "
                       "(quoted in configs/ract_ml1m-strong.cfg), validation every epoch "
                       "(training.py:350-394, ibid.)"},
    "cfsfl": {"stages": (150, 10, 50), "eval_every": 1,
              "source": "CF-SFL sec. 6 (ML-20M): 150 pre-training and 50 joint epochs; "
                        "stage 2's 10 epochs are this package's choice (docs/cfsfl.md item 10); "
                        "configs/cfsfl_ml1m-strong.cfg; T = 8 (ML-20M, Netflix) or 6 (MSD)"},
    "bpr": {"epochs": 1000, "eval_every": 20,
            "source": "configs/apr_ml100k.cfg (the APR authors' train.sh): 1000 MF-BPR epochs, "
                      "evaluated every 20 (docs/reproductions.md's MF-BPR row trains 600)"},
    "apr": {"stages": (1000, 1000), "eval_every": 20,
            "source": "configs/apr_ml100k.cfg (the APR authors' train.sh): 1000 MF-BPR epochs, "
                      "then 1000 APR epochs, evaluated every 20"},
    "ease": {"grid_size": 8,
             "source": "EASEConfig.l2_grid's default, 10 ... 5000 (tfrankcf/baselines/ease.py)"},
}

PROCESSES = ("generate", "load", "split", "ease", "vae", "ract", "cfsfl", "bpr", "apr",
             "validation")
# The steps each process measures, in order (ease_sweep only with --ease_sweep).
STEPS = {
    "generate": ("generate",),
    "load": ("load",),
    "split": ("split_strong", "split_loo_full"),
    "ease": ("ease_fit",),
    "ease_sweep": ("ease_sweep",),
    "vae": ("vae_epoch",),
    "ract": ("ract_actor_epoch", "ract_critic_epoch", "ract_actor_critic_epoch"),
    "cfsfl": ("cfsfl_recommender_epoch", "cfsfl_reward_epoch", "cfsfl_joint_epoch"),
    "bpr": ("bpr_epoch",),
    "apr": ("apr_adversarial_epoch",),
    "validation": ("validation_vae", "validation_cfsfl", "validation_bpr"),
}


# -- sizes and paths ---------------------------------------------------------------------------

def resolve_size(args) -> dict:
  """Users, items, interactions and held-out users of the run (the shape, maybe shrunk)."""
  shape = SHAPES[args.shape]
  users, items, interactions = shape.users, shape.items, shape.interactions
  if args.users and args.scale != 1.0:
    raise SystemExit("--users and --scale: give one")
  if args.users:
    users, interactions = args.users, round(shape.interactions * args.users / shape.users)
  elif args.scale != 1.0:
    users, items = round(shape.users * args.scale), max(10, round(shape.items * args.scale))
    interactions = round(shape.interactions * args.scale)
  heldout = args.heldout_users
  if heldout is None:
    heldout = max(1, round(shape.heldout_users * users / shape.users))
  heldout = float(heldout)  # a count, or a fraction of the users when below 1 (the protocol's)
  return {"shape": args.shape, "users": users, "items": items, "interactions": interactions,
          "heldout_users": int(heldout) if heldout.is_integer() else heldout,
          "full_size": users == shape.users and items == shape.items,
          "unroll_steps": shape.unroll_steps, "ease_l2": args.ease_l2 or shape.ease_l2,
          "ract_stages": list(shape.ract_stages), "seed": args.seed}


def run_name(args) -> str:
  """scale_<shape>, with _users<N> or _scale<S> when shrunk."""
  name = args.shape
  if args.users:
    name += f"_users{args.users}"
  elif args.scale != 1.0:
    name += f"_scale{args.scale:g}"
  return name


def binary(name: str) -> str:
  """The console script `name` of this interpreter's environment (else the PATH's)."""
  beside = os.path.join(os.path.dirname(sys.executable), name)
  found = beside if os.access(beside, os.X_OK) else shutil.which(name)
  if not found:
    raise SystemExit(f"{name}: not installed (pip install -e {REPO_DIR})")
  return found


# -- measuring a process -----------------------------------------------------------------------

def vm_hwm_bytes() -> int | None:
  """This process's peak RSS since the last `reset_peak_rss` (VmHWM), None off Linux."""
  try:
    with open("/proc/self/status") as f:
      for line in f:
        if line.startswith("VmHWM:"):
          return int(line.split()[1]) * 1024
  except OSError:
    pass
  return None


def reset_peak_rss() -> bool:
  """Resets VmHWM to the current RSS (Linux >= 4.0), so the next peak is one phase's."""
  try:
    with open("/proc/self/clear_refs", "w") as f:
      f.write("5")
    return True
  except OSError:
    return False


def log_tail(path: str, lines: int = 15) -> str:
  """The last `lines` lines of a log (a failed step's error), TensorFlow's start-up chatter cut."""
  try:
    with open(path, errors="replace") as f:
      kept = [line.rstrip() for line in f if "cuda" not in line.lower()
              and "tensorrt" not in line.lower()]
  except OSError:
    return ""
  return "\n".join(kept[-lines:])


def run_process(command: list, log_path: str, env: dict, timeout: float) -> dict:
  """Runs `command`, output to `log_path`: wall and CPU seconds, peak RSS, how it ended."""
  start = time.perf_counter()
  with open(log_path, "w") as log:
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                               cwd=REPO_DIR, start_new_session=True)
    timed_out = False
    while True:
      pid, status, usage = os.wait4(process.pid, os.WNOHANG)
      if pid:
        break
      if timeout and time.perf_counter() - start > timeout:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: the process and its children
        timed_out = True
        pid, status, usage = os.wait4(process.pid, 0)
        break
      time.sleep(0.2)
  process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
  record = {"command": command, "log": log_path, "returncode": process.returncode,
            "ok": process.returncode == 0, "wall_seconds": time.perf_counter() - start,
            "user_cpu_seconds": usage.ru_utime, "system_cpu_seconds": usage.ru_stime,
            "peak_rss_bytes": usage.ru_maxrss * 1024}  # Linux: KiB
  if timed_out:
    record["error"] = f"timed out after {timeout:g} s (--step_timeout)"
  elif process.returncode < 0:
    name = signal.Signals(-process.returncode).name
    record["error"] = (f"killed by {name}" + (" (the kernel's out-of-memory killer?)"
                                              if name == "SIGKILL" else ""))
  elif process.returncode:
    record["error"] = f"exit status {process.returncode}"
  if not record["ok"]:
    record["log_tail"] = log_tail(log_path)
  return record


# -- the processes' own steps (run as `scale.py --child NAME`) ---------------------------------

def child_generate(options: dict) -> dict:
  """The synthetic set (`ease_fit.synthetic_matrix`) written as a user,item file."""
  # Imported here, not at the top: it loads TensorFlow, which neither the parent nor the
  # `load` process should hold while the others are measured.
  import ease_fit  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  import pandas as pd  # pylint: disable=g-import-not-at-top
  start = time.perf_counter()
  matrix = ease_fit.synthetic_matrix(options["users"], options["items"], options["interactions"],
                                     options["seed"])
  draw_seconds = time.perf_counter() - start
  coo = matrix.tocoo()  # csr -> coo: users in order, each user's items by id
  frame = pd.DataFrame({"user_id": coo.row.astype(np.int32), "item_id": coo.col.astype(np.int32)})
  del coo
  frame.to_csv(options["file"], index=False)
  seconds = time.perf_counter() - start
  activity = np.diff(matrix.indptr)
  popularity = np.asarray(matrix.sum(axis=0)).ravel()
  return {"generate": {
      "seconds": seconds, "draw_seconds": draw_seconds, "write_seconds": seconds - draw_seconds,
      "file": options["file"], "file_bytes": os.path.getsize(options["file"]),
      "users": int(matrix.shape[0]), "items": int(matrix.shape[1]),
      "interactions": int(matrix.nnz), "density": float(matrix.nnz / np.prod(matrix.shape)),
      "items_per_user": {"mean": float(activity.mean()), "median": float(np.median(activity)),
                         "max": int(activity.max()), "min": int(activity.min())},
      "users_per_item": {"max": int(popularity.max()), "median": float(np.median(popularity)),
                         "items_unused": int((popularity == 0).sum())},
      "generator": "bench/ease_fit.py synthetic_matrix"}}


def child_load(options: dict) -> dict:
  """`tfrankcf.datasets.load_dataset` of the file (read, index): no TensorFlow."""
  from tfrankcf import datasets  # pylint: disable=g-import-not-at-top
  start = time.perf_counter()
  loaded = datasets.load_dataset(options["file"])
  seconds = time.perf_counter() - start
  data = loaded.interactions
  return {"load": {"seconds": seconds, "users": int(data.num_users),
                   "items": int(data.num_items), "rows": int(len(data))}}


def child_split(options: dict) -> dict:
  """`tfrankcf.api.load_split` of `strong` then of `loo_full`, the split cache empty."""
  # The API loads TensorFlow: imported before the clock starts.
  from tfrankcf import api  # pylint: disable=g-import-not-at-top
  shutil.rmtree(os.path.join(options["data_dir"], "splits"), ignore_errors=True)
  out = {}
  for protocol, extra in (("strong", {"heldout_users": float(options["heldout_users"])}),
                          ("loo_full", {})):
    reset_peak_rss()
    start = time.perf_counter()
    split = api.load_split(options["file"], protocol=protocol, seed=options["seed"],
                           data_dir=options["data_dir"], **extra)
    seconds = time.perf_counter() - start
    out[f"split_{protocol}"] = {
        "seconds": seconds, "vm_hwm_bytes": vm_hwm_bytes(),
        "includes": "reading the file (the load step) and writing the split cache",
        "train_users": int(split.train.shape[0]), "items": int(split.num_items),
        "train_interactions": int(split.train.nnz),
        "valid_users": int(split.valid.num_users), "test_users": int(split.test.num_users)}
  return out


def _first_users(eval_set, count: int):
  """The first `count` users of an `EvalSet` (the validation's warm-up: one batch)."""
  return dataclasses.replace(
      eval_set, user_index=eval_set.user_index[:count], inputs=eval_set.inputs[:count],
      targets=eval_set.targets[:count], exclude=eval_set.exclude[:count],
      candidates=None if eval_set.candidates is None else eval_set.candidates[:count])


def child_validation(options: dict) -> dict:
  """One full validation of freshly built Mult-VAE, CF-SFL (joint stage) and MF-BPR models."""
  from tfrankcf import api  # pylint: disable=g-import-not-at-top
  from tfrankcf.methods import registry  # pylint: disable=g-import-not-at-top
  batch_size = options["eval_batch_size"]
  heldout = {"heldout_users": float(options["heldout_users"])}
  models = (
      ("validation_vae", "vae", "strong", {}),
      # Recommender, reward and joint stages of 0, 0 and 1 epochs: the model's epoch 0 is in the
      # joint stage, so it scores with the T-round loop as every joint-stage validation does.
      ("validation_cfsfl", "cfsfl", "strong",
       {"recommender_epochs": 0, "reward_epochs": 0, "joint_epochs": 1,
        "unroll_steps": options["unroll_steps"]}),
      ("validation_bpr", "bpr", "loo_full", {}))
  out = {}
  for step, method, protocol, settings in models:
    split = api.load_split(options["file"], protocol=protocol, seed=options["seed"],
                           data_dir=options["data_dir"],
                           **(heldout if protocol == "strong" else {}))
    config = api.RunConfig(method=method, dataset=options["file"], protocol=protocol,
                           seed=options["seed"], data_dir=options["data_dir"],
                           eval_batch_size=batch_size, method_config=settings,
                           **(heldout if protocol == "strong" else {}))
    model = registry.get(method).spec.build(split, config).model
    reset_peak_rss()
    start = time.perf_counter()
    api.evaluate(model, _first_users(split.valid, batch_size), protocol, batch_size)
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    result = api.evaluate(model, split.valid, protocol, batch_size)
    seconds = time.perf_counter() - start
    out[step] = {"seconds": seconds, "warmup_seconds": warmup, "vm_hwm_bytes": vm_hwm_bytes(),
                 "method": method, "protocol": protocol, "users": int(split.valid.num_users),
                 "users_per_second": split.valid.num_users / max(seconds, 1e-9),
                 "items": int(split.num_items), "batch_size": batch_size,
                 "warmup": f"the first {batch_size} users (tracing)",
                 "metrics": sorted(result.means)}
    del model, split
  return out


CHILDREN = {"generate": child_generate, "load": child_load, "split": child_split,
            "validation": child_validation}


def child_main(name: str, options_path: str, output_path: str) -> None:
  with open(options_path) as f:
    options = json.load(f)
  result = CHILDREN[name](options)
  with open(output_path, "w") as f:
    json.dump(result, f)


# -- the binaries' steps -----------------------------------------------------------------------

def binary_commands(size: dict, paths: dict, args) -> dict:
  """{process: (command, step names, epochs per stage)} of the training binaries."""
  common = [f"--dataset={paths['file']}", f"--data_dir={paths['data_dir']}",
            f"--seed={args.seed}", f"--eval_batch_size={args.eval_batch_size}"]
  strong = common + ["--protocol=strong", f"--heldout_users={size['heldout_users']}"]
  loo_full = common + ["--protocol=loo_full", "--robustness_eps="]  # no robustness study
  per_stage = args.epochs_per_stage

  def out(name):
    return [f"--output_dir={os.path.join(paths['runs_dir'], name)}", "--overwrite"]

  commands = {
      "ease": ([binary("train_baseline"), "--method=ease", *strong,
                f"--ease_l2_grid={size['ease_l2']:g}", *out("ease")], STEPS["ease"], 0),
      "vae": ([binary("train_baseline"), "--method=vae", *strong, f"--epochs={per_stage}",
               *out("vae")], STEPS["vae"], per_stage),
      "ract": ([binary("train_ract"), *strong, f"--actor_epochs={per_stage}",
                f"--critic_epochs={per_stage}", f"--ac_epochs={per_stage}", *out("ract")],
               STEPS["ract"], per_stage),
      "cfsfl": ([binary("train_cfsfl"), *strong, f"--recommender_epochs={per_stage}",
                 f"--reward_epochs={per_stage}", f"--joint_epochs={per_stage}",
                 f"--unroll_steps={size['unroll_steps']}", *out("cfsfl")],
                STEPS["cfsfl"], per_stage),
      "bpr": ([binary("train_baseline"), "--method=bpr", *loo_full, f"--epochs={per_stage}",
               *out("bpr")], STEPS["bpr"], per_stage),
      "apr": ([binary("train_apr"), *loo_full, "--pretrain_epochs=0",
               f"--adv_epochs={per_stage}", *out("apr")], STEPS["apr"], per_stage),
  }
  if args.ease_sweep:
    commands["ease_sweep"] = ([binary("train_baseline"), "--method=ease", *strong,
                               *out("ease_sweep")], STEPS["ease_sweep"], 0)
  return commands


def binary_steps(run_dir: str, steps: tuple, per_stage: int) -> dict:
  """The steps' seconds from the run's results.json: epochs' train_seconds, stage by stage."""
  with open(os.path.join(run_dir, "results.json")) as f:
    results = json.load(f)
  if not per_stage:  # EASE: a closed-form fit
    selection = results.get("selection", [])
    fits = [row["fit_seconds"] for row in selection]
    train = results["timing"]["train_seconds"]
    return {steps[0]: {
        "seconds": fits[0] if len(fits) == 1 else train,
        "fit_seconds": fits, "l2": [row["l2"] for row in selection],
        "train_seconds": train,
        "includes": ("fit_seconds: one factor-and-invert and B; train_seconds: the Gram, "
                     "every fit and every validation scoring"),
        "items": results["split"].get("items")}}
  history = results["history"]
  out = {}
  for index, step in enumerate(steps):
    epochs = [entry["train_seconds"] for entry in history[index * per_stage:
                                                          (index + 1) * per_stage]]
    if len(epochs) != per_stage:
      raise ValueError(f"{run_dir}: {len(history)} epochs in history, expected "
                       f"{per_stage} per stage for {len(steps)} stages")
    out[step] = {"seconds": epochs[-1], "first_epoch_seconds": epochs[0],
                 "epoch_seconds": epochs,
                 "stage": history[index * per_stage].get("stage"),
                 "includes_tracing": per_stage == 1,
                 "examples_per_second": results["timing"].get("examples_per_second")}
  return out


# -- projections -------------------------------------------------------------------------------

def _stage_seconds(step: dict | None, epochs: int) -> float | None:
  """`epochs` epochs of a stage: the first as measured, the rest at the steady rate."""
  if step is None or step.get("seconds") is None:
    return None
  if epochs <= 0:
    return 0.0
  return step["first_epoch_seconds"] + (epochs - 1) * step["seconds"]


def _projection(parts: list, validations: list, source: str, schedule: dict) -> dict:
  """Sums [(name, seconds)] parts and [(count, step)] validations; names what is missing."""
  missing = [name for name, seconds in parts if seconds is None]
  missing += [name for _, name, step in validations if not step or step.get("seconds") is None]
  if missing:
    return {"seconds": None, "missing": sorted(set(missing)), "schedule": schedule,
            "source": source}
  train = sum(seconds for _, seconds in parts)
  validation = sum(count * step["seconds"] for count, _, step in validations)
  total = train + validation
  return {"seconds": total, "hours": total / 3600, "days": total / 86400,
          "train_seconds": train, "validation_seconds": validation,
          "validations": {name: count for count, name, _ in validations},
          "schedule": schedule, "source": source}


def projections(steps: dict, size: dict) -> dict:
  """The wall time of each paper schedule from the measured steps (module docstring)."""
  get = steps.get
  vae_valid, cfsfl_valid, bpr_valid = (get("validation_vae"), get("validation_cfsfl"),
                                       get("validation_bpr"))
  out = {}
  epochs = SCHEDULES["vae"]["epochs"]
  out["vae"] = _projection([("vae_epoch", _stage_seconds(get("vae_epoch"), epochs))],
                           [(epochs + 2, "validation_vae", vae_valid)],
                           SCHEDULES["vae"]["source"], {"epochs": epochs})
  stages = size["ract_stages"]
  names = STEPS["ract"]
  out["ract"] = _projection([(name, _stage_seconds(get(name), count))
                             for name, count in zip(names, stages)],
                            [(sum(stages) + 2, "validation_vae", vae_valid)],
                            SCHEDULES["ract"]["source"], dict(zip(names, stages)))
  stages = SCHEDULES["cfsfl"]["stages"]
  names = STEPS["cfsfl"]
  out["cfsfl"] = _projection(
      [(name, _stage_seconds(get(name), count)) for name, count in zip(names, stages)],
      # Stages 1 and 2 validate the recommender alone (T = 0), as a Mult-VAE; stage 3 with T.
      [(stages[0] + stages[1], "validation_vae", vae_valid),
       (stages[2] + 2, "validation_cfsfl", cfsfl_valid)],
      SCHEDULES["cfsfl"]["source"],
      {**dict(zip(names, stages)), "unroll_steps": size["unroll_steps"]})
  epochs, every = SCHEDULES["bpr"]["epochs"], SCHEDULES["bpr"]["eval_every"]
  out["bpr"] = _projection([("bpr_epoch", _stage_seconds(get("bpr_epoch"), epochs))],
                           [(epochs // every + 2, "validation_bpr", bpr_valid)],
                           SCHEDULES["bpr"]["source"], {"epochs": epochs, "eval_every": every})
  (pretrain, adversarial), every = SCHEDULES["apr"]["stages"], SCHEDULES["apr"]["eval_every"]
  out["apr"] = _projection(
      [("bpr_epoch", _stage_seconds(get("bpr_epoch"), pretrain)),
       ("apr_adversarial_epoch", _stage_seconds(get("apr_adversarial_epoch"), adversarial))],
      [((pretrain + adversarial) // every + 2, "validation_bpr", bpr_valid)],
      SCHEDULES["apr"]["source"],
      {"pretrain_epochs": pretrain, "adv_epochs": adversarial, "eval_every": every})
  grid = SCHEDULES["ease"]["grid_size"]
  ease = get("ease_fit")
  if get("ease_sweep") and get("ease_sweep").get("seconds") is not None:
    out["ease_sweep"] = {"seconds": get("ease_sweep")["train_seconds"],
                         "hours": get("ease_sweep")["train_seconds"] / 3600, "measured": True,
                         "schedule": {"l2_values": grid}, "source": SCHEDULES["ease"]["source"]}
  elif ease and ease.get("seconds") is not None:
    bound = grid * ease["train_seconds"]
    out["ease_sweep"] = {"seconds": bound, "hours": bound / 3600, "measured": False,
                         "upper_bound": True, "schedule": {"l2_values": grid},
                         "source": SCHEDULES["ease"]["source"]}
  else:
    out["ease_sweep"] = {"seconds": None, "missing": ["ease_fit"],
                         "source": SCHEDULES["ease"]["source"]}
  return out


# -- the machine -------------------------------------------------------------------------------

def machine() -> dict:
  """What the figures depend on: CPU, cores, memory, versions, load, the code's commit."""
  info = {"platform": platform.platform(), "machine": platform.machine(),
          "python": platform.python_version(), "cpu_count": os.cpu_count(),
          "load_1min_at_start": os.getloadavg()[0]}
  try:
    info["affinity_cpus"] = len(os.sched_getaffinity(0))
  except AttributeError:
    pass
  try:
    with open("/proc/cpuinfo") as f:
      info["cpu"] = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), None)
    with open("/proc/meminfo") as f:
      info["memory_bytes"] = next(int(line.split()[1]) * 1024 for line in f
                                  if line.startswith("MemTotal"))
  except OSError:
    pass
  for package in ("tensorflow", "numpy", "scipy", "pandas", "tfrankcf"):
    try:
      info[package] = metadata.version(package)
    except metadata.PackageNotFoundError:
      info[package] = None
  try:
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_DIR, capture_output=True,
                            text=True, check=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           cwd=REPO_DIR, capture_output=True, text=True, check=True).stdout
    info["git"] = {"commit": commit, "modified_files": len(dirty.splitlines())}
  except (OSError, subprocess.CalledProcessError):
    info["git"] = None
  info["env"] = {key: value for key, value in os.environ.items()
                 if key.startswith(("OPENBLAS", "OMP_", "MKL_", "TF_NUM"))}
  return info


# -- the bench ---------------------------------------------------------------------------------

def write_results(path: str, results: dict) -> None:
  """The JSON, atomically (a crash or Ctrl-C leaves the previous complete file)."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  partial = path + ".partial"
  with open(partial, "w") as f:
    json.dump(results, f, indent=2)
    f.write("\n")
  os.replace(partial, path)


def progress(message: str) -> None:
  print(f"[scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def failed_steps(steps: tuple, record: dict, reason: str | None = None) -> dict:
  """Step entries of a process that failed: no seconds, its peak, its error."""
  return {step: {"seconds": None, "peak_rss_bytes": record.get("peak_rss_bytes"),
                 "error": reason or record.get("error"), "log_tail": record.get("log_tail", "")}
          for step in steps}


def run_bench(args) -> dict:
  size = resolve_size(args)
  name = run_name(args)
  work_dir = os.path.abspath(args.work_dir or os.path.join("/tmp", "tfrankcf_scale", name))
  paths = {"work_dir": work_dir, "file": os.path.join(work_dir, f"{name}_seed{args.seed}.csv"),
           "data_dir": os.path.join(work_dir, "data"), "runs_dir": os.path.join(work_dir, "runs"),
           "logs_dir": os.path.join(work_dir, "logs")}
  output = args.output or os.path.join(BENCH_DIR, "results", f"scale_{name}.json")
  selected = [process for process in args.steps.split(",") if process]
  unknown = sorted(set(selected) - set(PROCESSES))
  if unknown:
    raise SystemExit(f"--steps: unknown {', '.join(unknown)} (known: {', '.join(PROCESSES)})")
  for directory in (paths["data_dir"], paths["logs_dir"]):
    os.makedirs(directory, exist_ok=True)
  shutil.rmtree(paths["runs_dir"], ignore_errors=True)
  env = dict(os.environ)
  env["PYTHONPATH"] = os.pathsep.join([BENCH_DIR, REPO_DIR] + (
      [env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
  env.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
  if args.threads:
    for key in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS",
                "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
      env[key] = str(args.threads)
  results = {
      "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
      "machine": machine(), "size": size, "paths": paths,
      "settings": {"epochs_per_stage": args.epochs_per_stage, "ease_sweep": args.ease_sweep,
                   "eval_batch_size": args.eval_batch_size, "threads": args.threads or "default",
                   "step_timeout": args.step_timeout or None, "processes": selected},
      "processes": {}, "steps": {}, "projections": {}}
  commands = binary_commands(size, paths, args)
  options = {**size, "file": paths["file"], "data_dir": paths["data_dir"],
             "eval_batch_size": args.eval_batch_size}
  options_path = os.path.join(work_dir, "options.json")
  with open(options_path, "w") as f:
    json.dump(options, f)
  order = [p for p in PROCESSES if p in selected]
  if args.ease_sweep and "ease" in selected:
    order.insert(order.index("ease") + 1, "ease_sweep")
  for process in order:
    if process != "generate" and not os.path.exists(paths["file"]):
      results["steps"].update(failed_steps(STEPS[process], {}, f"no data file {paths['file']}"))
      continue
    log_path = os.path.join(paths["logs_dir"], f"{process}.log")
    progress(f"{process} ...")
    if process in CHILDREN:
      child_output = os.path.join(work_dir, f"{process}.json")
      if os.path.exists(child_output):
        os.remove(child_output)
      command = [sys.executable, os.path.abspath(__file__), "--child", process,
                 "--child_options", options_path, "--child_output", child_output]
      record = run_process(command, log_path, env, args.step_timeout)
      if record["ok"]:
        with open(child_output) as f:
          steps = json.load(f)
    else:
      command, step_names, per_stage = commands[process]
      record = run_process(command, log_path, env, args.step_timeout)
      if record["ok"]:
        try:
          steps = binary_steps(os.path.join(paths["runs_dir"], process), step_names, per_stage)
        except (OSError, KeyError, ValueError) as error:
          record.update(ok=False, error=f"results.json: {error}")
    results["processes"][process] = record
    if record["ok"]:
      for step in steps.values():
        step["peak_rss_bytes"] = record["peak_rss_bytes"]
        step["process"] = process
      results["steps"].update(steps)
    else:
      results["steps"].update(failed_steps(STEPS[process], record))
    progress(f"{process}: {'ok' if record['ok'] else record['error']}, "
             f"{record['wall_seconds']:.1f} s, peak {record['peak_rss_bytes'] / GB:.2f} GB")
    results["projections"] = projections(results["steps"], size)
    write_results(output, results)
  results["machine"]["load_1min_at_end"] = os.getloadavg()[0]
  results["projections"] = projections(results["steps"], size)
  write_results(output, results)
  results["output"] = output
  return results


def summary(results: dict) -> str:
  """A table of the steps and the projections."""
  lines = [f"{'step':<26}{'seconds':>12}{'peak RSS GB':>13}  note"]
  for name, step in results["steps"].items():
    seconds = step.get("seconds")
    peak = step.get("vm_hwm_bytes") or step.get("peak_rss_bytes")
    lines.append(f"{name:<26}{'-' if seconds is None else f'{seconds:.2f}':>12}"
                 f"{'-' if peak is None else f'{peak / GB:.2f}':>13}  {step.get('error') or ''}")
  lines.append(f"{'projection':<26}{'hours':>12}")
  for name, projection in results["projections"].items():
    hours = projection.get("hours")
    lines.append(f"{name:<26}{'-' if hours is None else f'{hours:.2f}':>12}  "
                 + ("upper bound" if projection.get("upper_bound") else "")
                 + (f"missing {', '.join(projection['missing'])}"
                    if projection.get("missing") else ""))
  return "\n".join(lines)


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--shape", choices=sorted(SHAPES), default="ml20m")
  parser.add_argument("--users", type=int, default=0,
                      help="draw only this many users, the items and mean activity kept")
  parser.add_argument("--scale", type=float, default=1.0,
                      help="multiply users, items and interactions by this")
  parser.add_argument("--heldout_users", default=None,
                      help="strong: validation (and test) users, a count or a fraction, passed "
                           "to the protocol (default: the paper's, scaled with --users/--scale)")
  parser.add_argument("--seed", type=int, default=0, help="of the data, the splits and training")
  parser.add_argument("--steps", default=",".join(PROCESSES),
                      help=f"processes to run, in the fixed order ({','.join(PROCESSES)})")
  parser.add_argument("--ease_sweep", action="store_true",
                      help="also the EASE sweep of the default L2 grid (8 fits)")
  parser.add_argument("--ease_l2", type=float, default=0.0,
                      help="L2 of the one-value EASE fit (default: the EASE paper's for the shape)")
  parser.add_argument("--epochs_per_stage", type=int, default=1,
                      help="epochs of each trained stage (>= 2: the last is the steady epoch)")
  parser.add_argument("--eval_batch_size", type=int, default=1000)
  parser.add_argument("--threads", type=int, default=0,
                      help="TF intra-/inter-op and BLAS threads of every step (0: their defaults)")
  parser.add_argument("--step_timeout", type=float, default=0.0,
                      help="seconds before a step is killed and recorded as failed (0: none)")
  parser.add_argument("--work_dir", default=None,
                      help="data file, split cache, runs and logs (default "
                           "/tmp/tfrankcf_scale/<shape>[_users<N>|_scale<S>])")
  parser.add_argument("--output", default=None,
                      help="JSON (default bench/results/scale_<shape>[_users<N>|_scale<S>].json)")
  parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
  parser.add_argument("--child_options", default=None, help=argparse.SUPPRESS)
  parser.add_argument("--child_output", default=None, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.child:
    child_main(args.child, args.child_options, args.child_output)
    return
  if args.epochs_per_stage < 1:
    parser.error("--epochs_per_stage must be >= 1")
  results = run_bench(args)
  print(summary(results))
  print(f"results: {results['output']}")
  peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
  progress(f"the bench's own peak RSS {peak / GB:.2f} GB")


if __name__ == "__main__":
  main()
