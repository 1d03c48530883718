/**
 * The Kafka transport on kafkajs: `rivulet/kafka`. Apps that name a `kafka://` broker load it on demand;
 * import it to configure the client yourself (TLS, SASL, timeouts).
 * @module
 */
export { KafkaTransport } from './transports/kafka/kafka-transport.js';
export { TopicsNotReadyError } from './transports/kafka/kafka-topics.js';
export {
  GROUP_DEFAULTS,
  type KafkaTransportOptions,
  parseKafkaUrl,
} from './transports/kafka/kafka-options.js';
