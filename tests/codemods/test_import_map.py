"""The migration table itself: well-formed, complete, and safe to apply twice."""

from __future__ import annotations

import pytest

from autoplay_cli.codemods import import_map
from autoplay_cli.codemods.mapping import ImportMap, Verdict, is_dotted

OLD = [old for old, _ in import_map.MODULE_MOVES]
NEW = [new for _, new in import_map.MODULE_MOVES]


def test_the_table_holds_every_row_of_the_0_7_4_changelog() -> None:
    # 53 rows in the SDK's "Deprecated paths" table, each listed once.
    assert len(import_map.MODULE_MOVES) == 53
    assert len(set(OLD)) == len(OLD)
    assert dict(import_map.NAME_RENAMES) == {"ConversationEvent": "ConversationEventType"}


@pytest.mark.parametrize(("old", "new"), import_map.MODULE_MOVES, ids=OLD)
def test_row_is_a_pair_of_dotted_sdk_paths(old: str, new: str) -> None:
    assert is_dotted(old) and is_dotted(new)
    assert old.startswith("autoplay_sdk.") and new.startswith("autoplay_sdk.")
    assert old != new


@pytest.mark.parametrize("new", sorted(set(NEW)))
def test_no_canonical_path_is_itself_legacy(new: str) -> None:
    # Otherwise a second run would rewrite the first run's output.
    assert ImportMap().module(new).verdict is Verdict.UNCHANGED


@pytest.mark.parametrize(
    "path",
    [
        "autoplay_sdk.rag",
        "autoplay_sdk.core.models",
        "autoplay_sdk",
        "autoplay_sdk.chat",
        "autoplay_sdk.context_storex",
        "autoplay_sdk.modelsx.y",
        "other.models",
    ],
)
def test_canonical_and_look_alike_paths_are_unchanged(path: str) -> None:
    assert ImportMap().module(path).verdict is Verdict.UNCHANGED
    assert ImportMap().longest_prefix(path) is None
