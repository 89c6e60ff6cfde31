#!/usr/bin/env python3
"""A guided tour of ssl-proxy on the built-in emulator: no module, no network.

    python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python examples/demo.py

What it does, all on 127.0.0.1 and in a temporary directory:

1. makes a throw-away CA and a certificate for ``api.example.com`` with the
   ``openssl`` command-line tool;
2. starts a small HTTPS server (Python standard library) that answers
   ``GET /v1/ping`` with JSON and echoes ``POST /v1/echo``;
3. starts ``ssl-proxy --emulate`` with ``--map 9000=api.example.com:<port>``
   (another free port when 9000 is taken);
4. sends plain HTTP to the proxy's local port, which leaves as TLS through
   the emulated module, and does the same with ``curl`` when it is installed;
5. stops the proxy with SIGINT, prints what went over the serial line.

Only the runtime dependencies are needed (no trustme, no cryptography).
Exit status 0 when every step worked, 1 otherwise (with the reason).
``--keep`` leaves the temporary directory (certificates, proxy log) behind.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import http.server
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

HOST_NAME = "api.example.com"
PREFERRED_PORT = 9000
START_TIMEOUT = 30.0     # proxy start-up (bring-up on the emulator takes well under 1 s)
REQUEST_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
ECHO_SIZE = 64 * 1024
REPO_ROOT = Path(__file__).resolve().parent.parent  # a checkout's, or an unpacked sdist's


class DemoFailed(Exception):
    """A step failed; ``str()`` says which and why."""


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def indent(text: str, prefix: str = "   ") -> str:
    return textwrap.indent(text.rstrip("\n"), prefix)


# -- certificates --------------------------------------------------------------

def openssl(*args: str, cwd: Path) -> None:
    try:
        result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                                timeout=60, check=False)
    except subprocess.TimeoutExpired:
        raise DemoFailed(f"openssl {args[0]} did not finish within 60 s") from None
    if result.returncode != 0:
        raise DemoFailed(f"openssl {' '.join(args)} failed:\n{result.stderr.strip()}")


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for ``HOST_NAME``; returns (ca, cert, key)."""
    if shutil.which("openssl") is None:
        raise DemoFailed("the openssl command is missing: install it (apt install openssl)")
    ca_ext = directory / "ca.ext"
    ca_ext.write_text(
        "[req]\ndistinguished_name = dn\nx509_extensions = v3_ca\nprompt = no\n"
        "[dn]\nCN = ssl-proxy demo CA\n"
        "[v3_ca]\nbasicConstraints = critical, CA:TRUE\n"
        "keyUsage = critical, keyCertSign, cRLSign\n"
        "subjectKeyIdentifier = hash\n")
    server_ext = directory / "server.ext"
    server_ext.write_text(
        f"subjectAltName = DNS:{HOST_NAME}\n"
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-config", "ca.ext", cwd=directory)
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr",
            "-subj", f"/CN={HOST_NAME}", cwd=directory)
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-set_serial", "2", "-days", "2", "-extfile", "server.ext", "-out", "server.pem",
            cwd=directory)
    return directory / "ca.pem", directory / "server.pem", directory / "server.key"


# -- the HTTPS server ----------------------------------------------------------

class DemoHandler(http.server.BaseHTTPRequestHandler):
    """``GET /v1/ping``: JSON about the TLS session; ``POST /v1/echo``: the body back."""

    server_version = "demo-https/1.0"
    timeout = REQUEST_TIMEOUT

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path != "/v1/ping":
            self._send(404, "text/plain", b"try /v1/ping\n")
            return
        tls: ssl.SSLSocket = self.connection  # type: ignore[assignment]
        body = {
            "pong": True,
            "host_header": self.headers.get("Host"),
            "tls_version": tls.version(),
            "cipher": (tls.cipher() or ("?",))[0],
            "sni": getattr(tls, "sni_seen", None),
        }
        self._send(200, "application/json", (json.dumps(body) + "\n").encode())

    def do_POST(self) -> None:
        if self.path != "/v1/echo":
            self._send(404, "text/plain", b"try /v1/echo\n")
            return
        length = int(self.headers.get("Content-Length", "0"))
        self._send(200, "application/octet-stream", self.rfile.read(length))

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # the demo prints what matters itself


