// What the investigation page knows, built from the snapshot and then from events.
// Pure functions over plain objects: no DOM here, so the rules are easy to read.

import { isTerminal } from "./stream.js";

export const AGENTS = [
  { id: "orchestrator", label: "Orchestrator" },
  { id: "insider_trading", label: "Insider Trading" },
  { id: "wash_trade", label: "Wash Trade" },
];

/** The orchestrator step whose tokens are the determination's narrative (agents/orchestrator/graph.py). */
export const NARRATIVE_STEP = "write_narrative";

export const TERMINAL_STATES = new Set(["completed", "failed", "canceled", "timed_out"]);

function emptyAgent(agent) {
  return { agent, status: "pending", steps: new Map() };
}

/** The model before any event: alert and links from the snapshot, nothing else. */
export function createModel(snapshot) {
  return {
    alert: snapshot.alert,
    links: snapshot.links ?? {},
    state: "submitted",
    run: 1,
    agents: new Map(AGENTS.map(({ id }) => [id, emptyAgent(id)])),
    findings: new Map(), // specialist -> Finding
    determination: null,
    question: null, // {agent, text, options}
    error: null,
    usage: null, // the LLM calls' usage summed (see addUsage)
    appliedLive: new Set(), // (agent, seq) of agent events applied live, not yet durably
  };
}

/** Each LLM call reports what it used on a step_progress (data.llm_usage,
 * surveil/usage.py); the page shows the investigation's sum, like the snapshot's `usage`. */
function addUsage(model, data) {
  const used = data.llm_usage;
  const sum = model.usage ?? {
    prompt_tokens: 0,
    completion_tokens: 0,
    requests: 0,
    retries: 0,
    waited_s: 0,
    cost: 0,
    currency: null,
  };
  for (const key of ["prompt_tokens", "completion_tokens", "requests", "retries", "waited_s"]) {
    sum[key] += used[key] ?? 0;
  }
  // One call without a price makes the total unknown, never understated.
  const priced = sum.cost !== null && used.cost !== null && used.cost !== undefined;
  sum.cost = priced ? sum.cost + used.cost : null;
  sum.currency = data.currency ?? sum.currency;
  model.usage = sum;
}

function agentOf(model, name) {
  const id = name || "orchestrator";
  if (!model.agents.has(id)) model.agents.set(id, emptyAgent(id));
  return model.agents.get(id);
}

function stepOf(agent, event) {
  const key = event.step || "(unnamed)";
  let step = agent.steps.get(key);
  if (!step) {
    step = { step: key, title: event.title || key, status: "running", progress: 0, text: "" };
    agent.steps.set(key, step);
  }
  if (event.title) step.title = event.title;
  return step;
}

/**
 * Apply one live agent event (SSE `live`, no offset): the narrative as the LLM writes
 * it and each step as it happens, before the same event arrives with its offset. An
 * event is applied once, whichever way it comes first, by its (agent, seq).
 */
export function applyLiveEvent(model, event) {
  if (typeof event.seq !== "number") return;
  if (event.type === "message_delta") {
    addFrame(stepOf(agentOf(model, event.agent), event), event);
    return;
  }
  const key = liveKey(event);
  if (model.appliedLive.has(key)) return;
  model.appliedLive.add(key);
  applyEvent(model, event, { live: true });
}

function liveKey(event) {
  return `${event.agent}\u0000${event.seq}`;
}

/**
 * A step's text is its token frames in seq order, each once: a frame may come live
 * and again with its offset, and a live frame may come before the (durable) start of
 * its step. Frames without a seq are appended as they come.
 */
function addFrame(step, event) {
  const text = event.text ?? "";
  if (typeof event.seq !== "number") {
    step.text += text;
    return;
  }
  step.frames ??= new Map();
  // A frame from before the step (re)started, come late by the durable stream after
  // the restart came live, belongs to the answer that broke off.
  if (step.frames.has(event.seq) || event.seq < (step.textFrom ?? -1)) return;
  const last = step.lastSeq ?? -1;
  step.frames.set(event.seq, text);
  if (event.seq > last) {
    step.lastSeq = event.seq;
    step.text += text;
  } else {
    step.text = joinFrames(step.frames);
  }
}

function joinFrames(frames) {
  return [...frames.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, text]) => text)
    .join("");
}

/** A step that starts again keeps only the frames that came after its new start, and
 * takes no earlier one later (its durable copy may come after the live restart). */
function restartText(step, event) {
  if (typeof event.seq === "number") step.textFrom = Math.max(step.textFrom ?? -1, event.seq);
  if (typeof event.seq !== "number" || !step.frames) {
    step.text = "";
    step.frames = undefined;
    step.lastSeq = undefined;
    return;
  }
  for (const seq of step.frames.keys()) if (seq < event.seq) step.frames.delete(seq);
  step.text = joinFrames(step.frames);
  step.lastSeq = step.frames.size ? Math.max(...step.frames.keys()) : undefined;
}

/**
 * Apply one stream event. Each offset is applied exactly once, in order (see stream.js);
 * an agent event already applied live (applyLiveEvent) is not applied again.
 */
