// One span in full: typed attributes, events (exception stack traces kept readable), links,
// resource, and its artifacts in the log viewer.
import { h, clear } from "./dom.js";
import { get } from "./api.js";
import * as fmt from "./format.js";
import { statusBadge } from "./runs.js";
import { LogViewer } from "./logview.js";

function typeOf(value) {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return `${value.length ? typeOf(value[0]) : "string"}[]`;
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "double";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "object") return "map";
  return "string";
}

function valueText(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function attributeTable(attributes, { typed = true } = {}) {
  const entries = Object.entries(attributes || {});
  if (!entries.length) return h("p", { class: "muted" }, "none");
  return h("table", { class: "attributes" }, h("tbody", null, entries.map(([key, value]) =>
    h("tr", null,
      h("th", { class: "mono" }, key),
      h("td", { class: "mono value" }, valueText(value)),
      typed ? h("td", { class: "type muted" }, typeOf(value)) : null))));
}

// Artifact events are shown as Output, not repeated in the event list.
const SHOWN_AS_OUTPUT = "artifact";

function eventView(event) {
  const attrs = { ...(event.attributes || {}) };
  const stack = attrs["exception.stacktrace"];
  delete attrs["exception.stacktrace"];
  const isException = event.name === "exception";
  return h("li", { class: `event${isException ? " exception" : ""}` },
    h("div", { class: "event-head" },
      h("strong", null, event.name),
      h("span", { class: "muted" }, ` +${fmt.duration(event.offset_ms)}`)),
    isException && (attrs["exception.type"] || attrs["exception.message"])
      ? h("div", { class: "exception-line" }, `${attrs["exception.type"] || ""}: ${attrs["exception.message"] || ""}`)
      : null,
    stack ? h("pre", { class: "stacktrace" }, stack) : null,
    Object.keys(attrs).length ? attributeTable(attrs, { typed: false }) : null);
}

// A model call's figures in one line: model · provider · tokens · recorded or estimated cost.
function modelCallLine(call) {
  const cost = call.cost_usd !== null ? fmt.cost(call.cost_usd)
    : call.estimated_cost_usd !== null ? `~${fmt.cost(call.estimated_cost_usd)} estimated` : "unpriced";
  return h("p", { class: "model-call", id: "model-call" }, [
    call.model || "(unknown model)", call.provider, call.operation,
    `${fmt.count(call.input_tokens)} in / ${fmt.count(call.output_tokens)} out tokens`, cost,
    call.counted ? null : "counted on another span of the same call",
  ].filter(Boolean).join(" · "));
}

// Prompts and completions, where the instrumentation recorded them, as a conversation.
function conversationView(messages) {
  return h("ol", { class: "conversation", id: "conversation" }, messages.map((m) =>
    h("li", { class: `message role-${m.role}${m.output ? " output" : ""}` },
      h("div", { class: "message-role muted" }, m.role),
      h("pre", { class: "message-content" }, m.content),
      m.truncated ? h("div", { class: "muted" }, "(cut: the rest is in the attributes)") : null)));
}

function section(title, ...content) {
  return h("section", { class: "detail-section" }, h("h3", null, title), ...content);
}

// Most commands whose output a step without output of its own borrows (failing ones first).
const BORROWED_COMMANDS = 8;

// A step rarely has output itself; its commands do. Their artifacts, labelled by command.
async function borrowedArtifacts(runId, commands) {
  const chosen = [...commands].sort((a, b) => (b.status === "error") - (a.status === "error")).slice(0, BORROWED_COMMANDS);
  const details = await Promise.all(chosen.map((c) => get(`spans/${runId}/${c.span_id}`)));
  return details.flatMap((d) => (d.artifacts || []).map((a) => ({ ...a, from: d.name, fromStatus: d.status })));
}

// Draw the span's details; `focus` may name an artifact role and line to open the log at;
// `commands` are the span's descendant commands (their output shows when it has none).
export async function showDetails(panel, runId, spanId, focus = {}, commands = []) {
  clear(panel).appendChild(h("p", { class: "muted" }, "Loading…"));
  const span = await get(`spans/${runId}/${spanId}`);
  const events = (span.events || []).filter((e) => e.name !== SHOWN_AS_OUTPUT);
  let artifacts = span.artifacts || [];
  const borrowed = !artifacts.length && commands.length > 0;
  if (borrowed) artifacts = await borrowedArtifacts(runId, commands);
  clear(panel);
  const logHolder = h("div", { class: "log-holder" });
  let chosen = artifacts.find((a) => focus.artifact && String(a.artifact_id) === String(focus.artifact)) ||
    artifacts.find((a) => focus.stream && a.role === focus.stream) ||
    artifacts.find((a) => a.role === "stderr" && a.size > 0 && (a.fromStatus || span.status) === "error") ||
    artifacts.find((a) => a.size > 0) || artifacts[0];
  const tabs = h("div", { class: "tabs" });
  function open(artifact, options) {
    chosen = artifact;
    for (const tab of tabs.children) tab.classList.toggle("active", tab.dataset.artifactId === String(artifact.artifact_id));
    clear(logHolder);
    const viewer = new LogViewer(logHolder, artifact, options);
    viewer.open().catch((error) => logHolder.appendChild(h("p", { class: "error" }, error.message)));
  }
  for (const artifact of artifacts) {
    tabs.appendChild(h("button", {
      type: "button", class: `tab role-${artifact.role}`, dataset: { artifactId: artifact.artifact_id },
      onclick: () => open(artifact, { query: focus.query }),
    }, artifact.from ? `${artifact.role} · ${artifact.from}` : artifact.role, h("span", { class: "muted" }, ` ${fmt.bytes(artifact.size)}`)));
  }
  panel.append(...[
    h("div", { class: "detail-head" },
      statusBadge(span.status),
      h("h2", { class: "span-name" }, span.name),
      h("div", { class: "muted" },
        `${span.harness_kind || span.kind} · ${span.duration_ms === null ? "in flight" : fmt.duration(span.duration_ms)} · started ${fmt.time(span.start)}`),
      span.message ? h("div", { class: "status-message" }, span.message) : null,
      ["skipped", "xfailed", "xpassed"].includes(span.outcome)
        ? h("div", { class: "outcome-reason" }, span.outcome,
          span.attributes["harness.test.reason"] ? `: ${span.attributes["harness.test.reason"]}` : "")
        : null,
      h("div", { class: "mono muted ids" }, `trace ${span.trace_id} · span ${span.span_id}`)),
    span.model_call ? modelCallLine(span.model_call) : null,
    (span.conversation || []).length ? section("Conversation", conversationView(span.conversation)) : null,
    artifacts.length ? section(borrowed ? "Output of its commands" : "Output", tabs, logHolder) : null,
    section("Attributes", attributeTable(span.attributes)),
    section(`Events (${events.length})`,
      events.length ? h("ul", { class: "events" }, events.map(eventView)) : h("p", { class: "muted" }, "none")),
    (span.links || []).length ? section("Links", h("ul", { class: "links" }, span.links.map((link) =>
      h("li", { class: "mono" }, `${link.trace_id} / ${link.span_id}`, attributeTable(link.attributes, { typed: false }))))) : null,
    section("Resource", attributeTable((span.resource || {}).attributes)),
    span.scope && span.scope.name ? section("Scope", h("p", { class: "mono" }, `${span.scope.name} ${span.scope.version || ""}`)) : null,
  ].filter(Boolean));
  if (chosen) open(chosen, { line: focus.line ? Number(focus.line) : null, query: focus.query });
  return span;
}