class TlsHttpServer(http.server.ThreadingHTTPServer):
    """HTTPS on a thread per connection; the handshake runs in that thread."""

    daemon_threads = True

    def __init__(self, cert: Path, key: Path) -> None:
        super().__init__(("127.0.0.1", 0), DemoHandler)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.context.sni_callback = self._remember_sni

    @staticmethod
    def _remember_sni(sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        sock.sni_seen = name  # type: ignore[attr-defined]

    def finish_request(self, request, client_address) -> None:  # type: ignore[override]
        request.settimeout(REQUEST_TIMEOUT)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(tls, client_address)


@contextlib.contextmanager
def https_server(cert: Path, key: Path) -> Iterator[int]:
    server = TlsHttpServer(cert, key)
    thread = threading.Thread(target=server.serve_forever, name="https", daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- the proxy -----------------------------------------------------------------

def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_json(port: int) -> dict:
    """The proxy's ``--status`` page as JSON (it answers once the module is up)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request("GET", "/status.json")
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def wait_until_serving(status_port: int, proxy: subprocess.Popen[bytes], log: Path) -> None:
    """Poll the status page until the service serves (listeners are bound before the
    module's bring-up, so an accepting port alone does not mean ready)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proxy.poll() is not None:
            raise DemoFailed(f"ssl-proxy exited with status {proxy.returncode} before it "
                             f"was ready; its log:\n{indent(log.read_text())}")
        with contextlib.suppress(OSError, ValueError, http.client.HTTPException):
            if status_json(status_port)["service"]["state"] == "serving":
                return
        time.sleep(0.1)
    raise DemoFailed(f"ssl-proxy was not ready within {START_TIMEOUT:g} s;"
                     f" its log:\n{indent(log.read_text())}")


@contextlib.contextmanager
def running_proxy(args: list[str], status_port: int, log: Path
                  ) -> Iterator[subprocess.Popen[bytes]]:
    """``ssl-proxy args`` until the block ends, then SIGINT and a check for status 0."""
    command = [sys.executable, "-m", "proxy.cli", *args]
    env = dict(os.environ)
    if importlib.util.find_spec("proxy") is None:
        # Not installed: the checkout this demo is in (its dependencies installed alone).
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT),
                                                          env.get("PYTHONPATH")]))
    with log.open("wb") as out:
        proxy = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                 env=env)
    stopped = False
    try:
        wait_until_serving(status_port, proxy, log)
        yield proxy
        step("Stop the proxy with SIGINT (a second one would stop it at once)")
        proxy.send_signal(signal.SIGINT)
        try:
            status = proxy.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise DemoFailed(f"ssl-proxy did not stop within {STOP_TIMEOUT:g} s of SIGINT"
                             ) from None
        stopped = True
        if status != 0:
            raise DemoFailed(f"ssl-proxy exited with status {status} after SIGINT (expected 0);"
                             f" its log:\n{indent(log.read_text())}")
        print(f"   ssl-proxy exited with status {status}")
    finally:
        if not stopped and proxy.poll() is None:
            proxy.kill()
            proxy.wait(timeout=STOP_TIMEOUT)


# -- the requests --------------------------------------------------------------

