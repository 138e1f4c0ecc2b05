// Records spans using every field OTLP carries with the official Node.js SDK, sends them with
// the official OTLP exporter named on the command line, and prints (as JSON) what an
// InMemorySpanExporter in the same provider saw, for the test to compare with the database.
//   node send_spans.js http|proto|grpc URL none|gzip
"use strict";
const api = require("@opentelemetry/api");
const { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, InMemorySpanExporter } =
  require("@opentelemetry/sdk-trace-base");
const { resourceFromAttributes } = require("@opentelemetry/resources");

const [protocol, url, compression] = process.argv.slice(2);
const { OTLPTraceExporter } = require(`@opentelemetry/exporter-trace-otlp-${protocol}`);

const memory = new InMemorySpanExporter();
const exporter = new OTLPTraceExporter({ url, compression });
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ "service.name": "node-app", "deployment.environment": "ci" }),
  spanProcessors: [new SimpleSpanProcessor(memory), new BatchSpanProcessor(exporter)],
});
const tracer = provider.getTracer("node.suite", "1.2.3");
const under = (span) => api.trace.setSpan(api.context.active(), span);

const run = tracer.startSpan("run: node suite", { kind: api.SpanKind.SERVER,
                                                  attributes: { "harness.kind": "run" } });
const step = tracer.startSpan("step: everything", {
  kind: api.SpanKind.CLIENT,
  links: [{ context: { traceId: "1234567890abcdef1234567890abcdef", spanId: "1122334455667788",
                       traceFlags: 1 }, attributes: { "link.why": "retry of", "link.n": 2 } }],
}, under(run));
step.setAttributes({
  "harness.kind": "step", text: "héllo wörld", flag: true, count: 42, big: 2 ** 40,
  ratio: 0.125, names: ["a", "b"], nums: [1, 2], doubles: [0.5, 2.5], bools: [true, false],
});
step.addEvent("decision", { choice: "retry", score: 0.75, tags: ["x", "y"] });
step.recordException(new Error("boom"));
step.setStatus({ code: api.SpanStatusCode.ERROR, message: "it broke" });
step.end();
const server = tracer.startSpan("server side", { kind: api.SpanKind.PRODUCER }, under(run));
server.setStatus({ code: api.SpanStatusCode.OK });
server.end();
run.end();
const remote = api.trace.setSpanContext(api.context.active(), {
  traceId: "feedface00000000feedface00000000", spanId: "000000000000beef", traceFlags: 1,
  isRemote: true,
});
tracer.startSpan("child of a remote caller", { kind: api.SpanKind.CONSUMER }, remote).end();

const nanos = ([seconds, ns]) => (BigInt(seconds) * 1000000000n + BigInt(ns)).toString();
const kinds = ["internal", "server", "client", "producer", "consumer"];
const statuses = ["UNSET", "OK", "ERROR"];

provider.forceFlush().then(() => {
  const spans = memory.getFinishedSpans().map((span) => ({
    trace_id: span.spanContext().traceId,
    span_id: span.spanContext().spanId,
    parent_span_id: span.parentSpanContext ? span.parentSpanContext.spanId : null,
    name: span.name,
    kind: kinds[span.kind],
    start_ns: nanos(span.startTime),
    end_ns: nanos(span.endTime),
    status_code: statuses[span.status.code],
    status_message: span.status.message || "",
    attributes: span.attributes,
    events: span.events.map((e) => ({ name: e.name, time_ns: nanos(e.time),
                                       attributes: e.attributes || {} })),
    links: span.links.map((l) => ({ trace_id: l.context.traceId, span_id: l.context.spanId,
                                    attributes: l.attributes || {} })),
    resource: span.resource.attributes,
    scope: [span.instrumentationScope.name, span.instrumentationScope.version],
  }));
  // After the flush, before shutdown (which empties the in-memory exporter).
  return provider.shutdown().then(() => process.stdout.write(JSON.stringify(spans)));
});
