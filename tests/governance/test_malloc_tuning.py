import subprocess
import sys

# Frees one 30 MB block (glibc then raises its thresholds to 30 MB), then makes and frees
# eight 5 MB blocks, and prints how much of those 40 MB the process kept.
_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from governance.malloc_tuning import malloc_thresholds_fixed

def anonymous_rss():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon"):
            return int(line.split()[1]) * 1024

if {fixed}:
    assert malloc_thresholds_fixed()
large = bytearray(30 * 2**20)
del large
before = anonymous_rss()
blocks = [bytearray(5 * 2**20) for _ in range(8)]
del blocks
print(anonymous_rss() - before)
"""


def _kept(*, fixed: bool) -> int:
    from django.conf import settings

    script = _SCRIPT.format(root=str(settings.BASE_DIR), fixed=fixed)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def test_fixed_thresholds_hand_freed_large_blocks_back_to_the_system() -> None:
    assert _kept(fixed=False) >= 30 * 2**20  # glibc's own adjustment: the pages stay
    assert _kept(fixed=True) < 5 * 2**20
