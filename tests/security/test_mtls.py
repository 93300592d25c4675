"""mTLS: the worker and Temporal, the worker and the specialist agents.

Certificates come from trustme: one CA for the deployment, another one an attacker
controls. The agent runs as a real `surveil agent` process serving mTLS; Temporal's
side is a TLS endpoint of our own that records the client certificate it was shown
(the dev server has no TLS), which is enough to prove what the client presents and
what it verifies.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import trustme
from a2a.client import ClientConfig, ClientFactory
from a2a.types import SendMessageRequest, TaskState

from agents.a2a_events import TERMINAL_STATES, alert_message, finding_in, state_of
from agents.tls import TLSConfigError, agent_http_client, client_ssl_context, server_ssl_options
from surveil.processes import free_port, start_process, stop_process, wait_for_port
from surveil.settings import Settings
from surveil.store import Store
from tests.support.stack import Stack
from workflows.client import connect, result_snapshot, start_investigation

CLIENT_NAME = "worker.surveil.test"


@dataclass
class Pki:
    """PEM files of a deployment CA, an agent's server cert, a worker's client cert,
    and a client cert from a CA the deployment does not trust."""

    dir: Path
    files: dict[str, Path] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Path:
        return self.files[name]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    pki = Pki(tmp_path_factory.mktemp("pki"))
    ca, rogue_ca = trustme.CA(), trustme.CA()
    issued = {
        "server": ca.issue_cert("127.0.0.1", "localhost"),
        "client": ca.issue_cert(CLIENT_NAME),
        "rogue_client": rogue_ca.issue_cert(CLIENT_NAME),
    }
    for name, authority in (("ca", ca), ("rogue_ca", rogue_ca)):
        pki.files[name] = pki.dir / f"{name}.pem"
        authority.cert_pem.write_to_path(str(pki.files[name]))
    for name, cert in issued.items():
        pki.files[f"{name}_cert"] = pki.dir / f"{name}.crt"
        pki.files[f"{name}_key"] = pki.dir / f"{name}.key"
        cert.cert_chain_pems[0].write_to_path(str(pki.files[f"{name}_cert"]))
        cert.private_key_pem.write_to_path(str(pki.files[f"{name}_key"]))
    return pki


def worker_settings(pki: Pki, *, client: str | None = "client", ca: str = "ca") -> Settings:
    return Settings(
        agent_tls_ca=pki[ca],
        agent_client_cert=pki[f"{client}_cert"] if client else None,
        agent_client_key=pki[f"{client}_key"] if client else None,
    )


# -- the agents' side: settings -> uvicorn -------------------------------------------


def test_agent_serves_plain_http_when_no_tls_is_configured():
    assert server_ssl_options(Settings()) == {}


def test_agent_with_a_ca_requires_client_certificates(pki: Pki):
    options = server_ssl_options(
        Settings(agent_tls_cert=pki["server_cert"], agent_tls_key=pki["server_key"],
                 agent_tls_ca=pki["ca"])
    )  # fmt: skip
    assert options["ssl_cert_reqs"] == ssl.CERT_REQUIRED
    assert options["ssl_ca_certs"] == str(pki["ca"])
    assert options["ssl_certfile"] == str(pki["server_cert"])


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"agent_tls_cert": "server_cert"}, "set both SURVEIL_AGENT_TLS_CERT and"),
        ({"agent_tls_ca": "ca"}, "needs SURVEIL_AGENT_TLS_CERT"),
    ],
)
def test_incomplete_agent_tls_settings_are_refused_with_a_clear_error(
    pki: Pki, settings: dict[str, str], message: str
):
    with pytest.raises(TLSConfigError, match=message):
        server_ssl_options(Settings(**{k: pki[v] for k, v in settings.items()}))


def test_missing_certificate_file_is_named_in_the_error(tmp_path: Path):
    missing = tmp_path / "nope.crt"
    with pytest.raises(TLSConfigError, match="nope.crt is not a readable file"):
        client_ssl_context(Settings(agent_tls_ca=missing))


# -- the agents' side: a real agent process serving mTLS ------------------------------


@pytest.fixture(scope="module")
def mtls_agent(stack: Stack, pki: Pki) -> Iterator[str]:
    """`surveil agent wash-trade` on the stack's demo store, serving mTLS."""
    port = free_port()
    env = {
        **stack.env,
        "SURVEIL_AGENT_TLS_CERT": str(pki["server_cert"]),
        "SURVEIL_AGENT_TLS_KEY": str(pki["server_key"]),
        "SURVEIL_AGENT_TLS_CA": str(pki["ca"]),
        # The stack's own wash-trade agent holds the state folder under SURVEIL_HOME.
        "SURVEIL_AGENT_STATE_DIR": str(stack.root / "agents-mtls"),
    }
    proc = start_process(
        [sys.executable, "-m", "surveil", "agent", "wash-trade", "--port", str(port)],
        log_path=stack.root / "logs" / "agent-mtls.log",
        env=env,
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=60, proc=proc)
        yield f"https://127.0.0.1:{port}"
    finally:
        stop_process(proc)


