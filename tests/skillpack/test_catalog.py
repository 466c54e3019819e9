"""The catalog: selection rules, and agreement with the bundled skill folders."""

from __future__ import annotations

import pytest

from autoplay_cli import __version__
from autoplay_cli.errors import UsageError
from autoplay_cli.skillpack import catalog
from autoplay_cli.skillpack.bundle import Bundle
from autoplay_cli.skillpack.validate import split_frontmatter


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def test_catalog_and_bundle_name_the_same_skills(bundle: Bundle) -> None:
    assert set(bundle.skills) == set(catalog.BY_NAME)
    assert len(catalog.CATALOG) == len(catalog.BY_NAME) == 11


@pytest.mark.parametrize("info", catalog.CATALOG, ids=lambda s: s.name)
def test_skill_metadata_repeats_the_catalog_row(info: catalog.SkillInfo, bundle: Bundle) -> None:
    import yaml

    text = bundle.skills[info.name].files["SKILL.md"].decode("utf-8")
    parts = split_frontmatter(text)
    assert parts is not None
    meta = yaml.safe_load(parts[0])["metadata"]
    assert meta[catalog.META_VERSION] == info.version
    assert meta[catalog.META_MIN_TOOLKIT] == info.min_toolkit
    assert _version_tuple(info.min_toolkit) <= _version_tuple(__version__)
    assert info.family in {"core", "migration", "chatbot", "activity"}
    assert info.tags and info.summary


def test_nothing_selected_means_everything() -> None:
    assert catalog.select() == tuple(s.name for s in catalog.CATALOG)
    assert catalog.select(all_=True) == catalog.select()


def test_core_is_always_included_and_order_follows_the_catalog() -> None:
    assert catalog.select(["tidio", "intercom"], ["posthog"]) == (
        "autoplay-core",
        "chatbot-intercom",
        "chatbot-tidio",
        "activity-posthog",
    )
    assert catalog.select(migrate=True) == ("autoplay-core", "autoplay-migrate-imports")
    assert catalog.select(["chatbot-ada"]) == ("autoplay-core", "chatbot-ada")
    assert catalog.select(["Crisp "]) == ("autoplay-core", "chatbot-crisp")


def test_all_wins_over_a_selection() -> None:
    assert catalog.select(["ada"], all_=True) == catalog.select()


@pytest.mark.parametrize(
    ("chatbots", "activities", "flag", "listed"),
    [
        (["zendesk"], [], "`chatbots`", "intercom"),
        ([], ["mixpanel"], "`activities`", "posthog"),
        (["posthog"], [], "`chatbots`", "tidio"),
    ],
)
def test_unknown_names_are_usage_errors_listing_the_valid_ones(
    chatbots: list[str], activities: list[str], flag: str, listed: str
) -> None:
    with pytest.raises(UsageError) as info:
        catalog.select(chatbots, activities)
    assert flag in str(info.value)
    assert listed in (info.value.hint or "")
    assert info.value.exit_code == 2
