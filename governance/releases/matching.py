"""The registry's matching rule, vectorised over Arrow arrays of repository names.

Same rule as ``registry.matching``: a repository ``host/owner/name`` is excluded when it
is an excluded repository or any enclosing namespace is excluded. Here it runs on arrays
of canonical repositories (a shard's runs of one repository: ``shard_index``).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.db.models import Q

from governance.releases.storage import Store
from registry.enums import ExclusionKind
from registry.models import Exclusion
from registry.selectors import ExclusionSet, exclusions_at

# Plain strings (not the enum members) because they are written into Arrow arrays.
REPOSITORY = ExclusionKind.REPOSITORY.value
NAMESPACE = ExclusionKind.NAMESPACE.value


@dataclass(frozen=True)
class CompiledExclusions:
    size: int
    repositories: pa.Array
    # Namespaces grouped by their number of path parts (2 for host/owner, 3 for a
    # GitLab subgroup), because a prefix of that many parts is what must be looked up.
    namespaces: dict[int, pa.Array]

    @property
    def count(self) -> int:
        return len(self.repositories) + sum(len(a) for a in self.namespaces.values())


def compile_exclusions(exclusions: ExclusionSet) -> CompiledExclusions:
    by_depth: dict[int, list[str]] = {}
    for namespace in exclusions.namespaces:
        by_depth.setdefault(namespace.count("/") + 1, []).append(namespace)
    return CompiledExclusions(
        size=exclusions.log_size,
        repositories=pa.array(sorted(exclusions.repositories), pa.string()),
        namespaces={d: pa.array(sorted(v), pa.string()) for d, v in sorted(by_depth.items())},
    )


def _table_path(store: Store, size: int, root_hash: str) -> str:
    if not root_hash:
        return ""
    return store.path(".exclusions", f"{size}-{base64.b64decode(root_hash).hex()}.parquet")


def _write_exclusion_table(store: Store, path: str, size: int, table: pa.Table) -> None:
    with store.atomic_writer(path) as (hashing, _written):
        pq.write_table(
            table.replace_schema_metadata({"size": str(size)}), hashing, compression="zstd"
        )


@functools.lru_cache(maxsize=4)
def exclusion_table_at(size: int, root_hash: str) -> pa.Table:
    """The exclusions at a checkpoint as a table (kind, subject), in no set order.

    Replayed from the registry once for all workers: the log is append-only and the root
    hash commits to its content, so a (size, root hash) pair always names the same set,
    even across databases (as in tests). The first process to need it replays the log
    and stores it under the storage root's ``.exclusions/``; every other process, on any
    machine, reads that file instead (the planner usually stores it first, derived from
    the previous version's table: see ``exclusion_table_derive``). Verification never
    uses this cache: it replays the log itself.
    """
    store = Store.at(str(settings.DATASET_STORAGE_ROOT))
    path = _table_path(store, size, root_hash)
    if path and store.exists(path):
        with store.open_read(path) as handle:
            table = pq.read_table(handle)
        if table.schema.metadata and table.schema.metadata.get(b"size") == str(size).encode():
            return table.replace_schema_metadata(None)
    exclusions = exclusions_at(size)
    subjects = sorted(exclusions.repositories) + sorted(exclusions.namespaces)
    kinds = [REPOSITORY] * len(exclusions.repositories) + [NAMESPACE] * len(exclusions.namespaces)
    table = pa.table(
        {"kind": pa.array(kinds, pa.string()), "subject": pa.array(subjects, pa.string())}
    )
    if path:
        _write_exclusion_table(store, path, size, table)
    return table


def _keys(kinds: pa.Array, subjects: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(kinds, subjects, "\0")


def exclusion_table_derive(
    *,
    size: int,
    root_hash: str,
    base_size: int,
    base_root_hash: str,
    changes: tuple[CompiledExclusions, CompiledExclusions] | None = None,
    base: pa.Table | None = None,
) -> bool:
    """Store the table at ``size`` as the one at ``base_size`` plus the log in between.

    An incremental release changes a few exclusions out of hundreds of thousands: reading
    only the exclusions added or removed between the two sizes is much cheaper than
    replaying the whole log. The base must be a checkpoint of this same log (the previous
    version's), so its table is the set at ``base_size``. ``changes``: what
    ``exclusions_added_removed_between`` gives for the two sizes, and ``base`` what
    ``exclusion_table_at`` gives for the base, when the caller has them (given both, it
    reads no database: the planner runs it on a side thread). Returns whether it stored
    one.
    """
    store = Store.at(str(settings.DATASET_STORAGE_ROOT))
    path = _table_path(store, size, root_hash)
    if not path or not base_root_hash or base_size > size or store.exists(path):
        return False
    if base is None:
        base = exclusion_table_at(base_size, base_root_hash)
    added, removed = changes or exclusions_added_removed_between(base_size, size)
    added, removed = exclusion_table(added), exclusion_table(removed)
    if removed.num_rows:
        gone = _keys(removed.column("kind"), removed.column("subject"))
        keys = _keys(base.column("kind"), base.column("subject"))
        base = base.filter(pc.invert(pc.is_in(keys, value_set=gone)))
    # The base's order, then the added ones: not sorted like a replayed table, since no
    # reader depends on the order and sorting took most of the derivation's time.
    table = pa.concat_tables([base.select(["kind", "subject"]), added]).combine_chunks()
    _write_exclusion_table(store, path, size, table)
    return True


def exclusion_table(exclusions: CompiledExclusions) -> pa.Table:
    """``kind`` and ``subject`` of each exclusion: repositories, then namespaces."""
    namespaces = all_namespaces(exclusions)
    return pa.table(
        {
            "kind": pa.array(
                [REPOSITORY] * len(exclusions.repositories) + [NAMESPACE] * len(namespaces),
                pa.string(),
            ),
            "subject": pa.concat_arrays([exclusions.repositories, namespaces]),
        }
    )


def _by_depth(namespaces: pa.Array) -> dict[int, pa.Array]:
    if not len(namespaces):
        return {}
    depths = pc.add(pc.count_substring(namespaces, "/"), 1)
    return {
        depth: pc.filter(namespaces, pc.equal(depths, depth))
        for depth in sorted(pc.unique(depths).to_pylist())
    }


@functools.lru_cache(maxsize=4)
def compiled_exclusions_at(size: int, root_hash: str) -> CompiledExclusions:
    table = exclusion_table_at(size, root_hash)
    kinds = table.column("kind").combine_chunks()
    subjects = table.column("subject").combine_chunks()
    return CompiledExclusions(
        size=size,
        repositories=pc.filter(subjects, pc.equal(kinds, REPOSITORY)),
        namespaces=_by_depth(pc.filter(subjects, pc.equal(kinds, NAMESPACE))),
    )


def all_namespaces(exclusions: CompiledExclusions) -> pa.Array:
    arrays = list(exclusions.namespaces.values())
    return pa.concat_arrays(arrays) if arrays else pa.array([], pa.string())


def exclusions_added_removed_between(
    base_size: int, size: int
) -> tuple[CompiledExclusions, CompiledExclusions]:
    """``(added, removed)``: exclusions in force at ``size`` and not at ``base_size``, and
    the reverse, for two sizes of the registry log.

    Read from the exclusions added or removed in that range of the log only, so it costs
    what changed, not the size of the set (not a comparison of two whole sets). A
    subject removed and added again in the range has the same state at both ends and is
    left out. Exact because a subject has at most one active exclusion at a time: one
    active throughout the range has no other exclusion added or removed in it.
    """
    rows = Exclusion.objects.filter(
        Q(added_at_index__gte=base_size, added_at_index__lt=size)
        | Q(removed_at_index__gte=base_size, removed_at_index__lt=size)
    ).values_list("kind", "subject", "added_at_index", "removed_at_index")

    def active(added: int | None, removed: int | None, at: int) -> bool:
        return added is not None and added < at and (removed is None or removed >= at)

    spans: dict[tuple[str, str], list[tuple[int | None, int | None]]] = {}
    for kind, subject, added, removed in rows:
        spans.setdefault((kind, subject), []).append((added, removed))
    added_keys, removed_keys = [], []
    for key, key_spans in spans.items():
        was = any(active(a, r, base_size) for a, r in key_spans)
        now = any(active(a, r, size) for a, r in key_spans)
        if now != was:
            (added_keys if now else removed_keys).append(key)
    return _compiled_keys(size, added_keys), _compiled_keys(size, removed_keys)


def _compiled_keys(size: int, keys: list[tuple[str, str]]) -> CompiledExclusions:
    repositories = sorted(subject for kind, subject in keys if kind == REPOSITORY)
    namespaces = sorted(subject for kind, subject in keys if kind == NAMESPACE)
    return CompiledExclusions(
        size=size,
        repositories=pa.array(repositories, pa.string()),
        namespaces=_by_depth(pa.array(namespaces, pa.string())),
    )


def exclusions_changed_between(base_size: int, size: int) -> CompiledExclusions:
    """Exclusions whose state differs between two sizes of the log, either direction."""
    return exclusions_union(*exclusions_added_removed_between(base_size, size))


def exclusions_union(left: CompiledExclusions, right: CompiledExclusions) -> CompiledExclusions:
    """Both sets (disjoint), at ``left``'s size."""
    return CompiledExclusions(
        size=left.size,
        repositories=pa.concat_arrays([left.repositories, right.repositories]),
        namespaces=_by_depth(pa.concat_arrays([all_namespaces(left), all_namespaces(right)])),
    )


NO_EXCLUSIONS = CompiledExclusions(size=0, repositories=pa.array([], pa.string()), namespaces={})


def canonical_repositories(names: pa.Array, host: str) -> pa.Array:
    """``Owner/Name`` values of the repository column → ``host/owner/name``."""
    return pc.binary_join_element_wise(host, pc.utf8_lower(names), "/")


def matching_subjects(
    repositories: pa.Array, exclusions: CompiledExclusions
) -> tuple[pa.Array, pa.Array]:
    """For each canonical repository, the exclusion that excludes it and its kind, or nulls.

    A repository exclusion wins over a namespace one, and a shorter namespace over a
    longer one, so every row is attributed to exactly one exclusion in changelogs.
    """
    empty = pa.nulls(len(repositories), pa.string())
    subjects, kinds = empty, empty
    for candidates, kind, hit in _hits(repositories, exclusions):  # a later hit wins
        subjects = pc.if_else(hit, candidates, subjects)
        kinds = pc.if_else(hit, kind, kinds)
    return subjects, kinds


def excluded(repositories: pa.Array, exclusions: CompiledExclusions) -> pa.BooleanArray:
    """Whether each canonical repository is excluded: ``matching_subjects`` without the
    strings of who excludes it, for callers that only filter or ask whether any is."""
    mask = pc.fill_null(pa.nulls(len(repositories), pa.bool_()), False)
    for _candidates, _kind, hit in _hits(repositories, exclusions):
        mask = pc.or_(mask, hit)
    return mask


def _hits(
    repositories: pa.Array, exclusions: CompiledExclusions
) -> Iterator[tuple[pa.Array, str, pa.BooleanArray]]:
    """(candidate subjects, kind, hit) for each way a repository can be excluded, the one
    that names it last first: the longest namespaces, then shorter ones, the repository."""
    if exclusions.namespaces:
        parts = pc.split_pattern(repositories, "/")
        lengths = pc.list_value_length(parts)
        for depth in sorted(exclusions.namespaces, reverse=True):
            prefix = pc.binary_join(pc.list_slice(parts, 0, depth), "/")
            hit = pc.and_(
                pc.greater(lengths, depth),
                pc.is_in(prefix, value_set=exclusions.namespaces[depth]),
            )
            yield prefix, NAMESPACE, pc.fill_null(hit, False)
    if len(exclusions.repositories):
        direct = pc.is_in(repositories, value_set=exclusions.repositories)
        yield repositories, REPOSITORY, pc.fill_null(direct, False)
