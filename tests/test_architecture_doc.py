"""docs/architecture.md names real files and names: its map and checklists match the code."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "architecture.md")


def _path_references(text: str) -> list[str]:
  """Backticked tokens that name a file or folder (`methods/spec.py`, `losses/ranking.LOSSES`)."""
  tokens = re.findall(r"`([^`\s]+)`", text)
  return [token for token in tokens if "/" in token and not token.startswith(("-", "<"))
          and "<" not in token and "*" not in token]


def _resolve(token: str):
  """(file or folder path, attribute or None) of a reference, or None if nothing matches."""
  token = token.rstrip("/")
  folder, _, last = token.rpartition("/")
  name, attribute = last, None
  if "::" in name:
    name, attribute = name.split("::", 1)
  elif "." in name and not name.endswith((".py", ".md", ".cfg", ".json")):
    name, attribute = name.split(".", 1)
  for base in (ROOT, os.path.join(ROOT, "tfrankcf")):
    for candidate in (name, name + ".py") if not name.endswith(".py") else (name,):
      path = os.path.join(base, folder, candidate)
      if os.path.exists(path):
        return path, attribute
  return None


def test_every_file_and_name_the_architecture_doc_mentions_exists():
  with open(DOC) as f:
    text = f.read()
  references = _path_references(text)
  assert len(references) > 30
  missing = []
  for token in references:
    resolved = _resolve(token)
    if resolved is None:
      missing.append(f"{token}: no such file or folder")
      continue
    path, attribute = resolved
    if attribute:
      attribute = attribute.split("(")[0].split(".")[0]
      with open(path) as f:
        source = f.read()
      if not re.search(rf"^\s*(def|class)\s+{attribute}\b|^\s*{attribute}\b[^=\n]*=", source,
                       re.M):
        missing.append(f"{token}: {os.path.relpath(path, ROOT)} defines no {attribute}")
  assert not missing, "\n".join(missing)


def test_the_resolver_rejects_what_does_not_exist():
  assert _resolve("methods/no_such_module.py") is None
  assert _resolve("methods/spec.LOSS_LABELS") is not None
