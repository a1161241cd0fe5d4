"""`--help` of every binary (exit 0, the flags it reads by group with their defaults, no
others) and the quiet start (no TensorFlow C++ logging unless asked for).

One subprocess renders the eight helps (TensorFlow imported once; each binary's flags are
defined afresh), and one real `train_baseline --help` checks that the installed command
prints that text, exits 0 and starts without TensorFlow's C++ logging.
"""

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

BINARIES = ("train_baseline", "train_ract", "train_cfsfl", "train_apr", "train_guidedrec",
            "compare", "recommend", "export_model", "train")
# Defined in every binary's process (absl, TensorFlow), never in its --help.
FOREIGN = ("test_srcdir", "test_tmpdir", "xml_output_file", "logtostderr", "only_check_args",
           "pdb_post_mortem")
SHARED = ("dataset", "protocol", "seed", "batch_size", "eval_every", "output_dir", "export_dir")
# binary: (flags its --help lists, flags it must not list)
EXPECTED = {
    "train_baseline": (SHARED + ("method", "loss", "epochs", "ease_l2_grid", "ease_dtype",
                                 "beta_max",
                                 "robustness_eps", "backbone", "list_size", "weight_decay"),
                       ("actor", "recommender", "critic_epochs", "surrogate")),
    "train_ract": (SHARED + ("epochs", "actor", "beta_max", "actor_epochs", "critic_features"),
                   ("embedding_dim", "method", "backbone", "robustness_eps")),
    "train_cfsfl": (SHARED + ("epochs", "recommender", "actor", "unroll_steps", "embedding_dim"),
                    ("method", "critic_epochs", "backbone")),
    "train_apr": (SHARED + ("pretrain_epochs", "adv_epochs", "eps", "robustness_eps",
                            "learning_rate", "embedding_dim", "epochs"),
                  ("actor", "backbone", "method")),
    "train_guidedrec": (SHARED + ("epochs", "backbone", "list_size", "surrogate", "beta"),
                        ("actor", "learning_rate", "robustness_eps", "method", "l2")),
    "compare": (("methods", "seeds", "jobs", "method_flags"), ("eval_every", "actor", "method")),
    "recommend": (("saved_model", "history", "k"), ("dataset", "epochs", "output_dir")),
    "export_model": (("run_dir", "export_dir", "checkpoint"), ("dataset", "epochs")),
    # without --method: every method's group, none of their flags defined yet
    "train": (SHARED + ("method", "ease_l2_grid", "actor_epochs", "surrogate", "adv_epochs"),
              ("run_dir", "saved_model", "methods")),
}
# Binaries of several methods: their --help without --method has one group per method.
MULTI_METHOD = ("train_baseline", "train")
COMMON_GROUPS = ("data and protocol", "training", "output, serving and distribution", "method")
TF_CPP_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] ", re.M)

# the source of load(name): a binary imported as in a fresh process
FRESH_BINARY = (pathlib.Path(__file__).parent / "fresh_binary.py").read_text()
RENDER = """
import importlib, json, sys
from absl import flags

{load}
helps = {}
for name in sys.argv[1:]:
  module = load(name)
  cli = importlib.import_module("tfrankcf.training.cli")
  helps[name] = {"text": cli.help_text(module, name), "defined": sorted(flags.FLAGS)}
print(json.dumps(helps))
"""


def _env():
  env = dict(os.environ)
  env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the binaries' own default is under test
  return env


@pytest.fixture(scope="module")
def helps(tmp_path_factory):
  result = subprocess.run([sys.executable, "-c", RENDER.replace("{load}", FRESH_BINARY), *BINARIES], capture_output=True,
                          text=True, timeout=600, env=_env(),
                          cwd=tmp_path_factory.mktemp("help"))
  assert result.returncode == 0, result.stderr[-3000:]
  return json.loads(result.stdout.splitlines()[-1])


def _listed(text: str) -> list[str]:
  """The flags a help lists, in order (`--[no]name` as `name`)."""
  return re.findall(r"^  --(?:\[no\])?(\w+)", text, re.M)


def _sections(text: str) -> dict:
  """{group title: [flag names]} of a help."""
  sections = {}
  for block in text.split("\n\n"):
    header, _, body = block.partition("\n")
    if header.endswith(":") and body.startswith("  --"):
      sections[header[:-1]] = _listed(body)
  return sections


@pytest.mark.parametrize("binary", BINARIES)
def test_help_lists_the_binarys_flags_and_no_others(helps, binary):
  text, defined = helps[binary]["text"], helps[binary]["defined"]
  listed = _listed(text)
  wanted, unwanted = EXPECTED[binary]
  assert set(wanted) <= set(listed), sorted(set(wanted) - set(listed))
  assert not set(unwanted) & set(listed)
  assert not set(unwanted) & set(defined)  # not defined at all, not merely hidden
  assert set(FOREIGN) <= set(defined)  # absl's and TensorFlow's flags are in the process...
  assert not set(FOREIGN) & set(listed)  # ...but not in the help
  sections = _sections(text)
  for names in sections.values():
    assert len(names) == len(set(names))  # each flag once per group
  repeated = {name for name in listed if listed.count(name) > 1}
  if binary in MULTI_METHOD:  # one group per method, each with that method's defaults
    shared = [names for title, names in sections.items() if title in COMMON_GROUPS]
    assert not repeated & {name for names in shared for name in names}
  else:
    assert not repeated  # each flag in one group
  assert "other" not in _sections(text)
  assert text.splitlines()[0].strip()  # the binary's docstring heads it


