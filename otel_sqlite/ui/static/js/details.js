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

function section(title, ...content) {
  return h("section", { class: "detail-section" }, h("h3", null, title), ...content);
}

// Draw the span's details; `focus` may name an artifact role and line to open the log at.
export async function showDetails(panel, runId, spanId, focus = {}) {
  clear(panel).appendChild(h("p", { class: "muted" }, "Loading…"));
  const span = await get(`spans/${runId}/${spanId}`);
  clear(panel);
  const artifacts = span.artifacts || [];
  const logHolder = h("div", { class: "log-holder" });
  let chosen = artifacts.find((a) => focus.artifact && String(a.artifact_id) === String(focus.artifact)) ||
    artifacts.find((a) => focus.stream && a.role === focus.stream) ||
    artifacts.find((a) => a.role === "stderr" && a.size > 0 && span.status === "error") ||
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
    }, `${artifact.role} (${fmt.bytes(artifact.size)})`));
  }
  panel.append(
    h("div", { class: "detail-head" },
      statusBadge(span.status),
      h("h2", { class: "span-name" }, span.name),
      h("div", { class: "muted" },
        `${span.harness_kind || span.kind} · ${span.duration_ms === null ? "in flight" : fmt.duration(span.duration_ms)} · started ${fmt.time(span.start)}`),
      span.status_message ? h("div", { class: "status-message" }, span.status_message) : null,
      h("div", { class: "mono muted ids" }, `trace ${span.trace_id} · span ${span.span_id}`)),
    artifacts.length ? section("Output", tabs, logHolder) : null,
    section("Attributes", attributeTable(span.attributes)),
    section(`Events (${(span.events || []).length})`,
      (span.events || []).length ? h("ul", { class: "events" }, span.events.map(eventView)) : h("p", { class: "muted" }, "none")),
    (span.links || []).length ? section("Links", h("ul", { class: "links" }, span.links.map((link) =>
      h("li", { class: "mono" }, `${link.trace_id} / ${link.span_id}`, attributeTable(link.attributes, { typed: false }))))) : null,
    section("Resource", attributeTable((span.resource || {}).attributes)),
    span.scope && span.scope.name ? section("Scope", h("p", { class: "mono" }, `${span.scope.name} ${span.scope.version || ""}`)) : null);
  if (chosen) open(chosen, { line: focus.line ? Number(focus.line) : null, query: focus.query });
  return span;
}
