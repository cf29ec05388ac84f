"""The backup commands' vocabularies, defined once as `Literal` types (the CLI's
`click.Choice` lists come from them; this module imports nothing, so offering the choices
costs `irkit backup` no start-up time)."""

from __future__ import annotations

from typing import Literal, get_args

# what `backup verify --type` may force (the container; compression is always recognised)
Container = Literal["tar", "zip", "sqlite", "pg-custom", "pg-plain"]
# what `backup verify --compare` compares: content only, or also the metadata (meta.py)
Compare = Literal["content", "meta"]

CONTAINERS: tuple[Container, ...] = get_args(Container)
COMPARES: tuple[Compare, ...] = get_args(Compare)
