"""`python -m simulator.wechatpay --port 0 --config-out merchant.json`: a fake WeChat Pay as its own process."""

from __future__ import annotations

import argparse
from pathlib import Path

from .server import serve_provider


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m simulator.wechatpay", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    parser.add_argument("--config-out", type=Path, help="write the merchant's WeChatPayConfig (JSON) here")
    parser.add_argument(
        "--schedule-scale", type=float, default=1.0, help="multiplies WeChat's re-send schedule (15 s, 15 s, 30 s...)"
    )
    parser.add_argument("--duplicate-rate", type=float, default=0.0, help="share of notifications sent twice")
    parser.add_argument("--spread-s", type=float, default=0.0, help="random delay before each notification")
    parser.add_argument("--refund-settles-after-s", type=float, default=1.0, help="refunds succeed after this long")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    serve_provider(
        host=args.host,
        port=args.port,
        config_out=args.config_out,
        schedule_scale=args.schedule_scale,
        duplicate_rate=args.duplicate_rate,
        spread_s=args.spread_s,
        refund_settles_after_s=args.refund_settles_after_s,
        seed=args.seed,
    )


if __name__ == "__main__":
    main()
