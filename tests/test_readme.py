"""The README's Python API example runs as written (a doctest in a fresh working directory)."""

import doctest
import os
import re

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def _python_examples(text: str) -> list[str]:
  """The ```python blocks of `text` that hold doctest examples."""
  return [block for block in re.findall(r"```python\n(.*?)```", text, re.S) if ">>>" in block]


def test_the_readme_has_the_api_example():
  with open(README) as f:
    examples = _python_examples(f.read())
  assert len(examples) == 1 and "tfrankcf.train(" in examples[0]


def test_the_readme_api_example_runs(tmp_path, monkeypatch):
  with open(README) as f:
    example = _python_examples(f.read())[0]
  monkeypatch.setenv("TFRANKCF_DATA", str(tmp_path / "cache"))  # an empty data cache
  monkeypatch.chdir(tmp_path)
  test = doctest.DocTestParser().get_doctest(example, {}, "README.md", README, 0)
  runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
  runner.run(test)
  result = runner.summarize(verbose=False)
  assert result.attempted >= 8 and result.failed == 0
  assert (tmp_path / "runs" / "dae_api" / "results.json").exists()
  assert (tmp_path / "exports" / "dae" / "saved_model.pb").exists()


def test_a_wrong_expectation_fails():
  """The runner above reports failures (it cannot pass vacuously)."""
  test = doctest.DocTestParser().get_doctest(">>> 1 + 1\n3\n", {}, "x", "x", 0)
  runner = doctest.DocTestRunner()
  runner.run(test, out=lambda text: None)
  assert runner.summarize(verbose=False).failed == 1
