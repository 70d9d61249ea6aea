"""A Kafka producer with the semantics of Go's sarama, built on gochan and kafka-python."""

__all__: list[str] = []
