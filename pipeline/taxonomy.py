"""The default two-level taxonomy (group -> category), read from ``data/taxonomy.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.yamlio import load_yaml

TAXONOMY_PATH = Path(__file__).parent / "data" / "taxonomy.yaml"
UNCATEGORIZED = "other.uncategorized"


@dataclass(frozen=True, slots=True)
class Category:
    """A leaf of the taxonomy, with what the generator needs to invent plausible lines for it."""

    id: str
    name: str
    group: str
    direction: str
    amount_median: float
    amount_sigma: float
    mcc: tuple[str, ...]
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Taxonomy:
    """Groups and their categories, addressable by category id."""

    groups: dict[str, str]
    categories: dict[str, Category]

    def __contains__(self, category_id: object) -> bool:
        return category_id in self.categories


@lru_cache(maxsize=1)
def default_taxonomy() -> Taxonomy:
    """The taxonomy shipped with the package."""
    return load_taxonomy(TAXONOMY_PATH)


def load_taxonomy(path: Path) -> Taxonomy:
    """Parse a taxonomy file of the ``data/taxonomy.yaml`` shape."""
    document = load_yaml(path.read_text(encoding="utf-8"))
    groups: dict[str, str] = {}
    categories: dict[str, Category] = {}
    for group in document["groups"]:
        groups[group["id"]] = group["name"]
        for raw in group["categories"]:
            amount = raw.get("amount") or {}
            categories[raw["id"]] = Category(
                id=raw["id"],
                name=raw["name"],
                group=group["id"],
                direction=raw.get("direction", "out"),
                amount_median=float(amount.get("median", 25.0)),
                amount_sigma=float(amount.get("sigma", 0.8)),
                mcc=tuple(str(code) for code in raw.get("mcc") or ()),
                keywords=tuple(raw.get("keywords") or ()),
            )
    return Taxonomy(groups, categories)


def taxonomy_of(categories: set[str]) -> set[str]:
    """The taxonomy a set of categories belongs to: ours when they all are ours, else just themselves."""
    ours = set(default_taxonomy().categories)
    return ours if categories <= ours else categories
