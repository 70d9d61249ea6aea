"""A Kafka producer with the semantics of Go's sarama, built on gochan and kafka-python."""

from gochan._public import present_as as _present_as

from ._async_producer import AsyncProducer
from ._config import (
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
)
from ._errors import (
    AuthenticationError,
    BrokerError,
    ClosedProducerError,
    ConfigurationError,
    InvalidPartitionError,
    InvalidTopicError,
    KafkaError,
    ProducerError,
    ProducerErrors,
    ShuttingDownError,
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

ErrShuttingDown = ShuttingDownError

__all__ = [
    "PARTITIONERS",
    "AsyncProducer",
    "AuthenticationError",
    "BrokerError",
    "ClosedProducerError",
    "Compression",
    "Config",
    "ConfigurationError",
    "Crc32Partitioner",
    "ErrShuttingDown",
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
    "Partitioner",
    "ProducerConfig",
    "ProducerError",
    "ProducerErrors",
    "ProducerMessage",
    "RandomPartitioner",
    "RequiredAcks",
    "RetryConfig",
    "RoundRobinPartitioner",
    "SASLConfig",
    "SASLMechanism",
    "ShuttingDownError",
    "SyncProducer",
    "TLSConfig",
]

_present_as("producer", globals(), __all__)
