"""The compose deployment: docker-compose.yml validates, its surveil services run
documented entry points, scaled services can scale, secrets come only from the
environment, and the Dockerfile builds a non-root image of the runtime install.

There is no Docker engine here; Debian's docker-compose validates the file offline.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from surveil.cli import COMMAND_MODULES, build_parser
from surveil.search_attributes import SEARCH_ATTRIBUTES

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
PRODUCTION_DOC = REPO / "docs" / "production.md"

# Secrets the stack cannot run without; they have no default anywhere.
REQUIRED_SECRETS = ("POSTGRES_PASSWORD", "SURVEIL_API_TOKENS", "SURVEIL_STREAM_TOKEN_SECRET")
SECRET_NAME = re.compile(r"PASSWORD|PWD|SECRET|TOKEN|API_KEY|_KEY$")

SERVICES = {
    "postgresql",
    "temporal-schema",
    "temporal",
    "temporal-setup",
    "temporal-ui",
    "demo-data",
    "insider-trading-agent",
    "wash-trade-agent",
    "worker",
    "api",
    "proxy",
}
SCALABLE = ("api", "worker")
# service -> the HTTP port its /healthz answers on
HTTP_SERVICES = {"api": 8000, "insider-trading-agent": 8101, "wash-trade-agent": 8102}

# The surveil entry points each service runs, and the CLI module that registers them
# (surveil/cli/__init__.py: COMMAND_MODULES). docs/production.md documents the same.
SERVICE_COMMANDS: dict[str, list[list[str]]] = {
    "api": [["surveil", "api", "--host", "0.0.0.0", "--port", "8000"]],
    "worker": [["surveil", "worker", "--live-port", "8201"]],
    "insider-trading-agent": [
        ["surveil", "agent", "insider-trading", "--host", "0.0.0.0", "--port", "8101"]
    ],
    "wash-trade-agent": [["surveil", "agent", "wash-trade", "--host", "0.0.0.0", "--port", "8102"]],
    "demo-data": [
        ["surveil", "data", "demo", "--seed", "7", "--out", "/data/demo"],
        ["surveil", "data", "import", "/data/demo"],
    ],
}
CLI_MODULE_OF = {
    "api": "surveil.cli.api",
    "worker": "surveil.cli.worker",
    "agent": "surveil.cli.agent",
    "data": "surveil.cli.data",
}
ALL_COMMANDS = [argv for argvs in SERVICE_COMMANDS.values() for argv in argvs]


@pytest.fixture(scope="module")
def docker_compose() -> str:
    """Debian's docker-compose (1.x, pure Python: validates without an engine)."""
    found = shutil.which("docker-compose")
    if found:
        return found
    if shutil.which("apt-get") is None:
        pytest.skip("docker-compose is missing and there is no apt-get to install it")
    if os.geteuid() != 0:
        pytest.skip("docker-compose is missing and installing it with apt-get needs root")
    install = subprocess.run(
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose",
        shell=True,
        capture_output=True,
        text=True,
        timeout=900,
    )
    found = shutil.which("docker-compose")
    if install.returncode != 0 or found is None:
        pytest.skip(f"apt-get could not install docker-compose: {install.stderr[-500:]}")
    return found


