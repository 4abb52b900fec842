"""The word lists the rules read live in rag/lexicon.py, each with a line on its source."""

from __future__ import annotations

import ast
import re

from rag import lexicon

from .conftest import ROOT

MIN_WORDS = 5  # a literal with this many words is a word list
ELSEWHERE = {"lexicon.py", "places.py"}  # places.py is the gazetteer of countries and regions


def _words_in(node: ast.AST) -> int:
    """How many words a literal word list holds: a set, list or tuple of lower-case
    words, a dict keyed by them, or a string of them passed to ``str.split``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "split":
        try:
            return len(str(ast.literal_eval(node.func.value)).split())
        except ValueError:
            return 0
    if isinstance(node, ast.Call):  # frozenset(...)
        return max((_words_in(a) for a in node.args), default=0)
    if isinstance(node, (ast.GeneratorExp, ast.SetComp, ast.ListComp)):  # frozenset(stem(w) for w in ...)
        return max((_words_in(g.iter) for g in node.generators), default=0)
    items = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", [])
    words = [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]
    return len(words) if words and len(words) == len(items) and all(re.fullmatch(r"[a-z' ]+", w) for w in words) else 0


def test_no_module_but_the_lexicon_defines_a_word_list():
    found = []
    for path in sorted((ROOT / "rag").rglob("*.py")):
        if path.name in ELSEWHERE:
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                if isinstance(node.value, (ast.Set, ast.List, ast.Tuple, ast.Dict, ast.Call)):
                    if _words_in(node.value) >= MIN_WORDS:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_every_list_in_the_lexicon_says_where_it_comes_from():
    source = (ROOT / "rag" / "lexicon.py").read_text().splitlines()
    tree = ast.parse("\n".join(source))
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            name = (node.targets[0] if isinstance(node, ast.Assign) else node.target).id  # type: ignore[union-attr]
            assert source[node.lineno - 2].startswith("#"), f"{name} has no line on its source above it"
            assert getattr(lexicon, name), name


def test_the_check_sees_word_lists_in_each_form_they_are_written():
    for source in (
        'X = frozenset("alpha beta gamma delta epsilon".split())',
        'X = {"alpha", "beta", "gamma", "delta", "epsilon"}',
        'X = {"alpha": 1, "beta": 2, "gamma": 3, "delta": 4, "epsilon": 5}',
        'X = frozenset(stem(w) for w in "alpha beta " "gamma delta epsilon".split())',
    ):
        assert _words_in(ast.parse(source).body[0].value) == MIN_WORDS, source  # type: ignore[attr-defined]