def http_request(port: int, method: str, path: str, body: bytes | None = None
                 ) -> tuple[int, list[tuple[str, str]], bytes]:
    """Plain HTTP to the proxy (http.client: no proxy variables from the environment)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request(method, path, body=body, headers={"Host": HOST_NAME})
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    except (OSError, http.client.HTTPException) as exc:
        raise DemoFailed(f"{method} {path} through the proxy failed: {exc!r}") from None
    finally:
        conn.close()


def run_curl(port: int) -> None:
    curl = shutil.which("curl")
    if curl is None:
        print("   (curl is not installed; skipping this step)")
        return
    command = [curl, "--silent", "--show-error", "--noproxy", "*", "--max-time",
               str(int(REQUEST_TIMEOUT)), "--header", f"Host: {HOST_NAME}",
               f"http://127.0.0.1:{port}/v1/ping"]
    shown = f"curl -sS -H 'Host: {HOST_NAME}' http://127.0.0.1:{port}/v1/ping"
    print(f"   $ {shown}")
    try:
        result = subprocess.run(command, capture_output=True, timeout=REQUEST_TIMEOUT + 5,
                                check=False)
    except subprocess.TimeoutExpired:
        raise DemoFailed("curl did not finish in time") from None
    if result.returncode != 0:
        raise DemoFailed(f"curl failed (exit {result.returncode}): "
                         f"{result.stderr.decode(errors='replace').strip()}")
    print(indent(result.stdout.decode(errors="replace")))
    if b'"pong": true' not in result.stdout:
        raise DemoFailed("curl's answer is not the server's pong")


def serial_excerpt(log_text: str, limit: int = 24) -> str:
    """The AT traffic of the first proxied connection, as the proxy logged it.

    Only that connection's module socket: its commands (by client id) with
    their answers, and its URCs; other connections and the status page's
    questions share the line meanwhile and are left out.
    """
    lines = [_without_modem_name(line) for line in log_text.splitlines()]
    start = next((i for i, line in enumerate(lines) if " accepted conn=1 " in line), None)
    opened = re.search(r" opened conn=1 id=(\d+)", "\n".join(lines))
    if start is None or opened is None:
        return "(no connection in the log)"
    cid = opened[1]
    picked = []
    keep = False
    for line in lines[start:]:
        text = line.split(" modem.at: ", 1)[1] if " modem.at: " in line else None
        if text is None:
            if "conn=1 " in line:
                picked.append(line.split(" ", 2)[-1])
            if " closed conn=1 " in line:
                break
            continue
        if text.startswith("> AT"):
            keep = _about_socket(text[2:], cid)
            show = keep
        elif "client_id=" in text:  # a URC: whose socket?
            show = f"client_id={cid})" in text or f"client_id={cid}," in text
        elif pushed := re.match(r"< SslPushData id=(\d+) ", text):  # data the module pushed
            show = pushed[1] == cid
        else:  # a payload or an answer: goes with the command before it
            show = keep
        if show:
            picked.append(line.split(" ", 2)[-1])
    if len(picked) > limit:
        picked = [*picked[: limit - 3], "...", *picked[-2:]]
    return "\n".join(picked)


def _without_modem_name(line: str) -> str:
    """``line`` without its ``modem=`` field: the demo runs one module, named ``modem1``."""
    return re.sub(r" modem=\S+", "", line)


def how_data_came_down(excerpt: str) -> str:
    """How the module handed over the server's bytes, as the trace shows it."""
    if "SslPushData" in excerpt:
        return ('the module pushed them unasked (push mode, the default: each +QSSLURC: '
                '"recv",<id>,<length> frame carries the bytes, the SslPushData lines above)')
    return "the proxy read them with AT+QSSLRECV (buffer mode)"


def _about_socket(command: str, cid: str) -> bool:
    """Whether ``command`` acts on client id ``cid`` (QSSLOPEN has it third)."""
    m = re.match(r"AT\+QSSL(OPEN|SEND|RECV|CLOSE|STATE)=(.*)", command)
    if m is None:
        return False
    fields = m[2].split(",")
    index = 2 if m[1] == "OPEN" else 0
    return len(fields) > index and fields[index].strip() == cid


# -- the tour ------------------------------------------------------------------