def run_compose(
    docker_compose: str, tmp_path: Path, *args: str, secrets: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run docker-compose on the repo's file with exactly these variables set: no
    developer's .env or shell variables leak in."""
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    env = {
        name: value
        for name, value in os.environ.items()
        if not (name.startswith(("SURVEIL_", "TEMPORAL_", "POSTGRES")) or SECRET_NAME.search(name))
    }
    env.update(secrets)
    return subprocess.run(
        [docker_compose, "--env-file", str(empty_env_file), "-f", str(COMPOSE_FILE), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def sentinel(name: str) -> str:
    return f"sentinel-{name.lower()}-value"


SENTINELS = {name: sentinel(name) for name in REQUIRED_SECRETS}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The file as written (before interpolation), merge keys resolved."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def argv_of(service: dict[str, Any]) -> list[str]:
    entrypoint = service.get("entrypoint", ["surveil"])
    command = service.get("command", [])
    return [*entrypoint, *command]


def surveil_commands_in(service: dict[str, Any]) -> list[list[str]]:
    """The `surveil ...` invocations a service runs, also inside an `sh -c` script."""
    argv = argv_of(service)
    if argv[:2] != ["/bin/sh", "-c"]:
        return [argv] if argv and argv[0] == "surveil" else []
    words = shlex.split(argv[2].replace(";", " ; "))
    commands: list[list[str]] = []
    current: list[str] | None = None
    for word in words:
        if word == "surveil":
            current = ["surveil"]
            commands.append(current)
        elif word in {"&&", "||", ";", "fi", "then", "else"}:
            current = None
        elif current is not None:
            current.append(word)
    return commands


def test_compose_file_validates_when_the_secrets_are_set(
    docker_compose: str, tmp_path: Path
) -> None:
    result = run_compose(docker_compose, tmp_path, "config", "-q", secrets=SENTINELS)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", REQUIRED_SECRETS)
def test_compose_refuses_to_run_without_each_secret(
    docker_compose: str, tmp_path: Path, missing: str
) -> None:
    secrets = {name: value for name, value in SENTINELS.items() if name != missing}
    result = run_compose(docker_compose, tmp_path, "config", "-q", secrets=secrets)
    assert result.returncode != 0
    assert missing in result.stderr


def test_secrets_reach_the_services_only_from_the_environment(
    docker_compose: str, tmp_path: Path, services: dict[str, dict[str, Any]]
) -> None:
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if not SECRET_NAME.search(key) or value is None:  # None: passed through if set
                continue
            assert re.fullmatch(r"\$\{[A-Z_]+(:\?[^}]*)?\}", str(value)), (
                f"{name}: {key} must come from a variable without a default, got {value!r}"
            )

    result = run_compose(docker_compose, tmp_path, "config", secrets=SENTINELS)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)["services"]
    assert resolved["api"]["environment"]["SURVEIL_API_TOKENS"] == SENTINELS["SURVEIL_API_TOKENS"]
    assert resolved["temporal"]["environment"]["POSTGRES_PWD"] == SENTINELS["POSTGRES_PASSWORD"]
    # Optional secrets are not set at all unless the operator sets them.
    assert resolved["worker"]["environment"].get("OPENAI_API_KEY") is None
    assert resolved["worker"]["environment"].get("SURVEIL_TEMPORAL_API_KEY") is None


def test_the_stack_has_exactly_the_documented_services(services: dict[str, Any]) -> None:
    assert set(services) == SERVICES
    doc = PRODUCTION_DOC.read_text()
    for name in SERVICES:
        assert name in doc, f"{name} is not described in docs/production.md"


def test_surveil_services_share_one_image_built_from_the_dockerfile(
    services: dict[str, Any],
) -> None:
    surveil_services = [*SERVICE_COMMANDS, "temporal-setup"]
    images = {services[name]["image"] for name in surveil_services}
    assert len(images) == 1
    assert all(services[name]["build"] == "." for name in surveil_services)


@pytest.mark.parametrize("name", sorted(SERVICE_COMMANDS))
def test_each_surveil_service_runs_its_documented_entry_point(
    services: dict[str, Any], name: str
) -> None:
    assert surveil_commands_in(services[name]) == SERVICE_COMMANDS[name]
    doc = PRODUCTION_DOC.read_text()
    for argv in SERVICE_COMMANDS[name]:
        assert f"`{shlex.join(argv)}`" in doc, f"{shlex.join(argv)} is not documented"


@pytest.mark.parametrize("argv", ALL_COMMANDS, ids=shlex.join)
def test_surveil_entry_points_are_accepted_by_the_cli(argv: list[str]) -> None:
    module = CLI_MODULE_OF[argv[1]]
    assert module in COMMAND_MODULES
    parser = build_parser()
    groups = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    if argv[1] not in groups:
        pytest.skip(f"{module} is not built yet")
    args = parser.parse_args(argv[1:])  # exits with a usage error on a wrong argument
    assert callable(args.func)


@pytest.mark.parametrize("name", SCALABLE)
def test_scalable_services_have_no_fixed_name_or_host_port(
    services: dict[str, Any], name: str
) -> None:
    assert "container_name" not in services[name]
    assert "ports" not in services[name]


def test_the_proxy_publishes_the_api_and_forwards_to_every_replica(
    services: dict[str, Any],
) -> None:
    proxy = services["proxy"]
    assert proxy["ports"] == ["${SURVEIL_HTTP_PORT:-8000}:8080"]
    config = (REPO / "deploy" / "nginx" / "surveil.conf").read_text()
    assert "set $surveil_api http://api:8000;" in config  # re-resolved: new replicas join
    assert "proxy_buffering off;" in config  # SSE frames flow at once


@pytest.mark.parametrize("name", sorted(HTTP_SERVICES))
def test_http_services_are_health_checked_on_healthz(services: dict[str, Any], name: str) -> None:
    test = " ".join(services[name]["healthcheck"]["test"])
    assert f"http://127.0.0.1:{HTTP_SERVICES[name]}/healthz" in test
    assert str(HTTP_SERVICES[name]) in argv_of(services[name])


def test_infrastructure_services_are_health_checked(services: dict[str, Any]) -> None:
    for name in ("postgresql", "temporal", "proxy"):
        assert services[name]["healthcheck"]["test"], name


def test_services_start_after_what_they_need(services: dict[str, Any]) -> None:
    def condition(name: str, dependency: str) -> str:
        return services[name]["depends_on"][dependency]["condition"]

    assert condition("temporal-schema", "postgresql") == "service_healthy"
    assert condition("temporal", "temporal-schema") == "service_completed_successfully"
    assert condition("temporal-setup", "temporal") == "service_healthy"
    for agent in ("insider-trading-agent", "wash-trade-agent"):
        assert condition(agent, "demo-data") == "service_completed_successfully"
        assert condition("worker", agent) == "service_healthy"
    for name in SCALABLE:
        assert condition(name, "temporal-setup") == "service_completed_successfully"
    assert condition("proxy", "api") == "service_healthy"


def test_setup_job_registers_every_search_attribute(services: dict[str, Any]) -> None:
    pairs = services["temporal-setup"]["environment"]["SURVEIL_SEARCH_ATTRIBUTES"].split()
    assert dict(pair.split("=") for pair in pairs) == SEARCH_ATTRIBUTES


def test_demo_data_lands_in_the_store_the_agents_read(services: dict[str, Any]) -> None:
    home = services["demo-data"]["environment"]["SURVEIL_HOME"]
    for name in ("demo-data", "insider-trading-agent", "wash-trade-agent"):
        assert services[name]["environment"]["SURVEIL_HOME"] == home
        [volume] = services[name]["volumes"]
        assert volume == "surveil-data:/data" and home.startswith("/data/")


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[last_from:]


def test_image_is_python_slim_running_surveil_as_a_non_root_user() -> None:
    stage = final_stage()
    assert stage[0] == ("FROM", "python:3.11-slim")
    ops = [op for op, _ in stage]
    user = stage[ops.index("USER")][1]
    assert user not in {"root", "0"}
    assert ops.index("USER") < ops.index("ENTRYPOINT")
    assert ("ENTRYPOINT", '["surveil"]') in stage


def test_image_installs_the_runtime_dependencies_only() -> None:
    installs = [arg for op, arg in final_stage() if op == "RUN" and "pip install" in arg]
    assert len(installs) == 1
    assert "[dev]" not in installs[0] and "extra" not in installs[0]


def test_image_bakes_in_no_secret() -> None:
    for op, arg in dockerfile_instructions():
        if op in {"ENV", "ARG"}:
            names = re.findall(r"([A-Z_][A-Z0-9_]*)=", arg) or [arg.split()[0]]
            assert not any(SECRET_NAME.search(name) for name in names), arg
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".git" in ignored


def test_image_copies_only_files_that_exist_and_are_not_dockerignored() -> None:
    ignored = {line for line in (REPO / ".dockerignore").read_text().split() if "#" not in line}
    for op, arg in dockerfile_instructions():
        if op != "COPY" or arg.startswith("--from="):
            continue
        *sources, _destination = arg.split()
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
            assert source not in ignored and source.split("/")[0] not in ignored, source
