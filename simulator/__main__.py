"""`python -m simulator --host 127.0.0.1 --port 9100 --seed 7`

Every hospital answers JSON over HTTP (/his/<id>/<method>, /regional/<method>) and SOAP in both styles
(/soap/methods/..., /soap/dispatch/..., each with ?wsdl; see simulator/soap.py).
"""

from __future__ import annotations

import argparse

from simulator.server import serve


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m simulator", description="Simulated region of hospital HIS systems."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    serve(host=args.host, port=args.port, seed=args.seed)


if __name__ == "__main__":
    main()
