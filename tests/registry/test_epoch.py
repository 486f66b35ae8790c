import pytest

from registry import epoch as epoch_module
from registry.epoch import EpochCache, epoch_current, epoch_key, epoch_recent
from registry.models import PipelineToken
from registry.services import exclusion_add
from registry.tokens import token_create

pytestmark = pytest.mark.django_db


def _loads() -> tuple[EpochCache, list[str]]:
    asked: list[str] = []

    def load(key: str) -> str | None:
        asked.append(key)
        return None if key == "missing" else f"value of {key}"

    return EpochCache(load, max_entries=3), asked


def test_a_value_is_loaded_once_while_the_epoch_holds() -> None:
    values, asked = _loads()
    assert [values.get("a", epoch="e1") for _ in range(3)] == ["value of a"] * 3
    assert asked == ["a"]


def test_a_new_epoch_loads_again() -> None:
    values, asked = _loads()
    values.get("a", epoch="e1")
    values.get("a", epoch="e2")
    values.get("a", epoch="e2")
    assert asked == ["a", "a"]


def test_a_miss_is_never_kept() -> None:
    values, asked = _loads()
    assert values.get("missing", epoch="e1") is None
    assert values.get("missing", epoch="e1") is None
    assert asked == ["missing", "missing"]


def test_a_value_older_than_the_backstop_is_loaded_again(monkeypatch) -> None:
    values, asked = _loads()
    values.get("a", epoch="e1")
    monkeypatch.setattr(epoch_module, "MAX_AGE", 0.0)
    values.get("a", epoch="e1")
    assert asked == ["a", "a"]


def test_the_cache_never_holds_more_than_its_bound() -> None:
    values, _ = _loads()
    for key in "abcdefg":
        values.get(key, epoch="e1")
    assert 1 <= len(values._entries) <= 3


def test_a_new_checkpoint_replaces_the_epoch() -> None:
    before = epoch_current()
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")  # signs one
    assert epoch_current() != before


def test_creating_saving_and_revoking_tokens_replace_the_epoch() -> None:
    seen = {epoch_current()}
    token, _ = token_create(name="mirror", scopes=["registry:read"])
    seen.add(epoch_current())
    token.name = "renamed"
    token.save()
    seen.add(epoch_current())
    PipelineToken.objects.filter(pk=token.pk).update(revoked=True)
    seen.add(epoch_current())
    token.delete()
    seen.add(epoch_current())
    assert len(seen) == 5


def test_the_epoch_is_shared_in_redis_and_never_comes_back_after_a_loss(settings) -> None:
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL): the in-memory cache is per process by design")
    import redis

    other_worker = redis.Redis.from_url(settings.REDIS_URL)
    first = epoch_current()
    assert other_worker.get(epoch_key()).decode() == first
    other_worker.set(epoch_key(), "set-by-another-1")
    assert epoch_current() == "set-by-another-1"
    other_worker.delete(epoch_key())  # Redis restarted empty: a new epoch, never an old one
    assert epoch_current() not in (first, "set-by-another-1")
    other_worker.close()


def _written_by_another_process(value: str) -> None:
    """The epoch replaced elsewhere: this process's copy is not told."""
    from django.core.cache import cache

    from registry.shared_redis import shared_redis

    redis_and_cache = shared_redis()
    if redis_and_cache is None:
        cache.set(epoch_module.EPOCH_KEY, value, timeout=None)
    else:
        redis_and_cache[0].set(epoch_key(), value)


def test_a_process_reads_the_epoch_again_once_its_copy_is_a_second_old(monkeypatch) -> None:
    mine = epoch_recent()
    _written_by_another_process("from-another-process")
    assert epoch_recent() == mine  # within EPOCH_FRESH_FOR: this process's copy
    monkeypatch.setattr(epoch_module, "EPOCH_FRESH_FOR", 0.0)
    assert epoch_recent() == "from-another-process"


def test_a_process_sees_its_own_writes_at_once() -> None:
    mine = epoch_recent()
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c:1")  # a checkpoint
    assert epoch_recent() != mine
