import pytest

from registry import epoch as epoch_module
from registry.epoch import EpochCache, epoch_current
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
