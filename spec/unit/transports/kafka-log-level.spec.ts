import { expect } from 'chai';
import { type LogEntry, logLevel } from 'kafkajs';
import { kafkaLineLevel } from '../../../lib/transports/kafka/kafka-log-level.js';
import { kafkaLogCreator } from '../../../lib/transports/kafka/kafka-log.js';

/** A kafkajs log entry as its logger hands it to a `logCreator`. */
function entry(namespace: string, level: logLevel, message: string, extra: object = {}): LogEntry {
  const label = { [logLevel.ERROR]: 'ERROR', [logLevel.WARN]: 'WARN', [logLevel.INFO]: 'INFO' }[
    level as 1 | 2 | 4
  ];
  return {
    namespace,
    level,
    label: label ?? 'DEBUG',
    log: { timestamp: '2026-01-01T00:00:00Z', message, ...extra },
  };
}

// The lines below are what kafkajs 2.2.4 logs, as its sources write them.
const REBALANCE: [string, LogEntry][] = [
  [
    'the runner rejoining',
    entry('Runner', logLevel.WARN, 'The group is rebalancing, re-joining', {
      groupId: 'g',
      memberId: 'm',
      error: 'The group is rebalancing, so a rejoin is needed',
    }),
  ],
];

/** The broker's answers announcing a rebalance, request by request (several per member and rebalance). */
const REBALANCE_ANSWERS: [string, LogEntry][] = [
  [
    'a heartbeat answered REBALANCE_IN_PROGRESS',
    entry('Connection', logLevel.ERROR, 'Response Heartbeat(key: 12, version: 3)', {
      broker: '127.0.0.1:19092',
      clientId: 'worker-1',
      error: 'The group is rebalancing, so a rejoin is needed',
      correlationId: 41,
      size: 10,
    }),
  ],
  [
    'a commit answered ILLEGAL_GENERATION during a rebalance',
    entry('Connection', logLevel.ERROR, 'Response OffsetCommit(key: 8, version: 5)', {
      broker: '127.0.0.1:19092',
      error: 'Specified group generation id is not valid',
    }),
  ],
];

const RETRIES_AND_CONNECTIONS: [string, LogEntry][] = [
  [
    'a refused connection',
    entry('Connection', logLevel.ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:1', {
      broker: '127.0.0.1:1',
      clientId: 'app',
      stack: 'Error: connect ECONNREFUSED…',
    }),
  ],
  [
    'an unknown host',
    entry('Connection', logLevel.ERROR, 'Connection error: getaddrinfo ENOTFOUND no-such-host.invalid', {
      broker: 'no-such-host.invalid:9092',
    }),
  ],
  ['a connection timeout', entry('Connection', logLevel.ERROR, 'Connection timeout', { broker: 'k1:9092' })],
  [
    'the seed broker retried',
    entry(
      'BrokerPool',
      logLevel.ERROR,
      'Failed to connect to seed broker, trying another broker from the list: Connection error: connect ECONNREFUSED 127.0.0.1:1',
      { retryCount: 2, retryTime: 1104 },
    ),
  ],
  [
    'a failed send, retried',
    entry('Producer', logLevel.ERROR, 'Failed to send messages: Request timed out', {
      retryCount: 0,
      retryTime: 292,
    }),
  ],
  [
    'a request that timed out',
    entry('Connection', logLevel.ERROR, 'Request Fetch(key: 1, version: 11)', { error: 'Request timed out' }),
  ],
  [
    'the consumer crash rivulet reports itself',
    entry(
      'Consumer',
      logLevel.ERROR,
      'Crash: KafkaJSNumberOfRetriesExceeded: Connection error: connect ECONNREFUSED',
      {
        groupId: 'g',
        retryCount: 5,
      },
    ),
  ],
  [
    'the consumer restart rivulet reports itself',
    entry('Consumer', logLevel.ERROR, 'Restarting the consumer in 300ms', { retryTime: 300, groupId: 'g' }),
  ],
  [
    'kafkajs joined (INFO)',
    entry('ConsumerGroup', logLevel.INFO, 'Consumer has joined the group', { groupId: 'g' }),
  ],
  ['kafkajs DEBUG', entry('Connection', logLevel.DEBUG, 'Request Heartbeat(key: 12, version: 3)')],
];

describe('kafkaLineLevel: kafkajs lines at the level of what they mean', () => {
  for (const [what, line] of REBALANCE) {
    it(`a rebalance is info: ${what}`, () => expect(kafkaLineLevel(line)).to.equal('info'));
  }

  for (const [what, line] of REBALANCE_ANSWERS) {
    it(`the answers that announce a rebalance, request by request, are debug: ${what}`, () =>
      expect(kafkaLineLevel(line)).to.equal('debug'));
  }

  for (const [what, line] of RETRIES_AND_CONNECTIONS) {
    it(`a retry, a connection failure rivulet reports per attempt, or detail is debug: ${what}`, () =>
      expect(kafkaLineLevel(line)).to.equal('debug'));
  }

  it('a member dropped from its group (it missed its session timeout) is a warning', () => {
    const line = entry(
      'Runner',
      logLevel.ERROR,
      'The coordinator is not aware of this member, re-joining the group',
      {
        groupId: 'g',
        memberId: 'm',
        error: 'The coordinator is not aware of this member',
      },
    );
    expect(kafkaLineLevel(line)).to.equal('warn');
  });

  it('anything else keeps its weight: ERROR is error, WARN is warn', () => {
    expect(
      kafkaLineLevel(entry('Consumer', logLevel.WARN, 'Consumer group received unsubscribed topics')),
    ).to.equal('warn');
    expect(
      kafkaLineLevel(entry('Runner', logLevel.ERROR, 'Error when calling eachBatch', { error: 'boom' })),
    ).to.equal('error');
    expect(kafkaLineLevel(entry('Admin', logLevel.ERROR, 'Failed to execute listener: x'))).to.equal('error');
  });

  it('the log creator logs each line at that level, with kafkajs level in `kafkaLevel`', () => {
    const lines: [string, string | undefined, object][] = [];
    const record = (level: string) => (fields: object, message?: string) =>
      void lines.push([level, message, fields]);
    const logger = {
      debug: record('debug'),
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
    };
    const log = kafkaLogCreator(logger)(logLevel.INFO);
    log(REBALANCE[0]![1]);
    log(RETRIES_AND_CONNECTIONS[0]![1]);
    expect(lines.map(([level, message]) => [level, message])).to.deep.equal([
      ['info', 'The group is rebalancing, re-joining'],
      ['debug', 'Connection error: connect ECONNREFUSED 127.0.0.1:1'],
    ]);
    expect(lines[0]![2]).to.include({ client: 'kafkajs', namespace: 'Runner', kafkaLevel: 'WARN' });
  });
});