@pytest.mark.parametrize("binary", [b for b in BINARIES if b.startswith("train_")])
def test_training_helps_are_grouped_with_defaults(helps, binary):
  text = helps[binary]["text"]
  sections = _sections(text)
  titles = list(sections)
  assert titles[:2] == ["data and protocol", "training"]
  assert titles[-2:] == ["output, serving and distribution", "general"]
  assert "dataset" in sections["data and protocol"]
  assert "batch_size" in sections["training"]
  assert "output_dir" in sections["output, serving and distribution"]
  assert len(titles) >= 5  # the method's own flags have their group(s)
  assert re.search(r"--batch_size: .*\(default: 0; a non-negative integer\)",
                   " ".join(text.split()))


def test_train_baseline_groups_bprs_robustness_study_under_bpr(helps):
  sections = _sections(helps["train_baseline"]["text"])
  bpr = sections["MF-BPR (--method=bpr)"]
  assert {"robustness_eps", "robustness_max_batches", "l2"} <= set(bpr)
  assert "ease_l2_grid" in sections["EASE (--method=ease)"]
  assert "memory_budget_mb" in sections["autoencoders (--method=vae|dae|mf|warp)"]
  assert "graph_features" in sections["pairwise backbones (--backbone=graphrec|neumf)"]


def test_a_multi_method_help_lists_each_methods_flags_defining_none(helps):
  for binary, group in (("train_baseline", "MF-BPR (--method=bpr)"),
                        ("train", "RaCT (--method=ract)")):
    sections = _sections(helps[binary]["text"])
    assert group in sections
    own = set(sections[group]) - set(sections["data and protocol"])
    assert own and not own & set(helps[binary]["defined"])  # defined once --method is known
  baseline = " ".join(helps["train_baseline"]["text"].split())
  # --embedding_dim in two groups, each with its method's default
  assert re.search(r"MF-BPR \(--method=bpr\): .*?--embedding_dim: [^-]*?\(default: 64;", baseline)
  assert re.search(r"pairwise backbones .*?--embedding_dim: [^-]*?\(default: 20;", baseline)


def test_defaults_are_the_binarys_own(helps):
  guidedrec = " ".join(helps["train_guidedrec"]["text"].split())
  assert re.search(r"--epochs: Training epochs\. \(default: 440;", guidedrec)  # set_default
  ract = " ".join(helps["train_ract"]["text"].split())
  assert "(default: 'strong')" in ract


@pytest.fixture(scope="module")
def installed_help(tmp_path_factory):
  """`train_baseline --help` run as the user runs it, in an empty directory."""
  cwd = tmp_path_factory.mktemp("installed")
  command = os.path.join(os.path.dirname(sys.executable), "train_baseline")
  result = subprocess.run([command, "--help"], capture_output=True, text=True, timeout=300,
                          env=_env(), cwd=cwd)
  return result, cwd


def test_installed_help_exits_0_quietly(installed_help):
  result, cwd = installed_help
  assert result.returncode == 0, result.stderr[-2000:]
  assert set(EXPECTED["train_baseline"][0]) <= set(_listed(result.stdout))
  assert not TF_CPP_LOG_LINE.search(result.stderr), result.stderr[:2000]
  assert result.stderr == ""
  assert not os.listdir(cwd)


def test_installed_help_is_the_rendered_help(helps, installed_help):
  assert installed_help[0].stdout == helps["train_baseline"]["text"]


def test_help_of_a_binary_without_tensorflow_is_generic(tmp_path):
  """`compare -h` (its flags defined in the binary alone) lists them and exits 0."""
  command = os.path.join(os.path.dirname(sys.executable), "compare")
  result = subprocess.run([command, "-h"], capture_output=True, text=True, timeout=300,
                          env=_env(), cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-2000:]
  listed = _listed(result.stdout)
  assert {"methods", "seeds", "jobs", "flagfile"} <= set(listed)
  assert not set(FOREIGN) & set(listed)


QUIET = """
import importlib, json, logging, os, sys
cases = json.loads(sys.argv[1])
seen = []
for args, env_level in cases:
  os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
  if env_level is not None:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = env_level
  logging.getLogger("tensorflow").setLevel(logging.NOTSET)
  sys.argv = ["train_baseline"] + args
  importlib.reload(importlib.import_module("tfrankcf.binaries"))
  seen.append([os.environ.get("TF_CPP_MIN_LOG_LEVEL"),
               logging.getLogger("tensorflow").level == logging.ERROR])
print(json.dumps(seen))
"""


def test_binaries_start_quiet_unless_verbosity_or_the_environment_asks(tmp_path):
  """What `tfrankcf.binaries` (imported before TensorFlow) sets for each command line."""
  cases = [([], None), (["--method=vae"], None), (["--verbosity=1"], None), (["-v", "1"], None),
           (["--method=vae", "--", "--verbosity=1"], None), ([], "0"), (["-v=2"], "1")]
  result = subprocess.run([sys.executable, "-c", QUIET, json.dumps(cases)],
                          capture_output=True, text=True, timeout=120, env=_env(),
                          cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-2000:]
  assert json.loads(result.stdout) == [["3", True], ["3", True], [None, False], [None, False],
                                       ["3", True], ["0", True], ["1", False]]
