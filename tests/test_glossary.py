"""The glossary (book/glossary.md): alphabetical, and it defines the terms the book relies on."""

import re
from pathlib import Path

GLOSSARY = Path(__file__).resolve().parents[1] / "book" / "glossary.md"


def _terms() -> list[str]:
    body = GLOSSARY.read_text().split("```{glossary}", 1)[1].split("```", 1)[0]
    return [line for line in body.splitlines() if line and not line.startswith(" ")]


def test_terms_are_alphabetical():
    terms = _terms()
    assert terms == sorted(terms, key=str.casefold)


def test_the_book_s_core_terms_are_defined():
    defined = " ".join(_terms()).casefold()
    for term in (
        "multistage transfer learning",
        "hog",
        "lbp",
        "bootstrap",
        "corrected resampled t-test",
        "early stopping",
        "generic stage",
        "roc curve",
        "precision",
        "dropout",
        "sgd",
        "adam",
        "adagrad",
        "auc",
    ):
        assert term in defined, term


def test_equation_numbers_match_the_paper():
    text = GLOSSARY.read_text()
    # Ayana et al. (2022), section 2.4: accuracy (3), specificity (4), sensitivity (5), F1 (6)
    for term, number in (("Accuracy", 3), ("Specificity", 4), ("Sensitivity", 5), ("F1 score", 6)):
        entry = re.search(rf"^{term}\n((?:  .*\n)+)", text, re.M).group(1)
        assert f"equation {number}" in entry, term
