from registry.matching import enclosing_namespaces, is_repository_excluded


def test_every_enclosing_group_of_a_nested_repository_is_listed() -> None:
    assert list(enclosing_namespaces("gitlab.com/a/b/repo")) == ["gitlab.com/a", "gitlab.com/a/b"]


def test_a_repository_is_excluded_by_itself_or_its_owner_only() -> None:
    assert is_repository_excluded("github.com/o/r", {"github.com/o/r"}, set())
    assert is_repository_excluded("github.com/o/r", set(), {"github.com/o"})
    assert not is_repository_excluded("github.com/o/r", {"github.com/o/r2"}, {"github.com/o2"})
    assert not is_repository_excluded("github.com/o/r", set(), {"gitlab.com/o"})
