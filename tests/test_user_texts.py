"""What people read names no design document: messages, form help, API descriptions and pages say the rule itself.

Docstrings and comments (Python, Jinja, CSS) keep their citations of CLINICAL.md; nothing else may carry one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITATION = re.compile(r"\b(CLINICAL|API|ARCHITECTURE|STYLE)\.md\b|§")
JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def test_no_string_the_code_shows_cites_a_design_document() -> None:
    cited = []
    for path in sorted((ROOT / "tracker").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in docs:
                continue
            if CITATION.search(node.value):
                cited.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:80]}")
    assert cited == []


def test_no_template_cites_a_design_document_outside_its_comments() -> None:
    cited = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = JINJA_COMMENT.sub("", path.read_text(encoding="utf-8"))
        cited += [
            f"{path.relative_to(ROOT)}: {line.strip()[:80]}" for line in text.splitlines() if CITATION.search(line)
        ]
    assert cited == []
