"""Every attribute and event name otel-sqlite reads or writes, once.

OTel semantic-convention names wherever one exists (``process.*``, ``gen_ai.*``, ``vcs.*``,
``host.*``); only what has no convention lives under ``harness.*``.
"""

from __future__ import annotations

# The role of a span in a harness: one of the KIND_* values below.
HARNESS_KIND = "harness.kind"
KIND_RUN = "run"
KIND_STEP = "step"
KIND_COMMAND = "command"
KIND_API_CALL = "api_call"
KINDS = (KIND_RUN, KIND_STEP, KIND_COMMAND, KIND_API_CALL)
# Kinds recorded when they start, so a killed process leaves them visible as incomplete.
IN_FLIGHT_KINDS = frozenset({KIND_RUN, KIND_STEP, KIND_COMMAND})

HARNESS_STEP_NUMBER = "harness.step.number"
HARNESS_STEP_ATTEMPT = "harness.step.attempt"
HARNESS_COST_USD = "harness.cost.usd"
# A command stopped by ``exec --timeout`` (or ``command(timeout=)``): the limit, in seconds.
HARNESS_TIMEOUT_SECONDS = "harness.timeout.seconds"
# What the store cut to keep a span within its limits (see otel_sqlite.storage.limits), never
# silently.
HARNESS_TRUNCATED = "harness.truncated"

# process.* (semantic conventions: process)
PROCESS_COMMAND_ARGS = "process.command_args"
PROCESS_EXECUTABLE_NAME = "process.executable.name"
PROCESS_PID = "process.pid"
PROCESS_WORKING_DIRECTORY = "process.working_directory"
PROCESS_EXIT_CODE = "process.exit.code"

# gen_ai.* (semantic conventions: generative AI)
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
# Span events of the older GenAI conventions (gen_ai.user.message, gen_ai.choice, ...).
GEN_AI_EVENT_PREFIX = "gen_ai."
# Older gen_ai.* names many instrumentations still emit (OpenLLMetry, early openai-v2).
GEN_AI_SYSTEM = "gen_ai.system"
GEN_AI_USAGE_PROMPT_TOKENS = "gen_ai.usage.prompt_tokens"
GEN_AI_USAGE_COMPLETION_TOKENS = "gen_ai.usage.completion_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS_OLD = "gen_ai.usage.cache_read_input_tokens"
LLM_USAGE_TOTAL_TOKENS = "llm.usage.total_tokens"
LLM_REQUEST_TYPE = "llm.request.type"
GEN_AI_PROMPT_PREFIX = "gen_ai.prompt."
GEN_AI_COMPLETION_PREFIX = "gen_ai.completion."
# OpenInference (Arize Phoenix) names.
LLM_MODEL_NAME = "llm.model_name"
LLM_SYSTEM = "llm.system"
LLM_PROVIDER = "llm.provider"
LLM_TOKEN_COUNT_PROMPT = "llm.token_count.prompt"
LLM_TOKEN_COUNT_COMPLETION = "llm.token_count.completion"
LLM_TOKEN_COUNT_CACHE_READ = "llm.token_count.prompt_details.cache_read"
LLM_INPUT_MESSAGES_PREFIX = "llm.input_messages."
LLM_OUTPUT_MESSAGES_PREFIX = "llm.output_messages."
OPENINFERENCE_SPAN_KIND = "openinference.span.kind"
OPENINFERENCE_KIND_LLM = "LLM"

# Provenance of a run.
VCS_REF_HEAD_REVISION = "vcs.ref.head.revision"
VCS_REF_HEAD_NAME = "vcs.ref.head.name"
HOST_NAME = "host.name"
USER_NAME = "user.name"
SERVICE_NAME = "service.name"

# Artifacts travel as span events so that any OTLP backend still sees them.
ARTIFACT_EVENT = "artifact"
ARTIFACT_PATH = "harness.artifact.path"
ARTIFACT_ROLE = "harness.artifact.role"
ARTIFACT_SHA256 = "harness.artifact.sha256"
ARTIFACT_SIZE = "harness.artifact.size"
ARTIFACT_MEDIA_TYPE = "harness.artifact.media_type"
# Why a captured file holds less than the process wrote (read-only folder, full disk).
ARTIFACT_ERROR = "harness.artifact.error"
ROLE_STDOUT = "stdout"
ROLE_STDERR = "stderr"

# What a span event is, when its name alone does not say it (TAC-8's decision / trigger /
# escalation): ``events --type`` reads this attribute first, else the event's name.
HARNESS_EVENT_TYPE = "harness.event.type"
# The task a span works on (an issue, a ticket): ``otel-sqlite task ID`` is
# ``timeline --attr harness.task.id=ID``.
HARNESS_TASK_ID = "harness.task.id"

