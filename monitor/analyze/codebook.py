"""Framing codebooks: the built-in ones shipped as YAML, or frames written in feeds.yaml.

A codebook is a list of frames, each with an id, a label, a description for coders and
indicator terms per language. `frames.codebook` in feeds.yaml names a built-in codebook;
`frames.custom` adds frames to it, replaces a built-in frame of the same id, or, when
`codebook` names no built-in, makes up the whole codebook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from ruamel.yaml import YAML

from monitor.config import FrameDef, Frames
from monitor.errors import ConfigError, InputError

BUILTIN_PACKAGE = "monitor.analyze.codebooks"


@dataclass(frozen=True)
class Frame:
    """One frame: `id` is stable and stored in the database; `terms` maps language -> terms."""

    id: str
    label: str
    description: str = ""
    terms: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Codebook:
    name: str
    frames: tuple[Frame, ...]
    description: str = ""

    @property
    def ids(self) -> list[str]:
        return [frame.id for frame in self.frames]

    def frame(self, frame_id: str) -> Frame | None:
        return next((f for f in self.frames if f.id == frame_id), None)


def builtin_names() -> list[str]:
    """Names of the codebooks shipped with monitor (file names without .yaml)."""
    folder = resources.files(BUILTIN_PACKAGE)
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_builtin(name: str) -> Codebook:
    """A built-in codebook by name; InputError naming the known ones when it does not exist."""
    if name not in builtin_names():
        raise InputError(f"unknown codebook {name!r}; built-in codebooks: {', '.join(builtin_names())}")
    return _parse_builtin(name)


@lru_cache(maxsize=None)
def _parse_builtin(name: str) -> Codebook:
    """Parsed once per process: the jobs, the digest and every dashboard rerun ask for it,
    and parsing the YAML takes about 0.1 s."""
    text = resources.files(BUILTIN_PACKAGE).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    tree = YAML(typ="safe").load(text)
    frames = tuple(_frame(item) for item in tree["frames"])
    return Codebook(name=tree.get("name", name), frames=frames, description=tree.get("description", ""))


def _frame(item: dict) -> Frame:
    terms = {lang: tuple(str(t) for t in words) for lang, words in (item.get("terms") or {}).items()}
    return Frame(id=str(item["id"]), label=str(item.get("label") or item["id"]),
                 description=str(item.get("description", "")).strip(), terms=terms)


def _custom(defn: FrameDef) -> Frame:
    return Frame(id=defn.name, label=defn.label or defn.name, description=defn.description,
                 terms={lang: tuple(words) for lang, words in defn.terms.items()})


def codebook_for(settings: Frames) -> Codebook:
    """The codebook feeds.yaml asks for: a built-in one, with custom frames merged in."""
    custom = [_custom(d) for d in settings.custom]
    if settings.codebook in builtin_names():
        base = load_builtin(settings.codebook)
        replaced = {f.id for f in custom}
        frames = tuple(f for f in base.frames if f.id not in replaced) + tuple(custom)
        return Codebook(name=base.name, frames=frames, description=base.description)
    if not custom:
        raise ConfigError([f"frames.codebook: {settings.codebook!r} is not a built-in codebook "
                           f"({', '.join(builtin_names())}) and frames.custom is empty"])
    return Codebook(name=settings.codebook, frames=tuple(custom))


def codebook_named(name: str | None, settings: Frames) -> Codebook:
    """`--codebook NAME` on the command line, or the configured codebook when absent."""
    if name is None or name == settings.codebook:
        return codebook_for(settings)
    return load_builtin(name)
