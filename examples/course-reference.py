"""The course's reference function ("Task 1") in Python, for redlet.

It computes exactly what examples/course-reference.js computes (a test feeds both the
same snapshots and compares), and runs unchanged on the course's own runtime too.

Input: one `metrics` snapshot from the monitoring agent. Output, for P CPUs:
  percent-network-egress   bytes_sent / (bytes_sent + bytes_recv) x 100 (eth0, since boot)
  percent-memory-cache     (cached + buffers) / total x 100
  avg-util-cpuN-60sec      mean of cpu_percent-N over the samples of the last 60 s

Rules worth knowing before you copy this file:
- "The last 60 s" is measured on the snapshot's own `timestamp`, not on the clock of
  the machine running the function: the runtime may call us late, early or twice with
  the same snapshot, and only the agent knows when it measured.
- The window is (newest - 60 s, newest]: a sample exactly 60 s older than the newest
  one is dropped.
- The history lives in `context.env`, which redlet saves as JSON between calls. So it
  holds only plain lists, dicts and numbers (no datetime), and it is trimmed on every
  call so it cannot grow without bound.
- A value that cannot be computed (field absent or not a number, zero total) is None.
- Means are summed left to right (not with `sum()`, whose compensated float summation
  would differ from JavaScript's in the last bits).
"""
import calendar
import math
import re

WINDOW_US = 60 * 1_000_000
"""The averaging window, in microseconds (the unit of the agent's timestamps)."""

# Python's str(datetime.now()); it omits the fraction when microseconds are 0.
TIMESTAMP = re.compile(r'(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?')
CPU_KEY = re.compile(r'cpu_percent-(\d+)')


def handler(input, context):
    t = parse_timestamp(input.get('timestamp'))
    cpu_ids = sorted(int(m.group(1)) for m in (CPU_KEY.fullmatch(key) for key in input) if m)
    cpu = [None] * (max(cpu_ids) + 1 if cpu_ids else 0)
    for n in cpu_ids:
        cpu[n] = finite_number(input.get(f'cpu_percent-{n}'))
    history = remember(context.env, {'t': t, 'cpu': cpu})

    result = {
        'percent-network-egress': network_egress_percent(input),
        'percent-memory-cache': memory_cache_percent(input),
    }
    for n in cpu_ids:
        result[f'avg-util-cpu{n}-60sec'] = average(history, n)
    return result


def parse_timestamp(text):
    """The agent's naive local time as integer microseconds on a private (UTC-like) scale."""
    match = TIMESTAMP.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise TypeError(f'input.timestamp must look like "2024-11-20 14:03:15.512907", got {text!r}')
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = match.group(7) or ''
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    return seconds * 1_000_000 + int(fraction.ljust(6, '0'))


def remember(env, sample):
    """Adds `sample` to the history in `env` and returns the samples inside the window."""
    history = env.get('cpuHistory')
    if not isinstance(history, list):
        history = []
    last = history[-1] if history else None
    if last is None or sample['t'] > last['t']:
        history.append(sample)
    elif sample['t'] < last['t']:
        # Time went backwards: the agent restarted or the clock was set back.
        history = [sample]
    # Same timestamp as the last sample: the same snapshot seen again; not counted twice.
    history = [s for s in history if sample['t'] - s['t'] < WINDOW_US]
    env['cpuHistory'] = history
    return history


def average(history, n):
    total = 0
    count = 0
    for s in history:
        values = s['cpu']
        v = values[n] if n < len(values) else None
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            total += v
            count += 1
    return None if count == 0 else total / count


def network_egress_percent(input):
    sent = net_counter(input, 'bytes_sent')
    recv = net_counter(input, 'bytes_recv')
    if sent is None or recv is None or sent + recv <= 0:
        return None
    return (sent / (sent + recv)) * 100


def net_counter(input, name):
    key = f'net_io_counters_eth0-{name}'
    # A widely copied assignment text spelled these keys with a stray trailing "1".
    value = finite_number(input.get(key))
    return value if value is not None else finite_number(input.get(f'{key}1'))


def memory_cache_percent(input):
    total = finite_number(input.get('virtual_memory-total'))
    cached = finite_number(input.get('virtual_memory-cached'))
    buffers = finite_number(input.get('virtual_memory-buffers'))
    if total is None or cached is None or buffers is None or total <= 0:
        return None
    return ((cached + buffers) / total) * 100


def finite_number(value):
    """Only real numbers count: a string, None, a bool or a missing key is "not measured"."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None