# Exceptions (semantic conventions: exceptions), as written by Span.record_exception.
EXCEPTION_EVENT = "exception"
EXCEPTION_TYPE = "exception.type"
EXCEPTION_MESSAGE = "exception.message"
EXCEPTION_STACKTRACE = "exception.stacktrace"

# W3C trace context carried through the environment (OTel spec: env carriers).
ENV_TRACEPARENT = "TRACEPARENT"
ENV_TRACESTATE = "TRACESTATE"
# Where the database lives unless told otherwise.
ENV_DB = "OTEL_SQLITE_DB"
# A price table (TOML or JSON) that overrides or extends the built-in one for estimated costs.
ENV_PRICES = "OTEL_SQLITE_PRICES"
# What ``run start`` exports for ``run end``: the run span's ids, name, start and attributes.
ENV_RUN = "OTEL_SQLITE_RUN"
# Standard OTel SDK variables that exec / run read without the SDK.
ENV_SERVICE_NAME = "OTEL_SERVICE_NAME"
ENV_RESOURCE_ATTRIBUTES = "OTEL_RESOURCE_ATTRIBUTES"
# The standard OTLP exporter settings (OTel spec: OTLP exporter configuration), which push and
# the tracing set-up read as the SDK's own OTLP exporter does.
ENV_OTLP_TRACES_ENDPOINT = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
ENV_OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
ENV_OTLP_TRACES_HEADERS = "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
ENV_OTLP_HEADERS = "OTEL_EXPORTER_OTLP_HEADERS"
ENV_OTLP_TRACES_PROTOCOL = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
ENV_OTLP_PROTOCOL = "OTEL_EXPORTER_OTLP_PROTOCOL"

# Test runs (the pytest plugin). OTel's test.* and code.* conventions first; pytest's finer
# vocabulary (outcome, phase, worker) has no convention and lives under harness.test.*.
TEST_SUITE_NAME = "test.suite.name"
TEST_SUITE_RUN_STATUS = "test.suite.run.status"  # success | failure | aborted
TEST_CASE_NAME = "test.case.name"
TEST_CASE_RESULT_STATUS = "test.case.result.status"  # pass | fail
CODE_FUNCTION_NAME = "code.function.name"  # fully qualified: module.Class.function
CODE_FILE_PATH = "code.file.path"
CODE_LINE_NUMBER = "code.line.number"
# A step's (or command's) outcome where its status cannot say it: set by the pytest plugin,
# the behave formatter, harness.skip / step(xfail=) and exec --skip-exit-code; read by
# otel_sqlite.queries.outcomes. One of the OUTCOME_* words.
HARNESS_TEST_OUTCOME = "harness.test.outcome"
OUTCOME_PASSED = "passed"
OUTCOME_FAILED = "failed"
OUTCOME_SKIPPED = "skipped"
OUTCOME_XFAILED = "xfailed"
OUTCOME_XPASSED = "xpassed"
OUTCOME_ERROR = "error"
OUTCOME_INTERRUPTED = "interrupted"
HARNESS_TEST_REASON = "harness.test.reason"  # why a test was skipped or xfailed
HARNESS_TEST_MODULE = "harness.test.module"
HARNESS_TEST_CLASS = "harness.test.class"
HARNESS_TEST_FUNCTION = "harness.test.function"
HARNESS_TEST_PARAMETERS = "harness.test.parameters"  # pytest's parameter id, e.g. "2-3"
HARNESS_TEST_PARAM_PREFIX = "harness.test.param."  # + argument name: that argument's value
HARNESS_TEST_MARKERS = "harness.test.markers"
HARNESS_TEST_TAGS = "harness.test.tags"  # behave's tags of a feature, rule or scenario
HARNESS_TEST_KEYWORD = "harness.test.keyword"  # Gherkin's: Feature, Scenario Outline, Given...
HARNESS_TEST_WORKER = "harness.test.worker"  # pytest-xdist worker id, e.g. "gw0"
HARNESS_TEST_PHASE = "harness.test.phase"  # collect | setup | call | teardown
HARNESS_TEST_ARGS = "harness.test.args"
HARNESS_TEST_ROOTDIR = "harness.test.rootdir"
ROLE_LOG = "log"
# Turns the pytest plugin on without the command-line flag.
ENV_PYTEST = "OTEL_SQLITE_PYTEST"
# Turns the behave recorder on where environment.py calls otel_sqlite.behave.record.
ENV_BEHAVE = "OTEL_SQLITE_BEHAVE"
