"""A small inventory module: the example file of `lspilot demo`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


class OutOfStockError(Exception):
    """Raised when an order asks for more than the stock holds."""


@dataclass
class Item:
    sku: str
    name: str
    price_cents: int
    quantity: int = 0
    tags: list[str] = field(default_factory=list)

    def total_value(self) -> int:
        return self.price_cents * self.quantity


class Inventory:
    """Items by SKU, with reservations for pending orders."""

    def __init__(self, items: dict[str, Item] | None = None) -> None:
        self.items = items or {}
        self.reserved: dict[str, int] = {}

    def reserve(self, sku: str, count: int, *, strict: bool = True) -> int:
        item = self.items[sku]
        available = item.quantity - self.reserved.get(sku, 0)
        if count > available:
            if strict:
                raise OutOfStockError(f"{sku}: {count} asked, {available} left")
            count = available
        self.reserved[sku] = self.reserved.get(sku, 0) + count
        return count

    def value(self) -> int:
        return sum(item.total_value() for item in self.items.values())


def load_inventory(path: Path, encoding: str = "utf-8") -> Inventory:
    """Read an inventory from a JSON file.

    Args:
        path: The JSON file.
        strict: Whether unknown keys are errors.
    """
    raw = json.loads(path.read_text(encoding=encoding))
    return Inventory({row["sku"]: Item(**row) for row in raw})


def restock_report(inventory: Inventory, threshold: int = 5) -> list[str]:
    # list the names of items whose quantity is below threshold, sorted by name
    pass
