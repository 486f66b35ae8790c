"""Build and publish dataset versions: apply the registry at one checkpoint to a snapshot.

One module per step: ``plan`` (start a version, decide which shards to rewrite or
reuse), ``shards`` (filter one shard, streaming), ``publish`` (changelog, card, manifest,
atomic publication), ``reconcile`` (finish or clean after a crash), ``verify``. Storage
goes through ``storage.Store`` (local folders or fsspec object stores).
"""

from governance.releases.errors import ReleaseError
from governance.releases.layout import MANIFEST_NAME, version_folder
from governance.releases.plan import release_start

__all__ = ["MANIFEST_NAME", "ReleaseError", "release_start", "version_folder"]
