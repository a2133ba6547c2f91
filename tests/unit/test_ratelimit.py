from bunq_ynab.ratelimit import SlidingWindowLimiter


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_fourth_get_waits_for_window():
    clock = FakeClock()
    limiter = SlidingWindowLimiter({"GET": (3, 3.0)}, clock=clock, sleep=clock.sleep)
    waits = [limiter.acquire("GET") for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == 3.0


def test_methods_limited_separately():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(
        {"GET": (3, 3.0), "POST": (5, 3.0)}, clock=clock, sleep=clock.sleep
    )
    for _ in range(3):
        limiter.acquire("GET")
    assert limiter.acquire("POST") == 0.0


def test_unlimited_key_never_waits():
    clock = FakeClock()
    limiter = SlidingWindowLimiter({}, clock=clock, sleep=clock.sleep)
    assert all(limiter.acquire("GET") == 0.0 for _ in range(100))


def test_window_slides():
    clock = FakeClock()
    limiter = SlidingWindowLimiter({"GET": (3, 3.0)}, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        limiter.acquire("GET")
        clock.now += 1.0
    # The first call was at t=0 and it is now t=3: one slot is free again.
    assert limiter.acquire("GET") == 0.0
