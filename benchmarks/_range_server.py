"""A loopback server answering every query_range with one fixed large matrix.

Run in its own process (`python -m benchmarks._range_server SERIES POINTS START STEP`) so
that building and sending the body never competes for the benchmark's GIL. It prints its
port on the first line of stdout.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def matrix_body(series: int, points: int, start: float, step: float) -> bytes:
    """A Prometheus query_range answer: ``series`` series of ``points`` samples each."""
    result = [
        {
            "metric": {"deployment": f"deployment-{i:02d}", "model_name": f"model-{i:02d}"},
            "values": [[start + k * step, f"{1.0 + i + (k % 97) / 97:.6f}"] for k in range(points)],
        }
        for i in range(series)
    ]
    return json.dumps(
        {"status": "success", "data": {"resultType": "matrix", "result": result}}
    ).encode()


def main() -> None:
    series, points = int(sys.argv[1]), int(sys.argv[2])
    start, step = float(sys.argv[3]), float(sys.argv[4])
    body = matrix_body(series, points, start, step)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