export function applyEvent(model, event, { live = false } = {}) {
  if (!live && typeof event.seq === "number" && event.type !== "message_delta") {
    if (model.appliedLive.delete(liveKey(event))) return;
  }
  const agent = agentOf(model, event.agent);
  switch (event.type) {
    case "status": {
      const state = event.data?.state?.replace("-", "_");
      if (agent.agent === "orchestrator") applyRunStatus(model, event, state);
      else if (state) agent.status = agentStatusFor(state, agent.status);
      break;
    }
    case "step_start": {
      const step = stepOf(agent, event);
      step.status = "running";
      step.progress = event.progress ?? 0;
      // A step that starts again (a retried run or activity, or an LLM answer that broke
      // off: data.restart, agents/llm_guard.py) streams its text again; say why.
      restartText(step, event);
      step.detail = event.data?.restart ? event.text : undefined;
      agent.status = "working";
      break;
    }
    case "step_progress": {
      const step = stepOf(agent, event);
      if (event.progress !== null && event.progress !== undefined) step.progress = event.progress;
      if (event.text) step.detail = event.text;
      if (event.data?.llm_usage) addUsage(model, event.data);
      break;
    }
    case "step_complete": {
      const step = stepOf(agent, event);
      step.status = "done";
      step.progress = 1;
      if (event.text) step.detail = event.text;
      break;
    }
    case "message_delta": {
      addFrame(stepOf(agent, event), event);
      break;
    }
    case "finding": {
      const finding = event.data?.finding ?? event.data;
      if (finding?.specialist) {
        model.findings.set(finding.specialist, finding);
        agentOf(model, finding.specialist).status = "done";
      }
      break;
    }
    case "error": {
      const message = event.text || event.data?.message || "Error";
      if (event.step) {
        const step = stepOf(agent, event);
        step.status = "failed";
        step.detail = message;
      }
      agent.errors = [...(agent.errors ?? []), message];
      break;
    }
    case "input_required": {
      const data = event.data ?? {};
      model.question = {
        agent: event.agent,
        text: data.question ?? event.text ?? "",
        options: data.options ?? [],
      };
      agent.status = "input_required";
      break;
    }
    default:
      break; // "artifact" and unknown types carry nothing the page shows
  }
  // Any later activity of the agent that asked means its question was settled.
  if (model.question && event.type !== "input_required" && event.agent === model.question.agent) {
    if (["step_start", "step_progress", "step_complete", "finding"].includes(event.type)) {
      model.question = null;
      if (agent.status === "input_required") agent.status = "working";
    }
  }
}

/** A retry starts a new run: the previous outcome no longer stands. */
export function beginNewRun(model, state = "submitted") {
  model.state = state;
  model.appliedLive.clear(); // a new run's agents count their seq afresh
  model.determination = null;
  model.error = null;
}

/** The orchestrator's status events carry the state of the whole investigation. */
function applyRunStatus(model, event, state) {
  const orchestrator = model.agents.get("orchestrator");
  if (event.data?.run) model.run = event.data.run;
  // The question's deadline (after it the specialist goes on without an answer).
  if (state === "input_required" && event.data?.expires_at) {
    model.questionExpiry = { ...model.questionExpiry, [event.data.agent]: event.data.expires_at };
  }
  if (!state) return;
  if (TERMINAL_STATES.has(model.state) && !TERMINAL_STATES.has(state)) beginNewRun(model, state);
  model.state = state;
  if (!isTerminal(event)) {
    if (orchestrator.status === "pending" || TERMINAL_AGENT.has(orchestrator.status)) {
      orchestrator.status = "working";
    }
    // Triage named the specialists (workflows/investigation.py): the others never run.
    const chosen = event.data?.specialists;
    if (Array.isArray(chosen)) {
      for (const agent of model.agents.values()) {
        if (agent.agent !== "orchestrator" && !chosen.includes(agent.agent)) {
          if (agent.status === "pending") agent.status = "skipped";
        }
      }
    }
    return;
  }
  const completed = state === "completed";
  if (event.data.determination) model.determination = event.data.determination;
  model.error = completed ? null : event.data.error || event.data.reason || event.text || null;
  model.question = null;
  for (const agent of model.agents.values()) {
    // A specialist that never started will not in this run: not "pending" forever.
    if (agent.status === "pending") agent.status = completed ? "skipped" : "not_run";
    else if (!TERMINAL_AGENT.has(agent.status)) agent.status = completed ? "done" : state;
    for (const step of agent.steps.values()) {
      if (step.status === "running") step.status = completed ? "done" : "stopped";
    }
  }
}

const TERMINAL_AGENT = new Set(["done", "failed", "canceled", "timed_out", "skipped", "not_run"]);

/** A specialist's own status event (A2A task state) -> the lane's badge. */
function agentStatusFor(state, current) {
  switch (state) {
    case "completed":
      return "done";
    case "failed":
    case "timed_out":
    case "rejected":
      return "failed";
    case "canceled":
      return "canceled";
    case "input_required":
      return "input_required";
    case "working":
    case "submitted":
      return "working";
    default:
      return current;
  }
}
