"""Lint: every tolerance-based float comparison in tests/ states an absolute tolerance.

A relative tolerance alone fails on values near 0 as soon as another CPU (another SIMD width,
summation order or libm) rounds a float32 result differently (issue 18: rtol=1e-6 on logits
near 0, max abs diff 7e-8). A comparison that must hold bit-exactly says why on its line with
`# exact: <reason>`.
"""

import ast
import io
import tokenize
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
OPT_OUT = "# exact:"

# Function name -> (position of the absolute tolerance among the positional arguments,
# accepted keyword names). numpy's (assert_)allclose/isclose and tf.debugging.assert_near take
# (a, b, rtol, atol); pytest.approx takes (expected, rel, abs); math.isclose is keyword-only.
CHECKED = {
    "assert_allclose": (3, ("atol",)),
    "allclose": (3, ("atol",)),
    "isclose": (3, ("atol", "abs_tol")),
    "approx": (2, ("abs",)),
    "assert_near": (3, ("atol",)),
}


def _name(function: ast.expr) -> str:
  if isinstance(function, ast.Attribute):
    return function.attr
  return function.id if isinstance(function, ast.Name) else ""


def _absolute_tolerance(call: ast.Call, position: int, keywords: tuple):
  for keyword in call.keywords:
    if keyword.arg in keywords:
      return keyword.value
  return call.args[position] if len(call.args) > position else None


def _is_zero(node) -> bool:
  return isinstance(node, ast.Constant) and node.value == 0


def _opted_out_lines(source: str) -> set:
  """Lines with an `# exact: <reason>` comment (a real comment, not text in a string)."""
  lines = set()
  for token in tokenize.generate_tokens(io.StringIO(source).readline):
    if token.type == tokenize.COMMENT and token.string.startswith(OPT_OUT):
      if token.string[len(OPT_OUT):].strip():  # a reason is required
        lines.add(token.start[0])
  return lines


def violations(source: str, filename: str = "<test>") -> list:
  """`file:line: name(...)` for each checked call without a non-zero absolute tolerance."""
  tree = ast.parse(source, filename)
  opted_out = _opted_out_lines(source)
  found = []
  for node in ast.walk(tree):
    if not isinstance(node, ast.Call) or _name(node.func) not in CHECKED:
      continue
    position, keywords = CHECKED[_name(node.func)]
    tolerance = _absolute_tolerance(node, position, keywords)
    if tolerance is not None and not _is_zero(tolerance):
      continue
    if opted_out & set(range(node.lineno, node.end_lineno + 1)):
      continue
    found.append(f"{filename}:{node.lineno}: {_name(node.func)}(...) has no absolute tolerance")
  return sorted(found, key=lambda line: int(line.split(":")[1]))


@pytest.mark.parametrize("code,flagged", [
    ("np.testing.assert_allclose(a, b, rtol=1e-6)", True),
    ("np.testing.assert_allclose(a, b)", True),
    ("np.testing.assert_allclose(a, b, rtol=1e-6, atol=0)", True),
    ("np.testing.assert_allclose(a, b, 1e-6, 1e-7)", False),
    ("np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)", False),
    ("assert not np.allclose(a, b)", True),
    ("assert np.isclose(a, b, atol=1e-7).all()", False),
    ("assert math.isclose(a, b, rel_tol=1e-9)", True),
    ("assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)", False),
    ("assert x == pytest.approx(y)", True),
    ("assert x == pytest.approx(y, rel=1e-6)", True),
    ("assert x == pytest.approx(y, abs=1e-6)", False),
    ("assert x == approx(y, 1e-6, 1e-9)", False),
    ("tf.debugging.assert_near(a, b, rtol=1e-6)", True),
    ("np.testing.assert_allclose(a, b)  # exact: integer counts", False),
    ("np.testing.assert_allclose(a, b)  # exact:", True),  # the reason is required
    ("np.testing.assert_allclose(\n    a, b)  # exact: integer counts", False),
    ("text = 'assert_allclose(a, b)  # exact: no'\nnp.allclose(a, b)", True),
    ("np.testing.assert_array_equal(a, b)", False),
])
def test_the_lint_flags_relative_only_comparisons(code, flagged):
  assert bool(violations(code)) == flagged


def test_every_float_comparison_in_the_tests_has_an_absolute_tolerance():
  found = []
  for path in sorted(TESTS.rglob("*.py")):
    found += violations(path.read_text(), str(path.relative_to(TESTS.parent)))
  assert not found, ("a relative tolerance fails on values near 0 on another CPU: give an atol "
                     "(abs= for pytest.approx) scaled to the values, or say `# exact: <why>`:\n"
                     + "\n".join(found))
