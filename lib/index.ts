/**
 * rivulet: stream processing on Apache Kafka as a TypeScript library, built on RxJS.
 * @module
 */
export { createApp, App, type AppOptions, type RunOptions } from './app/app.js';
export {
  Agent,
  type AgentOptions,
  type AgentStats,
  type AgentState,
  type PartitionStats,
  type Pipeline,
  type PipelineOutput,
  type AgentPipeline,
  type EndsInMessages,
} from './agent/agent.js';
export { type RestartPolicy } from './agent/restart-budget.js';
export { TopicStream } from './topics/topic-stream.js';
export { Topic, type TopicOptions, type SendOptions, type OutgoingRecord } from './topics/topic.js';
export { Message, createMessage, isMessage, type MessageHeaders, type MessageInit } from './core/message.js';
export { settleMessage, failMessage, forkMessage, combineMessages } from './core/ack.js';
export { type ErrorPolicy, type Backoff, backoffDelay, isRetriable } from './core/error-policy.js';
export { DEAD_LETTER_HEADERS } from './agent/dead-letter.js';
export {
  RivuletError,
  DecodeError,
  ValidationError,
  AgentFailedError,
  ShutdownTimeoutError,
  ConfigurationError,
  RebalanceInProgressError,
  NotAMessageError,
  MessageReusedError,
  PipelineCompletedError,
  RestartBudgetExceededError,
  type RecordPosition,
  type SchemaIssue,
} from './core/errors.js';
export { type Logger, defaultLogger, silentLogger, logSerializers } from './core/logger.js';
export { redactText, redactError, errorSummary, type RedactedError } from './core/redact.js';
export { BrokerUrlError } from './transports/broker-url-error.js';
export { TransportClosedError } from './transports/transport-closed-error.js';
export { EncodeError } from './codecs/encode-error.js';
export { ConnectionError } from './app/connection.js';
export { type Codec, type CodecType } from './codecs/codec.js';
export { json, type JsonOptions } from './codecs/json.js';
export { string } from './codecs/string.js';
export { raw } from './codecs/raw.js';
export { validate } from './codecs/standard-schema.js';
export { mapValue } from './operators/map-value.js';
export { filterValue } from './operators/filter-value.js';
export { mergeMapValue } from './operators/merge-map-value.js';
export { shareMessages } from './operators/share-messages.js';
export {
  Table,
  type TableOptions,
  type TableStats,
  type TablePartitionStats,
  type TableStandbyStats,
  type TableState,
  type TableKeyPage,
} from './tables/table.js';
export { updateTable, type TableUpdate, type UpdateTableOptions } from './tables/update-table.js';
export { MemoryTableStore } from './tables/stores/memory-table-store.js';
export {
  GlobalTable,
  type GlobalTableOptions,
  type GlobalTableStats,
  type GlobalTablePartitionStats,
  type GlobalTableState,
} from './tables/global-table.js';
export { GlobalTableNotReadyError } from './tables/global-table-errors.js';
export { joinTable, type JoinTableOptions } from './joins/join-table.js';
export { joinStreams, type JoinStreamsOptions } from './joins/join-streams.js';
export { windowJoin, type WindowJoinOptions, type JoinLeft, type JoinRight } from './joins/window-join.js';
export { StreamJoin, type StreamJoinStats } from './joins/stream-join.js';
export { JOIN_DEAD_LETTER_HEADERS } from './joins/join-results.js';
export { JOIN_TIMES_HEADER } from './joins/join-clock.js';
export type { JoinSide } from './joins/join-side.js';
export type { JoinType } from './joins/join-state.js';
export { LateJoinRecordError, JoinResultFailedError } from './joins/join-errors.js';
export {
  type TableStore,
  type StoreChange,
  type KeyPage,
  type KeyPageRequest,
  DEFAULT_KEY_PAGE_SIZE,
  CheckpointRegressionError,
  StoreClosedError,
} from './tables/stores/table-store.js';
export { CHANGELOG_HEADERS } from './tables/changelog-headers.js';
export {
  PartitionNotOwnedError,
  PartitionRecoveringError,
  ChangelogPartitionsMismatchError,
  RepartitionRequiredError,
  TableUpdateOrderError,
  TableBindingError,
  TableNotBoundError,
} from './tables/table-errors.js';
export { WindowTable } from './windows/window-table.js';
export { WATERMARK_HEADER } from './windows/watermark-header.js';
export {
  type WindowTableOptions,
  type WindowResult,
  type OpenWindow,
  type WindowTableStats,
} from './windows/window-types.js';
export { type WindowSpec, tumbling, hopping, sliding } from './windows/window-spec.js';
export { type Aggregate, count, sum, min, max, collect } from './windows/aggregate.js';
export { aggregateWindows, type AggregateWindowsOptions } from './windows/aggregate-windows.js';
export { LateRecordError, InvalidEventTimeError, WindowResultFailedError } from './windows/window-errors.js';
export { WINDOW_DEAD_LETTER_HEADERS } from './windows/window-results.js';
export { sink, type SinkInput, type SinkOptions } from './sinks/sink.js';
export type { SinkMessage } from './sinks/sink-message.js';
export { retryWithBackoff, type RetryPolicy } from './core/retry.js';
export { SinkError, SinkTimeoutError } from './sinks/sink-error.js';
export type { SinkEvent, SinkHealth } from './core/sink-health.js';
export { toTopic, type ToTopicOptions } from './sinks/to-topic.js';
export {
  periodicTimer,
  crontab,
  InvalidCronExpressionError,
  type TimerTick,
  type TimerOptions,
  type CrontabOptions,
} from './timers/timers.js';
export { repartition, REPARTITION_HEADERS, type RepartitionOptions } from './streams/repartition.js';
export type * from './transports/transport.js';
export { isPartitionReader } from './transports/transport.js';
export type { GroupMemberState, GroupStats } from './transports/group-membership.js';
export { MemoryBroker, type GroupMember } from './transports/memory/memory-broker.js';
export {
  MemoryTransport,
  memoryBroker,
  type MemoryTransportOptions,
} from './transports/memory/memory-transport.js';
export { murmur2, partitionForKey } from './transports/partitioner.js';
export { resolveTransport } from './transports/resolve-transport.js';
export { appMetrics, type AppMetrics, type AppMetricsOptions } from './metrics/app-metrics.js';
export { commitLag, totalLag, type PartitionLag } from './metrics/commit-lag.js';
export { LagCache, type LagCacheOptions } from './metrics/lag-cache.js';
export { type MonitoredApp } from './metrics/monitored-app.js';
export { statusLine, type StatusLine, type StatusLineOptions } from './status/status-line.js';
export { summary, type SummaryOptions } from './status/summary.js';
export { formatStatus, formatCommitted, type AgentStatus } from './status/format-status.js';
export { liveWriter, type LiveStream } from './status/live-writer.js';
