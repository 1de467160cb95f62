"""Filtering a catalogue with repeated fields: checkbox groups, ``?tag=a&tag=b`` and JSON arrays.

Run from the repository root with ``uvicorn examples.catalogue:app`` (or
``uvicorn catalogue:app --app-dir examples``), open http://127.0.0.1:8000/ and tick some boxes,
or::

    curl 'http://127.0.0.1:8000/search?tag=red&tag=small&size=2'
    curl -H 'Content-Type: application/json' -d '{"ids": [1, 3]}' http://127.0.0.1:8000/compare

A parameter annotated ``list[X]`` receives every value sent under its name, each converted to
``X``; a plain ``str`` or ``int`` parameter would get only the first.
"""

from dataclasses import dataclass
from typing import Any

from micropie import App


@dataclass(frozen=True)
class Product:
    id: int
    name: str
    size: int
    tags: frozenset[str]


PRODUCTS = (
    Product(1, "Red bucket", 2, frozenset({"red", "small"})),
    Product(2, "Blue bucket", 3, frozenset({"blue"})),
    Product(3, "Red barrel", 9, frozenset({"red", "large"})),
    Product(4, "Small spade", 1, frozenset({"small"})),
)
TAGS = sorted({tag for product in PRODUCTS for tag in product.tags})

FORM = "\n".join([
    "<!doctype html>",
    "<title>Catalogue</title>",
    '<form action="/search">',
    *(f'  <label><input type="checkbox" name="tag" value="{tag}"> {tag}</label>' for tag in TAGS),
    "  <button>Search</button>",
    "</form>",
])


def summary(product: Product) -> dict[str, Any]:
    return {"id": product.id, "name": product.name, "size": product.size, "tags": sorted(product.tags)}


class Catalogue(App):
    async def index(self) -> str:
        return FORM

    async def search(self, tag: list[str] | None = None, size: list[int] | None = None) -> list[dict[str, Any]]:
        """Products carrying every ticked tag and, if sizes are given, of one of those sizes."""
        wanted = set(tag or ())
        sizes = set(size) if size is not None else None
        return [
            summary(product)
            for product in PRODUCTS
            if wanted <= product.tags and (sizes is None or product.size in sizes)
        ]

    async def compare(self, ids: list[int]) -> tuple[int, dict[str, Any]]:
        """The products named by ``ids`` (a JSON array, or repeated form or query values)."""
        by_id = {product.id: product for product in PRODUCTS}
        unknown = [product_id for product_id in ids if product_id not in by_id]
        if unknown:
            return 404, {"unknown": unknown}
        chosen = [by_id[product_id] for product_id in ids]
        return 200, {"products": [summary(product) for product in chosen],
                     "largest": max(chosen, key=lambda product: product.size).name if chosen else None}


app = Catalogue()
