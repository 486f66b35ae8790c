"""Hypothesis strategies for repository and namespace identifiers, canonical and as people
paste them: shared by the parser's property tests and the API's schemathesis runs (which
generate the schema's ``repository``, ``namespace`` and ``subject`` formats from them)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from hypothesis import strategies as st

from registry.enums import ExclusionKind
from registry.forges import DEFAULT_FORGES, Forge, NameRule
from registry.identifiers import (
    RENDER_STYLES,
    Identifier,
    IdentifierError,
    parse_identifier,
    render_identifier,
)

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


def names(rule: NameRule, separators: str, max_chunks: int = 4) -> st.SearchStrategy[str]:
    """Names built as alphanumeric chunks joined by single separators, then checked."""
    chunk = st.text(alphabet=_ALNUM, min_size=1, max_size=8)
    joined = st.tuples(
        chunk, st.lists(st.tuples(st.sampled_from(separators), chunk), max_size=max_chunks)
    ).map(lambda parts: parts[0] + "".join(sep + text for sep, text in parts[1]))
    return joined.filter(lambda name: rule.problem(name) is None)


@st.composite
def identifiers(
    draw: st.DrawFn,
    forges: Sequence[Forge] = DEFAULT_FORGES,
    kinds: Sequence[ExclusionKind] = (ExclusionKind.REPOSITORY, ExclusionKind.NAMESPACE),
) -> Identifier:
    forge = draw(st.sampled_from(list(forges)))
    separators = "-" if forge.host == "github.com" else "-_."
    owner = draw(
        names(forge.owner_rule, separators).filter(lambda o: o.lower() not in forge.reserved_owners)
    )
    groups = [owner]
    if forge.nested_groups:
        groups += draw(st.lists(names(forge.subgroup_rule, "-_."), max_size=3))
    kind = draw(st.sampled_from(list(kinds)))
    if kind == ExclusionKind.REPOSITORY:
        segments = [*groups, draw(names(forge.name_rule, "-_."))]
    else:
        segments = groups
    return Identifier(kind=kind, canonical="/".join([forge.host, *map(forge.fold, segments)]))


def pasted(*kinds: ExclusionKind, count: int = 300) -> st.SearchStrategy[str]:
    """Identifiers of ``kinds`` on the default forges, in any form people paste: drawn from
    ``count`` made once with a fixed seed. A fixed pool rather than ``identifiers()``:
    schemathesis also asks for values of a format that break the field's other rules (its
    coverage phase), and a pool tells at once that none exist, where a strategy with
    filters would be drawn from until it gives up, for seconds per parameter."""
    rng = random.Random(f"pasted-{sorted(kinds)}")
    pool = []
    while len(pool) < count:
        forge = rng.choice(DEFAULT_FORGES)
        segments = [_plain_name(rng, "-")]
        if forge.nested_groups and rng.random() < 0.3:
            segments.append(_plain_name(rng, "-_."))
        kind = rng.choice(kinds)
        if kind == ExclusionKind.REPOSITORY:
            segments.append(_plain_name(rng, "-_."))
        identifier = Identifier(kind=kind, canonical="/".join([forge.host, *segments]))
        text = render_identifier(identifier, rng.choice(RENDER_STYLES))
        try:
            if parse_identifier(text) == identifier:
                pool.append(text)
        except IdentifierError:  # a reserved name or a forge's rule: not in the pool
            pass
    return st.sampled_from(pool)


def _plain_name(rng: random.Random, separators: str) -> str:
    chunks = [
        "".join(rng.choices(_LOWER_ALNUM, k=rng.randint(1, 8))) for _ in range(rng.randint(1, 3))
    ]
    return "".join(chunk + rng.choice(separators) for chunk in chunks[:-1]) + chunks[-1]
