"""The public API: `import tfrankcf` exposes it lazily, and its module's example runs."""

import doctest
import subprocess
import sys

import tfrankcf.api


def test_the_api_modules_example_runs(tmp_path):
  globs = {"data_dir": str(tmp_path / "cache"), "run_dir": str(tmp_path / "run"),
           "export_dir": str(tmp_path / "export")}
  failures, tried = doctest.testmod(tfrankcf.api, extraglobs=globs, report=True,
                                    optionflags=doctest.NORMALIZE_WHITESPACE)
  assert tried >= 8 and failures == 0
  assert (tmp_path / "run" / "results.json").exists()
  assert (tmp_path / "export" / "saved_model.pb").exists()


def test_import_tfrankcf_is_light_and_lists_the_api():
  script = ("import sys, tfrankcf, tfrankcf.errors; light = 'tensorflow' not in sys.modules; "
            "names = dir(tfrankcf); print(light, all(n in names for n in "
            "('train', 'load_split', 'method_config', 'method_names', 'evaluate', 'export', "
            "'RunConfig')), len(names) == len(set(names)))")
  result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
  assert result.stdout.split() == ["True", "True", "True"], result.stderr[-2000:]


def test_method_names_are_the_registry_entries():
  names = tfrankcf.api.method_names()
  assert names[:2] == ["itempop", "ease"] and "listmle" in names and "vae" in names
