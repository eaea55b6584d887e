/** The lifecycle of a KubeStream instance, after Kafka Streams' KafkaStreams.State. */
export enum StreamState {
  /** Built, nothing connected. */
  CREATED = 'CREATED',
  /** Connecting clients, creating topics, checking sources. */
  STARTING = 'STARTING',
  /** Consuming and processing. */
  RUNNING = 'RUNNING',
  /** Stop requested: finishing the batch in hand, flushing, committing. */
  PENDING_SHUTDOWN = 'PENDING_SHUTDOWN',
  /** Stopped cleanly; every output is flushed and every processed position committed. */
  NOT_RUNNING = 'NOT_RUNNING',
  /** Stopped by a fault; positions not known to be delivered were not committed. */
  ERROR = 'ERROR',
}
