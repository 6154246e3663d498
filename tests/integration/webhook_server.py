#!/usr/bin/env python3
"""A webhook endpoint for test_action_webhook.sh: an HTTP server on
127.0.0.1 (a free port, written to PORT_FILE once listening) that answers
POST /hook with 500 to its first FAILURES requests, then 200, and POST /gone
with 404; each request is appended to LOG as one JSON object: the path, the
status answered, the Content-Type and the body. Standard library only.

    webhook_server.py PORT_FILE LOG FAILURES
"""
import http.server
import json
import os
import sys
import threading

port_file, log_path, failures = sys.argv[1], sys.argv[2], int(sys.argv[3])
lock = threading.Lock()
answered = {"count": 0}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        with lock:
            if self.path == "/gone":
                status = 404
            else:
                status = 500 if answered["count"] < failures else 200
                answered["count"] += 1
            with open(log_path, "a") as log:
                log.write(json.dumps({"path": self.path, "status": status,
                                      "content_type": self.headers.get("Content-Type"),
                                      "body": body}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *arguments):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as output:
    output.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