async def test_worker_with_a_valid_client_certificate_completes_an_a2a_analysis(
    stack: Stack, pki: Pki, mtls_agent: str
):
    alert = next(
        a for a in Store(stack.home / "surveil.db").list_alerts() if a.type == "wash_trade"
    )
    async with agent_http_client(worker_settings(pki), timeout=60) as http:
        client = await ClientFactory(
            ClientConfig(streaming=True, httpx_client=http)
        ).create_from_url(mtls_agent)
        card = (await http.get(f"{mtls_agent}/.well-known/agent-card.json")).json()
        assert card["supportedInterfaces"][0]["url"].startswith("https://")
        finding, state = None, None
        async for response in client.send_message(SendMessageRequest(message=alert_message(alert))):
            finding = finding_in(response) or finding
            state = state_of(response) or state
            if state in TERMINAL_STATES:
                break
        await client.close()
    assert state == TaskState.TASK_STATE_COMPLETED
    assert finding is not None and finding.specialist == "wash_trade"


@pytest.mark.parametrize(
    "client, ca",
    [(None, "ca"), ("rogue_client", "ca")],
    ids=["no-client-certificate", "certificate-from-another-ca"],
)
async def test_agent_refuses_a_client_without_a_certificate_it_trusts(
    pki: Pki, mtls_agent: str, client: str | None, ca: str
):
    async with agent_http_client(worker_settings(pki, client=client, ca=ca)) as http:
        with pytest.raises(httpx.TransportError):
            await http.get(f"{mtls_agent}/.well-known/agent-card.json")


async def test_worker_refuses_an_agent_whose_certificate_its_ca_did_not_sign(
    pki: Pki, mtls_agent: str
):
    async with agent_http_client(worker_settings(pki, ca="rogue_ca")) as http:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await http.get(f"{mtls_agent}/.well-known/agent-card.json")


async def test_plain_http_to_an_mtls_agent_gets_nothing(mtls_agent: str):
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.TransportError):
            await http.get(mtls_agent.replace("https://", "http://") + "/healthz")


@pytest.fixture(scope="module")
def mtls_worker(stack: Stack, pki: Pki, mtls_agent: str) -> Iterator[str]:
    """A second worker on the stack's Temporal, on a task queue of its own, whose
    wash-trade agent is the mTLS one; it presents the deployment's client certificate."""
    queue = "surveil-mtls"
    env = {
        **stack.env,
        "SURVEIL_TEMPORAL_TASK_QUEUE": queue,
        "SURVEIL_WASH_AGENT_URL": mtls_agent,
        "SURVEIL_AGENT_TLS_CA": str(pki["ca"]),
        "SURVEIL_AGENT_CLIENT_CERT": str(pki["client_cert"]),
        "SURVEIL_AGENT_CLIENT_KEY": str(pki["client_key"]),
    }
    proc = start_process(
        [sys.executable, "-m", "surveil", "worker"],
        log_path=stack.root / "logs" / "worker-mtls.log",
        env=env,
    )
    try:
        yield queue
    finally:
        stop_process(proc)


