"""Pin the receipt budget's wall clock for a test.

The budget counts per minute in the database (``hotline/store/budgets.py``). A burst
that happens to straddle a minute's end is split across two rows, and a count read
afterwards sees only the new minute's (CI saw 0 where 5 were recorded). Tests of the
count freeze the limiter's clock at one instant, so the whole burst falls in one minute.
"""

from __future__ import annotations

import time
from typing import Any


def pin_budget_minute(*services: Any) -> None:
    at = time.time()
    for s in services:
        s.receipt_limit._clock = lambda: at