def tour(workdir: Path) -> None:
    step("Make a CA and a certificate for api.example.com with openssl")
    ca, cert, key = make_certificates(workdir)
    print(f"   {ca}\n   {cert}")

    with https_server(cert, key) as server_port:
        step(f"Start an HTTPS server on 127.0.0.1:{server_port} (it plays api.example.com)")
        local_port = PREFERRED_PORT if port_is_free(PREFERRED_PORT) else free_port()
        if local_port != PREFERRED_PORT:
            print(f"   (port {PREFERRED_PORT} is taken; the proxy listens on {local_port})")
        status_port = free_port()
        args = ["--emulate", "--resolve", f"{HOST_NAME}=127.0.0.1",
                "--map", f"{local_port}={HOST_NAME}:{server_port}", "--cacert", str(ca),
                "--status", str(status_port), "-v", "--trace-at"]
        log = workdir / "ssl-proxy.log"
        step("Start the proxy on the built-in emulator")
        print(f"   $ ssl-proxy {' '.join(args)}")
        with running_proxy(args, status_port, log):
            print(f"   listening on 127.0.0.1:{local_port}; status page on "
                  f"http://127.0.0.1:{status_port}/")

            step(f"Plain HTTP to 127.0.0.1:{local_port}: GET /v1/ping")
            status, headers, body = http_request(local_port, "GET", "/v1/ping")
            print(f"   HTTP {status}")
            for name, value in headers:
                print(f"   {name}: {value}")
            print(f"\n{indent(body.decode(errors='replace'))}")
            if status != 200:
                raise DemoFailed(f"expected HTTP 200, got {status}")
            answer = json.loads(body)
            if answer.get("sni") != HOST_NAME:
                raise DemoFailed(f"the server saw SNI {answer.get('sni')!r}, not {HOST_NAME}")

            step(f"POST /v1/echo with {ECHO_SIZE // 1024} KiB of random bytes, echoed back")
            payload = os.urandom(ECHO_SIZE)
            status, _, echoed = http_request(local_port, "POST", "/v1/echo", payload)
            same = hashlib.sha256(echoed).hexdigest() == hashlib.sha256(payload).hexdigest()
            print(f"   HTTP {status}, {len(echoed)} bytes back, "
                  f"SHA-256 {'matches' if same else 'DIFFERS'}")
            if status != 200 or not same:
                raise DemoFailed("the echoed body differs from what was sent")

            step("The same GET with curl")
            run_curl(local_port)

            step(f"The status page: http://127.0.0.1:{status_port}/status.json")
            status_page = status_json(status_port)
            module = status_page["module"]
            print(f"   module: {module.get('manufacturer')} {module.get('model')} "
                  f"({module.get('state')}), network: {module.get('registration')}")
            print(f"   counters: {json.dumps(status_page['counters'])}")

    step("What went over the (pseudo-)serial line for the first request")
    excerpt = serial_excerpt(log.read_text())
    print(indent(excerpt))

    step("What happened")
    print(indent(textwrap.fill(
        f"Your client spoke plain HTTP to 127.0.0.1:{local_port}. ssl-proxy took each "
        f"connection, opened a socket in the module with AT+QSSLOPEN to "
        f"{HOST_NAME}:{server_port}, and moved the bytes over a serial line, here a "
        f"pseudo-terminal: up with AT+QSSLSEND, and down {how_data_came_down(excerpt)}. "
        'The TLS handshake and encryption happened "in the module": the emulator plays '
        "an EC25 and makes real TLS connections, verifying the server against the CA "
        f"the proxy uploaded with AT+QFUPL. The server saw {answer['tls_version']} with "
        f"SNI {answer['sni']}.", width=76)))
    print(indent("""

With a real module: drop --emulate and --resolve, give --device (or let the
proxy find the module) and --apn; see docs/usage.md."""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (certificates, proxy log)")
    options = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="ssl-proxy-demo-"))
    try:
        tour(workdir)
    except DemoFailed as exc:
        print(f"\ndemo FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo interrupted", file=sys.stderr)
        return 1
    finally:
        if options.keep:
            print(f"\n(kept {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("\ndemo OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
