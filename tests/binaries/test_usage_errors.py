"""Usage errors of the binaries: one `error:` line, exit 2, before any work or file; Ctrl-C.

Every case runs the binary's `entry_point` in one subprocess (TensorFlow imported once; each
binary's flags defined afresh, the command line parsed anew per case), with stdout and
stderr captured at the file-descriptor level, in an empty working directory that must stay
empty (no run directory, no data cache).
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

# (binary, arguments, what its one error line says)
ERRORS = [
    ("train_baseline", ["--method=vae", "--epochs=-1"],
     ["--epochs=-1: must be at least 1 (vae trains"]),
    ("train_baseline", ["--method=dae", "--epochs=0"], ["--epochs=0: must be at least 1"]),
    ("train_baseline", ["--backbone=graphrec", "--epochs=0"], ["--epochs=0", "listwise"]),
    ("train_baseline", ["--method=vae", "--batch_size=-3"],
     ["--batch_size=-3: must be a non-negative integer"]),
    ("train_baseline", ["--protocol=nosuch"],
     ["--protocol=nosuch: must be one of loo_sampled, loo_full, strong, given"]),
    ("train_baseline", ["--method=vae", "--eval_every=0"], ["--eval_every=0"]),
    ("train_baseline", ["--method=vae", "--eval_batch_size=0"], ["--eval_batch_size=0"]),
    ("train_baseline", ["--method=ease", "--export_top_k=0"], ["--export_top_k=0"]),
    ("train_baseline", ["--method=vae", "--protocol=strong", "--heldout_users=-5"],
     ["--heldout_users=-5.0: must be a count"]),
    ("train_baseline", ["--method=bpr", "--robustness_eps=0.5,big"],
     ["--robustness_eps=0.5,big: 'big' is not a non-negative number"]),
    ("train_baseline", ["--backbone=neumf", "--neumf_layers=16,0"],
     ["--neumf_layers=16,0: '0' is not a positive integer"]),
    ("train_baseline", ["--method=ease", "--test_file=test.tsv", "--protocol=strong"],
     ["--test_file", "--protocol=given", "got --protocol=strong"]),
    ("train_baseline", ["--protocl=strong"],
     ["--protocl: unknown flag (did you mean --protocol?)"]),
    ("train_baseline", ["--method=itempop", "ease"], ["unexpected argument 'ease'"]),
    ("train_baseline", ["--flagfile=unknown.cfg"], ["unknown.cfg:4: --no_such_flag: unknown flag"]),
    ("train_baseline", ["--flagfile=outer.cfg"],
     ["inner.cfg:2: --batch_size=-1: must be a non-negative integer"]),
    ("train_baseline", ["--flagfile=absent.cfg"], ["absent.cfg: cannot read the flagfile"]),
    ("train_ract", ["--actor_epochs=0", "--critic_epochs=0", "--ac_epochs=0"],
     ["--actor_epochs + --critic_epochs + --ac_epochs is 0 epochs"]),
    ("train_ract", ["--epochs=-5"], ["--ac_epochs=-5: must be a non-negative integer"]),  # alias
    ("train_ract", ["--critic_features=nll,rank"],
     ["'rank' is not one of nll, heldout, observed"]),
    ("train_cfsfl", ["--unroll_steps=-1"], ["--unroll_steps=-1: must be a non-negative integer"]),
    ("train_cfsfl", ["--recommender_epochs=0", "--reward_epochs=0", "--joint_epochs=0"],
     ["is 0 epochs"]),
    ("train_apr", ["--pretrain_epochs=-5"], ["--pretrain_epochs=-5"]),
    ("train_guidedrec", ["--epochs=0"], ["--epochs=0: must be a positive integer"]),
    ("train", [], ["--method is required; choose from itempop, ease"]),
    ("train", ["--method=nosuch"], ["unknown method 'nosuch'; choose from itempop"]),
    ("train", ["--method=listmle", "--loss=softmax"], ["--loss: unknown flag"]),  # fixed
    ("train", ["--method=ract", "--actor_epochs=-1"], ["--actor_epochs=-1: must be"]),
    ("train_baseline", ["--method=ease", "--dae_hidden=5"], ["--dae_hidden: unknown flag"]),
    ("compare", [], ["--methods is required"]),
    ("compare", ["--methods=ease", "--jobs=0"], ["--jobs=0: must be a positive integer"]),
]
# Command lines a binary accepts (parsed only): closed-form baselines ignore --epochs.
ACCEPTED = [
    # --epochs of a staged method is its own stage (--ac_epochs, --joint_epochs, --adv_epochs)
    ("train_ract", ["--epochs=5"]),
    ("train_cfsfl", ["--epochs=5"]),
    ("train_apr", ["--epochs=5"]),
    ("train_baseline", ["--method=ease", "--epochs=0"]),
    ("train_baseline", ["--method=itempop", "--epochs=-1"]),
    ("train_baseline", ["--backbone=graphrec", "--method=ease", "--epochs=0"]),
    ("train_baseline", ["--method=ease", "--test_file=test.tsv", "--protocol=given"]),
    ("train_ract", ["--actor_epochs=1", "--critic_epochs=0", "--ac_epochs=0"]),
    ("train", ["--method=listmle", "--epochs=3", "--list_size=6"]),
    ("train", ["--method=ract", "--epochs=2"]),  # --epochs is --ac_epochs
]
AFTER_EPOCH_3 = "interrupted after epoch 3; rerun the same command to resume"
INTERRUPTS = [("", "interrupted; rerun the same command to resume"), (AFTER_EPOCH_3,) * 2]
FLAGFILES = {
    "unknown.cfg": "# a method's settings\n--method=vae\n\n--no_such_flag=3\n--epochs=1\n",
    "outer.cfg": "--method=vae\n--flagfile=inner.cfg\n",
    "inner.cfg": "--epochs=2\n--batch_size=-1\n",
}

# the source of load(name): a binary imported as in a fresh process
FRESH_BINARY = (pathlib.Path(__file__).parent / "fresh_binary.py").read_text()
DRIVER = """
import importlib, json, os, sys, tempfile, traceback
from absl import flags

