"""A Kafka producer with the semantics of Go's sarama, built on gochan and kafka-python.

sarama's names and ours (Go's channels are :class:`gochan.Chan`; methods are
snake_case; durations are seconds)::

    sarama                                producer
    ------------------------------------  -------------------------------------------
    NewAsyncProducer(addrs, cfg)          AsyncProducer(addrs, cfg)    (_async_producer)
    p.Input() <- msg                      p.input().send(msg)
    p.Successes(), p.Errors()             p.successes(), p.errors()
    p.AsyncClose(), p.Close()             p.async_close(), p.close()
    NewSyncProducer(addrs, cfg)           SyncProducer(addrs, cfg)     (_sync_producer)
    SendMessage(msg) -> part, off, err    send_message(msg) -> (partition, offset)
    SendMessages(msgs)                    send_messages(msgs), raises ProducerErrors
    (not in sarama) asyncio               open_async, async with, aclose,
                                          send_message(s)_async         (_aio)
    ProducerMessage                       ProducerMessage              (_message)
    NewConfig(), Producer.Retry.Max ...   Config(), config.producer.retry.max (_config)
    RequiredAcks, CompressionCodec        RequiredAcks, Compression  (_compression)
    CompressionLevelDefault               COMPRESSION_LEVEL_DEFAULT
    Config.MetricRegistry, GetAll()       p.metrics()                  (_metrics)
    (go-metrics reporters)                producer.prometheus.ProducerCollector
    NewHashPartitioner, NewRandom...,     HashPartitioner, RandomPartitioner,
    NewRoundRobin..., NewManual...,       RoundRobinPartitioner, ManualPartitioner,
    NewConsistentCRCHash..., Murmur2      Crc32Partitioner, Murmur2Partitioner;
                                          PARTITIONERS by name       (_partitioner)
    ProducerError, ProducerErrors         ProducerError, ProducerErrors  (_errors)
    ErrShuttingDown, ErrInvalidPartition  ShuttingDownError (alias ErrShuttingDown),
                                          InvalidPartitionError
    ConfigurationError                    ConfigurationError
    (a call after Close)                  ClosedProducerError
    Producer.Transaction.ID/.Timeout/     config.producer.transaction.id/.timeout/
      .Retry.Max/.Backoff                   .retry.max/.retry.backoff  (_config)
    BeginTxn, CommitTxn, AbortTxn,        begin_txn(), commit_txn(), abort_txn(),
    TxnStatus, IsTransactional            txn_status(), is_transactional()  (_txn)
    AddOffsetsToTxn(offsets, group)       add_offsets_to_txn(offsets, group_id)
    AddMessageToTxn(msg, group, meta)     add_message_to_txn(msg, group_id, metadata)
    ...WithGroupMetadata (KIP-447),       ..._with_group_metadata(..., group_metadata),
      ConsumerGroupMetadata                 ConsumerGroupMetadata
    ProducerTxnStatusFlag, ProducerTxn-   ProducerTxnStatusFlag, .READY,
      FlagReady, ...                        .IN_TRANSACTION, ...
    PartitionOffsetMetadata               PartitionOffsetMetadata
    ErrTransactionNotReady,               TransactionNotReadyError,
    ErrNonTransactedProducer,             NonTransactedProducerError,
    ErrTransitionNotAllowed,              TransitionNotAllowedError,
    ErrTxnUnableToParseResponse,          TxnUnableToParseResponseError,
    ErrProducerFenced                     ProducerFencedError (Err* aliases too)
    sarama/mocks                          producer.mocks
    tools/kafka-producer-performance      python -m producer perf      (_perf)
    (not in sarama) a broker on demand    producer.testing.local_kafka,
                                          python -m producer broker
    (not in sarama) lessons               python -m producer.demos

Error messages about configuration name each field in both spellings
(``producer.return_successes (sarama: Producer.Return.Successes)``).
"""

from gochan._public import present_as as _present_as

from ._async_producer import AsyncProducer
from ._config import (
    COMPRESSION_LEVEL_DEFAULT,
    Compression,
    Config,
    FlushConfig,
    MetadataConfig,
    MetadataRetryConfig,
    NetConfig,
    ProducerConfig,
    RequiredAcks,
    RetryConfig,
    SASLConfig,
    SASLMechanism,
    TLSConfig,
    TransactionConfig,
    TransactionRetryConfig,
)
from ._errors import (
    AuthenticationError,
    BrokerError,
    ClosedProducerError,
    ConfigurationError,
    InvalidPartitionError,
    InvalidTopicError,
    KafkaError,
    NonTransactedProducerError,
    ProducerError,
    ProducerErrors,
    ProducerFencedError,
    ShuttingDownError,
    TransactionError,
    TransactionNotReadyError,
    TransitionNotAllowedError,
    TxnUnableToParseResponseError,
)
from ._message import ProducerMessage
from ._partitioner import (
    PARTITIONERS,
    Crc32Partitioner,
    HashPartitioner,
    ManualPartitioner,
    Murmur2Partitioner,
    Partitioner,
    RandomPartitioner,
    RoundRobinPartitioner,
)
from ._sync_producer import SyncProducer
from ._txn import ConsumerGroupMetadata, PartitionOffsetMetadata, ProducerTxnStatusFlag

ErrShuttingDown = ShuttingDownError
ErrTransactionNotReady = TransactionNotReadyError
ErrNonTransactedProducer = NonTransactedProducerError
ErrTransitionNotAllowed = TransitionNotAllowedError
ErrTxnUnableToParseResponse = TxnUnableToParseResponseError
ErrProducerFenced = ProducerFencedError

__all__ = [
    "COMPRESSION_LEVEL_DEFAULT",
    "PARTITIONERS",
    "AsyncProducer",
    "AuthenticationError",
    "BrokerError",
    "ClosedProducerError",
    "Compression",
    "Config",
    "ConfigurationError",
    "ConsumerGroupMetadata",
    "Crc32Partitioner",
    "ErrNonTransactedProducer",
    "ErrProducerFenced",
    "ErrShuttingDown",
    "ErrTransactionNotReady",
    "ErrTransitionNotAllowed",
    "ErrTxnUnableToParseResponse",
    "FlushConfig",
    "HashPartitioner",
    "InvalidPartitionError",
    "InvalidTopicError",
    "KafkaError",
    "ManualPartitioner",
    "MetadataConfig",
    "MetadataRetryConfig",
    "Murmur2Partitioner",
    "NetConfig",
    "NonTransactedProducerError",
    "PartitionOffsetMetadata",
    "Partitioner",
    "ProducerConfig",
    "ProducerError",
    "ProducerErrors",
    "ProducerFencedError",
    "ProducerMessage",
    "ProducerTxnStatusFlag",
    "RandomPartitioner",
    "RequiredAcks",
    "RetryConfig",
    "RoundRobinPartitioner",
    "SASLConfig",
    "SASLMechanism",
    "ShuttingDownError",
    "SyncProducer",
    "TLSConfig",
    "TransactionConfig",
    "TransactionError",
    "TransactionNotReadyError",
    "TransactionRetryConfig",
    "TransitionNotAllowedError",
    "TxnUnableToParseResponseError",
]

_present_as("producer", globals(), __all__)
