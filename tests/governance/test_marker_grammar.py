"""The grammar of opt-out markers: strict, and safe on hostile file contents."""

import pytest

from governance.enums import MarkerKind
from governance.releases.marker_grammar import OPTOUT_FILE_BYTES, ROBOTS_FILE_BYTES, read_marker

OPTOUT = MarkerKind.DATASET_OPTOUT
ROBOTS = MarkerKind.AIPREF_ROBOTS


@pytest.mark.parametrize(
    "content",
    [
        "opt-out",
        "opt-out\n",
        "  opt-out \t\r\n",
        "# why we opt out\nopt-out\n",
        "dsopt_3b1f9c0e\nopt-out\n",  # the file may also hold a verification token
        "\ufeffopt-out\n",  # a byte-order mark
        b"opt-out\r\n",
    ],
)
def test_the_opt_out_directive_on_a_line_of_its_own_is_a_marker(content) -> None:
    assert read_marker(OPTOUT, content) == "opt-out"


@pytest.mark.parametrize(
    "content",
    [
        "",
        None,
        "OPT-OUT\n",  # case-sensitive
        "opt-out please\n",
        "we do not opt-out\n",
        "# opt-out\n",
        "opt_out\n",
        "dsopt_3b1f9c0e\n",
        b"\xff\xfeopt-out\n",  # not UTF-8
        "opt-out\x00\n",
    ],
)
def test_anything_else_in_dataset_optout_is_not_a_marker(content) -> None:
    assert read_marker(OPTOUT, content) is None


def test_a_dataset_optout_file_larger_than_the_limit_is_not_a_marker() -> None:
    content = "opt-out\n" + "#" * OPTOUT_FILE_BYTES
    assert read_marker(OPTOUT, content) is None
    assert read_marker(OPTOUT, "opt-out\n" + "#" * (OPTOUT_FILE_BYTES - 9)) == "opt-out"


@pytest.mark.parametrize(
    "content",
    [
        "User-Agent: *\nAllow: /\nContent-Usage: / train-ai=n\n",
        "user-agent: *\ncontent-usage: / train-ai=n, search=y\n",
        "User-Agent: ExampleBot\nUser-Agent: *\nContent-Usage:/\ttrain-ai=n # comment\n",
        'User-Agent: *\nDisallow: /\nAllow: /\nContent-Usage: / train-ai=n;reason="x"\n',
        # Two groups for every crawler apply together (RFC 9309).
        "User-Agent: *\nDisallow: /tmp/\n\nUser-Agent: other\nAllow: /\n\n"
        "User-Agent: *\nContent-Usage: / train-ai=n\n",
    ],
)
def test_an_aipref_rule_refusing_training_for_the_whole_tree_is_a_marker(content) -> None:
    assert read_marker(ROBOTS, content).startswith("Content-Usage: /")


@pytest.mark.parametrize(
    "content",
    [
        "User-Agent: *\nContent-Usage: / train-ai=y\n",
        "User-Agent: *\nContent-Usage: /docs/ train-ai=n\n",  # part of the tree only
        "User-Agent: ExampleBot\nContent-Usage: / train-ai=n\n",  # one crawler only
        "Content-Usage: / train-ai=n\n",  # outside any group
        "User-Agent: *\nDisallow: /\nContent-Usage: / train-ai=n\n",  # nothing crawlable
        'User-Agent: *\nContent-Usage: / train-ai="n"\n',  # a string, not the token n
        "User-Agent: *\nContent-Usage: / Train-AI=n\n",  # keys are lowercase
        "User-Agent: *\nContent-Usage: / train-ai=n, train-ai=y\n",  # the last one counts
        "User-Agent: *\nContent-Usage: / train-ai=n,,\n",  # not a dictionary: unknown
        "User-Agent: *\nContent-Usage: / tràin-ai=n\n",  # not ASCII
        "User-Agent: *\nContent-Usage: / search=n\n",
        "User-Agent: *\nDisallow: /\n",  # acquisition, not use
        b"User-Agent: *\nContent-Usage: / train-ai=n\xff\n",
    ],
)
def test_other_robots_files_are_not_markers(content) -> None:
    assert read_marker(ROBOTS, content) is None


def test_a_robots_file_is_read_up_to_its_size_limit_only() -> None:
    rule = "User-Agent: *\nContent-Usage: / train-ai=n\n"
    padding = "# " + "x" * 100 + "\n"
    inside = rule + padding * ((ROBOTS_FILE_BYTES - len(rule)) // len(padding) - 1)
    assert read_marker(ROBOTS, inside + "more" * 10_000) is not None
    past = "User-Agent: *\n" + padding * (ROBOTS_FILE_BYTES // len(padding) + 1)
    assert read_marker(ROBOTS, past + "Content-Usage: / train-ai=n\n") is None


def test_the_evidence_line_is_bounded() -> None:
    content = "User-Agent: *\nContent-Usage: / train-ai=n;note=" + '"' + "x" * 5000 + '"\n'
    assert len(read_marker(ROBOTS, content)) == 200
