"""What hospitals offer: schedules, bookable projects, packages and catalogues.

(15.1.1, 21.2.x, 24.1.1-3, 25.1.3-6, 28.x, 29.1.1-2, 33.1.1-2, 43.1.1)
"""

from __future__ import annotations
