"""The terminal view of an investigation: a progress bar per agent step, streaming text.

Text an LLM is writing shows in a panel under the bars as it streams, and moves into
the scrollback when its step completes; findings, questions and the determination are
printed as they happen.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.prompt import Prompt
from rich.table import Column
from rich.text import Text

from surveil.events import EventType, ProgressEvent
from surveil.models import Alert, Determination
from surveil.tasks import Question

STREAM_TAIL_LINES = 8
_DISPOSITION_STYLE = {
    "escalate": "bold red",
    "close_false_positive": "bold green",
    "needs_review": "bold yellow",
}


class LiveView:
    """Renders ProgressEvents; `handle` one at a time, show it with `rich.live.Live`."""

    def __init__(self, console: Console, *, interactive: bool = False) -> None:
        self.console = console
        self.interactive = interactive
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn(
                "{task.description}",
                table_column=Column(max_width=48, no_wrap=True, overflow="ellipsis"),
            ),
            BarColumn(bar_width=20),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self.bars: dict[tuple[str, str], TaskID] = {}
        self.titles: dict[tuple[str, str], str] = {}
        self.streams: dict[tuple[str, str], str] = {}
        self.held: list[ProgressEvent] | None = None  # events that arrive during a prompt
        self.outcome: dict[str, Any] | None = None

    def __rich__(self) -> RenderableType:
        panels = [
            Panel(
                Text("\n".join(text.splitlines()[-STREAM_TAIL_LINES:])),
                title=self._title(key),
                title_align="left",
                border_style="cyan",
            )
            for key, text in self.streams.items()
        ]
        return Group(self.progress, *panels)

    def _title(self, key: tuple[str, str]) -> str:
        return f"{key[0]} · {self.titles.get(key, key[1])}"

    def _bar(self, event: ProgressEvent) -> TaskID:
        key = (event.agent, event.step or "")
        if event.title:
            self.titles[key] = event.title
        description = f"[bold]{event.agent}[/] {self.titles.get(key, key[1])}"
        if key not in self.bars:
            self.bars[key] = self.progress.add_task(description, total=1.0)
        else:
            self.progress.update(self.bars[key], description=description)
        return self.bars[key]

    def handle(self, event: ProgressEvent) -> None:
        if self.held is not None:
            self.held.append(event)
            return
        key = (event.agent, event.step or "")
        match event.type:
            case EventType.step_start | EventType.step_progress:
                self.progress.update(self._bar(event), completed=event.progress or 0.0)
            case EventType.step_complete:
                self.progress.update(self._bar(event), completed=1.0)
                self._flush_stream(key)
            case EventType.message_delta:
                self.streams[key] = self.streams.get(key, "") + (event.text or "")
            case EventType.finding:
                self._print_finding(event)
            case EventType.input_required if not self.interactive:  # else the prompt asks
                data = event.data or {}
                options = ", ".join(data.get("options", []))
                self.console.print(
                    f"[bold magenta]? {event.agent} asks:[/] {data.get('question', event.text)}"
                    + (f" [dim]({options})[/]" if options else "")
                )
            case EventType.error:
                self.console.print(f"[bold red]✖ {event.agent}:[/] {event.text}")
            case EventType.status if event.is_terminal:
                self.outcome = event.data
            case _:
                if event.text:
                    self.console.print(f"[dim]{event.agent}: {event.text}[/]")

    def _flush_stream(self, key: tuple[str, str]) -> None:
        text = self.streams.pop(key, None)
        if text:
            self.console.print(Panel(text.strip(), title=self._title(key), title_align="left"))

    def _print_finding(self, event: ProgressEvent) -> None:
        data = event.data or {}
        evidence = data.get("evidence", [])
        crossed = sum(1 for item in evidence if item.get("passed"))
        unknown = [item for item in evidence if item.get("state") == "unknown"]
        review = " [yellow](needs review)[/]" if data.get("needs_review") else ""
        self.console.print(
            f"[bold]✔ {event.agent} finding:[/] score {float(data.get('score', 0)):.2f}, "
            f"{crossed} of {len(evidence)} checks crossed{review}"
        )
        for item in unknown:  # missing data is said, never read as "not crossed"
            self.console.print(f"  [yellow]? {item['name']} unknown: {item.get('missing', '')}[/]")

    def finish(self) -> int:
        for key in list(self.streams):
            self._flush_stream(key)
        outcome = self.outcome or {"state": "failed", "error": "the investigation ended early"}
        if outcome.get("state") != "completed":
            self.console.print(
                f"[bold red]Investigation {outcome['state']}:[/] {outcome.get('error')}"
            )
            return 1
        determination = Determination.model_validate(outcome["determination"])
        style = _DISPOSITION_STYLE.get(determination.disposition.value, "bold")
        reasons = "\n".join(f"• {reason}" for reason in determination.reasons)
        self.console.print(
            Panel(
                f"[{style}]{determination.disposition.value.upper()}[/] "
                f"confidence {determination.confidence:.0%}\n\n{reasons}\n\n"
                f"[dim]narrative by {determination.narrative_model}[/]",
                title=f"Determination for alert {determination.alert_id}",
                title_align="left",
            )
        )
        return 0


def _ask_in_thread(question: Question) -> asyncio.Future[str | None]:
    """Prompt on a daemon thread: an unanswered prompt must not keep the process alive."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str | None] = loop.create_future()

    def settle(answer: str | None) -> None:
        if not future.done():  # the investigation may have stopped waiting
            future.set_result(answer)

    def ask() -> None:
        try:
            answer = Prompt.ask(
                f"[bold magenta]{question.agent} asks:[/] {question.text}",
                choices=question.options or None,
            )
        except EOFError:
            answer = None
        loop.call_soon_threadsafe(settle, answer or None)

    threading.Thread(target=ask, daemon=True, name="analyst-prompt").start()
    return future


async def run_live(alert: Alert, store: Any) -> int:
    from agents.investigation import investigate

    console = Console()
    interactive = sys.stdin.isatty()
    view = LiveView(console, interactive=interactive)
    console.print(
        f"[bold]Investigating alert {alert.id}[/] ({alert.type.value}, account {alert.account}, "
        f"{alert.instrument}, {alert.window_start:%Y-%m-%d %H:%M} – {alert.window_end:%Y-%m-%d %H:%M})"
    )
    with Live(view, console=console, refresh_per_second=12) as live:

        async def ask_analyst(question: Question) -> str | None:
            if not interactive:
                return None
            view.held = []
            live.stop()
            try:
                return await _ask_in_thread(question)
            finally:
                held, view.held = view.held, None
                live.start()
                for event in held:
                    view.handle(event)

        async for event in investigate(alert, store=store, answer_provider=ask_analyst):
            view.handle(event)
    return view.finish()
