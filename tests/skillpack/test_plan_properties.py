"""Property test: any sequence of installs, upgrades, edits, deletions and foreign folders
never loses a user's edit or touches a foreign file, and leaves managed skills current."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from autoplay_cli.skillpack import bundle as bundle_mod
from autoplay_cli.skillpack import manifest
from autoplay_cli.skillpack.agents import Target
from autoplay_cli.skillpack.bundle import Bundle, BundledSkill
from autoplay_cli.skillpack.plan import apply, make_plan

SKILLS_DIR = Path(__file__).resolve().parents[2] / "skills"
SKILLS = ("autoplay-core", "chatbot-intercom", "chatbot-tidio")
NEW = bundle_mod.load(SKILLS_DIR)
OLD = Bundle(
    "given",
    "old",
    {
        name: BundledSkill(
            name,
            {
                **s.files,
                "SKILL.md": s.files["SKILL.md"] + b"\nold\n",
                "references/extra.md": b"only in the old version\n",
            },
        )
        for name, s in NEW.skills.items()
    },
)


class Installs(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="skills-prop-"))
        self.folder = self.root / ".claude" / "skills"
        self.target = [Target(self.folder, ("claude",))]
        self.installed: dict[str, Bundle] = {}  # skill -> bundle last written, untouched
        self.edited: dict[str, bytes] = {}  # skill -> the user's SKILL.md
        self.foreign: dict[str, bytes] = {}  # skill -> content of a folder not ours

    def teardown(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    @rule(new=st.booleans(), force=st.booleans())
    def install(self, new: bool, force: bool) -> None:
        source = NEW if new else OLD
        apply(make_plan(self.target, SKILLS, source, force=force))
        for skill in SKILLS:
            if skill in self.foreign:
                continue
            if skill in self.edited and not force:
                continue
            self.edited.pop(skill, None)
            self.installed[skill] = source

    @precondition(lambda self: bool(self.installed))
    @rule(data=st.data())
    def edit(self, data: st.DataObject) -> None:
        skill = data.draw(st.sampled_from(sorted(self.installed)))
        content = data.draw(st.binary(min_size=1, max_size=20)) + b"#edited"
        (self.folder / skill / "SKILL.md").write_bytes(content)
        self.edited[skill] = content
        del self.installed[skill]

    @precondition(lambda self: bool(self.installed))
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        skill = data.draw(st.sampled_from(sorted(self.installed)))
        shutil.rmtree(self.folder / skill)
        del self.installed[skill]

    @rule(skill=st.sampled_from(SKILLS), content=st.binary(min_size=1, max_size=20))
    def add_foreign(self, skill: str, content: bytes) -> None:
        here = self.folder / skill
        if here.exists():
            return
        here.mkdir(parents=True)
        (here / "SKILL.md").write_bytes(content + b"#foreign")
        man = manifest.load(self.folder)
        if man is not None and skill in man.skills:
            # The manifest still claims this path (we installed it, the user deleted it):
            # the new folder counts as a local edit of our skill, kept the same way.
            self.edited[skill] = content + b"#foreign"
        else:
            self.foreign[skill] = content + b"#foreign"

    @invariant()
    def nothing_lost_and_managed_skills_match_their_bundle(self) -> None:
        for skill, content in {**self.foreign, **self.edited}.items():
            assert (self.folder / skill / "SKILL.md").read_bytes() == content
        man = manifest.load(self.folder)
        for skill, source in self.installed.items():
            for rel, data in source.skills[skill].files.items():
                assert (self.folder / skill / rel).read_bytes() == data
            stale = set(OLD.skills[skill].files) - set(source.skills[skill].files)
            assert not any((self.folder / skill / rel).exists() for rel in stale)
            assert man is not None and man.skills[skill].files == source.skills[skill].hashes()
        for skill in self.foreign:
            assert man is None or skill not in man.skills


TestInstalls = Installs.TestCase
TestInstalls.settings = settings(max_examples=30, stateful_step_count=8, deadline=None)