{load}
def captured(call):
  # (exit code, stdout, stderr) of call(), captured at the file-descriptor level.
  sys.stdout.flush(); sys.stderr.flush()
  saved = [os.dup(1), os.dup(2)]
  with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
    os.dup2(out.fileno(), 1); os.dup2(err.fileno(), 2)
    try:
      call()
      code = 0
    except SystemExit as error:
      code = error.code
    except BaseException:
      traceback.print_exc()
      code = "raised"
    finally:
      sys.stdout.flush(); sys.stderr.flush()
      os.dup2(saved[0], 1); os.dup2(saved[1], 2)
    out.seek(0); err.seek(0)
    return [code, out.read(), err.read()]

def interrupted(message):
  def main(argv):
    raise KeyboardInterrupt(*([message] if message else []))
  return main

results, name = [], None
for binary, args, kind in json.loads(sys.argv[1]):
  if binary != name:
    module, name = load(binary), binary
    cli = sys.modules["tfrankcf.training.cli"]
  flags.FLAGS.unparse_flags()
  sys.argv = [binary] + args
  if kind == "run":
    call = module.entry_point
  elif kind == "parse":
    call = lambda: cli.parse(sys.argv, module)
  else:  # "interrupt:<message>": Ctrl-C in main
    call = lambda: cli.run(interrupted(kind.split(":", 1)[1]))
  results.append(captured(call))
print(json.dumps(results))
"""


def _output_flags(binary):
  """Where a case would write, relative to the driver's empty working directory."""
  if binary == "compare":
    return ["--output_dir=out"]
  return ["--output_dir=out", "--data_dir=cache"]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
  """{(binary, args): (exit code, stdout, stderr)} of every case, and the working directory."""
  work = tmp_path_factory.mktemp("work")
  for name, text in FLAGFILES.items():
    (work / name).write_text(text)
  cases = ([(binary, args + _output_flags(binary), "run") for binary, args, _ in ERRORS]
           + [(binary, args + _output_flags(binary), "parse") for binary, args in ACCEPTED]
           + [("train_baseline", ["--method=ease"], f"interrupt:{message}")
              for message, _ in INTERRUPTS])
  order = ["train_baseline", "train_ract", "train_cfsfl", "train_apr", "train_guidedrec",
           "train", "compare"]
  cases.sort(key=lambda case: order.index(case[0]))  # stable: one import per binary
  env = dict(os.environ, TFRANKCF_DATA=str(work / "tfrankcf_data"))
  result = subprocess.run([sys.executable, "-c", DRIVER.replace("{load}", FRESH_BINARY), json.dumps(cases)], cwd=work,
                          capture_output=True, text=True, timeout=600, env=env)
  assert result.returncode == 0, result.stderr[-3000:]
  runs = json.loads(result.stdout.splitlines()[-1])
  return {(binary, tuple(args), kind): run for (binary, args, kind), run in zip(cases, runs)}, work


def _outcome(outcomes, binary, args, kind):
  return outcomes[0][(binary, tuple(args + _output_flags(binary)), kind)]


@pytest.mark.parametrize("binary,args,expected", ERRORS,
                         ids=[f"{b} {' '.join(a)}" for b, a, _ in ERRORS])
def test_usage_error_is_one_line_and_exit_2(outcomes, binary, args, expected):
  code, stdout, stderr = _outcome(outcomes, binary, args, "run")
  assert code == 2, stderr[-2000:]
  assert stdout == ""
  lines = stderr.splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: "), stderr[-2000:]
  for part in expected:
    assert part in lines[0]


def test_usage_errors_run_nothing_and_write_nothing(outcomes):
  assert sorted(os.listdir(outcomes[1])) == sorted(FLAGFILES)  # no out/, cache/, runs/


@pytest.mark.parametrize("binary,args", ACCEPTED, ids=[f"{b} {' '.join(a)}" for b, a in ACCEPTED])
def test_accepted_command_lines_parse(outcomes, binary, args):
  assert _outcome(outcomes, binary, args, "parse") == [0, "", ""]


@pytest.mark.parametrize("message,line", INTERRUPTS)
def test_ctrl_c_is_one_line_and_exit_130(outcomes, message, line):
  code, stdout, stderr = outcomes[0][("train_baseline", ("--method=ease",),
                                      f"interrupt:{message}")]
  assert (code, stdout, stderr) == (130, "", line + "\n")
