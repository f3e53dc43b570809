"""A fake Tradier for tests and demos: the endpoints zerodte uses, on a replayed market.

* :mod:`.venue`: the account and its orders, matched by the paper broker's fill models
  (so a replay fills as the backtest does), with partial and delayed fills on demand;
* :mod:`.market`: quotes, chains, timesales, clock and calendar of a market frame at the
  venue's clock;
* :mod:`.server`: authentication, rate-limit windows and headers, fault injection and the
  routes, as one ``handle(request)``; :func:`.server.mock_transport` serves it in process
  through ``httpx.MockTransport``;
* :mod:`.app`: the same routes as a FastAPI app on a loopback uvicorn server;
* :mod:`.control`: the replay's side: the venue's time and how to wait on it.
"""
