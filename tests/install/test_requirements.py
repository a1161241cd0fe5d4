"""The install pulls exactly one TensorFlow distribution (issue: two builds were installed)."""

import importlib.metadata
import re

TENSORFLOW_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel",
                            "tf-nightly", "tensorflow-macos")


def _name(requirement: str) -> str:
  return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_one_tensorflow_in_the_base_requirements():
  base = [r for r in importlib.metadata.requires("tfrankcf") if "extra ==" not in r]
  tensorflows = [r for r in base if _name(r) in TENSORFLOW_DISTRIBUTIONS]
  # TF-Ranking 0.5.5 itself requires `tensorflow`: any other distribution is a second build.
  assert [_name(r) for r in tensorflows] == ["tensorflow"], tensorflows
  assert "2.15" in tensorflows[0]


def test_tf_ranking_requirement_is_satisfied_by_the_same_distribution():
  ranking = importlib.metadata.requires("tensorflow-ranking") or []
  assert any(_name(r) == "tensorflow" for r in ranking), ranking


def test_only_one_tensorflow_is_installed():
  installed = []
  for name in TENSORFLOW_DISTRIBUTIONS:
    try:
      installed.append((name, importlib.metadata.version(name)))
    except importlib.metadata.PackageNotFoundError:
      pass
  assert [name for name, _ in installed] == ["tensorflow"], installed