async def test_investigation_runs_end_to_end_over_mtls_to_the_agent(stack: Stack, mtls_worker: str):
    source = Store(stack.home / "surveil.db").get_alert("ALR-007-01")  # wash trade only
    assert source is not None
    alert = source.model_copy(update={"tenant": f"mtls{uuid.uuid4().hex[:6]}"})
    settings = Settings(temporal_address=stack.temporal_address, temporal_task_queue=mtls_worker)
    client = await connect(settings)
    handle = await start_investigation(client, alert, settings)
    snapshot = await asyncio.wait_for(result_snapshot(handle), 120)
    assert snapshot.state == "completed", snapshot.error
    assert snapshot.determination is not None
    assert snapshot.determination.disposition == "close_false_positive"  # labels.csv


# -- the worker and Temporal ------------------------------------------------------------


class TLSEndpoint:
    """Accepts TLS connections requiring a client certificate from `ca`; remembers the
    subject names each client presented, then hangs up (it speaks no gRPC)."""

    def __init__(self, pki: Pki) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=pki["ca"])
        self.context.load_cert_chain(pki["server_cert"], pki["server_key"])
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.context.set_alpn_protocols(["h2"])
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.clients: list[str] = []
        self.failures: list[str] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            with conn:
                try:
                    with self.context.wrap_socket(conn, server_side=True) as tls:
                        cert = tls.getpeercert() or {}
                        self.clients += [v for _, v in cert.get("subjectAltName", ())]
                except (ssl.SSLError, OSError) as exc:
                    self.failures.append(str(exc))

    def settled(self, timeout: float = 5.0) -> None:
        """Wait until a handshake ended one way or the other (it ends after the client
        gave up, in the endpoint's own thread)."""
        deadline = time.monotonic() + timeout
        while not (self.clients or self.failures) and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def temporal_tls_endpoint(pki: Pki) -> Iterator[TLSEndpoint]:
    endpoint = TLSEndpoint(pki)
    yield endpoint
    endpoint.close()


async def _try_connect(settings: Settings) -> None:
    with contextlib.suppress(Exception):  # no gRPC behind the handshake: connect fails
        await connect(settings)


async def test_temporal_client_presents_the_configured_certificate(
    pki: Pki, temporal_tls_endpoint: TLSEndpoint
):
    await _try_connect(
        Settings(
            temporal_address=f"127.0.0.1:{temporal_tls_endpoint.port}",
            temporal_tls_cert=pki["client_cert"],
            temporal_tls_key=pki["client_key"],
            temporal_tls_ca=pki["ca"],
        )
    )
    temporal_tls_endpoint.settled()
    assert CLIENT_NAME in temporal_tls_endpoint.clients


async def test_temporal_client_refuses_a_server_its_ca_did_not_sign(
    pki: Pki, temporal_tls_endpoint: TLSEndpoint
):
    await _try_connect(
        Settings(
            temporal_address=f"127.0.0.1:{temporal_tls_endpoint.port}",
            temporal_tls_cert=pki["client_cert"],
            temporal_tls_key=pki["client_key"],
            temporal_tls_ca=pki["rogue_ca"],
        )
    )
    temporal_tls_endpoint.settled()
    assert temporal_tls_endpoint.clients == []
    assert temporal_tls_endpoint.failures  # the client hung up during the handshake


async def test_unreadable_temporal_certificate_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ValueError, match="cannot read Temporal TLS file"):
        await connect(Settings(temporal_tls_cert=tmp_path / "missing.crt"))
