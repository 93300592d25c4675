"""One settings object, read once from the environment (and `.env`).

Every threshold the analytics use is a named setting so a compliance team can
tune it without touching code; `surveil config` prints the effective values.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from surveil.usage import LLMPrice


class Thresholds(BaseSettings):
    """Evidence thresholds. Env: SURVEIL_<NAME>, e.g. SURVEIL_WASH_PRICE_TOLERANCE_PCT."""

    model_config = SettingsConfigDict(env_prefix="SURVEIL_", extra="ignore")

    # wash trades
    wash_window_minutes: float = 15.0  # max time between the two legs of a round trip
    wash_price_tolerance_pct: float = 0.5  # |p1 - p2| / p1, in percent
    wash_quantity_tolerance_pct: float = 5.0  # |q1 - q2| / q1, in percent
    wash_min_round_trips: int = 2  # linked-account round trips needed to pass
    wash_min_self_matches: int = 1  # same-owner matches needed to pass
    wash_volume_share_pct: float = 5.0  # share of instrument volume in the alert window
    wash_net_position_pct: float = 10.0  # |net| / gross below this is "flat"
    # insider trading
    insider_abnormal_return_z: float = 3.0  # |abnormal return| / baseline sigma
    insider_position_build_z: float = 3.0  # pre-announcement buying vs own history
    insider_lookback_days: int = 10  # pre-announcement window, in trading days
    insider_baseline_days: int = 60  # history used as the account's own baseline, trading days
    insider_min_profit: float = 10_000.0  # realised + unrealised, in currency units
    insider_timing_hours: float = 72.0  # last position-building trade to the news, trading hours
    insider_holding_sold_pct: float = 50.0  # share of a prior holding sold before bad news
    # synthesis
    escalate_score: float = 0.7  # a finding scoring at least this escalates
    close_score: float = 0.3  # all findings below this close as false positive


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SURVEIL_", env_file=".env", extra="ignore", populate_by_name=True
    )

    home: Path = Path(".surveil")

    # Temporal
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "surveil-investigations"
    temporal_ui_port: int = 8233
    temporal_ui_url: str = "http://127.0.0.1:8233"
    temporal_tls_cert: Path | None = None  # client certificate (mTLS to a real cluster)
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    temporal_api_key: SecretStr | None = None  # Temporal Cloud API key

    # Specialist agents (A2A servers)
    insider_agent_url: str = "http://127.0.0.1:8101"
    wash_agent_url: str = "http://127.0.0.1:8102"
    insider_agent_port: int = 8101
    wash_agent_port: int = 8102
    # mTLS between the worker and the agents (agents/tls.py). The agents serve with
    # agent_tls_cert/key and require client certificates signed by agent_tls_ca; the
    # worker presents agent_client_cert/key and verifies the agents against agent_tls_ca.
    agent_tls_cert: Path | None = None
    agent_tls_key: Path | None = None
    agent_tls_ca: Path | None = None
    agent_client_cert: Path | None = None
    agent_client_key: Path | None = None
    # The bearer token the worker presents and the agents require. Unset: none when the
    # agents verify client certificates (mTLS), else one shared through SURVEIL_HOME
    # (agents/agent_auth.py). Set it when the worker and the agents share no SURVEIL_HOME.
    agent_token: SecretStr | None = None
    # Where each specialist keeps its A2A tasks, event log and LangGraph checkpoints
    # (SQLite files), so a restarted agent resumes its tasks. Default: SURVEIL_HOME/agents.
    # Two processes of the same specialist must not share one.
    agent_state_dir: Path | None = None
    # How long an agent keeps a finished task and its events (a retried relay, or an
    # operator, may still read them), in hours.
    agent_retention_hours: float = 168.0
    # A specialist that streams nothing for this long while its task is working counts
    # as stalled: the relay fails its attempt and the retry resumes the A2A task. An
    # agent streams at least every step boundary, and an LLM streaming tokens about ten
    # frames a second; the slowest silent stretch seen is an LLM's time to first token
    # on a long prompt (seconds to tens of seconds for a reasoning model that cannot
    # stream), so 60 s is well above normal silence yet far below the 30 min timeout.
    agent_idle_timeout_s: float = 60.0

    # API
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    # "token:tenant,token:tenant". Empty => dev mode: one generated dev token for tenant "demo".
    api_tokens: SecretStr = SecretStr("")
    stream_token_secret: SecretStr | None = None
    stream_token_ttl_s: int = 300
    sse_heartbeat_s: float = 15.0
    submissions_per_minute: int = 60
    max_streams_per_tenant: int = 2000
    max_body_bytes: int = 256 * 1024
    cors_origins: list[str] = []

    # Durable stream cost vs. liveness (see docs/benchmarks.md, "Tuning"). LLM tokens
    # leave the agent coalesced into one frame per (agent, step) every stream_frame_ms.
    # A relay batch is one signal (~4 history events): milestones go within
    # relay_milestone_linger_ms, token frames wait up to relay_batch_interval_ms.
    # Readers page the stream with a Query (no history) every stream_poll_interval_ms
    # while caught up; an API that follows the workers' live tails reads when a worker
    # says the stream grew, and otherwise only every stream_poll_idle_ms.
    # A run of the investigation workflow hands off (continue-as-new) at any of these;
    # unset = the workflow's defaults (4,000 events, 4 MB, 500 Updates, 20,000 stream
    # events: under half of Temporal's limits). Lower them to see hand-offs sooner.
    run_max_history_events: int | None = None
    run_max_history_bytes: int | None = None
    run_max_updates: int | None = None
    run_max_events: int | None = None
    stream_frame_ms: float = 40.0
    relay_batch_interval_ms: float = 6000.0
    relay_milestone_linger_ms: float = 40.0
    relay_max_batch_events: int = 200
    stream_poll_idle_ms: float = 2000.0
    stream_poll_interval_ms: float = Field(
        default=250.0,
        validation_alias=AliasChoices(
            "SURVEIL_STREAM_POLL_INTERVAL_MS", "SURVEIL_STREAM_POLL_COOLDOWN_MS"
        ),
    )

    # LLM
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "SURVEIL_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "SURVEIL_OPENAI_BASE_URL")
    )
    llm_model: str = "gpt-4o-mini"
    llm_streaming: bool | None = None  # None: decide from the model name (o1-style => False)
    offline_token_delay_ms: float = 150.0  # ~1 minute for a demo investigation; tests use 0
    # Riding out a flaky endpoint (agents/llm_guard.py): transient errors (429, 5xx,
    # timeouts, dropped connections) are retried with exponential backoff and jitter,
    # honouring Retry-After, for at most llm_max_wait_s from the first failure of a call.
    llm_max_wait_s: float = 900.0
    llm_request_timeout_s: float = 60.0  # no response (or no next token) for this long: retry
    llm_backoff_initial_s: float = 1.0
    llm_backoff_max_s: float = 60.0
    # Optional price table, JSON: {"gpt-4o-mini": {"prompt_per_1k": 0.00015,
    # "completion_per_1k": 0.0006}}; investigations then report a cost in its currency.
    llm_prices: dict[str, LLMPrice] = {}
    llm_price_currency: str = "USD"
    # One rate limit across every process that calls the LLM (agents/llm_rate_limit.py),
    # kept in a SQLite file beside the store (default: <home>/llm-rate-limit.db).
    llm_requests_per_minute: int | None = None
    llm_tokens_per_minute: int | None = None
    llm_rate_limit_path: Path | None = None
    # The worker's Prometheus endpoint (LLM counters of triage and synthesis); None: off.
    # The agents serve theirs at /metrics, the API at /metrics.
    worker_metrics_port: int | None = None
    worker_metrics_host: str = "127.0.0.1"
    # The live tail (activities/live_feed.py): each worker serves the token frames its
    # relays see on worker_live_port; the API reads every URL in worker_live_urls.
    # (`surveil dev` gives worker i the port worker_live_port + i and tells the API.)
    worker_live_port: int = 8201
    worker_live_host: str = "127.0.0.1"
    worker_live_urls: list[str] = []

    # Cases (people's decisions)
    four_eyes: bool = False  # escalations and overrides need a supervisor's approval
    case_sla_hours: float = 24.0  # an undecided alert older than this is flagged in the queue

    # Backlog: at most this many investigations of one tenant run at once; the rest
    # queue (workflows/admission.py). None: no cap.
    max_concurrent_investigations_per_tenant: int | None = None

    # Investigation behaviour
    input_timeout_s: float = 120.0  # how long a specialist's question waits for an analyst
    fail_specialist: str | None = None  # test setting: this specialist fails on purpose
    # Test setting: this specialist goes silent for stall_specialist_s after the first
    # step of each task (while the task is working), once per task and process.
    stall_specialist: str | None = None
    stall_specialist_s: float = 10.0

    @property
    def db_path(self) -> Path:
        return self.home / "surveil.db"

    def agent_state_path(self, agent: str) -> Path:
        """The folder of one specialist's durable state."""
        return (self.agent_state_dir or self.home / "agents") / agent

    @property
    def thresholds(self) -> Thresholds:
        return get_thresholds()


@lru_cache
def get_settings() -> Settings:
    return Settings()


@lru_cache
def get_thresholds() -> Thresholds:
    return Thresholds()
